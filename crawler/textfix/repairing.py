"""`repair()`: undo the corruption that copies of reports carry, and keep a record of every repair."""

from __future__ import annotations

import operator
import re
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

import opencc

from .byteshift import find_and_recover
from .misdecoding import redecode
from .pinyin import remove_pinyin

_T2S = opencc.OpenCC("t2s")
# Share of CJK characters that t2s changes above which a text counts as Traditional
# (Simplified reports: < 0.5 %; Traditional ones: 15-30 %).
_TRADITIONAL_SHARE = 0.05
_TRADITIONAL_MIN_CHANGED = 3
_CJK = re.compile(r"[\u3400-\u9fff]")
# Long texts go through OpenCC a slice at a time, cut before an ASCII character (its conversion rules are
# runs of CJK characters, none spans one): its UTF-8 buffers then stay the size of a slice, not of the page.
_T2S_SLICE = 1 << 20
_ASCII = re.compile(r"[\x00-\x7f]")


@dataclass(frozen=True)
class Repaired:
    """The repaired working text (Simplified), the repaired original-script text, and what was repaired."""

    text: str
    original: str
    pinyin_removed: int = 0
    mojibake_spans: list[dict[str, Any]] = field(default_factory=list)
    traditional: bool = False
    issues: list[dict[str, Any]] = field(default_factory=list)

    def repairs_json(self) -> dict[str, Any]:
        """The `text.repairs` object of the canonical report JSON."""
        return {
            "pinyin_removed": self.pinyin_removed,
            "mojibake_spans": [dict(span) for span in self.mojibake_spans],
            "traditional": self.traditional,
        }


def _issue(detail: str) -> dict[str, Any]:
    return {"code": "mojibake", "table": None, "row": None, "column": None, "detail": detail}


def is_traditional(original: str, simplified: str) -> bool:
    """True when t2s changed enough CJK characters for the text to be Traditional."""
    if original == simplified:
        return False
    changed = sum(map(operator.ne, original, simplified))
    if changed < _TRADITIONAL_MIN_CHANGED:
        return False
    cjk = sum(
        len(_CJK.findall(original, start, start + _T2S_SLICE))
        for start in range(0, len(original), _T2S_SLICE)
    )
    return cjk > 0 and changed >= _TRADITIONAL_MIN_CHANGED and changed / cjk >= _TRADITIONAL_SHARE


class _Removed:
    """Pinyin removals as prefix sums: a position in the text after removal maps back by bisection (a
    scan per span made 200 spans over a page of annotations quadratic)."""

    def __init__(self, removed: array[int]) -> None:
        self.out_starts = array("q")  # where each removal starts in the text after removal
        self.shifts = array("q", [0])  # characters removed before removal k (and after all of them, last)
        for k in range(0, len(removed), 2):
            start, end = removed[k], removed[k + 1]
            self.out_starts.append(start - self.shifts[-1])
            self.shifts.append(self.shifts[-1] + end - start)

    def to_input(self, position: int, inclusive: bool) -> int:
        # The removals that start before `position` (or at it, when inclusive) in the text after removal.
        k = (bisect_right if inclusive else bisect_left)(self.out_starts, position)
        return position + self.shifts[k]


def _fix_byte_shifts(text: str, removed: array[int]) -> tuple[str, list[dict[str, Any]], str | None]:
    spans, capped = find_and_recover(text)
    if not spans:
        return text, [], capped
    positions = _Removed(removed)
    pieces: list[str] = []
    records: list[dict[str, Any]] = []
    last = 0
    for span in spans:
        pieces.append(text[last : span.start])
        pieces.append(span.recovered)
        last = span.end
        records.append(
            {
                "start": positions.to_input(span.start, inclusive=True),
                "end": positions.to_input(span.end, inclusive=False),
                "garbled": span.garbled,
                "recovered": span.recovered,
                "unrecovered": span.unrecovered,
            }
        )
    pieces.append(text[last:])
    return "".join(pieces), records, capped


def _t2s(text: str) -> str:
    """OpenCC t2s; the same object back when nothing changed (a 60 MB page is not held twice for nothing)."""
    if len(text) <= _T2S_SLICE:
        converted = _T2S.convert(text)
    else:
        pieces = []
        start = 0
        while start < len(text):
            cut = _ASCII.search(text, start + _T2S_SLICE, start + 2 * _T2S_SLICE)
            end = min(len(text), start + 2 * _T2S_SLICE) if cut is None else cut.start()
            pieces.append(_T2S.convert(text[start:end]))
            start = end
        converted = "".join(pieces)
    return text if converted == text else converted


def repair(text: str) -> Repaired:
    """Repair `text`: mis-decoding, pinyin annotations, byte-shift garbage; add a Simplified working copy.

    Pure and deterministic; never raises (a non-str input is converted with `str()`).
    `mojibake_spans` offsets index the input text (or, when the whole text was re-decoded first, the
    re-decoded text); `recovered` marks what could not be recovered with U+FFFD.
    """
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace") if isinstance(text, bytes | bytearray) else str(text)
    if not text:
        return Repaired(text="", original="")
    issues: list[dict[str, Any]] = []
    redecoded = redecode(text)
    if redecoded is not None and redecoded.family:
        where = "the whole text" if redecoded.lines == 0 else f"text in {redecoded.lines} line(s)"
        issues.append(
            _issue(
                f"{where} mis-decoded ({redecoded.family}); re-decoded, {redecoded.holes_filled} lost bytes guessed"
            )
        )
        text = redecoded.text
    if redecoded is not None and redecoded.capped:
        issues.append(_issue(redecoded.capped))
    # Each stage's input is let go once the next copy exists (the caller's is often a temporary): at most
    # about three copies of a 60 MB text are alive at once, two of them the result.
    del redecoded
    stripped, pinyin_removed, removed = remove_pinyin(text)
    del text
    shifted, spans, capped = _fix_byte_shifts(stripped, removed)
    del stripped
    for span in spans:
        lost = f"{span['unrecovered']} unrecoverable" if span["unrecovered"] else "all recovered"
        issues.append(
            _issue(
                f"GBK byte-shift garbage at {span['start']}-{span['end']}: {span['garbled']!r} -> "
                f"{span['recovered']!r} ({lost})"
            )
        )
    if capped:
        issues.append(_issue(capped))
    if spans:
        # Recovered characters free the annotations that followed them: `钨M(fèi)` -> `費(fèi)` -> `費`.
        shifted, more, _ = remove_pinyin(shifted)
        pinyin_removed += more
    original = shifted
    simplified = _t2s(original)
    return Repaired(
        text=simplified,
        original=original,
        pinyin_removed=pinyin_removed,
        mojibake_spans=spans,
        traditional=is_traditional(original, simplified),
        issues=issues,
    )
