"""Remove pinyin annotations that mirror sites inject after characters: `報(bào)告`, `公(gong)(gong)開(kai)`.

An annotation is removed only when every syllable in it is a reading of the character right before it
(pypinyin's dictionary), so real parentheses such as `（以下简称《条例》）` or `第(a)项` stay.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from functools import lru_cache

from pypinyin.pinyin_dict import pinyin_dict

_LETTER = r"[A-Za-z\u00c0-\u024f\u1e3f\u01f9\u0300-\u036f]"
# A CJK character followed by one or more bracketed syllables (ASCII or full-width brackets, tone digits ok).
_ANNOTATED = re.compile(r"([\u3400-\u9fff\uf900-\ufaff])((?:[(（]\s?" + _LETTER + r"{1,7}[1-5]?\s?[)）])+)")
_GROUP = re.compile(r"[(（]\s?(" + _LETTER + r"{1,7})([1-5]?)\s?[)）]")


def _toneless(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable.lower()).replace("u\u0308", "v")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("u:", "v")


@lru_cache(maxsize=8192)
def readings(ch: str) -> frozenset[str]:
    """Toned and toneless readings of `ch` (lower-case, ü written as v in the toneless forms)."""
    raw = pinyin_dict.get(ord(ch))
    if not raw:
        return frozenset()
    toned = {r.strip().lower() for r in raw.split(",") if r.strip()}
    return frozenset(toned | {_toneless(r) for r in toned})


def _is_reading(ch: str, syllable: str) -> bool:
    known = readings(ch)
    if not known:
        return False
    lowered = syllable.lower()
    return lowered in known or _toneless(lowered) in known


@lru_cache(maxsize=16384)
def _annotation_groups(ch: str, annotation: str) -> int:
    """Number of bracketed syllables in `annotation` if all are readings of `ch`, else 0."""
    groups = _GROUP.findall(annotation)
    if not groups or not all(_is_reading(ch, syllable) for syllable, _tone in groups):
        return 0
    return len(groups)


def remove_pinyin(text: str) -> tuple[str, int, array[int]]:
    """Strip validated annotations: (new text, groups removed, removed [start, end) ranges in `text`, flat:
    start, end, start, end...). Memory: the new text plus 16 bytes a removal (a page of annotations after
    every character has millions)."""
    if "(" not in text and "（" not in text:
        return text, 0, array("q")
    pieces: list[str] = []
    done: list[str] = []  # pieces joined a few thousand at a time
    removed = array("q")
    count = 0
    last = 0
    for match in _ANNOTATED.finditer(text):
        groups = _annotation_groups(match.group(1), match.group(2))
        if not groups:
            continue
        start, end = match.span(2)
        pieces.append(text[last:start])
        if len(pieces) >= 4096:
            done.append("".join(pieces))
            pieces.clear()
        removed.append(start)
        removed.append(end)
        count += groups
        last = end
    if not removed:
        return text, 0, removed
    pieces.append(text[last:])
    return "".join(done + pieces), count, removed
