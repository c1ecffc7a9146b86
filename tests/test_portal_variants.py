"""The variant layer (crawler.portal.variants), generator side: every variant is documented and changes the
rendering; renderings are deterministic; ``truth`` is the report's tables; ``lost`` is exactly what the
rendering destroyed; numbers printed with units and separators still denote the truth; random
combinations are coherent; ``check_parse`` holds a parse to the rule it states."""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import re
import subprocess
import sys
import unicodedata
from decimal import Decimal
from typing import Any

import lxml.html
import pytest

from crawler.portal.generator import generate_report
from crawler.portal.grid import report_grids
from crawler.portal.variant_cells import fee_text, value_refs, with_thousands
from crawler.portal.variant_runon import ambiguous
from crawler.portal.variants import (
    FAMILIES,
    MEDIA,
    TEXT_LAYOUTS,
    VARIANTS,
    Rendered,
    baseline,
    check_parse,
    compatible,
    family_members,
    incompatibilities,
    medium_of,
    printed_cells,
    random_combination,
    render_variant,
)

FORMATS = ("2021", "2019")
BLANKS = ("", "—", "-", "/", "无")  # after strip(): &nbsp; is blank too


def _report(seed: int, fmt: str, **kw: Any) -> Any:
    return generate_report(seed, fmt, agency="江城市统计局", year=2023 if fmt == "2021" else 2020, **kw)


def _is_blank(text: str) -> bool:
    return text.strip() in BLANKS


# --- the registry ---------------------------------------------------------------------------------
def test_every_variant_is_documented_and_in_a_family() -> None:
    assert len(VARIANTS) >= 40
    for name, v in VARIANTS.items():
        assert v.name == name
        assert v.family in FAMILIES, name
        assert len(v.doc) > 20 and v.destroys, name
        assert v.media and set(v.media) <= set(MEDIA), name
        for ex in v.excludes:
            assert ex in VARIANTS or ex.removeprefix("family:") in FAMILIES, (name, ex)
    for family in FAMILIES.values():
        assert family_members(family.name) and family.doc
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "generator-variants.md"), encoding="utf-8").read()
    missing = [name for name in VARIANTS if f"`{name}`" not in doc]
    assert missing == [], f"docs/generator-variants.md does not describe {missing}"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_changes_the_rendering(name: str) -> None:
    for seed, fmt in itertools.product(range(12), FORMATS):
        rep = _report(seed, fmt)
        if render_variant(rep, (name,), seed).body != render_variant(rep, baseline(name), seed).body:
            return
    pytest.fail(f"{name} renders exactly like {baseline(name) or 'the base'} for every seed tried")


def test_the_base_renderings() -> None:
    rep = _report(3, "2021")
    html_base = render_variant(rep, ())
    assert html_base.content_type == "text/html; charset=utf-8" and html_base.variants == ()
    page = lxml.html.fromstring(html_base.body)
    assert len(page.xpath("//div[@class='TRS_Editor']//table")) == 3
    text_base = render_variant(rep, ("text_lines",))
    assert text_base.content_type == "text/plain; charset=utf-8"
    assert html_base.lost == text_base.lost == frozenset()


# --- determinism ----------------------------------------------------------------------------------
def _digest_of_many() -> str:
    h = hashlib.sha1()
    rng = random.Random(5)
    for i in range(40):
        combo = random_combination(rng)
        r = render_variant(_report(i, FORMATS[i % 2]), combo, i)
        h.update(r.body + repr(sorted(r.lost, key=repr)).encode())
    return h.hexdigest()


def test_same_report_variants_and_seed_give_the_same_bytes() -> None:
    rep = _report(11, "2019")
    combo = ("zero_mixed", "sparse_rows", "split_page_break", "word_markup", "char_spans", "typos", "ocr_chars")
    assert render_variant(rep, combo, 4) == render_variant(rep, combo, 4)
    assert render_variant(rep, combo, 4).body != render_variant(rep, combo, 5).body
    # and across processes whose string hashing differs (no set order leaks into the output)
    script = "from tests.test_portal_variants import _digest_of_many; print(_digest_of_many())"
    root = os.path.join(os.path.dirname(__file__), "..")
    digests = {subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(h)}).stdout for h in (1, 2)}
    assert digests == {_digest_of_many() + "\n"}


def test_variant_order_does_not_matter() -> None:
    rep = _report(2, "2021")
    a = render_variant(rep, ("typos", "zero_slash", "title_row"), 1)
    b = render_variant(rep, ("title_row", "typos", "zero_slash"), 1)
    assert a == b and a.variants == ("zero_slash", "title_row", "typos")


# --- truth and lost -------------------------------------------------------------------------------
def test_truth_is_a_copy_of_the_report_tables() -> None:
    for seed, fmt in itertools.product(range(5), FORMATS):
        rep = _report(seed, fmt)
        r = render_variant(rep, random_combination(random.Random(seed)), seed)
        assert r.truth == rep.tables and r.fmt == fmt
        r.truth["applications"]["granted"][0] += 1
        assert r.truth != rep.tables


@pytest.mark.parametrize("structure", ["official", "flat"])
def test_grid_refs_cover_every_cell_once(structure: str) -> None:
    for fmt in FORMATS:
        rep = _report(1, fmt)
        refs = [c.ref for grid in report_grids(rep, structure).values() for row in grid for c in row if not c.label]
        assert sorted(refs, key=repr) == sorted(value_refs(rep.tables), key=repr)


def _cells_of(rep: Any, want: Any) -> set[Any]:
    return {ref for ref in value_refs(rep.tables) if want(ref, rep.tables[ref[0]][ref[1]][ref[2]])}


@pytest.mark.parametrize("zero", family_members("zeros"))
def test_a_zero_style_loses_exactly_the_zeros(zero: str) -> None:
    for seed, fmt in itertools.product(range(6), FORMATS):
        rep = _report(seed, fmt)
        r = render_variant(rep, (zero,), seed)
        assert r.lost == _cells_of(rep, lambda _ref, v: v == 0)
        printed = printed_cells(rep, (zero,), seed)
        assert {ref for ref, text in printed.items() if _is_blank(text)} == r.lost


def test_blank_rows_totals_and_sparse_rows_lose_what_they_blank() -> None:
    for seed, fmt in itertools.product(range(10), FORMATS):
        rep = _report(seed, fmt)
        rows = render_variant(rep, ("blank_zero_rows",), seed)
        zero_rows = {ref[:2] for ref in value_refs(rep.tables)} - \
            {ref[:2] for ref in _cells_of(rep, lambda _ref, v: v != 0)}
        assert rows.lost == {ref for ref in value_refs(rep.tables) if ref[:2] in zero_rows}
        totals = render_variant(rep, ("blank_totals",), seed)
        apps = {ref for ref in totals.lost if ref[0] == "applications"}
        assert all(ref[2] == 6 and rep.tables["applications"][ref[1]][6] != 0 for ref in apps)
        assert all(ref[2] == 4 for ref in totals.lost - apps)
        nonzero_totals = any(v[6] for v in rep.tables["applications"].values())
        assert (1 <= len(apps) <= 3) if nonzero_totals else not apps
        sparse = render_variant(rep, ("sparse_rows",), seed)
        zeros = _cells_of(rep, lambda _ref, v: v == 0)
        assert sparse.lost <= zeros
        assert {r for r in zeros if r[0] == "applications" and 1 <= int(r[2]) <= 5} <= sparse.lost
        assert not any(r[0] == "active_disclosure" or r[2] == 6 for r in sparse.lost)


def test_a_missing_cell_of_a_broken_report_is_lost() -> None:
    rep = _report(4, "2021", broken="missing_cell")
    assert render_variant(rep, ()).lost == frozenset(rep.blank_cells)


def _row_groups(ref: Any, combo: tuple[str, ...]) -> Any:
    """The printed row a value sits on in text_lines (Table 4's numbers share lines under table4_*)."""
    if ref[0] == "review_litigation" and "table4_one_line" in combo:
        return ("review_litigation",)
    return ref[:2]


@pytest.mark.parametrize("layout", ["text_lines", "text_markdown", "text_cell_lines"])
def test_lost_in_text_layouts(layout: str) -> None:
    """Visible blanks keep their column; in text_lines an empty cell vanishes and takes its row with it."""
    for i in range(30):
        rng = random.Random(i)
        combo = tuple(sorted({layout, rng.choice(family_members("zeros")), "blank_totals",
                              rng.choice(("table4_one_line", "table4_three_lines", "sparse_rows"))}))
        if not compatible(combo):
            continue
        rep = _report(i, FORMATS[i % 2])
        r = render_variant(rep, combo, i)
        printed = printed_cells(rep, combo, i)
        blank = {ref for ref, text in printed.items() if _is_blank(text)}
        if layout != "text_lines":
            assert r.lost == blank, combo
            continue
        vanished = {_row_groups(ref, combo) for ref, text in printed.items() if not text.strip()}
        expected = blank | {ref for ref in printed if _row_groups(ref, combo) in vanished}
        assert r.lost == expected, combo


def _brute_readings(run: str, n: int, total: bool) -> set[tuple[int, ...]]:
    """Every cut of a digit run into n plain numbers (no leading zeros), the last the sum of the others."""
    out = set()
    for cuts in itertools.combinations(range(1, len(run)), n - 1):
        parts = [run[a:b] for a, b in zip((0, *cuts), (*cuts, len(run)), strict=True)]
        if any(len(p) > 1 and p[0] == "0" for p in parts):
            continue
        values = tuple(int(p) for p in parts)
        if not total or values[-1] == sum(values[:-1]):
            out.add(values)
    return out


def test_runon_loses_exactly_the_cells_with_two_readings() -> None:
    assert ambiguous(["217", "1", "0", "0", "0", "0", "218"], ["count"] * 7, [(0, 6)]) == []
    assert ambiguous(["62", "33", "440"], ["count"] * 3) == [0, 1, 2]
    assert ambiguous(["0", "0", "0"], ["count"] * 3) == []
    assert ambiguous(["1", "2", "3", "6"], ["count"] * 4, [(0, 3)]) == []
    assert ambiguous(["1", "0", "1", "2"], ["count"] * 4, [(0, 3)]) == []  # 10|1|... cannot total
    checked = 0
    for seed, fmt in itertools.product(range(8), FORMATS):
        rep = _report(seed, fmt)
        r = render_variant(rep, ("text_runon",), seed)
        assert b"\n" not in r.body.rstrip(b"\n")
        for row, values in rep.tables["applications"].items():
            run = "".join(str(v) for v in values)
            readings = _brute_readings(run, 7, total=True)
            assert tuple(values) in readings
            undecided = {ci for ci in range(7) if len({x[ci] for x in readings}) > 1}
            assert {ref[2] for ref in r.lost if ref[:2] == ("applications", row)} == undecided
            checked += 1
        for row, fields in rep.tables["active_disclosure"].items():
            texts = [str(v) if not isinstance(v, float) else f"{v:.2f}" for v in fields.values()]
            if any("." in t or "-" in t for t in texts):
                continue
            readings = _brute_readings("".join(texts), len(texts), total=False)
            undecided = {i for i in range(len(texts)) if len({x[i] for x in readings}) > 1}
            lost = {list(fields).index(ref[2]) for ref in r.lost if ref[:2] == ("active_disclosure", row)}
            assert lost == undecided, (row, texts)
    assert checked > 300


# --- numbers still denote the truth ---------------------------------------------------------------
_OCR = str.maketrans("OoIl", "0011")


def _read_number(text: str, field: str | int) -> Decimal:
    """An independent reading of a printed number: NFKC, OCR letters, separators, invisible characters, units."""
    text = unicodedata.normalize("NFKC", text).translate(_OCR)
    text = re.sub("[\u00ad\u200b\u200c\ufeff,件项]", "", text).strip()
    if text.endswith("万元"):
        return Decimal(text[:-2]) * (10000 if field == "amount" else 1)
    if text.endswith("元"):
        return Decimal(text[:-1]) / (10000 if field == "amount_10k_yuan" else 1)
    return Decimal(text)


def test_unit_and_separator_examples() -> None:
    assert fee_text(25.1, "amount_10k_yuan", "元") == "251000元"
    assert fee_text(12.5, "amount_10k_yuan", "万元") == "12.5万元"
    assert fee_text(0, "amount_10k_yuan", "元") == "0元"
    assert fee_text(18651.06, "amount_10k_yuan", "元") == "186510600元"
    assert fee_text(73802895.9, "amount", "元") == "73802895.90元"
    assert with_thousands("1234") == "1,234" and with_thousands("-12345") == "-12,345"
    assert with_thousands("18651.06万元") == "18,651.06万元" and with_thousands("999") == "999"
    assert _read_number("１２．５万元", "amount_10k_yuan") == Decimal("12.5")
    assert _read_number("251000元", "amount_10k_yuan") == Decimal("25.1")


@pytest.mark.parametrize("money", ["fee_yuan", "fee_wan", None])
def test_printed_numbers_denote_the_truth(money: str | None) -> None:
    number_variants = ["thousands_sep", "unit_jian", "fullwidth_digits", "ocr_digits", "invisible_chars"]
    seen_units = set()
    for seed, fmt in itertools.product(range(25), FORMATS):
        rng = random.Random(seed)
        combo = tuple(v for v in number_variants if rng.random() < 0.6) + ((money,) if money else ())
        rep = _report(seed, fmt)
        for ref, text in printed_cells(rep, combo, seed).items():
            truth = rep.tables[ref[0]][ref[1]][ref[2]]
            assert _read_number(text, ref[2]) == Decimal(str(truth)), (combo, ref, text)
            seen_units.update(u for u in ("万元", "元", ",", "件") if u in text)
    if money == "fee_yuan":
        assert "元" in seen_units
    if money == "fee_wan":
        assert "万元" in seen_units


# --- combinations ---------------------------------------------------------------------------------
def test_random_combinations_are_compatible_and_cover_every_variant() -> None:
    seen: set[str] = set()
    for i in range(600):
        rng = random.Random(i)
        medium = (None, "html", "text")[i % 3]
        combo = random_combination(rng, medium)
        assert compatible(combo), (combo, incompatibilities(combo))
        if medium is not None:
            assert medium_of(combo) == medium
        if medium_of(combo) == "text":
            assert len([n for n in combo if n in TEXT_LAYOUTS]) == 1
        seen.update(combo)
    assert seen == set(VARIANTS)


@pytest.mark.parametrize("combo", [
    ("word_markup", "text_lines"), ("zero_empty", "zero_wu"), ("text_runon", "zero_empty"),
    ("text_lines", "text_markdown"), ("corner_note", "flat_tables"), ("table4_one_line", "text_cell_lines"),
    ("header_repeat", "text_runon"), ("split_page_break", "split_header_body"), ("no_such_variant",),
    ("typos", "typos"), ("split_page_break", "page_furniture"),
])
def test_incompatible_combinations_are_refused(combo: tuple[str, ...]) -> None:
    assert not compatible(combo)
    with pytest.raises(ValueError, match="cannot render variants"):
        render_variant(_report(1, "2021"), combo)


def test_split_tables_and_titles_in_html() -> None:
    rep = _report(6, "2021")

    def tables(combo: tuple[str, ...]) -> list[Any]:
        page = lxml.html.fromstring(render_variant(rep, combo, 3).body)
        return page.xpath("//div[@class='TRS_Editor']//table")

    assert len(tables(("split_header_body",))) == 5
    assert len(tables(("split_page_break",))) == 4
    both = tables(("split_page_break_header", "corner_note"))
    assert len(both) == 4 and "勾稽关系" in both[2].text_content()
    assert "勾稽关系" not in tables(())[1].text_content()
    assert tables(("title_row",))[1].xpath("string(.//tr[1])").strip().endswith("收到和处理政府信息公开申请情况")
    word = render_variant(rep, ("word_markup", "char_spans"), 3).body.decode()
    assert 'class="MsoNormal"' in word and "<o:p></o:p>" in word and re.search(r"<span[^>]*>\d</span>", word)


def test_traditional_and_text_layouts_look_like_their_sources() -> None:
    rep = _report(6, "2021")
    assert "申請" in render_variant(rep, ("traditional",)).body.decode()
    md = render_variant(rep, ("text_markdown", "page_furniture", "header_repeat"), 2).body.decode()
    assert md.count("| 申请人情况 |") == 2 and "|---|" in md
    cells = render_variant(rep, ("text_cell_lines",)).body.decode()
    assert "\n|\n一、本年新收政府信息公开申请数量 |" in cells
    one = render_variant(rep, ("table4_one_line",)).body.decode()
    review = rep.tables["review_litigation"]
    assert " ".join(str(v) for g in ("review", "litigation_direct", "litigation_after_review")
                    for v in review[g]) in one


# --- check_parse ----------------------------------------------------------------------------------
def _parsed(r: Rendered) -> dict[str, Any]:
    import copy

    return {"format": r.fmt, "tables": copy.deepcopy(r.truth), "issues": []}


def test_check_parse_accepts_the_truth_and_catches_silent_errors() -> None:
    rep = _report(3, "2021")
    r = render_variant(rep, ("zero_empty",))
    got = _parsed(r)
    assert check_parse(got, r) == []
    got["tables"]["applications"]["granted"][0] += 1
    assert any("silent error" in p for p in check_parse(got, r))
    got = _parsed(r)
    got["format"] = "2019"
    assert check_parse(got, r) == ["format: got '2019', want '2021'"]


def test_check_parse_null_needs_a_loss_and_an_issue() -> None:
    rep = _report(3, "2021")
    r = render_variant(rep, ("zero_empty",))
    lost = sorted((ref for ref in r.lost if ref[0] == "applications"), key=repr)[0]
    kept = next(ref for ref in value_refs(rep.tables) if ref not in r.lost and ref[0] == "applications")
    got = _parsed(r)
    got["tables"]["applications"][lost[1]][lost[2]] = None
    assert len(check_parse(got, r)) == 1  # null without an issue
    got["issues"] = [{"code": "cells_missing", "table": "applications", "row": lost[1], "column": None}]
    assert check_parse(got, r) == []
    got["issues"][0]["column"] = "research" if lost[2] != 2 else "commercial"
    assert len(check_parse(got, r)) == 1  # an issue naming another column does not cover it
    got = _parsed(r)
    got["tables"]["applications"][kept[1]][kept[2]] = None
    got["issues"] = [{"code": "cells_missing", "table": "applications", "row": kept[1], "column": None}]
    assert len(check_parse(got, r)) == 1  # the rendering kept it: null is a problem
    got = _parsed(r)
    got["tables"]["review_litigation"] = None
    got["issues"] = [{"code": "table_missing", "table": "review_litigation", "row": None, "column": None}]
    kept_review = [ref for ref in value_refs(rep.tables) if ref[0] == "review_litigation" and ref not in r.lost]
    assert len(check_parse(got, r)) == len(kept_review)
    got = _parsed(r)
    got["tables"]["applications"]["other"] = [1, 0, 0, 0, 0, 0, 1]
    assert any("does not have" in p for p in check_parse(got, r))
