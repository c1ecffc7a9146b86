"""Reports as attachment files: PDF (reportlab, built-in CID font), DOCX (python-docx), PNG (an image-only table).

PDF and DOCX hold real tables in the official rowspan/colspan form, so text extraction meets what it
meets on real attachments. Output is byte-stable: fixed document ids, dates and zip timestamps.
"""

from __future__ import annotations

import html
import io
import zipfile
from datetime import UTC, datetime

from crawler.portal.generator import GeneratedReport
from crawler.portal.grid import Grid, grid_matrix, report_grids

_CJK_FONT = "STSong-Light"
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def _register_font() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if _CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))


def _col_widths(width: int, key: str) -> list[float]:
    if key == "applications":
        return [34, 40, 138] + [38.0] * (width - 3)
    if key == "review_litigation":
        return [32.0] * width
    return [125.0] * width


def render_pdf(report: GeneratedReport) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _register_font()
    body = ParagraphStyle("body", fontName=_CJK_FONT, fontSize=10.5, leading=16, wordWrap="CJK",
                          firstLineIndent=21)
    head = ParagraphStyle("head", parent=body, fontSize=12, leading=20, firstLineIndent=0)
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=24, alignment=1, firstLineIndent=0)
    cell_style = ParagraphStyle("cell", fontName=_CJK_FONT, fontSize=7.5, leading=9.5, wordWrap="CJK",
                                alignment=1)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=40, rightMargin=40, topMargin=50, bottomMargin=50,
                            title=report.title, author=report.agency, creator="nianbao demo portal",
                            invariant=1)
    story: list = [Paragraph(report.title, title), Spacer(1, 8), Paragraph(report.preamble, body)]
    grids = report_grids(report, "official")
    for section in report.sections:
        story.append(Paragraph(section.title, head))
        story.extend(Paragraph(p, body) for p in section.paragraphs)
        grid = grids.get(section.key)
        if grid is None:
            continue
        matrix, spans = grid_matrix(grid)
        # labels wrap (Paragraph); numbers are plain strings, which reportlab draws far faster
        data = [["" if c is None else Paragraph(c.text, cell_style) if c.label else c.text for c in row]
                for row in matrix]
        table = Table(data, colWidths=_col_widths(len(matrix[0]), section.key), repeatRows=0)
        commands: list = [("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                          ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                          ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                          ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                          ("FONTNAME", (0, 0), (-1, -1), _CJK_FONT)]
        commands.extend(("SPAN", (c1, r1), (c2, r2)) for r1, c1, r2, c2 in spans)
        table.setStyle(TableStyle(commands))
        story.extend([Spacer(1, 4), table, Spacer(1, 6)])
    doc.build(story)
    return buf.getvalue()


def _docx_table_xml(grid: Grid, key: str) -> str:
    """WordprocessingML of a spanned grid: gridSpan for colspans, vMerge restart/continue for rowspans
    (written directly: python-docx's merge API re-walks the whole table for every cell). The grid columns
    carry widths: LibreOffice places spanned cells by them and, without, collapses the spans."""
    matrix, spans = grid_matrix(grid)
    width = len(matrix[0])
    owner: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for r1, c1, r2, c2 in spans:
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                owner[(r, c)] = (r1, c1, r2, c2)
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    rows = []
    for r, row in enumerate(matrix):
        cells = []
        c = 0
        while c < width:
            span = owner.get((r, c))
            cols = span[3] - span[1] + 1 if span else 1
            props = f'<w:gridSpan w:val="{cols}"/>' if cols > 1 else ""
            cell = row[c]
            if span and span[2] > span[0]:
                props += '<w:vMerge w:val="restart"/>' if r == span[0] else "<w:vMerge/>"
            text = html.escape(cell.text, quote=False) if cell is not None and (not span or r == span[0]) else ""
            para = f'<w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>' if text else "<w:p/>"
            cells.append(f"<w:tc><w:tcPr>{props}</w:tcPr>{para}</w:tc>")
            c += cols
        rows.append(f"<w:tr>{''.join(cells)}</w:tr>")
    grid_cols = "".join(f'<w:gridCol w:w="{round(w * 20)}"/>' for w in _col_widths(width, key))  # twips
    return (f'<w:tbl {ns}><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/>'
            f'<w:tblLook w:val="04A0"/></w:tblPr><w:tblGrid>{grid_cols}</w:tblGrid>{"".join(rows)}</w:tbl>')


def render_docx(report: GeneratedReport) -> bytes:
    from docx import Document
    from docx.oxml import parse_xml

    document = Document()
    stamp = datetime.fromisoformat(report.published).replace(tzinfo=UTC)
    props = document.core_properties
    props.title, props.author, props.created, props.modified = report.title, report.agency, stamp, stamp
    props.last_modified_by = report.agency
    document.add_heading(report.title, level=1)
    document.add_paragraph(report.preamble)
    grids = report_grids(report, "official")
    for section in report.sections:
        document.add_paragraph(section.title, style="Heading 2")
        for paragraph in section.paragraphs:
            document.add_paragraph(paragraph)
        if section.key in grids:
            anchor = document.add_paragraph()._p  # the table goes where this empty paragraph is
            anchor.addprevious(parse_xml(_docx_table_xml(grids[section.key], section.key)))
    raw = io.BytesIO()
    document.save(raw)
    return _stable_zip(raw.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """Re-pack a zip with fixed timestamps so the same document gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def render_png(report: GeneratedReport) -> bytes:
    """Table 3 as a picture (numbers only: the machine has no CJK raster font, and an image table
    is unreadable to the text parser either way, which is the point of this case)."""
    from PIL import Image, ImageDraw

    grid = report_grids(report, "flat")["applications"]
    rows = [r for r in grid if len(r) == 8]
    cell_w, cell_h, label_w = 60, 22, 40
    image = Image.new("RGB", (label_w + cell_w * 7 + 2, cell_h * len(rows) + 2), "white")
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(rows):
        y = r * cell_h
        draw.rectangle((0, y, label_w, y + cell_h), outline="black")
        draw.text((6, y + 5), str(r), fill="black")
        for c, cell in enumerate(row[1:]):
            x = label_w + c * cell_w
            draw.rectangle((x, y, x + cell_w, y + cell_h), outline="black")
            draw.text((x + 6, y + 5), cell.text if r else str(c + 1), fill="black")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
