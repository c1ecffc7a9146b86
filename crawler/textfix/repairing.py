"""`repair()`: undo the corruption that copies of reports carry, and keep a record of every repair."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any

import opencc

from .byteshift import MAX_SPANS, find_and_recover
from .misdecoding import redecode
from .pinyin import remove_pinyin

_T2S = opencc.OpenCC("t2s")
# Share of CJK characters that t2s changes above which a text counts as Traditional
# (Simplified reports: < 0.5 %; Traditional ones: 15-30 %).
_TRADITIONAL_SHARE = 0.05
_TRADITIONAL_MIN_CHANGED = 3
_CJK = re.compile(r"[\u3400-\u9fff]")


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
    cjk = _CJK.subn("", original)[1]
    return cjk > 0 and changed >= _TRADITIONAL_MIN_CHANGED and changed / cjk >= _TRADITIONAL_SHARE


def _to_input(position: int, removed: list[tuple[int, int]], inclusive: bool) -> int:
    """Map a position in the text after pinyin removal back to the text before it."""
    shift = 0
    for start, end in removed:
        out_start = start - shift
        if out_start < position or (inclusive and out_start == position):
            shift += end - start
        else:
            break
    return position + shift


def _fix_byte_shifts(text: str, removed: list[tuple[int, int]]) -> tuple[str, list[dict[str, Any]], bool]:
    spans, truncated = find_and_recover(text)
    if not spans:
        return text, [], truncated
    pieces: list[str] = []
    records: list[dict[str, Any]] = []
    last = 0
    for span in spans:
        pieces.append(text[last : span.start])
        pieces.append(span.recovered)
        last = span.end
        records.append(
            {
                "start": _to_input(span.start, removed, inclusive=True),
                "end": _to_input(span.end, removed, inclusive=False),
                "garbled": span.garbled,
                "recovered": span.recovered,
                "unrecovered": span.unrecovered,
            }
        )
    pieces.append(text[last:])
    return "".join(pieces), records, truncated


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
    if redecoded is not None:
        where = "the whole text" if redecoded.lines == 0 else f"text in {redecoded.lines} line(s)"
        issues.append(
            _issue(
                f"{where} mis-decoded ({redecoded.family}); re-decoded, {redecoded.holes_filled} lost bytes guessed"
            )
        )
        text = redecoded.text
    stripped, pinyin_removed, removed = remove_pinyin(text)
    shifted, spans, truncated = _fix_byte_shifts(stripped, removed)
    for span in spans:
        lost = f"{span['unrecovered']} unrecoverable" if span["unrecovered"] else "all recovered"
        issues.append(
            _issue(
                f"GBK byte-shift garbage at {span['start']}-{span['end']}: {span['garbled']!r} -> "
                f"{span['recovered']!r} ({lost})"
            )
        )
    if truncated:
        issues.append(
            _issue(f"more than {MAX_SPANS} byte-shift spans: text is mostly garbage; the rest left as is")
        )
    if spans:
        # Recovered characters free the annotations that followed them: `钨M(fèi)` -> `費(fèi)` -> `費`.
        shifted, more, _ = remove_pinyin(shifted)
        pinyin_removed += more
    original = shifted
    simplified = _T2S.convert(original)
    return Repaired(
        text=simplified,
        original=original,
        pinyin_removed=pinyin_removed,
        mojibake_spans=spans,
        traditional=is_traditional(original, simplified),
        issues=issues,
    )
