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


@dataclass(frozen=True)
class Cell:
    text: str
    colspan: int = 1
    rowspan: int = 1
    label: bool = False  # a label (may be split by Word-style markup), not a number


Grid = list[list[Cell]]


def format_number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _num(report: GeneratedReport, table: str, row: str, ci: int, value: Any) -> Cell:
    return Cell("" if report.is_blank(table, row, ci) else format_number(value))


def table2_grid(report: GeneratedReport, structure: str = "official") -> Grid:
    active = report.tables["active_disclosure"]
    grid: Grid = []
    for heading, headers, rows, fields in table2_blocks(report.fmt):
        grid.append([Cell(heading, colspan=4, label=True)])
        spans = _spread(len(headers)) if structure == "official" else [1] * len(headers)
        grid.append([Cell(TABLE2_CONTENT_HEADER, label=True)]
                    + [Cell(h, colspan=s, label=True) for h, s in zip(headers, spans, strict=True)])
        for key, label in rows:
            grid.append([Cell(label, label=True)]
                        + [Cell(format_number(active[key][f]), colspan=s) for f, s in zip(fields, spans, strict=True)])
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
        grid.append([Cell(APPLICANT_HEADER, label=True)] + [Cell(c, label=True) for c in col_labels])
        seen_groups: set[str] = set()
        for key, label, group in rows:
            if key == "granted":
                grid.append([Cell(RESULTS_HEADER, colspan=8, label=True)])
            if group and group not in seen_groups:
                seen_groups.add(group)
                grid.append([Cell(group, colspan=8, label=True)])
            grid.append([Cell(label, label=True)] + values(key))
        return grid
    grid.append([Cell(TABLE3_NOTE, colspan=3, rowspan=3, label=True), Cell(APPLICANT_HEADER, colspan=7, label=True)])
    grid.append([Cell(col_labels[0], rowspan=2, label=True), Cell(LEGAL_PERSON_HEADER, colspan=5, label=True),
                 Cell(col_labels[6], rowspan=2, label=True)])
    grid.append([Cell(c, label=True) for c in col_labels[1:6]])
    result_rows = [r for r in rows if r[0] not in ("new_received", "carried_over", "carried_forward")]
    group_sizes: dict[str, int] = {}
    for _, _, group in rows:
        if group:
            group_sizes[group] = group_sizes.get(group, 0) + 1
    seen: set[str] = set()
    for key, label, group in rows:
        head: list[Cell] = []
        if key in ("new_received", "carried_over", "carried_forward"):
            head = [Cell(label, colspan=3, label=True)]
        else:
            if key == result_rows[0][0]:
                head.append(Cell(RESULTS_HEADER, rowspan=len(result_rows), label=True))
            if group is None:
                head.append(Cell(label, colspan=2, label=True))
            else:
                if group not in seen:
                    seen.add(group)
                    head.append(Cell(group, rowspan=group_sizes[group], label=True))
                head.append(Cell(label, label=True))
        grid.append(head + values(key))
    return grid


def table4_grid(report: GeneratedReport, structure: str = "official") -> Grid:
    review = report.tables["review_litigation"]
    col_labels = [label for _, label in TABLE4_COLUMNS]
    if structure == "flat":
        grid: Grid = [[Cell("", label=True)] + [Cell(c, label=True) for c in col_labels]]
        for key, label in TABLE4_GROUPS:
            grid.append([Cell(label, label=True)] + [Cell(format_number(v)) for v in review[key]])
        return grid
    (_, review_label), (_, direct_label), (_, after_label) = TABLE4_GROUPS
    return [
        [Cell(review_label, colspan=5, label=True), Cell(TABLE4_LITIGATION_HEADER, colspan=10, label=True)],
        [Cell(c, rowspan=2, label=True) for c in col_labels]
        + [Cell(direct_label, colspan=5, label=True), Cell(after_label, colspan=5, label=True)],
        [Cell(c, label=True) for c in col_labels * 2],
        [Cell(format_number(v)) for key, _ in TABLE4_GROUPS for v in review[key]],
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
