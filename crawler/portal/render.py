"""Print a GeneratedReport the ways real sites print reports.

HTML bodies (the content of ``div.TRS_Editor`` / ``div#zoomcon``):
  ``plain``  flat tables, one label cell per row;
  ``trs``    the official rowspan/colspan form with the markup of real TRS pages (pingtan_2024_page.html);
  ``word``   the official form pasted from Word: MsoNormal paragraphs, labels split across
             ``<span>``/``<p>``/``<br>`` (sometimes one character per element), ``&nbsp;`` padding.
Text (``render_text``): ``pipe`` (one cell per line ending in ``|``, as in seeds 003/004) and
``spaces`` (a row per line, cells separated by spaces, as pdfplumber prints them).
Files: ``render_pdf``, ``render_docx``, ``render_png`` live in ``render_files`` and are re-exported here.

Every renderer is deterministic: the same report and seed give the same bytes.
"""

from __future__ import annotations

import html
import random
from collections.abc import Mapping

from crawler.portal.generator import GeneratedReport
from crawler.portal.grid import Cell, Grid, report_grids
from crawler.portal.render_files import render_docx, render_pdf, render_png

HTML_LAYOUTS = ("plain", "trs", "word")
TEXT_LAYOUTS = ("pipe", "spaces")

__all__ = ["HTML_LAYOUTS", "TEXT_LAYOUTS", "render_docx", "render_html", "render_pdf", "render_png",
           "render_text", "split_label_markup"]

_TRS_TD = ("padding: 5px;border-left: 1px solid windowtext;border-right: 1px solid windowtext;"
           "border-top: none;border-bottom: 1px solid windowtext")
_TRS_TABLE = ("font-family: &#39;Times New Roman&#39;;font-size: 13px;border-collapse: collapse;border: none;"
              "width: auto !important;margin: 0 auto;")


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _span_attrs(cell: Cell) -> str:
    attrs = ""
    if cell.colspan > 1:
        attrs += f' colspan="{cell.colspan}"'
    if cell.rowspan > 1:
        attrs += f' rowspan="{cell.rowspan}"'
    return attrs


def split_label_markup(text: str, rng: random.Random) -> str:
    """A label the way Word pastes it: split across spans, paragraphs or line breaks."""
    if len(text) < 2:
        return f'<p class="MsoNormal" align="center"><span>{_esc(text) or "&nbsp;"}</span></p>'
    style = rng.choice(("chars", "paras", "br", "spans", "whole"))
    if style == "chars":
        inner = "".join(f'<span style="font-family:仿宋_GB2312">{_esc(ch)}</span>' for ch in text)
        return f'<p class="MsoNormal" align="center">{inner}</p>'
    cut = rng.randint(1, len(text) - 1)
    left, right = _esc(text[:cut]), _esc(text[cut:])
    if style == "paras":
        pad = " &nbsp; &nbsp; &nbsp; &nbsp;"
        return (f'<p class="MsoNormal" align="center"><span>{left}</span></p>'
                f'<p class="MsoNormal" align="center"><span>{right}</span>\n{pad}</p>')
    if style == "br":
        return f'<p class="MsoNormal" align="center"><span>{left}<br/>{right}</span></p>'
    if style == "spans":
        return (f'<p class="MsoNormal" align="center"><span style="font-family:仿宋_GB2312">{left}</span>'
                f'<span style="font-family:仿宋_GB2312;mso-bidi-font-family:宋体">{right}</span></p>')
    return f'<p class="MsoNormal" align="center"><span style="font-family:仿宋_GB2312">{_esc(text)}</span></p>'


def _table_html(grid: Grid, layout: str, rng: random.Random) -> str:
    rows = []
    for ri, row in enumerate(grid):
        cells = []
        for cell in row:
            attrs = _span_attrs(cell)
            if layout == "plain":
                cells.append(f"<td{attrs}>{_esc(cell.text)}</td>")
            elif layout == "trs":
                cells.append(f'<td{attrs} style="{_TRS_TD}" valign="center"><p style="text-indent: 0em;">'
                             f"{_esc(cell.text)}</p></td>")
            else:
                if cell.label:
                    inner = split_label_markup(cell.text, rng)
                else:
                    value = _esc(cell.text) or "&nbsp;"
                    inner = (f'<p class="MsoNormal" align="center" style="text-align:center">'
                             f'<span lang="EN-US" style="font-size:10.5pt">{value}<o:p></o:p></span></p>')
                cells.append(f'<td{attrs} valign="center" style="border:solid windowtext 1.0pt;'
                             f'mso-border-alt:solid windowtext .5pt;padding:0cm 5.4pt 0cm 5.4pt">{inner}</td>')
        first = ' class="firstRow"' if ri == 0 and layout != "plain" else ""
        style = ' style="height: 19px"' if layout == "trs" else ""
        rows.append(f"<tr{first}{style}>{''.join(cells)}</tr>")
    if layout == "plain":
        open_tag = '<table border="1" cellspacing="0" cellpadding="3">'
    elif layout == "trs":
        open_tag = f'<table style="{_TRS_TABLE}" cellspacing="0" align="center" border="1">'
    else:
        open_tag = ('<table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" '
                    'style="border-collapse:collapse;border:none;mso-border-alt:solid windowtext .5pt">')
    return f"{open_tag}<tbody>{''.join(rows)}</tbody></table>"


def _para_html(text: str, layout: str, heading: bool = False) -> str:
    if layout == "plain":
        return f"<h3>{_esc(text)}</h3>" if heading else f"<p>{_esc(text)}</p>"
    if layout == "trs":
        if heading:
            return f'<p style="text-indent: 2em;"><span style="font-family: 黑体, SimHei;">{_esc(text)}</span></p>'
        return f'<p style="text-indent: 2em;">{_esc(text)}</p>'
    font = "黑体" if heading else "仿宋_GB2312"
    return (f'<p class="MsoNormal" style="text-indent:32.0pt;mso-char-indent-count:2.0">'
            f'<span style="font-family:{font};font-size:16.0pt">{_esc(text)}</span></p>')


def render_html(report: GeneratedReport, layout: str = "trs", seed: int | str = 0,
                pictures: Mapping[str, str] | None = None) -> str:
    """The report body as an HTML fragment (what sits inside the CMS's content div). ``pictures``: section key ->
    the markup printed in place of that section's table (a table published as a picture)."""
    if layout not in HTML_LAYOUTS:
        raise ValueError(f"unknown HTML layout {layout!r}: expected one of {HTML_LAYOUTS}")
    rng = random.Random(f"html:{seed}:{report.title}")
    grids = report_grids(report, "flat" if layout == "plain" else "official")
    parts = [_para_html(report.preamble, layout)]
    for section in report.sections:
        parts.append(_para_html(section.title, layout, heading=True))
        parts.extend(_para_html(p, layout) for p in section.paragraphs)
        if pictures is not None and section.key in pictures:
            parts.append(pictures[section.key])
        elif section.key in grids:
            parts.append(_table_html(grids[section.key], layout, rng))
    return "\n".join(parts)


def _text_label(cell: Cell, rng: random.Random) -> str:
    # a label split over paragraphs in the source comes out with a space in it, as in seed 004 (商业 企业)
    if cell.label and len(cell.text) == 4 and rng.random() < 0.5:
        return cell.text[:2] + " " + cell.text[2:]
    return cell.text


def _table_text(grid: Grid, layout: str, rng: random.Random) -> str:
    lines: list[str] = []
    for row in grid:
        if layout == "pipe":
            lines.append("|")
            pads = 0
            for cell in row:
                lines.append(f"{_text_label(cell, rng)} |")
                pads += cell.colspan - 1
            if pads:
                lines.append("|" * pads)
        else:
            lines.append(" ".join(c.text for c in row if c.text))
    return "\n".join(lines)


def render_text(report: GeneratedReport, layout: str = "pipe", seed: int | str = 0) -> str:
    """The report as plain text, tables flattened the way text dumps of real pages flatten them."""
    if layout not in TEXT_LAYOUTS:
        raise ValueError(f"unknown text layout {layout!r}: expected one of {TEXT_LAYOUTS}")
    rng = random.Random(f"text:{seed}:{report.title}")
    grids = report_grids(report, "official" if layout == "pipe" else "flat")
    lines = [report.preamble]
    for section in report.sections:
        lines.append(section.title)
        lines.extend(section.paragraphs)
        if section.key in grids:
            lines.append(_table_text(grids[section.key], layout, rng))
    return "\n".join(lines) + "\n"
