"""Synthetic annual reports in the official formats, with numbers that satisfy the accounting identities.

``generate_report(seed, fmt, agency, year)`` is pure: the same arguments give the same report. A
``broken`` name breaks exactly one identity (or blanks one cell) so the parser's checks have something
real to find; the report's ``issues_expected`` names what a correct parser reports for it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from crawler.portal.labels import (
    SECTION_TITLES,
    TABLE4_GROUPS,
    outcome_row_keys,
    table2_blocks,
    table3_rows,
)
from crawler.portal.titles import REPORT_TITLE_VARIANTS, report_title
from crawler.portal.years import YearLinks

K = TypeVar("K")

# name -> the issue code a correct parser reports for it
BROKEN_KINDS: dict[str, str] = {
    "balance": "identity_violated",  # 一+二 != （七）+四 in one applicant column (and the total column)
    "processed_sum": "identity_violated",  # （七）总计 != sum of the outcome rows in one column
    "row_total": "identity_violated",  # 总计 != sum of the six applicant columns in two rows
    "review_total": "identity_violated",  # a Table 4 总计 != sum of its four results
    "missing_cell": "inferred_cell",  # one Table 3 cell printed blank; the identities determine it
}

# Outcome weights: most applications are granted or the information is not held.
_OUTCOME_WEIGHTS_2021: dict[str, float] = {
    "granted": 40, "partially_granted": 10, "denied_state_secret": 0.5, "denied_law_prohibited": 0.5,
    "denied_three_securities": 0.5, "denied_third_party": 1.5, "denied_internal_affairs": 3,
    "denied_process_info": 1.5, "denied_enforcement_file": 0.5, "denied_query": 1,
    "unable_not_held": 20, "unable_needs_creation": 2, "unable_unclear": 2, "not_processed_petition": 2,
    "not_processed_duplicate": 2, "not_processed_publication": 0.5, "not_processed_massive": 0.5,
    "not_processed_confirm": 0.5, "other_overdue_correction": 2, "other_unpaid_fee": 0.2, "other_other": 3,
}
_OUTCOME_WEIGHTS_2019: dict[str, float] = {
    **{k: v for k, v in _OUTCOME_WEIGHTS_2021.items() if not k.startswith("other_")},
    "other": 5.2,
}
# Share of applications per applicant column (natural persons file most of them).
_APPLICANT_WEIGHTS = (80, 12, 1, 1.5, 3, 2.5)


@dataclass(frozen=True)
class Section:
    key: str  # canonical section key of DESIGN.md
    title: str  # "二、主动公开政府信息情况"
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedReport:
    agency: str
    year: int
    fmt: str  # "2021" | "2019"
    title: str
    published: str  # YYYY-MM-DD
    preamble: str
    sections: tuple[Section, ...]
    tables: dict[str, Any]  # canonical dict of DESIGN.md
    broken: str | None = None
    issues_expected: tuple[str, ...] = ()
    # (table, row, column index) printed blank by every renderer
    blank_cells: tuple[tuple[str, str, int], ...] = field(default=())

    def is_blank(self, table: str, row: str, column: int) -> bool:
        return (table, row, column) in self.blank_cells

    def text(self) -> str:
        """All prose, one paragraph per line (the tables are not in it)."""
        lines = [self.preamble]
        for section in self.sections:
            lines.append(section.title)
            lines.extend(section.paragraphs)
        return "\n".join(lines)


def _rng(rng_or_seed: random.Random | int | str) -> random.Random:
    if isinstance(rng_or_seed, random.Random):
        return rng_or_seed
    return random.Random(str(rng_or_seed))


def generate_report(
    rng_or_seed: random.Random | int | str,
    fmt: str = "2021",
    agency: str = "江城市统计局",
    year: int = 2023,
    broken: str | None = None,
    title_variant: int | None = None,
    links: YearLinks | None = None,
) -> GeneratedReport:
    """A complete report; numbers satisfy every identity of DESIGN.md unless ``broken`` names one.

    ``links`` (:func:`crawler.portal.years.year_links`) ties the report to the same agency's reports of the years
    before and after: 上年结转 and 结转下年度继续办理 (a column's 本年新收 is raised when it must, so nothing goes
    negative), and Table 2's 制发/废止/现行有效 in the 2021 form. The random stream is consumed as without it."""
    if broken is not None and broken not in BROKEN_KINDS:
        raise ValueError(f"unknown broken={broken!r}: expected one of {sorted(BROKEN_KINDS)}")
    rng = _rng(rng_or_seed)
    table2_blocks(fmt)  # validates fmt
    scale = rng.choice((0, 1, 1, 2, 2, 3))
    active = _active_disclosure(rng, fmt, scale)
    if links is not None and links.active is not None and fmt == "2021":
        for row, (issued, abolished, in_force) in links.active.items():
            active[row].update(issued=issued, abolished=abolished, in_force=in_force)
    applications = _applications(rng, fmt, scale, need_room=broken in ("processed_sum", "row_total"), links=links)
    review = _review(rng)
    tables: dict[str, Any] = {"active_disclosure": active, "applications": applications,
                              "review_litigation": review}
    blank: tuple[tuple[str, str, int], ...] = ()
    if broken is not None:
        blank = _break(rng, tables, fmt, broken)
    variant = rng.randrange(len(REPORT_TITLE_VARIANTS)) if title_variant is None else title_variant
    title = report_title(agency, year, variant)
    month, day = rng.randint(1, 3), rng.randint(1, 28)
    published = f"{year + 1}-{month:02d}-{day:02d}"
    preamble, sections = _prose(rng, fmt, agency, year, tables)
    return GeneratedReport(
        agency=agency, year=year, fmt=fmt, title=title, published=published, preamble=preamble,
        sections=sections, tables=tables, broken=broken,
        issues_expected=(BROKEN_KINDS[broken],) if broken else (), blank_cells=blank,
    )


def _active_disclosure(rng: random.Random, fmt: str, scale: int) -> dict[str, dict[str, Any]]:
    big = (5, 60, 900, 6000)[scale]
    if fmt == "2021":
        reg_issued, norm_issued = rng.choice((0, 0, 0, 1, 2)), rng.randint(0, max(1, big // 20))
        fee = rng.choice((0, 0, round(rng.uniform(0.5, big * 3.0), 2)))
        return {
            "regulations": {"issued": reg_issued, "abolished": rng.choice((0, 0, 1)),
                            "in_force": reg_issued + rng.randint(0, 12)},
            "normative_documents": {"issued": norm_issued, "abolished": rng.randint(0, norm_issued + 2),
                                    "in_force": norm_issued + rng.randint(0, big // 2 + 5)},
            "licensing": {"decisions": rng.randint(0, big * 4)},
            "punishment": {"decisions": rng.randint(0, big)},
            "enforcement": {"decisions": rng.randint(0, big // 10 + 1)},
            "fees": {"amount_10k_yuan": fee},
        }
    made = rng.randint(0, max(1, big // 20))

    def items() -> dict[str, int]:
        prev = rng.randint(0, big)
        return {"prev_year_items": prev, "change": rng.randint(-min(prev, 20), 20),
                "decisions": rng.randint(0, big * 3)}

    fees_prev = rng.randint(0, 40)
    return {
        "regulations": {"new_made": 0, "new_published": 0, "total_published": rng.randint(0, 10)},
        "normative_documents": {"new_made": made, "new_published": made,
                                "total_published": made + rng.randint(0, big // 2 + 5)},
        "licensing": items(),
        "other_services": items(),
        "punishment": items(),
        "enforcement": items(),
        "fees": {"prev_year_items": fees_prev, "change": rng.randint(-min(fees_prev, 5), 3)},
        "procurement": {"items": rng.randint(0, big), "amount": round(rng.uniform(0, big * 50000.0), 2)},
    }


def _applications(rng: random.Random, fmt: str, scale: int, need_room: bool,
                  links: YearLinks | None = None) -> dict[str, list[int]]:
    rows = [key for key, _, _ in table3_rows(fmt)]
    outcomes = outcome_row_keys(fmt)
    weights_by_row = _OUTCOME_WEIGHTS_2021 if fmt == "2021" else _OUTCOME_WEIGHTS_2019
    weights = [weights_by_row[k] for k in outcomes]
    total_new = (rng.randint(0, 4), rng.randint(3, 40), rng.randint(30, 260), rng.randint(200, 900))[scale]
    if need_room:
        total_new = max(total_new, 6)
    per_column = _split(rng, total_new, range(6), _APPLICANT_WEIGHTS)
    if need_room:  # the broken cases move one unit between cells of column 0 / rows granted+partial
        per_column[0] = max(per_column[0], 4)
    table: dict[str, list[int]] = {row: [0] * 7 for row in rows}
    for ci in range(6):
        new = per_column[ci]
        carried = rng.choice((0, 0, 0, 1, 2)) if new else 0
        available = new + carried
        forward = min(available, rng.choice((0, 0, 0, 1, 3)))
        processed = available - forward
        counts = _split(rng, processed, outcomes, weights)
        if links is not None:
            # the years before and after decide both carry-overs; the outcomes are drawn again from a stream of
            # their own, so the report's stream (its dates, its prose) is the one it has without links
            carried, forward = links.carried_over[ci], links.carried_forward[ci]
            new = max(new, forward - carried + (4 if need_room and ci == 0 else 0))
            available = new + carried
            processed = available - forward
            counts = _split(random.Random(f"{sorted(counts.items())}|{processed}"), processed, outcomes, weights)
        if need_room and ci == 0:
            for must in ("granted", "partially_granted"):
                if counts[must] == 0:
                    donor = max(outcomes, key=lambda k: counts[k])
                    counts[donor] -= 1
                    counts[must] += 1
        table["new_received"][ci] = new
        table["carried_over"][ci] = carried
        table["carried_forward"][ci] = forward
        table["total_processed"][ci] = processed
        for row in outcomes:
            table[row][ci] = counts[row]
    for values in table.values():
        values[6] = sum(values[:6])
    return table


def _split(rng: random.Random, total: int, keys: Sequence[K], weights: Sequence[float]) -> Counter[K]:
    """``total`` units over ``keys`` by weight: unit by unit when few, by jittered shares when many
    (same distribution in spirit, constant time)."""
    if total <= 40:
        return Counter(rng.choices(list(keys), weights=weights, k=total))
    shares = [w * rng.uniform(0.5, 1.5) for w in weights]
    scale = total / sum(shares)
    counts = Counter({k: int(s * scale) for k, s in zip(keys, shares, strict=True)})
    order = sorted(range(len(keys)), key=lambda i: -shares[i])
    for i in range(total - sum(counts.values())):
        counts[keys[order[i % len(order)]]] += 1
    return counts


def _review(rng: random.Random) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for group, _ in TABLE4_GROUPS:
        four = [rng.choice((0, 0, 0, 0, 1, 2)) for _ in range(4)]
        out[group] = [*four, sum(four)]
    return out


def _break(rng: random.Random, tables: dict[str, Any], fmt: str, broken: str) -> tuple[tuple[str, str, int], ...]:
    apps = tables["applications"]
    if broken == "balance":
        ci = rng.randrange(6)
        apps["new_received"][ci] += 1
        apps["new_received"][6] += 1
    elif broken == "processed_sum":
        # move one unit from （七）总计 to 四、结转: the balance still holds, the outcome sum does not
        apps["total_processed"][0] -= 1
        apps["total_processed"][6] -= 1
        apps["carried_forward"][0] += 1
        apps["carried_forward"][6] += 1
    elif broken == "row_total":
        apps["granted"][6] += 1
        apps["partially_granted"][6] -= 1
    elif broken == "review_total":
        group = rng.choice([g for g, _ in TABLE4_GROUPS])
        tables["review_litigation"][group][4] += 1
    elif broken == "missing_cell":
        row = rng.choice(("granted", "unable_not_held", "denied_internal_affairs"))
        return (("applications", row, rng.randrange(6)),)
    return ()


# --- prose ----------------------------------------------------------------------------------------
_OVERVIEW_SUBS = (
    ("（一）主动公开方面。", "聚焦重点领域信息公开，全年通过政府门户网站主动公开各类政府信息{n}条，"
     "发布政策文件解读{m}篇，及时回应社会关切。"),
    ("（二）依申请公开方面。", "规范做好申请登记、审查、办理、答复、归档等工作，全年新收政府信息公开申请{apps}件，"
     "均在法定期限内答复。"),
    ("（三）政府信息管理方面。", "坚持“先审查、后公开”原则，落实信息发布“三审三校”制度，确保信息准确、安全。"),
    ("（四）平台建设方面。", "发挥政府网站政务公开第一平台作用，优化智能搜索、智能问答功能，提升服务便捷度。"),
    ("（五）监督保障方面。", "将政务公开工作纳入绩效考核，加强日常监测和季度检查，督促问题整改落实。"),
)
_PROBLEMS = (
    "{year}年，我单位政府信息公开工作取得了一定成效，但仍存在一些不足：政策解读形式还不够丰富，"
    "主动公开的深度和广度有待进一步拓展。",
    "下一步，将进一步优化主动公开目录，丰富政策解读形式，加强业务培训，不断提升政务公开工作规范化水平。",
)


def _prose(rng: random.Random, fmt: str, agency: str, year: int,
           tables: dict[str, Any]) -> tuple[str, tuple[Section, ...]]:
    doc = "国办公开办函〔2021〕30号" if fmt == "2021" else "国办公开办函〔2019〕60号"
    preamble = (f"本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和{doc}等文件要求，"
                f"由{agency}编制。"
                f"本报告所列数据统计期限为{year}年1月1日至{year}年12月31日。")
    apps = tables["applications"]["new_received"][6]
    overview = [f"{year}年，{agency}深入贯彻落实《条例》要求，坚持“以公开为常态、不公开为例外”，"
                "持续深化政务公开，切实保障人民群众的知情权、参与权、表达权和监督权。"]
    for head, body in _OVERVIEW_SUBS:
        overview.append(head + body.format(n=rng.randint(80, 12000), m=rng.randint(3, 120), apps=apps))
    paragraphs: dict[str, list[str]] = {
        "overview": overview,
        "active_disclosure": [],
        "applications": [],
        "review_litigation": [],
        "problems": [p.format(year=year) for p in _PROBLEMS],
        "other": [rng.choice((f"{year}年，{agency}未收取政府信息公开信息处理费。", "无其他需要报告的事项。"))],
    }
    sections = tuple(Section(key, title, tuple(paragraphs[key])) for key, title in SECTION_TITLES)
    return preamble, sections

