"""A unigram character model of clean Chinese report text, and of GBK byte-shift garbage.

Clean text: counts from real reports (`charfreq.tsv`, see `model_build`), a broad dictionary-phrase count,
and the GB2312 level-1/level-2 sets as a floor, all after OpenCC t2s so Traditional text scores like its
Simplified form. Garbage: what GBK bytes read one byte out of step produce, i.e. any double-byte GBK
character about equally often, `?` where a pair did not decode, and stray ASCII where the stream resynced.
Everything is computed once at import; lookups are dict gets.
"""

from __future__ import annotations

import math
from importlib import resources

import opencc

_T2S = opencc.OpenCC("t2s")

# Mixture weights of the clean-text model (they sum to 1).
_W_REPORT = 0.75
_W_GENERAL = 0.20
_W_FLOOR = 0.05
# How the floor mass is shared between GB2312 level-1 (the 3,755 common characters), level-2, and the rest.
_FLOOR_SHARE = {"l1": 0.80, "l2": 0.15, "other": 0.05}

COMMON_PUNCT = "，。、：；“”‘’（）《》！？—…·【】〔〕「」『』％＋－／"
_CLEAN_NON_CJK = {
    "common_punct": math.log(0.01),
    "ascii": math.log(0.003),
    "question": math.log(1e-4),
    "replacement": math.log(1e-5),
    "latin_accented": math.log(1e-6),
    "other": math.log(1e-7),
}

# GBK has 21,886 double-byte characters plus symbols; garbage picks among them roughly uniformly.
LOGQ_GBK_PAIR = -math.log(24000.0)
LOGQ_QUESTION = math.log(0.03)
LOGQ_ASCII = math.log(0.002)
LOGQ_IMPOSSIBLE = math.log(1e-9)


def _load_counts() -> tuple[dict[str, int], dict[str, int]]:
    report: dict[str, int] = {}
    general: dict[str, int] = {}
    text = resources.files(__package__).joinpath("charfreq.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        ch, r, g = line.split("\t")
        report[ch] = int(r)
        general[ch] = int(g)
    return report, general


def _gb2312_level(ch: str) -> str:
    try:
        lead = ch.encode("gb2312")[0]
    except UnicodeEncodeError:
        return "other"
    if 0xB0 <= lead <= 0xD7:
        return "l1"
    if 0xD8 <= lead <= 0xF7:
        return "l2"
    return "other"


def _build_cjk_table() -> dict[str, float]:
    report, general = _load_counts()
    total_report = sum(report.values()) or 1
    total_general = sum(general.values()) or 1
    chars = [chr(cp) for cp in range(0x3400, 0xA000) if not 0x4DC0 <= cp <= 0x4DFF]
    simplified = _T2S.convert("\n".join(chars)).split("\n")
    if len(simplified) != len(chars):  # a phrase rule merged lines: fall back to identity
        simplified = chars
    levels = {ch: _gb2312_level(ch) for ch in set(simplified)}
    level_sizes = {"l1": 3755, "l2": 3008, "other": len(chars) - 6763}
    table: dict[str, float] = {}
    for ch, s in zip(chars, simplified, strict=True):
        s = s if len(s) == 1 else ch
        level = levels.get(s) or _gb2312_level(s)
        p = (
            _W_REPORT * report.get(s, 0) / total_report
            + _W_GENERAL * general.get(s, 0) / total_general
            + _W_FLOOR * _FLOOR_SHARE[level] / level_sizes[level]
        )
        table[ch] = math.log(p)
    return table


_CJK_LOGP = _build_cjk_table()
_GBK_CACHE: dict[str, bool] = {}


def is_cjk(ch: str) -> bool:
    return ch in _CJK_LOGP


def in_gbk(ch: str) -> bool:
    """True when `ch` has a double-byte GBK encoding (so byte-shift garbage can produce it)."""
    known = _GBK_CACHE.get(ch)
    if known is None:
        try:
            known = len(ch.encode("gbk")) == 2
        except UnicodeEncodeError:
            known = False
        _GBK_CACHE[ch] = known
    return known


def clean_logp(ch: str) -> float:
    """log P(ch) under the clean-report model."""
    logp = _CJK_LOGP.get(ch)
    if logp is not None:
        return logp
    if ch in COMMON_PUNCT:
        return _CLEAN_NON_CJK["common_punct"]
    if ch == "?":
        return _CLEAN_NON_CJK["question"]
    if ch == "\ufffd":
        return _CLEAN_NON_CJK["replacement"]
    if ch < "\x80":
        return _CLEAN_NON_CJK["ascii"]
    if "\u00c0" <= ch <= "\u017f":
        return _CLEAN_NON_CJK["latin_accented"]
    return _CLEAN_NON_CJK["other"]


def garbage_logq(ch: str) -> float:
    """log P(ch) under the byte-shift garbage model."""
    if ch == "?":
        return LOGQ_QUESTION
    if ch < "\x80":
        return LOGQ_ASCII
    if in_gbk(ch):
        return LOGQ_GBK_PAIR
    return LOGQ_IMPOSSIBLE


def text_score(text: str) -> float:
    """Mean clean log-probability of the non-ASCII characters of `text` (higher reads more like a report).

    Texts without non-ASCII characters score 0. Used to choose between candidate decodings.
    """
    total = 0.0
    n = 0
    for ch in text:
        if ch < "\x80":
            continue
        total += clean_logp(ch)
        n += 1
    return total / n if n else 0.0
