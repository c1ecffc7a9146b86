"""The character classes shared by the model builder and the model."""

from __future__ import annotations

PUNCT = "，。、：；“”‘’（）《》！？—…·【】〔〕「」『』％＋－／"


def bigram_token(ch: str) -> str | None:
    """What the bigram table records for `ch`: itself, '0' for any digit, 'a' for any ASCII letter."""
    if "\u3400" <= ch <= "\u9fff" or ch in PUNCT or ch == "\n":
        return ch
    if ch.isascii():
        if ch.isdigit():
            return "0"
        if ch.isalpha():
            return "a"
        if ch in ",.;:()[]-/%|\"'!?":
            return ch
    return None
