"""GBK byte-shift garbage: find the spans, recover what their bytes still hold.

When a GBK stream loses (or gains) one byte, a decoder pairs each character's trail byte with the next
character's lead byte until an ASCII byte puts it back in step: `制度，` becomes `敝贫龋`. Such spans read
as rare characters, `?`, box-drawing signs and pinyin letters where prose should be; the character model
scores each character's log-likelihood ratio (garbage vs clean report text) and the best-scoring runs above
a threshold are the spans. Recovery re-encodes a span to GBK and re-pairs its bytes one byte later; a
re-paired character is kept only when the model finds it plausible, the rest becomes U+FFFD.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from .charmodel import (
    SUSPECT_LLR,
    clean_logp,
    garbage_logq,
    gbk_len,
    gbk_pair,
    is_cjk,
    known_pair,
    llr,
    suspect_pattern,
)
from .pinyin import readings

# Minimum summed log-likelihood ratio (nats) of a span; clean reports peak below 8, garbage spans score 15+.
SPAN_THRESHOLD = 8.0
# Spans at least this strong are reported even when re-pairing recovers nothing.
STRONG_THRESHOLD = 18.0
# A re-paired character is kept when at least this likely under the clean model (GB2312 level 1 or seen).
KEEP_LOGP = -12.5
_UNRECOVERED_COST = -14.0
# The most frequent characters (的, 和, 是...) are kept without needing a neighbour to vouch for them.
_ALWAYS_KEEP_LOGP = -5.5
_MAX_SPAN = 200
# Past this many spans a text is garbage through and through; the rest is left as it is (and said so).
MAX_SPANS = 200
HOLE = "\ufffd"
# Rest of a pinyin annotation whose "(" was swallowed by the garbage: `瑢?duì)`.
_REMNANT = re.compile(r"\?([A-Za-z\u00c0-\u024f]{1,7})\)")


@dataclass(frozen=True)
class ShiftSpan:
    start: int
    end: int
    garbled: str
    recovered: str
    unrecovered: int
    score: float


# A bracketed syllable is an annotation (kept apart by the pinyin pass), not garbage: `進(jìn)` after `M`.
_BRACKETED = re.compile(r"[(（][A-Za-z\u00c0-\u024f]{1,7}[1-5]?[)）]")
_ANNOTATION_LLR = -1.0


# Garbage rarely repeats a character; rules and fills (`──────`, `　　`) do.
_REPEAT_LLR = -1.0


def _ratios(text: str) -> list[float]:
    ratios = [llr(ch) for ch in text]
    for i in range(1, len(text)):
        if text[i] == text[i - 1] and text[i] != "?":
            ratios[i] = ratios[i - 1] = min(ratios[i - 1], _REPEAT_LLR)
    if "(" in text or "（" in text:
        for match in _BRACKETED.finditer(text):
            for i in range(match.start(), match.end()):
                ratios[i] = _ANNOTATION_LLR
    return ratios


class _Runs:
    """Maximal-scoring runs (start, end, score) >= SPAN_THRESHOLD of a window read in slices; newlines end a run.

    Kadane's algorithm with its state kept between slices, so a window of any size is read in bounded memory.
    """

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, float]] = []
        self.cur = 0.0
        self.start = -1  # -1: not started yet
        self.best = 0.0
        self.best_end = 0

    def feed(self, text: str, ratios: list[float], offset: int) -> None:
        spans = self.spans
        cur, start, best, best_end = self.cur, self.start, self.best, self.best_end
        if start < 0:
            start = offset
        for k, ch in enumerate(text):
            i = offset + k
            if ch in "\n\r":
                if best >= SPAN_THRESHOLD:
                    spans.append((start, best_end, best))
                cur = best = 0.0
                start = i + 1
                continue
            if cur <= 0.0:
                if best >= SPAN_THRESHOLD:
                    spans.append((start, best_end, best))
                cur = best = 0.0
                start = i
            cur += ratios[k]
            if cur > best:
                best = cur
                best_end = i + 1
            if i - start > _MAX_SPAN and best >= SPAN_THRESHOLD:
                spans.append((start, best_end, best))
                cur = best = 0.0
                start = i + 1
        self.cur, self.start, self.best, self.best_end = cur, start, best, best_end

    def finish(self) -> list[tuple[int, int, float]]:
        if self.best >= SPAN_THRESHOLD:
            self.spans.append((self.start, self.best_end, self.best))
        return self.spans


def _kadane(text: str, ratios: list[float], offset: int) -> list[tuple[int, int, float]]:
    """Maximal-scoring runs of `text` (start, end, score) >= SPAN_THRESHOLD; newlines end a run."""
    runs = _Runs()
    runs.feed(text, ratios, offset)
    return runs.finish()


# Spans are only searched around clusters of suspects (see charmodel.suspect_pattern), which keeps a
# clean 100 KB page to a regex scan.
_CLUSTER_GAP = 16
_WINDOW_MARGIN = 4
# A window is scored a slice at a time; a slice's ratios see this many characters either side of it (a
# bracketed syllable is at most 11 long, a repeat looks one character away).
_SLICE = 1 << 14
_SLICE_CONTEXT = 12
# Characters of suspect windows the search reads at most. A real report's windows are a few thousand
# characters; garbage through and through usually stops at MAX_SPANS long before.
SCAN_CHARS = 2_000_000


# A run counts only if garbage characters themselves (not just scattered `?` marks) make it suspicious.
_MIN_GARBAGE_CHARS = 2


def _has_garbage(run: str) -> bool:
    """Enough garbage characters, or `?` marks clustered among double-byte characters."""
    garbage = sum(1 for ch in run if ch >= "\x80" and llr(ch) > SUSPECT_LLR)
    marks = run.count("?") + run.count("\ufffd")
    if garbage >= _MIN_GARBAGE_CHARS or (garbage >= 1 and marks >= 1):
        return True
    return marks >= 2 and any(ch >= "\x80" for ch in run)


@lru_cache(maxsize=1)
def _suspects() -> re.Pattern[str]:
    return re.compile(suspect_pattern().pattern[:-1] + r"?\ufffd]")


@lru_cache(maxsize=1)
def _clusters() -> re.Pattern[str]:
    """Suspects no more than _CLUSTER_GAP apart, as one match (possessive: no backtracking state kept)."""
    one = _suspects().pattern
    return re.compile(f"{one}(?:.{{0,{_CLUSTER_GAP - 1}}}{one})*+", re.DOTALL)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _window_spans(text: str, lo: int, hi: int, scan: _Scan) -> list[tuple[int, int, float]]:
    """The runs of the window text[lo:hi]; a long window is read a slice at a time, within what `scan` has left."""
    if hi - lo <= _SLICE:
        scan.left -= hi - lo
        window = text[lo:hi]
        ratios = _ratios(window)
        if sum(r for r in ratios if r > 0) < SPAN_THRESHOLD:  # no run can reach it
            return []
        return _kadane(window, ratios, lo)
    runs = _Runs()
    for start in range(lo, hi, _SLICE):
        if scan.left <= 0:
            scan.stopped_at = start
            break
        end = min(hi, start + _SLICE)
        scan.left -= end - start
        before = max(lo, start - _SLICE_CONTEXT)
        ratios = _ratios(text[before : min(hi, end + _SLICE_CONTEXT)])
        runs.feed(text[start:end], ratios[start - before : end - before], start)
    return runs.finish()


class _Scan:
    """How much of the SCAN_CHARS allowance the candidate search has left, and where it stopped."""

    def __init__(self, limit: int | None = None) -> None:
        self.left = SCAN_CHARS if limit is None else limit
        self.stopped_at: int | None = None


def _candidate_spans(text: str, scan: _Scan | None = None) -> Iterator[tuple[int, int, float]]:
    """Maximal-scoring runs (start, end, score) with score >= SPAN_THRESHOLD, searched near suspects, in
    order of position."""
    scan = scan or _Scan()
    for cluster in _clusters().finditer(text):
        lo = max(0, cluster.start() - _WINDOW_MARGIN)
        hi = min(len(text), cluster.end() - 1 + _WINDOW_MARGIN)
        if _NON_ASCII.search(text, lo, hi) is None:  # only `?` marks: nothing garbled around them
            continue
        if scan.left <= 0:
            scan.stopped_at = lo
            return
        for span in _window_spans(text, lo, hi, scan):
            if _has_garbage(text[max(0, span[0] - 1) : span[1] + 1]):
                yield span
        if scan.stopped_at is not None:
            return


def _units(span: str) -> list[int | None]:
    """The span's bytes in GBK, None for a byte the garbage no longer holds (`?`, U+FFFD)."""
    out: list[int | None] = []
    for ch in span:
        if ch in "?\ufffd":
            out.append(None)
            continue
        try:
            encoded = ch.encode("gb18030")
        except UnicodeEncodeError:
            out.append(None)
            continue
        if len(encoded) > 2:
            out.append(None)
        else:
            out.extend(encoded)
    return out


def _with_reading(lead: int, syllable: str) -> str | None:
    """The most likely GBK character with this lead byte whose readings include `syllable`."""
    best: tuple[float, str] | None = None
    for trail in range(0x40, 0xFF):
        ch = gbk_pair(lead, trail)
        if ch is None or syllable not in readings(ch):
            continue
        score = clean_logp(ch)
        if best is None or score > best[0]:
            best = (score, ch)
    return best[1] if best else None


def _reading(units: list[int | None], shifted: bool, syllable: str | None) -> tuple[str, float]:
    """Decode the byte units (re-paired one byte later when `shifted`): text with holes, and its score."""
    out: list[str] = []
    score = 0.0
    i = 1 if shifted else 0
    if shifted and units:
        out.append(HOLE)  # the first byte is the trail of a character whose lead is gone
        score += _HOLE_VALUE
    n = len(units)
    while i < n:
        b = units[i]
        if b is None:
            out.append(HOLE)
            score += _UNRECOVERED_COST
            i += 1
            continue
        if b < 0x80:
            ch = chr(b)
            keep = ch.isdigit()
            out.append(ch if keep else HOLE)
            score += clean_logp(ch) if keep else _UNRECOVERED_COST
            i += 1
            continue
        trail = units[i + 1] if i + 1 < n else None
        if trail is None:
            # A lead byte whose trail is lost: a pinyin remnant after the span may still name the character.
            ch_or_none = _with_reading(b, syllable) if syllable and i + 1 >= n else None
            out.append(ch_or_none or HOLE)
            score += clean_logp(ch_or_none) if ch_or_none else _HOLE_VALUE
            i += 1 if trail is None and i + 1 < n else 2
            continue
        ch_pair = gbk_pair(b, trail)
        if ch_pair is not None and clean_logp(ch_pair) >= KEEP_LOGP:
            out.append(ch_pair)
            score += clean_logp(ch_pair)
        else:
            out.append(HOLE)
            score += _UNRECOVERED_COST
        i += 2
    score += sum(_pair_bonus(a, b) for a, b in zip(out, out[1:], strict=False) if a != HOLE and b != HOLE)
    return "".join(out), score


def _collapse(text: str) -> str:
    return re.sub(HOLE + "+", HOLE, text)


def _veto_unsupported(chars: list[str], left: str | None, right: str | None) -> list[str]:
    """Replace recovered characters that pair with none of their neighbours (no report bigram, no word).

    Re-pairing across a pair the garbage dropped yields a plausible but wrong character (`（订` for `（二）`);
    such splices rarely make a word with either side, while true recoveries (`完善`, `制度`) do.
    """
    out = list(chars)
    for i, ch in enumerate(chars):
        if ch == HOLE or not is_cjk(ch) or clean_logp(ch) >= _ALWAYS_KEEP_LOGP:
            continue
        before = chars[i - 1] if i > 0 else left
        after = chars[i + 1] if i + 1 < len(chars) else right
        neighbours = [(before, ch), (ch, after)]
        if not any(
            a is not None and b is not None and a != HOLE and b != HOLE and known_pair(a, b)
            for a, b in neighbours
        ):
            out[i] = HOLE
    return out


def recover(
    span: str, syllable: str | None = None, left: str | None = None, right: str | None = None
) -> tuple[str, int]:
    """Best recovery of a garbled span: (recovered text with U+FFFD holes, number of holes).

    `left`/`right` are the characters around the span (context for judging recovered characters).
    """
    pieces: list[str] = []
    # '?' and ASCII below 0x40 put the decoder back in step: each run between them is re-paired on its own.
    for run in re.split(r"([\x00-\x3f])", span):
        if not run:
            continue
        if len(run) == 1 and run < "\x40":
            pieces.append(run if run.isdigit() else HOLE)
            continue
        units = _units(run)
        is_last = span.endswith(run)
        as_is, as_is_score = _reading(units, False, None)
        shifted, shifted_score = _reading(units, True, syllable if is_last else None)
        pieces.append(shifted if shifted_score > as_is_score else as_is)
    recovered = _collapse("".join(_veto_unsupported(list("".join(pieces)), left, right)))
    return recovered, recovered.count(HOLE)


# A `?` (or U+FFFD) touching Chinese text marks where a decoder lost step; the run of double-byte characters
# beside it is garbage if re-pairing it one byte later reads this much better (nats).
ANCHOR_GAIN = 4.0
# Only marks with a non-ASCII neighbour can border garbage; at most _MAX_ANCHORS of them are examined.
_ANCHOR = re.compile(r"(?<=[^\x00-\x7f])[?\ufffd]|[?\ufffd](?=[^\x00-\x7f])")
_MAX_ANCHORS = 4 * MAX_SPANS
_MAX_RUN = 40


def _double_byte(ch: str) -> bool:
    return ch >= "\x80" and gbk_len(ch) == 2


def _value(ch: str | None) -> float:
    if ch is None:
        return _UNRECOVERED_COST
    logp = clean_logp(ch)
    return logp if logp >= KEEP_LOGP else _UNRECOVERED_COST


def _anchored_spans(text: str) -> list[tuple[int, int, float]]:
    """Spans beside `?`/U+FFFD whose re-paired reading beats the text as it is by ANCHOR_GAIN or more.

    Both readings are scored with the unigram model plus a bonus per adjacent pair that real reports or
    the dictionary know; a byte the garbage lost counts as an average character of prose.
    """
    spans: list[tuple[int, int, float]] = []
    count = 0
    for match in _ANCHOR.finditer(text):
        p = match.start()
        count += 1
        if count > _MAX_ANCHORS or len(spans) > MAX_SPANS:
            break
        # Left: a run ending at the anchor; the garbage is a suffix of it.
        a = p
        while a > 0 and p - a < _MAX_RUN and _double_byte(text[a - 1]):
            a -= 1
        if p - a >= 2:
            chars = text[a:p]
            units = [b for ch in chars for b in ch.encode("gbk")]
            pairs = [gbk_pair(units[2 * i + 1], units[2 * i + 2]) for i in range(len(chars) - 1)]
            # Suffix starting at k: re-paired characters pairs[k:], as-is characters chars[k:].
            total = -clean_logp(chars[-1])
            best, best_k = float("-inf"), len(chars) - 1
            for k in range(len(chars) - 2, -1, -1):
                total += _value(pairs[k]) - clean_logp(chars[k])
                total += _pair_bonus(pairs[k], pairs[k + 1] if k + 1 < len(pairs) else None)
                total -= _pair_bonus(chars[k], chars[k + 1])
                if total + _HOLE_VALUE > best:
                    best, best_k = total + _HOLE_VALUE, k
            if best >= ANCHOR_GAIN:
                spans.append((a + best_k, p + 1, best))
        # Right: a run starting after the anchor; the garbage is a prefix of it.
        z = p + 1
        while z < len(text) and z - p <= _MAX_RUN and _double_byte(text[z]):
            z += 1
        if z - (p + 1) >= 2:
            chars = text[p + 1 : z]
            units = [b for ch in chars for b in ch.encode("gbk")]
            pairs = [gbk_pair(units[2 * i - 1], units[2 * i]) for i in range(1, len(chars))]
            total = _HOLE_VALUE - clean_logp(chars[0])  # the first byte lost its lead
            best, best_end = float("-inf"), p + 1
            for i in range(1, len(chars)):
                total += _value(pairs[i - 1]) - clean_logp(chars[i])
                total += _pair_bonus(pairs[i - 2] if i >= 2 else None, pairs[i - 1])
                total -= _pair_bonus(chars[i - 1], chars[i])
                if total > best:
                    best, best_end = total, p + 2 + i
            if best >= ANCHOR_GAIN:
                spans.append((p, best_end, best))
    return spans


# Expected log-probability of a character of prose, for a byte the garbage no longer holds.
_HOLE_VALUE = -7.5
# Nats per adjacent pair known to real reports or the dictionary.
_PAIR_BONUS = 3.0


def _pair_bonus(a: str | None, b: str | None) -> float:
    if a is None or b is None:
        return 0.0
    return _PAIR_BONUS if known_pair(a, b) else 0.0


def _merge(spans: Iterable[tuple[int, int, float, bool]]) -> Iterator[tuple[int, int, float, bool]]:
    """Overlapping candidates (given in order) become one; a span is 'anchored' if any of its parts was."""
    last: tuple[int, int, float, bool] | None = None
    for start, end, score, anchored in spans:
        if last is not None and start < last[1] and end - last[0] <= _MAX_SPAN:
            last = (last[0], max(last[1], end), max(last[2], score), last[3] or anchored)
            continue
        if last is not None:
            yield last
        last = (start, end, score, anchored)
    if last is not None:
        yield last


def find_and_recover(text: str, scan_limit: int | None = None) -> tuple[list[ShiftSpan], str | None]:
    """The byte-shift spans of `text` with their recovery (offsets into `text`), in order and disjoint;
    and, when the search stopped early (more than MAX_SPANS spans, or SCAN_CHARS characters of suspect
    windows read), what it left unsearched.

    Candidates come in order of position and are taken as they come, so the search ends where a cap is hit
    instead of scoring the whole text first."""
    found: list[ShiftSpan] = []
    scan_limit = SCAN_CHARS if scan_limit is None else scan_limit
    scan = _Scan(scan_limit)
    ratio_spans = ((a, b, score, False) for a, b, score in _candidate_spans(text, scan))
    anchored_spans = sorted((a, b, score, True) for a, b, score in _anchored_spans(text))
    for start, end, score, anchored in _merge(heapq.merge(ratio_spans, anchored_spans)):
        if len(found) >= MAX_SPANS:
            return (
                found,
                f"more than {MAX_SPANS} byte-shift spans: text is mostly garbage; the rest left as is",
            )
        # A run found by its ratios starts at its first garbage-looking character; an anchored run was
        # placed by re-pairing and starts where the re-paired reading starts paying off.
        while not anchored and start < end and llr(text[start]) <= 0.0:
            start += 1
        if start >= end:
            continue
        syllable: str | None = None
        body_end = end
        remnant = _REMNANT.search(text, start + 1, min(len(text), end + 10))
        if remnant is not None and not remnant.start() <= end <= remnant.end():
            remnant = None
        if remnant is not None:
            syllable = remnant.group(1).lower()
            body_end = remnant.start()
            end = remnant.end()
        # The run may have started a character or two earlier (`?。` before `ǘ┩`): take the start that
        # makes the recovery read best.
        best_start = start
        right = text[end] if end < len(text) else None
        recovered, holes = recover(text[start:body_end], syllable, _left(text, start), right)
        best_gain = _gain(text[start:body_end], recovered)
        for earlier in (start - 1, start - 2):
            if (
                earlier < 0
                or text[earlier] in "\n\r"
                or text[earlier:start].isascii()
                and text[earlier] != "?"
            ):
                break
            candidate, candidate_holes = recover(
                text[earlier:body_end], syllable, _left(text, earlier), right
            )
            gain = _gain(text[earlier:body_end], candidate)
            if gain > best_gain + 0.5:
                best_start, recovered, holes, best_gain = earlier, candidate, candidate_holes, gain
        start = best_start
        # The ASCII byte right after a span may be the trail byte of its last character (`钨M` -> `費`).
        if remnant is None and end < len(text) and "\x40" <= text[end] <= "\x7e":
            after = text[end + 1] if end + 1 < len(text) else None
            longer, longer_holes = recover(text[start : end + 1], None, _left(text, start), after)
            if longer_holes <= holes and _gain(text[start : end + 1], longer) > _gain(
                text[start:end], recovered
            ):
                end += 1
                body_end = end
                recovered, holes = longer, longer_holes
        garbled = text[start:end]
        if recovered == garbled:
            continue
        if _gain(text[start:body_end], recovered) <= 0.0 and score < STRONG_THRESHOLD:
            continue
        if found and start < found[-1].end:
            continue
        found.append(ShiftSpan(start, end, garbled, recovered, holes, round(score, 2)))
    if scan.stopped_at is not None:
        return found, (
            f"byte-shift search stopped at character {scan.stopped_at:,} of {len(text):,} after reading "
            f"{scan_limit:,} characters of suspect text; the rest left as is"
        )
    return found, None


def _left(text: str, start: int) -> str | None:
    return text[start - 1] if start > 0 else None


def _gain(garbled: str, recovered: str) -> float:
    """How much better the recovery reads than the garbage, in nats (holes count as nothing)."""
    before = sum(clean_logp(ch) - garbage_logq(ch) for ch in garbled)
    after = sum(clean_logp(ch) - garbage_logq(ch) for ch in recovered if ch != HOLE)
    return after - before
