"""A unigram character model of clean Chinese report text, and of GBK byte-shift garbage.

Clean text: counts from real reports (`charfreq.tsv`, see `model_build`), a broad dictionary-phrase count,
and the GB2312 level-1/level-2 sets as a floor, all after OpenCC t2s so Traditional text scores like its
Simplified form. Garbage: what GBK bytes read one byte out of step produce, i.e. any double-byte GBK
character about equally often, `?` where a pair did not decode, and stray ASCII where the stream resynced.
Everything is computed once at import; lookups are dict gets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from itertools import chain

import opencc

from .tokens import PUNCT as COMMON_PUNCT
from .tokens import bigram_token

_T2S = opencc.OpenCC("t2s")

# Mixture weights of the clean-text model (they sum to 1).
_W_REPORT = 0.75
_W_GENERAL = 0.20
_W_FLOOR = 0.05
# How the floor mass is shared between GB2312 level-1 (the 3,755 common characters), level-2, and the rest.
_FLOOR_SHARE = {"l1": 0.80, "l2": 0.15, "other": 0.05}

_CLEAN_NON_CJK = {
    "ascii": math.log(0.003),
    "question": math.log(1e-4),
    "symbol": math.log(1e-4),
    "replacement": math.log(1e-5),
    "latin_accented": math.log(1e-6),
    "other": math.log(1e-7),
}

# Signs real reports use now and then (checkboxes in tables, units, arrows, brackets).
_DOCUMENT_SYMBOLS = frozenset("〈〉〖〗×√○●■□▲△◆◇★☆※→←↑↓℃‰≤≥±÷°§№")

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


_T2S_CHAR: dict[str, str] = {}


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
        if s != ch:
            _T2S_CHAR[ch] = s
        level = levels.get(s) or _gb2312_level(s)
        p = (
            _W_REPORT * report.get(s, 0) / total_report
            + _W_GENERAL * general.get(s, 0) / total_general
            + _W_FLOOR * _FLOOR_SHARE[level] / level_sizes[level]
        )
        table[ch] = math.log(p)
    return table


_CJK_LOGP = _build_cjk_table()


def _build_punct_table() -> dict[str, float]:
    report, _general = _load_counts()
    total = sum(n for ch, n in report.items() if ch not in COMMON_PUNCT) or 1
    # Punctuation is about as frequent per CJK character in any report; unseen marks keep a small floor.
    return {ch: math.log((report.get(ch, 0) + 1) / total) for ch in COMMON_PUNCT}


_PUNCT_LOGP = _build_punct_table()
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
    punct = _PUNCT_LOGP.get(ch)
    if punct is not None:
        return punct
    if ch == "?":
        return _CLEAN_NON_CJK["question"]
    if ch == "\u3000" or "\uff01" <= ch <= "\uff5e":  # ideographic space, full-width ASCII forms
        return _CLEAN_NON_CJK["ascii"]
    if ch in _DOCUMENT_SYMBOLS or "\u2460" <= ch <= "\u2487":  # ①-⑳, ⑴-⒇
        return _CLEAN_NON_CJK["symbol"]
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


def _load_bigrams() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    pairs: dict[str, int] = {}
    left: dict[str, int] = {}
    right: dict[str, int] = {}
    text = resources.files(__package__).joinpath("bigrams.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        a, b, n = line.split("\t")
        a = "\n" if a == "\\n" else a
        b = "\n" if b == "\\n" else b
        count = int(n)
        pairs[a + b] = count
        left[a] = left.get(a, 0) + count
        right[b] = right.get(b, 0) + count
    return pairs, left, right


_BIGRAMS, _LEFT, _RIGHT = _load_bigrams()
_TOTAL_BIGRAMS = sum(_RIGHT.values()) or 1
# Dirichlet smoothing of the bigram estimates towards the unigram model.
_BIGRAM_PRIOR = 20.0


def simplified_char(ch: str) -> str:
    return _T2S_CHAR.get(ch, ch)


# The characters of the CJK table, and those t2s changes, as regex classes: counting them is a C scan.
_CJK_CLASS = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _traditional_class() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(ch) for ch in sorted(_T2S_CHAR)) + "]")


def script_counts(text: str) -> tuple[int, int]:
    """(CJK characters, those t2s changes) in `text`: is_cjk(ch), and simplified_char(ch) != ch."""
    cjk = traditional = 0
    for start in range(0, len(text), _SCORE_SLICE):
        cjk += len(_CJK_CLASS.findall(text, start, start + _SCORE_SLICE))
        traditional += len(_traditional_class().findall(text, start, start + _SCORE_SLICE))
    return cjk, traditional


def context_logp(prev: str | None, ch: str, nxt: str | None) -> float:
    """log P(ch | prev) + log P(nxt | ch), bigrams from real reports smoothed towards the unigram model.

    Terms that do not depend on `ch` are dropped, so only compare scores for the same (prev, nxt).
    """
    s = simplified_char(ch)
    unigram = math.exp(clean_logp(s))
    score = 0.0
    p = bigram_token(simplified_char(prev)) if prev is not None else None
    if p is not None:
        score += math.log(
            (_BIGRAMS.get(p + s, 0) + _BIGRAM_PRIOR * unigram) / (_LEFT.get(p, 0) + _BIGRAM_PRIOR)
        )
    else:
        score += math.log(unigram)
    q = bigram_token(simplified_char(nxt)) if nxt is not None else None
    if q is not None:
        following = _RIGHT.get(q, 0) / _TOTAL_BIGRAMS + 1e-6
        score += math.log(
            (_BIGRAMS.get(s + q, 0) + _BIGRAM_PRIOR * following) / (_LEFT.get(s, 0) + _BIGRAM_PRIOR)
        )
    return score


# Bonus (nats) when a candidate forms a dictionary word with a neighbour (pypinyin's phrase list).
_WORD_BONUS = 2.0
_WORD_PAIRS: set[str] | None = None


def _word_pairs() -> set[str]:
    """Adjacent character pairs of pypinyin's ~47,000 phrases; loaded on first use (it takes ~0.2 s)."""
    global _WORD_PAIRS
    if _WORD_PAIRS is None:
        from pypinyin.phrases_dict import phrases_dict

        pairs: set[str] = set()
        for phrase in phrases_dict:
            pairs.update(phrase[i : i + 2] for i in range(len(phrase) - 1))
        _WORD_PAIRS = pairs
    return _WORD_PAIRS


def word_bonus(prev: str | None, ch: str, nxt: str | None) -> float:
    """_WORD_BONUS for each neighbour `ch` forms a dictionary word with (Simplified forms compared)."""
    pairs = _word_pairs()
    s = simplified_char(ch)
    bonus = 0.0
    if prev is not None and simplified_char(prev) + s in pairs:
        bonus += _WORD_BONUS
    if nxt is not None and s + simplified_char(nxt) in pairs:
        bonus += _WORD_BONUS
    return bonus


def known_pair(a: str, b: str) -> bool:
    """True when `a` then `b` occurs in real reports or forms a dictionary word (Simplified forms)."""
    sa, sb = simplified_char(a), simplified_char(b)
    ta, tb = bigram_token(sa), bigram_token(sb)
    if ta is not None and tb is not None and ta + tb in _BIGRAMS:
        return True
    return sa + sb in _word_pairs()


@lru_cache(maxsize=65536)
def llr(ch: str) -> float:
    """Log-likelihood ratio of `ch` being GBK byte-shift garbage rather than clean report text."""
    return garbage_logq(ch) - clean_logp(ch)


@lru_cache(maxsize=65536)
def gbk_pair(lead: int, trail: int) -> str | None:
    """The character a GBK byte pair decodes to, or None."""
    try:
        ch = bytes((lead, trail)).decode("gbk")
    except UnicodeDecodeError:
        return None
    return ch if len(ch) == 1 else None


@lru_cache(maxsize=65536)
def gbk_len(ch: str) -> int:
    """Bytes `ch` takes in GBK (0 when GBK cannot encode it)."""
    try:
        return len(ch.encode("gbk"))
    except UnicodeEncodeError:
        return 0


# Characters more likely garbage than prose by this ratio are "suspects".
SUSPECT_LLR = 1.0


@lru_cache(maxsize=1)
def suspect_pattern() -> re.Pattern[str]:
    """A character class of every double-byte character GBK garbage can produce that is more likely garbage
    than prose (`?` is not in it).

    Built on first use (~25,000 GBK codes, a few tens of milliseconds).
    """
    chars: set[str] = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if trail == 0x7F:
                continue
            ch = gbk_pair(lead, trail)
            if ch is not None and llr(ch) > SUSPECT_LLR:
                chars.add(ch)
    return re.compile("[" + "".join(re.escape(ch) for ch in sorted(chars)) + "]")


class _LogpTable(dict[str, float]):
    """clean_logp memoised per character: scoring a text is one C-level dict lookup a character."""

    def __missing__(self, ch: str) -> float:
        if len(self) >= _LOGP_CACHED:  # text with every code point in it: start again rather than grow
            self.clear()
        logp = self[ch] = clean_logp(ch)
        return logp


_LOGP_CACHED = 1 << 16


_LOGP = _LogpTable()
# Texts are scored a slice at a time, so scoring a 60 MB page holds one slice's characters, not the page's.
_SCORE_SLICE = 1 << 14


def text_score(text: str, limit: int = 0) -> float:
    """Mean clean log-probability of the non-ASCII characters of `text` (higher reads more like a report).

    Texts without non-ASCII characters score 0. `limit` > 0 looks at only that many non-ASCII characters,
    spread over the text. Used to choose between candidate decodings and to spot mis-decoded text.
    Linear in the text, in memory bounded by a slice.
    """
    if limit and len(text) > 4 * limit:
        # Four slices spread over the text instead of the whole of it.
        step = len(text) // 4
        text = "".join(text[k * step : k * step + limit] for k in range(4))
    if limit:
        chars = _NON_ASCII.findall(text)
        if not chars:
            return 0.0
        if len(chars) > limit:
            step_f = len(chars) / limit
            chars = [chars[int(k * step_f)] for k in range(limit)]
        return sum(map(_LOGP.__getitem__, chars)) / len(chars)
    count = 0

    def slices() -> Iterator[list[str]]:
        nonlocal count
        for start in range(0, len(text), _SCORE_SLICE):
            chars = _NON_ASCII.findall(text, start, start + _SCORE_SLICE)
            count += len(chars)
            yield chars

    # One sum over every character in order: the same additions as summing one list of them.
    total = sum(map(_LOGP.__getitem__, chain.from_iterable(slices())))
    return total / count if count else 0.0


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
