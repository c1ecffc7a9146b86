"""Reports that are pictures: image attachments and PDF pages with no text layer, read by OCR into the same
blocks (text lines and grids) every other input becomes, so the same table readers and identities check them.

OCR'd grids carry the engine's confidence per cell (``Grid.confidence``); the table readers treat a cell
below ``LOW_CONFIDENCE`` as unread and the parser reports it (``ocr_low_confidence``) instead of trusting it.
Work is bounded: a page cap for PDFs and a time limit per report, shared by its pages.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

from crawler.report._blocks import Block, Grid
from crawler.report._pdf import pdf_lock

# A scanned PDF is read for at most this many pages, and a report's pictures for at most this many seconds.
MAX_OCR_PAGES = 12
OCR_TIME_LIMIT = 60.0
# Pages are rendered at this resolution for OCR (the generated scans are 150-300 dpi).
RENDER_DPI = 200
# Fewer letters and digits than this, and no table, is not a report page.
MIN_TEXT_CHARS = 20
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM")


def is_image(content: bytes) -> bool:
    head = content[:12]
    return head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


@dataclass
class Scanned:
    blocks: list[Block] = field(default_factory=list)
    pages: int = 0
    problems: list[str] = field(default_factory=list)  # one line each: a page that could not be read

    @property
    def empty(self) -> bool:
        """No table and hardly any text: a logo, a photo, a page that is only a picture (what OCR makes of its
        edges is not text)."""
        if any(isinstance(b, Grid) for b in self.blocks):
            return False
        return sum(1 for b in self.blocks if isinstance(b, str) for ch in b if ch.isalnum()) < MIN_TEXT_CHARS


def engine_missing() -> str | None:
    """Why OCR cannot run here (one line), or None."""
    # the engine (OpenCV, NumPy, Tesseract) costs ~0.3 s to load: only a report that is a picture pays it
    from crawler.report import _ocr

    if _ocr.ocr_available():
        return None
    return "no OCR engine installed (Debian tesseract-ocr, tesseract-ocr-chi-sim; tesserocr, opencv-python-headless)"


def read_pictures(pictures: list[bytes], time_limit: float = OCR_TIME_LIMIT) -> Scanned:
    """Text lines and grids of each picture, in order; a picture that cannot be read is a problem, not a crash."""
    from crawler.report import _ocr  # see engine_missing: loaded only for pictures

    out = Scanned()
    start = time.monotonic()
    for index, picture in enumerate(pictures):
        left = time_limit - (time.monotonic() - start)
        if left <= 0:
            out.problems.append(f"page {index + 1}: the OCR time limit of {time_limit:.0f} s ran out")
            break
        out.pages += 1
        try:
            lines = _ocr.read_text(picture, time_limit=left)
            tables = _ocr.read_tables(picture, time_limit=max(1.0, time_limit - (time.monotonic() - start)))
        except _ocr.OcrInputError as e:
            out.problems.append(f"page {index + 1}: {e}")
            continue
        out.blocks.extend(lines)
        for t in tables:
            out.blocks.append(Grid(t.rows, t.ids, t.confidence))
    return out


def pdf_pictures(content: bytes, max_pages: int = MAX_OCR_PAGES) -> tuple[list[bytes], int]:
    """The first ``max_pages`` pages of a PDF rendered to PNG at RENDER_DPI, and the page count."""
    import pypdfium2 as pdfium  # as in _pdf: PDFium loads only for PDFs

    pictures: list[bytes] = []
    with pdf_lock():
        doc = pdfium.PdfDocument(content)
        try:
            count = len(doc)
            for index in range(min(count, max_pages)):
                page = doc[index]
                try:
                    image = page.render(scale=RENDER_DPI / 72).to_pil()
                    buf = io.BytesIO()
                    image.convert("L").save(buf, format="PNG")
                    pictures.append(buf.getvalue())
                finally:
                    page.close()
        finally:
            doc.close()
    return pictures, count
