"""Variant grids printed as a portal's HTML page: TRS or Word-export markup, one ``<span>`` per character,
``<br>`` inside labels, ``&nbsp;`` padding, table titles above or inside a table, tables split in two.

Markup only: which texts the cells hold was decided by ``variant_cells``.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, replace

from crawler.portal import variant_labels as vl
from crawler.portal.generator import GeneratedReport
from crawler.portal.grid import Cell, Grid, grid_matrix
from crawler.portal.variant_cells import Plan

_TRS_TABLE = ("font-family: &#39;Times New Roman&#39;;font-size: 13px;border-collapse: collapse;border: none;"
              "width: auto !important;margin: 0 auto;")
_TRS_TD = ("padding: 5px;border-left: 1px solid windowtext;border-right: 1px solid windowtext;"
           "border-top: none;border-bottom: 1px solid windowtext")
_WORD_TD = ("border:solid windowtext 1.0pt;border-top:none;mso-border-top-alt:solid windowtext .5pt;"
            "mso-border-alt:solid windowtext .5pt;padding:0cm 5.4pt 0cm 5.4pt")


@dataclass(frozen=True)
class Markup:
    word: bool = False  # Word "save as HTML": MsoNormal paragraphs, MsoNormalTable, <o:p></o:p>
    char_spans: bool = False  # every character its own <span> (Word runs split by a font change per glyph)
    label_breaks: bool = False  # a manual line break inside a label
    nbsp_padding: bool = False  # cells padded with &nbsp; to centre them by hand


def esc(text: str) -> str:
    return html.escape(text, quote=False).replace("\u00a0", "&nbsp;")


def _chars(text: str) -> str:
    out = []
    for ch in text:
        if ch.isascii() or ch.isdigit():
            out.append(f'<span lang="EN-US" style="font-family:&quot;Times New Roman&quot;">{esc(ch)}</span>')
        else:
            out.append(f'<span style="font-family:仿宋_GB2312">{esc(ch)}</span>')
    return "".join(out)


def cell_inner(cell: Cell, markup: Markup, rng: random.Random) -> str:
    text = cell.text
    if markup.char_spans:
        inner = _chars(text)
    elif markup.label_breaks and cell.label and len(text) >= 4:
        cut = rng.randint(2, len(text) - 1)
        inner = esc(text[:cut]) + rng.choice(("<br>", "<br/>", "<br />")) + esc(text[cut:])
    else:
        inner = esc(text)
    if markup.nbsp_padding and text and rng.random() < 0.6:
        inner = "&nbsp;" * rng.randint(1, 3) + inner + "&nbsp;" * rng.randint(0, 2)
    if markup.word:
        if not text:
            return '<p class="MsoNormal" align="center" style="text-align:center"><span lang="EN-US"><o:p></o:p></span></p>'
        return (f'<p class="MsoNormal" align="center" style="text-align:center">'
                f'<span lang="EN-US" style="font-size:10.5pt;font-family:仿宋_GB2312">{inner}<o:p></o:p></span></p>')
    return f'<p style="text-indent: 0em;">{inner}</p>'


def _spans(cell: Cell) -> str:
    attrs = ""
    if cell.colspan > 1:
        attrs += f' colspan="{cell.colspan}"'
    if cell.rowspan > 1:
        attrs += f' rowspan="{cell.rowspan}"'
    return attrs


def table_html(grid: Grid, markup: Markup, rng: random.Random) -> str:
    width = sum(c.colspan for c in grid[0])
    rows = []
    for ri, row in enumerate(grid):
        cells = []
        for cell in row:
            if markup.word:
                cells.append(f'<td width="{60 * cell.colspan}" valign="center"{_spans(cell)} style="{_WORD_TD}">'
                             f"{cell_inner(cell, markup, rng)}</td>")
            else:
                cells.append(f'<td{_spans(cell)} style="{_TRS_TD}" valign="center">{cell_inner(cell, markup, rng)}</td>')
        if markup.word:
            rows.append(f'<tr style="mso-yfti-irow:{ri};height:20.25pt">{"".join(cells)}</tr>')
        else:
            first = ' class="firstRow"' if ri == 0 else ""
            rows.append(f'<tr{first} style="height: 19px">{"".join(cells)}</tr>')
    if markup.word:
        # Word closes a table whose columns do not line up with a row of zero-height empty cells
        ghost = "".join('<td width="60" style="border:none"></td>' for _ in range(width))
        rows.append(f"<![if !supportMisalignedColumns]><tr height=\"0\">{ghost}</tr><![endif]>")
        kind = rng.choice(("MsoNormalTable", "MsoTableGrid"))
        open_tag = (f'<table class="{kind}" border="1" cellspacing="0" cellpadding="0" '
                    'style="border-collapse:collapse;border:none;mso-border-alt:solid windowtext .5pt;'
                    'mso-yfti-tbllook:1184;mso-padding-alt:0cm 5.4pt 0cm 5.4pt">')
    else:
        open_tag = f'<table style="{_TRS_TABLE}" cellspacing="0" align="center" border="1">'
    return f"{open_tag}<tbody>{''.join(rows)}</tbody></table>"


def para_html(text: str, markup: Markup, heading: bool = False, centered: bool = False) -> str:
    if markup.word:
        font = "黑体" if heading or centered else "仿宋_GB2312"
        align = ' align="center" style="text-align:center"' if centered else \
            ' style="text-indent:32.0pt;mso-char-indent-count:2.0"'
        return (f'<p class="MsoNormal"{align}><span style="font-family:{font};font-size:16.0pt">{esc(text)}'
                f"<o:p></o:p></span></p>")
    if centered:
        return f'<p style="text-align: center;"><strong>{esc(text)}</strong></p>'
    if heading:
        return f'<p style="text-indent: 2em;"><span style="font-family: 黑体, SimHei;">{esc(text)}</span></p>'
    return f'<p style="text-indent: 2em;">{esc(text)}</p>'


def page_break_html(markup: Markup, page: int | None) -> str:
    """What sits between two halves of a table that a page break cut (a Word break, a PDF page number)."""
    if markup.word:
        out = ('<p class="MsoNormal"><span lang="EN-US"><br clear="all" style="mso-special-character:line-break;'
               'page-break-before:always"></span></p>')
    else:
        out = '<p style="page-break-after: always;">&nbsp;</p>'
    if page is not None:
        out = para_html(f"— {page} —", markup, centered=True) + out
    return out


# --- grids cut and re-joined ----------------------------------------------------------------------
def header_rows(grid: Grid) -> int:
    """Leading rows that hold no value (the column headers)."""
    for ri, row in enumerate(grid):
        if any(not c.label for c in row):
            return ri
    return len(grid)


def split_grid(grid: Grid, at: int) -> tuple[Grid, Grid]:
    """Rows [0, at) and [at, end); a cell spanning the cut is cut too, and printed again on top of the second
    part (as a page break repeats 三、本年度办理结果 on the next page)."""
    matrix, _ = grid_matrix(grid)
    first: Grid = [[] for _ in range(at)]
    second: list[list[tuple[int, Cell]]] = [[] for _ in range(len(grid) - at)]
    for r, row in enumerate(matrix):
        for c, cell in enumerate(row):
            if cell is None:
                continue
            if r < at:
                first[r].append(replace(cell, rowspan=min(cell.rowspan, at - r)))
                if r + cell.rowspan > at:
                    second[0].append((c, replace(cell, rowspan=r + cell.rowspan - at)))
            else:
                second[r - at].append((c, cell))
    return first, [[cell for _, cell in sorted(row, key=lambda pc: pc[0])] for row in second]


def title_row(grid: Grid, title: str) -> Grid:
    width = sum(c.colspan for c in grid[0])
    return [[Cell(title, colspan=width, label=True)], *grid]


def page_html(report: GeneratedReport, body: str, markup: Markup) -> str:
    title = esc(report.title)
    if markup.word:
        body = f'<div class="WordSection1" style="layout-grid:15.6pt">{body}</div>'
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>{title}</title>
<meta name="ArticleTitle" content="{html.escape(report.title)}" />
<meta name="PubDate" content="{report.published} 09:30" />
</head>
<body>
<div class="article">
<div class="article_title">{title}</div>
<div class="article_extend"><span class="article_time">发布时间：{report.published}</span></div>
<div class="TRS_Editor">{body}</div>
</div>
</body>
</html>
"""


# --- the page -------------------------------------------------------------------------------------
SPLITS = ("split_header_body", "split_page_break", "split_page_break_header")


def _table_parts(plan: Plan, key: str, grid: Grid, title: str, markup: Markup, rng: random.Random) -> list[str]:
    if plan.has("title_paragraph"):
        parts = [para_html(title, markup, centered=True)]
    else:
        parts = []
    if plan.has("title_row"):
        grid = title_row(grid, title)
    split = plan.one_of(SPLITS)
    head = header_rows(grid)
    if split == "split_header_body" and key != "active_disclosure":
        top, body = split_grid(grid, head)
        gap = rng.choice(("", "\n", "<p>&nbsp;</p>"))
        return [*parts, table_html(top, markup, rng) + gap + table_html(body, markup, rng)]
    if split in ("split_page_break", "split_page_break_header") and key == "applications":
        at = rng.randint(head + 2, len(grid) - 2)
        top, rest = split_grid(grid, at)
        if split == "split_page_break_header":
            rest = split_grid(grid, head)[0] + rest
        page = rng.choice((None, rng.randint(3, 6)))
        return [*parts, table_html(top, markup, rng), page_break_html(markup, page), table_html(rest, markup, rng)]
    return [*parts, table_html(grid, markup, rng)]


def render_page(plan: Plan, grids: dict[str, Grid]) -> str:
    """The whole HTML page the portal serves, report body in ``div.TRS_Editor``."""
    report = plan.report
    markup = Markup(word=plan.has("word_markup"), char_spans=plan.has("char_spans"),
                    label_breaks=plan.has("label_breaks"), nbsp_padding=plan.has("nbsp_padding"))
    rng = plan.rng("html")
    titles = plan.rng("titles")
    style, first = titles.randrange(len(vl.TITLE_STYLES)), titles.choice((1, 2))
    parts = [para_html(report.preamble, markup)]
    for section in report.sections:
        parts.append(para_html(section.title, markup, heading=True))
        parts.extend(para_html(p, markup) for p in section.paragraphs)
        if section.key in grids:
            title = vl.table_title(section.key, style, first)
            parts.extend(_table_parts(plan, section.key, grids[section.key], title, markup, rng))
    return page_html(report, "\n".join(parts), markup)
