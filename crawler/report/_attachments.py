"""PDF, DOCX and DOC reports to text. Tables come out as markdown lines so the text reader takes them in."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import zipfile
from typing import Any

# A DOCX member larger than this, or inflating more than this ratio, is refused (zip bombs).
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200
ANTIWORD_TIMEOUT_S = 20

# pdfminer logs several thousand DEBUG records per page. Scrapy leaves the root logger at NOTSET, so each of them
# would be built and handed to every handler before being dropped: half of the crawl's parse time. Unless the
# operator has set a level for pdfminer themselves, it logs from WARNING up.
if logging.getLogger("pdfminer").level == logging.NOTSET:
    logging.getLogger("pdfminer").setLevel(logging.WARNING)


class AttachmentError(Exception):
    """The attachment cannot be read; the message says why."""


def sniff(content: bytes, content_type: str | None, url: str | None) -> str:
    ct = (content_type or "").split(";")[0].strip().lower()
    low_url = (url or "").lower().split("?")[0]
    head = content[:8]
    if head.startswith(b"%PDF") or ct == "application/pdf":
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "doc"
    if "wordprocessingml" in ct or low_url.endswith(".docx"):
        return "docx"
    if ct in ("application/msword", "application/vnd.ms-works", "application/wps-office.wps") or \
            low_url.endswith((".doc", ".wps")):
        return "doc"
    return "markup"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "｜").replace("\n", "") for c in cells) + " |"


def pdf_text(content: bytes) -> str:
    import pdfplumber

    out: list[str] = []
    try:
        with pdfplumber.open(io.BytesIO(content)) as pdf:
            for page in pdf.pages:
                tables = page.find_tables()
                boxes = [t.bbox for t in tables]

                def outside(obj: dict[str, Any], boxes: list[Any] = boxes) -> bool:
                    if "x0" not in obj:
                        return True
                    x = (obj["x0"] + obj["x1"]) / 2
                    y = (obj["top"] + obj["bottom"]) / 2
                    return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

                body = page.filter(outside) if boxes else page
                # text lines and tables in reading order, by their top edge
                pieces: list[tuple[float, str]] = [
                    (float(line["top"]), line["text"]) for line in body.extract_text_lines()]
                for t in tables:
                    rows = [_md_row([(c or "") for c in row]) for row in t.extract()]
                    pieces.append((float(t.bbox[1]), "\n" + "\n".join(rows) + "\n"))
                out.extend(text for _, text in sorted(pieces, key=lambda p: p[0]))
    except Exception as e:  # noqa: BLE001 - pdfminer raises arbitrary types on hostile files
        raise AttachmentError(f"unreadable PDF: {type(e).__name__}: {e}") from e
    return "\n".join(out)


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
                out.extend(_md_row(_row_texts(row)) for row in item.rows)
                out.append("")
    except Exception as e:  # noqa: BLE001 - python-docx/lxml raise arbitrary types on hostile files
        raise AttachmentError(f"unreadable DOCX: {type(e).__name__}: {e}") from e
    return "\n".join(out)


def _row_texts(row: Any) -> list[str]:
    """The texts of a DOCX table row, one per grid column (a merged cell repeats, like an HTML span).

    python-docx refuses a row whose vertical merge points at a cell the row above does not have
    (LibreOffice writes such rows when it re-saves a table it misread); that row is read cell by cell,
    each cell's own text repeated over its span, instead of losing the whole document."""
    try:
        return [cell.text for cell in row.cells]
    except ValueError:
        from docx.table import _Cell

        tr = row._tr
        texts = [""] * tr.grid_before
        for tc in tr.tc_lst:
            texts.extend([_Cell(tc, row.table).text] * tc.grid_span)
        return texts


def doc_text(content: bytes) -> str:
    """A Word 97–2003 (or WPS) file through antiword; its tables come back as markdown rows."""
    antiword = shutil.which("antiword")
    if antiword is None:
        raise AttachmentError("DOC/WPS attachment and no antiword installed")
    try:
        # -w 0: a whole paragraph per line (the default wraps at 80 columns, splitting digit runs)
        proc = subprocess.run([antiword, "-m", "UTF-8.txt", "-w", "0", "-"], input=content, capture_output=True,
                              timeout=ANTIWORD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise AttachmentError(f"antiword took longer than {ANTIWORD_TIMEOUT_S}s") from e
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AttachmentError(f"antiword could not read it: {msg[0] if msg else proc.returncode}")
    return antiword_tables(proc.stdout.decode("utf-8", "replace"))


def antiword_tables(text: str) -> str:
    """antiword's text with its run-on table rows turned into markdown rows.

    antiword prints a table row whose properties it finds as ``|cell   |cell   |``, which the text reader
    takes as it is. A row whose properties it cannot find comes out run on, one line for the whole table:
    ``cell |cell |cell | |cell |…``, every cell followed by ``|`` and each row's end mark printed as one
    more empty cell. LibreOffice stores the properties of any row of seven or more cells in a "huge PAPX"
    (sprmPHugePapx), which antiword 0.37 does not follow, so Tables 3 and 4 come out this way (other writers
    may do the same when a row's properties are long).
    An empty cell right after a filled one is taken for the row's end, unless it stands between two numbers
    (a blank data cell); empty cells after the end (merged-cell continuations) lead the next row. A row whose
    last cell is blank loses that cell, and the parser treats the row as one printed short. antiword drops such rows' text when a row it can read comes next in
    the same table run; that loss cannot be seen here, and shows later as missing rows or tables."""
    out: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("|") or not stripped.endswith("|") or stripped.count("|") < 3:
            out.append(line)
            continue
        out.append("")
        out.extend(_md_row(row) for row in _run_on_rows(stripped))
        out.append("")
    return "\n".join(out)


def _run_on_rows(line: str) -> list[list[str]]:
    cells = [c.strip() for c in line.split("|")[:-1]]
    rows: list[list[str]] = []
    row: list[str] = []
    for i, cell in enumerate(cells):
        after = cells[i + 1] if i + 1 < len(cells) else ""
        if not cell and row and row[-1] and not (_is_number(row[-1]) and _is_number(after)):
            rows.append(row)  # the row's end mark
            row = []
        else:
            row.append(cell)  # a cell (an empty one between two numbers is a blank data cell)
    if any(row):
        rows.append(row)
    return rows


def _is_number(cell: str) -> bool:
    return bool(cell) and cell.replace(".", "", 1).replace(",", "").lstrip("-").isdigit()
