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
                out.extend(_md_row([cell.text for cell in row.cells]) for row in item.rows)
                out.append("")
    except Exception as e:  # noqa: BLE001 - python-docx/lxml raise arbitrary types on hostile files
        raise AttachmentError(f"unreadable DOCX: {type(e).__name__}: {e}") from e
    return "\n".join(out)


def doc_text(content: bytes) -> str:
    antiword = shutil.which("antiword")
    if antiword is None:
        raise AttachmentError("DOC/WPS attachment and no antiword installed")
    try:
        proc = subprocess.run([antiword, "-m", "UTF-8.txt", "-"], input=content, capture_output=True,
                              timeout=ANTIWORD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as e:
        raise AttachmentError(f"antiword took longer than {ANTIWORD_TIMEOUT_S}s") from e
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AttachmentError(f"antiword could not read it: {msg[0] if msg else proc.returncode}")
    return proc.stdout.decode("utf-8", "replace")
