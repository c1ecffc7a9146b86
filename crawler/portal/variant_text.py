"""Variant grids printed as the text real pipelines make of a report.

``text_lines``: a table row per line, cells separated by one space, as pdfplumber/pdftotext print a PDF
(an empty cell leaves no trace). ``text_markdown``: PDF->markdown pipe tables, a ``|---|`` line under the
first row of every piece. ``text_cell_lines``: one cell per line ending in ``|`` (the seeds' mirror copies).
``text_runon``: the text content of the HTML page with nothing between cells (page.txt dumps).
Page furniture and repeated header rows go where a page break falls inside Table 3.

Each printer also returns the values its layout destroyed beyond the blanks: a row whose empty cell
vanished (its numbers no longer say which column they are in), or a run of digits that can be cut more
than one way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from crawler.portal import variant_labels as vl
from crawler.portal.grid import Cell, CellRef, Grid
from crawler.portal.variant_cells import Plan
from crawler.portal.variant_html import header_rows
from crawler.portal.variant_runon import Total, ambiguous


@dataclass(frozen=True)
class Break:
    """A page break inside a table: the lines the page boundary prints (footer, next page's header)."""

    lines: tuple[str, ...]


Item = list[Cell] | Break


class Pages:
    """Page footers and running headers of one report, numbered as the pages go by."""

    def __init__(self, plan: Plan) -> None:
        rng = plan.rng("page_furniture")
        self.on = plan.has("page_furniture")
        self.footer = rng.choice(("— {n} —", "- {n} -", "第 {n} 页 共 {m} 页", "{n}"))
        self.header = rng.choice(("", plan.report.agency, plan.report.title))
        self.form_feed = rng.random() < 0.3
        self.page = 1
        self.pages = rng.randint(5, 9)

    def turn(self) -> tuple[str, ...]:
        lines = [self.footer.format(n=self.page, m=self.pages)] if self.on else []
        self.page += 1
        if self.on and self.header:
            lines.append(("\f" if self.form_feed else "") + self.header)
        return tuple(lines)


def _visible(cell: Cell) -> bool:
    return bool(cell.text.strip())


def _row_lines(layout: str, row: list[Cell]) -> list[str]:
    if layout == "text_lines":
        return [" ".join(c.text for c in row if _visible(c))]
    if layout == "text_markdown":
        texts: list[str] = []
        for c in row:
            texts.extend([c.text] + [""] * (c.colspan - 1))
        return ["| " + " | ".join(texts) + " |"]
    # text_cell_lines: the seeds' "one cell per line" dumps, a bare "|" opening each row
    lines = ["|"] + [f"{c.text} |" for c in row]
    pads = sum(c.colspan - 1 for c in row)
    if pads:
        lines.append("|" * pads)
    return lines


def _markdown_rule(row: list[Cell]) -> str:
    return "|" + "---|" * sum(c.colspan for c in row)


def _items(plan: Plan, key: str, grid: Grid, pages: Pages, rng: random.Random) -> list[Item]:
    items: list[Item] = list(grid)
    if key == "review_litigation" and plan.one_of(("table4_one_line", "table4_three_lines")):
        values = grid[-1]  # the official form: three header rows, then one row of 15 numbers
        items = list(grid[:-1])
        if plan.has("table4_three_lines"):
            items.extend([values[0:5], values[5:10], values[10:15]])
        else:
            items.append(values)
    if key == "applications" and (plan.has("page_furniture") or plan.has("header_repeat")):
        head = header_rows(grid)
        at = rng.randint(head + 2, len(grid) - 2)
        repeat: list[Item] = list(grid[:head]) if plan.has("header_repeat") else []
        items = [*grid[:at], Break(pages.turn()), *repeat, *grid[at:]]
    return items


def _vanished(row: list[Cell]) -> set[CellRef]:
    """All values of a printed row once one of its value cells left no trace."""
    values = [c for c in row if not c.label and c.ref is not None]
    if any(not _visible(c) for c in values):
        return {c.ref for c in values if c.ref is not None}
    return set()


def render_lines(plan: Plan, grids: dict[str, Grid]) -> tuple[str, set[CellRef]]:
    """``text_lines``, ``text_markdown`` or ``text_cell_lines``: (text, values lost to the layout)."""
    report, layout = plan.report, plan.layout
    rng = plan.rng("text")
    pages = Pages(plan)
    titles = plan.rng("titles")
    style, first = titles.randrange(len(vl.TITLE_STYLES)), titles.choice((1, 2))
    lost: set[CellRef] = set()
    lines = [report.title, report.preamble]
    for section in report.sections:
        lines.append(section.title)
        lines.extend(section.paragraphs)
        if section.key == "overview" and pages.on:
            lines.extend(pages.turn())
        grid = grids.get(section.key)
        if grid is None:
            continue
        if plan.has("title_paragraph"):
            title = vl.table_title(section.key, style, first)
            lines.append(("## " if layout == "text_markdown" else "") + title)
        if layout == "text_markdown":
            lines.append("")
        fresh = True
        for item in _items(plan, section.key, grid, pages, rng):
            if isinstance(item, Break):
                lines.extend(["", *item.lines, ""] if layout == "text_markdown" else item.lines)
                fresh = True
                continue
            lines.extend(_row_lines(layout, item))
            if layout == "text_markdown" and fresh:
                lines.append(_markdown_rule(item))
            fresh = False
            if layout == "text_lines":
                lost |= _vanished(item)
        if layout == "text_lines" and section.key == "review_litigation" and plan.has("table4_three_lines"):
            lost |= _unplaced_lines(grid)
        if layout == "text_markdown":
            lines.append("")
    return "\n".join(lines) + "\n", lost


def _unplaced_lines(grid: Grid) -> set[CellRef]:
    """Table 4 printed as three unlabelled lines: a group whose five cells are all blank prints an empty line,
    which a reader cannot tell from layout, so no line can be placed — every value of the body is lost."""
    values = grid[-1]
    groups = [values[0:5], values[5:10], values[10:15]]
    if any(all(not _visible(c) for c in g if not c.label) for g in groups):
        return {c.ref for c in values if not c.label and c.ref is not None}
    return set()


def _kind(ref: CellRef) -> str:
    col = ref[2]
    if col == "change":
        return "signed"
    return "amount" if col in ("amount_10k_yuan", "amount") else "count"


def _totals(table: str, n: int) -> list[Total]:
    if table == "applications" and n == 7:
        return [(0, 6)]
    if table == "review_litigation":
        return [(g, 4) for g in range(0, n, 5)]
    return []


def render_runon(plan: Plan, grids: dict[str, Grid]) -> tuple[str, set[CellRef]]:
    """The page's text content with no separator anywhere: (text, values whose digits can be cut two ways)."""
    report = plan.report
    rng = plan.rng("text_runon")
    titles = plan.rng("titles")
    style, first = titles.randrange(len(vl.TITLE_STYLES)), titles.choice((1, 2))
    lost: set[CellRef] = set()
    out = [report.preamble]
    for section in report.sections:
        # a heading followed by &nbsp; keeps one space, as in real dumps ("一、总体情况 2024年")
        out.append(section.title + (" " if rng.random() < 0.5 else ""))
        out.extend(section.paragraphs)
        grid = grids.get(section.key)
        if grid is None:
            continue
        if plan.has("title_paragraph"):
            out.append(vl.table_title(section.key, style, first))
        for row in grid:
            for cell in row:
                text = cell.text
                role = cell.ref[2] if cell.ref is not None else ""
                if cell.label and role in ("header", "results", "group") and len(text) >= 4 and rng.random() < 0.3:
                    cut = rng.randint(2, len(text) - 2)  # a label wrapped over two <p> in its cell
                    text = text[:cut] + " " + text[cut:] + " "
                elif cell.label and role == "label" and rng.random() < 0.15:
                    text += " "
                out.append(text)
            values = [c for c in row if not c.label and c.ref is not None]
            if not values:
                continue
            refs = [c.ref for c in values if c.ref is not None]
            if any(not _visible(c) for c in values):
                lost.update(refs)
                continue
            texts = [c.text for c in values]
            gone = ambiguous(texts, [_kind(r) for r in refs], _totals(refs[0][0], len(refs)))
            lost.update(refs[i] for i in gone)
    return "".join(out) + "\n", lost
