"""PDF reports to text: text lines and ruled tables (as markdown rows) in reading order."""

from __future__ import annotations

import io
from typing import Any

from crawler.report._attachments import AttachmentError, _md_row


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
