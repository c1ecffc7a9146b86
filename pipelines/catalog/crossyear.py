"""Cross-year checks between the canonical reports of one agency in consecutive years (docs/schema.md).

``carryover_mismatch``: Table 3's 二、上年结转政府信息公开申请数量 of year Y must equal 四、结转下年度继续办理 of year
Y−1, column by column (the seven applicant columns). The official forms of 2019 and 2021 both print both rows, so
every pair of consecutive canonical reports is checked, across a change of form.

``in_force_mismatch``: in the 2021 form, Table 2's 现行有效件数 of 规章 and of 规范性文件 follows from the year
before: in_force(Y) = in_force(Y−1) + issued(Y) − abolished(Y). Reported, not enforced: agencies recount their
documents in force (a 清理 review, a merger) and say so in the text, so a mismatch is a question for the
researcher, not an error of the parse. Checked only when both years use the 2021 form (the 2019 form's
对外公开总数量 counts something else).

A check needs both values; a blank (NULL) on either side is not checked. Pure: a function of the canonical
reports' cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.catalog.labels import APPLICANT_COLUMNS

IN_FORCE_ROWS = ("regulations", "normative_documents")

Cells = Mapping[tuple[str, str, str], Any]  # (table, row, column) -> value


@dataclass(frozen=True)
class YearReport:
    report_id: str
    agency_id: str
    year: int
    format: str | None
    cells: Cells


@dataclass(frozen=True)
class Mismatch:
    report_id: str
    previous_report_id: str
    agency_id: str
    year: int
    code: str
    table_key: str
    row_key: str
    column_key: str
    value: Any
    previous_value: Any
    expected: Any
    detail: str

    def row(self) -> tuple[Any, ...]:
        return (self.report_id, self.previous_report_id, self.agency_id, self.year, self.code, self.table_key,
                self.row_key, self.column_key, self.value, self.previous_value, self.expected, self.detail)


@dataclass
class CrossYearResult:
    pairs: int = 0  # consecutive canonical pairs of one agency
    carryover_checked: int = 0  # (pair, column) comparisons made
    in_force_checked: int = 0
    mismatches: list[Mismatch] | None = None


def _same(a: Any, b: Any) -> bool:
    return abs(float(a) - float(b)) < 1e-9


def _num(value: Any) -> str:
    f = float(value)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def check_pair(prev: YearReport, cur: YearReport, result: CrossYearResult) -> list[Mismatch]:
    """The mismatches between an agency's canonical reports of years Y−1 (``prev``) and Y (``cur``)."""
    out: list[Mismatch] = []
    for column in APPLICANT_COLUMNS:
        now = cur.cells.get(("applications", "carried_over", column))
        before = prev.cells.get(("applications", "carried_forward", column))
        if now is None or before is None:
            continue
        result.carryover_checked += 1
        if not _same(now, before):
            out.append(Mismatch(
                cur.report_id, prev.report_id, cur.agency_id, cur.year, "carryover_mismatch", "applications",
                "carried_over", column, now, before, before,
                f"上年结转 {cur.year} = {_num(now)} but 结转下年度继续办理 {prev.year} = {_num(before)}"))
    if cur.format == "2021" and prev.format == "2021":
        for row in IN_FORCE_ROWS:
            in_force = cur.cells.get(("active_disclosure", row, "in_force"))
            issued = cur.cells.get(("active_disclosure", row, "issued"))
            abolished = cur.cells.get(("active_disclosure", row, "abolished"))
            before = prev.cells.get(("active_disclosure", row, "in_force"))
            if in_force is None or issued is None or abolished is None or before is None:
                continue
            result.in_force_checked += 1
            expected = float(before) + float(issued) - float(abolished)
            if not _same(in_force, expected):
                out.append(Mismatch(
                    cur.report_id, prev.report_id, cur.agency_id, cur.year, "in_force_mismatch", "active_disclosure",
                    row, "in_force", in_force, before, int(expected) if expected.is_integer() else expected,
                    f"现行有效 {cur.year} = {_num(in_force)} but {prev.year} 现行有效 {_num(before)} + 制发 "
                    f"{_num(issued)} − 废止 {_num(abolished)} = {_num(expected)}"))
    return out


def check_all(reports: list[YearReport]) -> CrossYearResult:
    """Every consecutive pair of canonical reports per agency, in (agency, year) order."""
    result = CrossYearResult(mismatches=[])
    assert result.mismatches is not None
    by_key = {(r.agency_id, r.year): r for r in reports}
    for key in sorted(by_key):
        cur = by_key[key]
        prev = by_key.get((cur.agency_id, cur.year - 1))
        if prev is None:
            continue
        result.pairs += 1
        result.mismatches.extend(check_pair(prev, cur, result))
    return result
