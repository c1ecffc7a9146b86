"""The intermediate document: a list of text lines and tables, whatever the input format was."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WS = re.compile(r"[\s\u3000\u00a0]+")
# The invisible characters Word exports and CMS editors leave inside labels and numbers (soft hyphen,
# zero-width space/joiners, word joiner, BOM): deleted, never read as a separator ("1\u200b2" is 12).
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\u00ad\ufeff"))


@dataclass
class Grid:
    """A table as rows of cell texts ('' for a blank cell). Rows from HTML are rectangular (spans
    resolved); rows from text forms are as ragged as the source."""

    rows: list[list[str]]
    # ids[r][c]: which source cell fills slot (r, c); slots of one spanned cell share an id. None: every slot
    # is its own cell (text forms).
    ids: list[list[int]] | None = None
    # confidence[r][c]: the OCR engine's confidence (0-100) in slot (r, c); None for a grid that was not OCR'd
    confidence: list[list[float]] | None = None

    def cell_ids(self) -> list[list[int]]:
        if self.ids is not None:
            return self.ids
        n = 0
        out: list[list[int]] = []
        for row in self.rows:
            out.append(list(range(n, n + len(row))))
            n += len(row)
        return out


Block = str | Grid


def cell_text(text: str) -> str:
    """Cell text with every kind of whitespace removed (labels get split by spaces and line breaks)."""
    return _WS.sub("", text.translate(INVISIBLE))


def line_text(text: str) -> str:
    return _WS.sub(" ", text.translate(INVISIBLE)).strip()
