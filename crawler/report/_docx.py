"""DOCX reports to text: paragraphs, and tables as markdown rows (a merged cell repeated over its span)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from crawler.report._attachments import MAX_MEMBER_BYTES, MAX_RATIO, SLIVER_TWIPS, AttachmentError, _md_row


def docx_text(content: bytes) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as e:
        raise AttachmentError(f"not a DOCX (bad zip): {e}") from e
    for info in zf.infolist():
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_MEMBER_BYTES or ratio > MAX_RATIO:
            raise AttachmentError(
                f"DOCX member {info.filename} inflates to {info.file_size} bytes (ratio {ratio:.0f}): refused")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(content))
        out: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Paragraph):
                out.append(item.text)
            elif isinstance(item, Table):
                # a merged cell comes back once per grid column it covers, like an HTML span
                out.append("")
                slivers = _sliver_columns(item)
                for row in item.rows:
                    first, texts = _row_texts(row)
                    out.append(_md_row([t for col, t in enumerate(texts, first) if col not in slivers]))
                out.append("")
    except Exception as e:  # noqa: BLE001 - python-docx/lxml raise arbitrary types on hostile files
        raise AttachmentError(f"unreadable DOCX: {type(e).__name__}: {e}") from e
    return "\n".join(out)


def _row_texts(row: Any) -> tuple[int, list[str]]:
    """The grid column a DOCX table row's first text stands in, and the texts, one per grid column from
    there (a merged cell repeats, like an HTML span).

    python-docx refuses a row whose vertical merge points at a cell the row above does not have
    (LibreOffice writes such rows when it re-saves a table it misread); that row is read cell by cell,
    each cell's own text repeated over its span, instead of losing the whole document."""
    try:
        return row._tr.grid_before, [cell.text for cell in row.cells]
    except ValueError:
        from docx.table import _Cell

        tr = row._tr
        texts = [""] * tr.grid_before
        for tc in tr.tc_lst:
            texts.extend([_Cell(tc, row.table).text] * tc.grid_span)
        return 0, texts


def _sliver_columns(table: Any) -> set[int]:
    """The grid columns of a DOCX table narrower than ``SLIVER_TWIPS`` that no cell lies wholly in.

    Every cell over such a column also covers a real one, so reading it would only repeat that cell's text
    (LibreOffice's DOC→DOCX gives Table 4's 总计 a 1-twip second column: 16 numbers for 15 columns). A table
    without a grid, or with one that does not parse, has none: it is read as before."""
    from docx.oxml.ns import qn
    from docx.shared import Twips

    try:
        grid = table._tbl.find(qn("w:tblGrid"))
        if grid is None:
            return set()
        slivers = {j for j, col in enumerate(grid.findall(qn("w:gridCol")))
                   if col.w is not None and col.w < Twips(SLIVER_TWIPS)}
        for tr in table._tbl.tr_lst if slivers else ():
            col = tr.grid_before
            for tc in tr.tc_lst:
                span = set(range(col, col + tc.grid_span))
                if span <= slivers:  # a cell all in slivers: its text stands only there, keep its columns
                    slivers -= span
                col += tc.grid_span
    except Exception:  # noqa: BLE001 - python-docx raises arbitrary types on malformed widths and spans
        return set()
    return slivers
