"""What the file readers (PDF, DOCX, DOC) share: their error, their size limits, and how a table row is printed
for the text reader. Its own module so the readers import it and not each other."""

from __future__ import annotations

# A DOCX member larger than this, or inflating more than this ratio, is refused (zip bombs).
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_RATIO = 200
# A DOCX table grid column narrower than one point (20 twips) holds no text: it is a rounding sliver
# (LibreOffice writes a 1-twip one when a Word 97 row's cell edges differ by a twip from the next row's).
SLIVER_TWIPS = 20


class AttachmentError(Exception):
    """The attachment cannot be read; the message says why."""


# A markdown table slot covered by the cell to its left / above it (a colspan / rowspan), as the PDF reader prints
# them; the text reader resolves them into one cell's slots (crawler/report/_plaintext.py).
SPAN_LEFT = "⇐"
SPAN_UP = "⇑"


def md_row(cells: list[str]) -> str:
    """A table row as a markdown line (the text reader's table form)."""
    return "| " + " | ".join(c.replace("|", "｜").replace("\n", "") for c in cells) + " |"
