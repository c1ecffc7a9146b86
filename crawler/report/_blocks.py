"""The intermediate document: a list of text lines and tables, whatever the input format was."""

from __future__ import annotations

import re
from dataclasses import dataclass

_WS = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")


@dataclass
class Grid:
    """A table as rows of cell texts ('' for a blank cell). Rows from HTML are rectangular (spans
    resolved); rows from text forms are as ragged as the source."""

    rows: list[list[str]]


Block = str | Grid


def cell_text(text: str) -> str:
    """Cell text with every kind of whitespace removed (labels get split by spaces and line breaks)."""
    return _WS.sub("", text)


def line_text(text: str) -> str:
    return _WS.sub(" ", text).strip()
