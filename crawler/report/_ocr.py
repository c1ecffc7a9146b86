"""OCR of report pictures: the tables (cells with spans, per-cell confidence) and the narrative lines.

Pure: image bytes in, result out; no network, no clock in the result. The engine is Tesseract 5 through
tesserocr (libtesseract in-process) with Debian's ``chi_sim`` and ``eng`` models, one thread, fixed
settings, so the same bytes give the same result (``rebuild`` is byte-identical). Why this engine, how a
table is read, and the figures: docs/ocr.md.

    ocr_available() -> bool
    read_tables(image, *, time_limit=20.0) -> list[OcrTable]   # top to bottom
    read_text(image, *, time_limit=20.0) -> list[str]          # lines outside the tables, in reading order
    is_text_free(image) -> bool                                # a logo, poster or photo
    LOW_CONFIDENCE                                             # below: doubtful, never a silent number
    OcrInputError                                              # not a picture, or over MAX_PIXELS

A cell with confidence below ``LOW_CONFIDENCE`` is the caller's ``ocr_low_confidence`` issue, not a number
to trust.
"""

from __future__ import annotations

import re

from crawler.report._ocr_borderless import read_borderless
from crawler.report._ocr_tables import (
    FULLWIDTH,
    LOW_CONFIDENCE,
    MAX_PIXELS,
    WORK_PIXELS,
    Deadline,
    OcrInputError,
    OcrTable,
    find_grids,
    limits,
    ocr_available,
    prepare,
    read_grid,
    text_lines,
)

__all__ = ["LOW_CONFIDENCE", "MAX_PIXELS", "WORK_PIXELS", "OcrInputError", "OcrTable", "is_text_free",
           "ocr_available", "read_tables", "read_text"]

_HAN = re.compile(r"[\u4e00-\u9fff]")


def read_tables(image: bytes, *, time_limit: float = 20.0) -> list[OcrTable]:
    """The tables on the picture, top to bottom: ruled ones, or, when there is none, one table from the
    alignment of the values (``_ocr_borderless``; its values are never above ``LOW_CONFIDENCE``). Cells not
    reached within ``time_limit`` seconds come back empty with confidence 0. Raises ``OcrInputError`` for
    bytes that are no picture or too large."""
    deadline = Deadline(time_limit)
    with limits():
        page = prepare(image)
        grids = find_grids(page)
        if not grids:
            return read_borderless(page, deadline)
        return [read_grid(page, grid, deadline) for grid in grids]


def read_text(image: bytes, *, time_limit: float = 20.0) -> list[str]:
    """Narrative lines outside the ruled tables, in reading order (the tables blanked out first)."""
    deadline = Deadline(time_limit)
    with limits():
        page = prepare(image)
        flat = page.flat.copy()
        for grid in find_grids(page):
            flat[grid.ys[0] - 3: grid.ys[-1] + 4, grid.xs[0] - 3: grid.xs[-1] + 4] = 255
        return [line.translate(FULLWIDTH) if _HAN.search(line) else line for line in text_lines(flat, deadline)]


def is_text_free(image: bytes) -> bool:
    """A logo, poster or photo: no ruled table, and at most about 20 characters of text."""
    with limits():
        page = prepare(image)
        if find_grids(page):
            return False
        return sum(len(line) for line in text_lines(page.flat, Deadline(10.0))) <= 20
