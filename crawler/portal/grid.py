"""The three report tables as grids of cells, in the two structures real reports use.

``official``: the official form with rowspan/colspan headers (as on TRS pages and in the Word/PDF
templates). ``flat``: one header row and one row per canonical row, group labels on rows of their own
(what simpler CMS editors and text dumps produce). Renderers only decide how a cell is printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.portal.generator import GeneratedReport
from crawler.portal.labels import (
    APPLICANT_COLUMNS,
    APPLICANT_HEADER,
    LEGAL_PERSON_HEADER,
    RESULTS_HEADER,
    TABLE2_CONTENT_HEADER,
    TABLE3_NOTE,
    TABLE4_COLUMNS,
    TABLE4_GROUPS,
    TABLE4_LITIGATION_HEADER,
    table2_blocks,
    table3_rows,
)

STRUCTURES = ("official", "flat")

# What a cell holds, for renderers that rewrite cells (crawler.portal.variants): a value cell's
# (table, row key, column index | field name); a label cell's (table, row key or "", role), role one of
# LABEL_ROLES. Printers ignore it, so adding it changed no output.
CellRef = tuple[str, str, str | int]
LABEL_ROLES = ("label", "group", "results", "header", "corner", "heading")


@dataclass(frozen=True)
class Cell:
    text: str
    colspan: int = 1
    rowspan: int = 1
    label: bool = False  # a label (may be split by Word-style markup), not a number
    ref: CellRef | None = None


Grid = list[list[Cell]]


def format_number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _num(report: GeneratedReport, table: str, row: str, ci: int, value: Any) -> Cell:
    return Cell("" if report.is_blank(table, row, ci) else format_number(value), ref=(table, row, ci))


def _label(text: str, table: str, role: str, row: str = "", **spans: int) -> Cell:
    return Cell(text, label=True, ref=(table, row, role), **spans)


_T2, _T3, _T4 = "active_disclosure", "applications", "review_litigation"


def table2_grid(report: GeneratedReport, structure: str = "official") -> Grid:
    active = report.tables["active_disclosure"]
    grid: Grid = []
    for heading, headers, rows, fields in table2_blocks(report.fmt):
        grid.append([_label(heading, _T2, "heading", colspan=4)])
        spans = _spread(len(headers)) if structure == "official" else [1] * len(headers)
        grid.append([_label(TABLE2_CONTENT_HEADER, _T2, "header")]
                    + [_label(h, _T2, "header", colspan=s) for h, s in zip(headers, spans, strict=True)])
        for key, label in rows:
            grid.append([_label(label, _T2, "label", key)]
                        + [Cell(format_number(active[key][f]), colspan=s, ref=(_T2, key, f))
                           for f, s in zip(fields, spans, strict=True)])
    return grid


def _spread(n: int) -> list[int]:
    """Column spans of n value columns over the three value slots of the official Table 2."""
    return {1: [3], 2: [1, 2], 3: [1, 1, 1]}[n]


def table3_grid(report: GeneratedReport, structure: str = "official") -> Grid:
    apps = report.tables["applications"]
    rows = table3_rows(report.fmt)
    col_labels = [label for _, label in APPLICANT_COLUMNS]

    def values(key: str) -> list[Cell]:
        return [_num(report, "applications", key, ci, v) for ci, v in enumerate(apps[key])]

    grid: Grid = []
    if structure == "flat":
        grid.append([_label(APPLICANT_HEADER, _T3, "header")] + [_label(c, _T3, "header") for c in col_labels])
        seen_groups: set[str] = set()
        for key, label, group in rows:
            if key == "granted":
                grid.append([_label(RESULTS_HEADER, _T3, "results", colspan=8)])
            if group and group not in seen_groups:
                seen_groups.add(group)
                grid.append([_label(group, _T3, "group", key, colspan=8)])
            grid.append([_label(label, _T3, "label", key)] + values(key))
        return grid
    grid.append([_label(TABLE3_NOTE, _T3, "corner", colspan=3, rowspan=3),
                 _label(APPLICANT_HEADER, _T3, "header", colspan=7)])
    grid.append([_label(col_labels[0], _T3, "header", rowspan=2), _label(LEGAL_PERSON_HEADER, _T3, "header", colspan=5),
                 _label(col_labels[6], _T3, "header", rowspan=2)])
    grid.append([_label(c, _T3, "header") for c in col_labels[1:6]])
    result_rows = [r for r in rows if r[0] not in ("new_received", "carried_over", "carried_forward")]
    group_sizes: dict[str, int] = {}
    for _, _, group in rows:
        if group:
            group_sizes[group] = group_sizes.get(group, 0) + 1
    seen: set[str] = set()
    for key, label, group in rows:
        head: list[Cell] = []
        if key in ("new_received", "carried_over", "carried_forward"):
            head = [_label(label, _T3, "label", key, colspan=3)]
        else:
            if key == result_rows[0][0]:
                head.append(_label(RESULTS_HEADER, _T3, "results", rowspan=len(result_rows)))
            if group is None:
                head.append(_label(label, _T3, "label", key, colspan=2))
            else:
                if group not in seen:
                    seen.add(group)
                    head.append(_label(group, _T3, "group", key, rowspan=group_sizes[group]))
                head.append(_label(label, _T3, "label", key))
        grid.append(head + values(key))
    return grid


def table4_grid(report: GeneratedReport, structure: str = "official") -> Grid:
    review = report.tables["review_litigation"]
    col_labels = [label for _, label in TABLE4_COLUMNS]
    if structure == "flat":
        grid: Grid = [[_label("", _T4, "corner")] + [_label(c, _T4, "header") for c in col_labels]]
        for key, label in TABLE4_GROUPS:
            grid.append([_label(label, _T4, "label", key)]
                        + [Cell(format_number(v), ref=(_T4, key, ci)) for ci, v in enumerate(review[key])])
        return grid
    (review_key, review_label), (direct_key, direct_label), (after_key, after_label) = TABLE4_GROUPS
    return [
        [_label(review_label, _T4, "group", review_key, colspan=5),
         _label(TABLE4_LITIGATION_HEADER, _T4, "header", colspan=10)],
        [_label(c, _T4, "header", rowspan=2) for c in col_labels]
        + [_label(direct_label, _T4, "group", direct_key, colspan=5),
           _label(after_label, _T4, "group", after_key, colspan=5)],
        [_label(c, _T4, "header") for c in col_labels * 2],
        [Cell(format_number(v), ref=(_T4, key, ci)) for key, _ in TABLE4_GROUPS for ci, v in enumerate(review[key])],
    ]


def report_grids(report: GeneratedReport, structure: str = "official") -> dict[str, Grid]:
    """Section key -> the table printed at the end of that section."""
    if structure not in STRUCTURES:
        raise ValueError(f"unknown table structure {structure!r}: expected one of {STRUCTURES}")
    return {
        "active_disclosure": table2_grid(report, structure),
        "applications": table3_grid(report, structure),
        "review_litigation": table4_grid(report, structure),
    }


def grid_matrix(grid: Grid) -> tuple[list[list[Cell | None]], list[tuple[int, int, int, int]]]:
    """Place a spanned grid on a full matrix: (cells with None under spans, [(row, col, row2, col2)])."""
    width = sum(c.colspan for c in grid[0])
    matrix: list[list[Cell | None]] = [[None] * width for _ in grid]
    taken = [[False] * width for _ in grid]
    spans: list[tuple[int, int, int, int]] = []
    for r, row in enumerate(grid):
        c = 0
        for cell in row:
            while c < width and taken[r][c]:
                c += 1
            if c >= width:
                raise ValueError(f"row {r} of the grid is wider than its first row ({width} columns)")
            matrix[r][c] = cell
            for dr in range(cell.rowspan):
                for dc in range(cell.colspan):
                    taken[r + dr][c + dc] = True
            if cell.rowspan > 1 or cell.colspan > 1:
                spans.append((r, c, r + cell.rowspan - 1, c + cell.colspan - 1))
            c += cell.colspan
    return matrix, spans
