"""Whole documents (or lines) decoded with the wrong codec: re-encode with it, decode with the right one.

Families: UTF-8 read as GBK (`锛堜簩锛夊畬`), UTF-8 read as latin-1/cp1252 (`æ”¿åºœ`), GBK read as
latin-1/cp1252 (`Õþ¸®`). Bytes the wrong decoder replaced with U+FFFD are holes; a hole is filled with the
byte that makes the most likely character under the character model (for cp1252 only the five bytes cp1252
leaves undefined can be holes). A repair is kept only when the result reads clearly better.

Work is linear in the text: a reading is encoded with C codecs and decoded by them wherever the bytes are
valid, byte by byte only around holes and invalid sequences; the line-by-line search for mis-decoded parts
reads at most `SEARCH_CHARS` characters and says so when it stops (see docs/textfix.md, "Bounded work").
"""

from __future__ import annotations

import codecs
import heapq
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import ftfy

from .charmodel import (
    clean_logp,
    context_logp,
    script_counts,
    simplified_char,
    suspect_pattern,
    text_score,
    word_bonus,
)

HOLE = "\ufffd"
_CP1252_UNDEFINED = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_CONTINUATION = tuple(range(0x80, 0xC0))
# Mean log-probability a repair must gain, and the level it must reach (real reports score -5 to -7).
_MIN_GAIN = 2.0
_MIN_RESULT = -9.0
# Documents that already read like Chinese prose are not re-decoded at all.
_SUSPECT_BELOW = -8.0
_LATIN_SHARE = 0.2
# A real mis-decoding loses about 2 % of its bytes (UTF-8 read as GB18030); far beyond that a reading is
# abandoned early.
_MAX_FILL_SHARE = 0.04
_FILL_ALLOWANCE = 50
_GATE_SAMPLE = 4000
_LATIN_CHARS = (
    r"\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122"
)
_LATIN_RUN = re.compile(f"[{_LATIN_CHARS}]{{3}}")
_SUSPECT_RUN = 4
# Work the line-by-line search may do, in characters read: each line it scores counts its length, each
# re-decoding it tries (of a line, or of a run inside one with its edges a character or two wider) its length
# plus _ATTEMPT_COST (what an attempt costs besides its length, ftfy's most of all); a unit is about a
# microsecond. A 124,000-character report with mis-decoded words on 1,500 lines uses 2.3 million; past the cap
# the text is garbage through and through (random bytes read as latin-1 reach it in ~7 s), and the rest is left
# as it is, with an issue saying where.
SEARCH_CHARS = 5_000_000
_ATTEMPT_COST = 100


@lru_cache(maxsize=1)
def _suspect_run() -> re.Pattern[str]:
    return re.compile(suspect_pattern().pattern + f"{{{_SUSPECT_RUN}}}")


def _has_suspect_lines(text: str) -> bool:
    """Cheap check for mis-decoded lines inside an otherwise clean document: a run of rare characters
    (UTF-8 read as GBK) or of latin-1/cp1252 characters."""
    return _LATIN_RUN.search(text) is not None or _suspect_run().search(text) is not None


_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)
_CP1252_EXTRA = set("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")
# The byte cp1252 gives each of them: with it, a latin-1/cp1252 reading re-encodes with str.translate + latin-1.
_CP1252_BYTE = {ord(ch): ch.encode("cp1252")[0] for ch in _CP1252_EXTRA}
_CP1252_EXTRA_RUN = re.compile("[" + re.escape("".join(sorted(_CP1252_EXTRA))) + "]")


@dataclass(frozen=True)
class Redecoded:
    text: str
    family: str  # "" when nothing was re-decoded (only `capped` to report)
    lines: int  # 0 when the whole document was re-decoded at once
    holes_filled: int
    capped: str | None = None  # why part of the text was not searched, when the search hit SEARCH_CHARS


# A byte, or the bytes a hole may have been (a tuple).
Unit = int | tuple[int, ...]
_INVALID_LEAD = (0x80,)


class _Units:
    """The bytes a text re-encodes to, and its holes (bytes the wrong decoder replaced with U+FFFD): tuples of
    the bytes each may have been. Bytes plus the sorted hole positions, not a list of units (8 bytes a byte)."""

    __slots__ = ("data", "holes", "kinds")

    def __init__(self) -> None:
        self.data = bytearray()  # a hole's place holds 0 (never counted as a newline)
        self.holes = array("q")
        self.kinds: list[tuple[int, ...]] = []

    def add_hole(self, kind: tuple[int, ...]) -> None:
        self.holes.append(len(self.data))
        self.kinds.append(kind)
        self.data.append(0)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> Unit:
        k = bisect_left(self.holes, i)
        if k < len(self.holes) and self.holes[k] == i:
            return self.kinds[k]
        return self.data[i]

    def slice(self, start: int, stop: int) -> list[Unit]:
        return [self[x] for x in range(start, min(stop, len(self.data)))]

    def next_hole(self, i: int) -> int:
        """Position of the first hole at or after `i` (the length when there is none)."""
        k = bisect_left(self.holes, i)
        return self.holes[k] if k < len(self.holes) else len(self.data)


def _encode_holed(
    text: str, encode: Callable[[str], bytes], kind: Callable[[str], tuple[int, ...]]
) -> _Units:
    """Encode the runs between holes with `encode`; a hole's bytes are `kind(character after it)`."""
    units = _Units()
    start = 0
    while True:
        at = text.find(HOLE, start)
        units.data += encode(text[start:] if at < 0 else text[start:at])
        if at < 0:
            return units
        units.add_hole(kind(text[at + 1] if at + 1 < len(text) else "\n"))
        start = at + 1


def _gb18030_hole(nxt: str) -> tuple[int, ...]:
    # gb18030 decoding leaves a hole for 0x80 (never a lead) or for a lead byte followed by a byte that cannot
    # be a trail (ASCII punctuation, newline). In UTF-8 text the hole is a continuation byte, so before a
    # non-ASCII byte it can only have been 0x80.
    return _CONTINUATION if nxt < "\x80" or nxt == HOLE else _INVALID_LEAD


def _encode_gb18030(text: str) -> _Units | None:
    try:
        return _encode_holed(text, lambda run: run.encode("gb18030"), _gb18030_hole)
    except UnicodeEncodeError:  # a lone surrogate
        return None


def _encode_cp1252(text: str) -> _Units | None:
    # Characters below 256 are their own byte (a latin-1 reading, or a C1 control a browser kept), the 27
    # cp1252 adds above 255 are theirs; anything else and the text was not read as cp1252.
    try:
        return _encode_holed(
            text, lambda run: run.translate(_CP1252_BYTE).encode("latin-1"), lambda _nxt: _CP1252_UNDEFINED
        )
    except UnicodeEncodeError:
        return None


_MAX_OPTIONS = 4096
_KEEP_CANDIDATES = 24


def _candidates(options: Iterable[bytes], codec: str) -> tuple[str, ...]:
    """Single characters the byte options decode to, most likely first (unigram model)."""
    found: set[str] = set()
    for raw in options:
        try:
            ch = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if len(ch) == 1:
            found.add(ch)
    return tuple(sorted(found, key=lambda c: (-clean_logp(c), c))[:_KEEP_CANDIDATES])


def _expand(seq: tuple[Unit, ...]) -> list[bytes]:
    """Every byte string `seq` can be with its holes filled (empty if there are too many)."""
    total = 1
    for x in seq:
        if isinstance(x, tuple):
            total *= len(x)
    if total > _MAX_OPTIONS:
        return []
    out = [b""]
    for x in seq:
        if isinstance(x, tuple):
            out = [prefix + bytes((f,)) for prefix in out for f in x]
        else:
            out = [prefix + bytes((x,)) for prefix in out]
    return out


# The candidates of a damaged sequence depend on its bytes alone: a mis-decoded document repeats the same
# few thousand sequences, so each is worked out once.
@lru_cache(maxsize=16384)
def _utf8_lost_lead(k: int, tail: bytes) -> tuple[str, ...]:
    leads = range(0xE0, 0xF0) if k == 2 else range(0xC2, 0xE0) if k == 1 else range(0xF0, 0xF5)
    return _candidates((bytes((lead,)) + tail for lead in leads), "utf-8")


@lru_cache(maxsize=16384)
def _utf8_byte_gone(known: bytes, length: int) -> tuple[str, ...]:
    guesses: list[bytes] = []
    for k in range(1, length):
        guesses.extend(known[:k] + bytes((f,)) + known[k:] for f in _CONTINUATION)
    return _candidates(guesses, "utf-8")


@lru_cache(maxsize=16384)
def _utf8_filled(seq: tuple[Unit, ...]) -> tuple[str, ...]:
    return _candidates(_expand(seq), "utf-8")


@lru_cache(maxsize=16384)
def _gbk_pairs(leads: tuple[int, ...], trails: tuple[int, ...]) -> tuple[str, ...]:
    return _candidates((bytes((lead, trail)) for lead in leads for trail in trails), "gb18030")


def _known(x: Unit | None) -> int | None:
    return x if isinstance(x, int) else None


def _utf8_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


Fills = list[tuple[int, tuple[str, ...]]]
# Bytes a C decoder is given at once: small again after an invalid sequence (dense damage costs little), growing
# while the bytes decode.
_FAST_MIN = 256
_FAST_MAX = 1 << 16
_gb18030_decode = codecs.getdecoder("gb18030")


class _FastDecoder:
    """Decodes the valid stretches of the units with a C codec, up to the next hole or invalid sequence.

    The byte-by-byte decoders below read a valid sequence exactly as the codec does, so what the codec decodes
    from a position the byte-by-byte decoder has reached is what it would have produced itself. A character cut
    off at the end of the stretch (by a hole, or by the end) is left to the byte-by-byte decoder.
    """

    def __init__(self, units: _Units, decode: Callable[[memoryview], tuple[str, int]]) -> None:
        self.units = units
        self.view = memoryview(units.data)
        self.decode = decode
        self.hole = units.next_hole(0)
        self.window = _FAST_MIN

    def read(self, i: int) -> tuple[str, int]:
        """(text, bytes used) decoded from position `i`; ("", 0) at a hole or an invalid sequence."""
        if self.hole < i:
            self.hole = self.units.next_hole(i)
        if i >= self.hole:
            return "", 0
        end = min(self.hole, i + self.window)
        try:
            text, used = self.decode(self.view[i:end])
        except UnicodeDecodeError as exc:
            self.window = _FAST_MIN
            if exc.start == 0:
                return "", 0
            return self.decode(self.view[i : i + exc.start])
        if used == end - i:
            self.window = min(self.window * 4, _FAST_MAX)
        return text, used


def _utf8_fast(view: memoryview) -> tuple[str, int]:
    return codecs.utf_8_decode(view, "strict", False)  # not final: a cut-off character is left unused


def _gb18030_fast(view: memoryview) -> tuple[str, int]:
    # The stateless decoder raises for a character cut off at the end: the part before it is used.
    return _gb18030_decode(view)


def _decode_utf8(units: _Units, allowance: int = _FILL_ALLOWANCE) -> _Reader:
    reader = _Reader(units, allowance)
    fast = _FastDecoder(units, _utf8_fast)
    i = 0
    n = len(units)
    while i < n:
        text, used = fast.read(i)
        if used:
            reader.put(text)
            i += used
            continue
        b = units[i]
        if isinstance(b, tuple):
            # A lost lead byte: guess the length from the continuation bytes that follow.
            k = 0
            while (
                i + 1 + k < n and k < 3 and (c := _known(units[i + 1 + k])) is not None and 0x80 <= c < 0xC0
            ):
                k += 1
            if k == 0:
                reader.hole()
                i += 1
                continue
            tail = bytes(x for x in units.slice(i + 1, i + 1 + k) if isinstance(x, int))
            reader.emit(_utf8_lost_lead(k, tail))
            i += 1 + k
            continue
        if b < 0x80:
            reader.put(chr(b))
            i += 1
            continue
        length = _utf8_length(b)
        if length == 0:
            reader.hole()
            i += 1
            continue
        # Take continuation bytes and holes; a hole right before a non-continuation byte may hide two bytes.
        seq: list[Unit] = [b]
        j = i + 1
        while len(seq) < length and j < n:
            x = units[j]
            if isinstance(x, int) and not 0x80 <= x < 0xC0:
                break
            seq.append(x)
            j += 1
        if len(seq) < length and isinstance(seq[-1], tuple):
            seq.extend([_CONTINUATION] * (length - len(seq)))
        if len(seq) == length - 1:
            # One byte gone without a trace (a C1 control dropped on the way): it may be any
            # continuation byte at any position after the lead.
            known = bytes(x for x in seq if isinstance(x, int))
            reader.emit(_utf8_byte_gone(known, length) if len(known) == len(seq) else ())
            i = j
            continue
        if len(seq) < length:
            reader.hole()
            i = j
            continue
        if all(isinstance(x, int) for x in seq):
            try:
                reader.put(bytes(seq).decode("utf-8"))  # type: ignore[arg-type]
            except UnicodeDecodeError:
                reader.hole()
            i = j
            continue
        reader.emit(_utf8_filled(tuple(seq)))
        i = j
    return reader


class _TooDamaged(Exception):
    """Raised when a candidate reading needs so many guesses that it cannot be the right family."""


class _Reader:
    """Output of a decoder with holes: the text in pieces, filled positions with their options, damage budget."""

    def __init__(self, units: _Units, allowance: int = _FILL_ALLOWANCE) -> None:
        self.pieces: list[str] = []
        self.done: list[str] = []  # pieces already joined, a few thousand at a time
        self.length = 0
        self.fills: Fills = []  # the first _MAX_REFINED only: later fills keep their unigram choice
        self.filled = 0
        self.damage = 0
        self.budget = _budget(units, allowance)

    def put(self, text: str) -> None:
        self.pieces.append(text)
        self.length += len(text)
        if len(self.pieces) >= 4096:
            self.done.append("".join(self.pieces))
            self.pieces.clear()

    def emit(self, options: tuple[str, ...]) -> None:
        if options:
            if self.filled < _MAX_REFINED:
                self.fills.append((self.length, options))
            self.filled += 1
            self.put(options[0])
            self.damage += 1
        else:
            self.hole()
            return
        if self.damage > self.budget:
            raise _TooDamaged

    def hole(self) -> None:
        self.put(HOLE)
        self.damage += 1
        if self.damage > self.budget:
            raise _TooDamaged

    def text(self) -> str:
        return "".join(self.done + self.pieces)


def _budget(units: _Units, allowance: int) -> int:
    # A line whose UTF-8 byte count is odd loses its last byte when read as GBK: one hole per line is normal.
    # cp1252 leaves 5 of the 64 continuation bytes undefined: about 8 % of UTF-8 bytes become holes.
    lines = units.data.count(b"\n")
    cp1252_holes = sum(1 for kind in units.kinds if kind is _CP1252_UNDEFINED)
    return allowance + int(len(units) * _MAX_FILL_SHARE) + lines + cp1252_holes


def _decode_gbk(units: _Units, allowance: int = _FILL_ALLOWANCE) -> _Reader:
    reader = _Reader(units, allowance)
    fast = _FastDecoder(units, _gb18030_fast)
    i = 0
    n = len(units)
    while i < n:
        text, used = fast.read(i)
        if used:
            reader.put(text)
            i += used
            continue
        b = units[i]
        nxt = _known(units[i + 1]) if i + 1 < n else None
        if isinstance(b, tuple):
            if nxt is not None and nxt >= 0x40 and nxt != 0x7F:
                reader.emit(_gbk_pairs(tuple(lead for lead in b if lead >= 0x81), (nxt,)))
                i += 2
            else:
                reader.hole()
                i += 1
            continue
        if b < 0x80:
            reader.put(chr(b))
            i += 1
            continue
        if nxt is None:
            hole = units[i + 1] if i + 1 < n else None
            if isinstance(hole, tuple):
                reader.emit(_gbk_pairs((b,), tuple(t for t in hole if t >= 0x40 and t != 0x7F)))
            else:
                reader.hole()
            i += 2
            continue
        if 0x30 <= nxt <= 0x39 and i + 3 < n and all(isinstance(x, int) for x in units.slice(i, i + 4)):
            try:
                reader.put(bytes(units.slice(i, i + 4)).decode("gb18030"))  # type: ignore[arg-type]
                i += 4
                continue
            except UnicodeDecodeError:
                pass
        try:
            reader.put(bytes((b, nxt)).decode("gb18030"))
            i += 2
        except UnicodeDecodeError:
            reader.hole()
            i += 1
    return reader


# Fills re-chosen with context; past this (pathological input) the unigram choice stands.
_MAX_REFINED = 5000
# Penalty (nats) for a filled character whose script (Simplified/Traditional) differs from the document's.
_SCRIPT_MISMATCH = 1.0


def _is_traditional_text(text: str) -> bool:
    """More than 5 % of the CJK characters change under t2s."""
    cjk, changed = script_counts(text)
    return bool(cjk) and changed > 0.05 * cjk


def _refine(text: str, fills: Fills) -> str:
    """Re-choose each filled character with its neighbours in view (bigram model, document script)."""
    fills = [(index, options) for index, options in fills[:_MAX_REFINED] if len(options) >= 2]
    if not fills:
        return text
    traditional = _is_traditional_text(text)

    def score(prev: str | None, ch: str, nxt: str | None) -> float:
        mismatch = (simplified_char(ch) != ch) != traditional
        penalty = _SCRIPT_MISMATCH if mismatch else 0.0
        return context_logp(prev, ch, nxt) + word_bonus(prev, ch, nxt) - penalty

    chosen: dict[int, str] = {}
    for index, options in fills:
        # The character before may itself have been re-chosen a moment ago; the one after not yet.
        prev = chosen.get(index - 1, text[index - 1]) if index > 0 else None
        nxt = text[index + 1] if index + 1 < len(text) else None
        chosen[index] = max(options, key=lambda c: (score(prev, c, nxt), c))
    pieces: list[str] = []
    last = 0
    for index, ch in chosen.items():
        pieces.append(text[last:index])
        pieces.append(ch)
        last = index + 1
    pieces.append(text[last:])
    return "".join(pieces)


@dataclass(frozen=True)
class _Family:
    name: str
    encode: Callable[[str], _Units | None]
    decode: Callable[[_Units, int], _Reader]
    latin: bool


_FAMILIES = (
    _Family("utf-8 read as gbk", _encode_gb18030, _decode_utf8, False),
    _Family("utf-8 read as latin-1/cp1252", _encode_cp1252, _decode_utf8, True),
    _Family("gbk read as latin-1/cp1252", _encode_cp1252, _decode_gbk, True),
)


def _latin_share(text: str) -> float:
    """Share of the non-ASCII characters that latin-1 or cp1252 can produce (counted by C codecs)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    non_ascii = len(text) - ascii_chars
    if not non_ascii:
        return 0.0
    latin = len(text.encode("latin-1", "ignore")) - ascii_chars
    latin += sum(len(_CP1252_EXTRA_RUN.findall(text, k, k + 16384)) for k in range(0, len(text), 16384))
    return latin / non_ascii


# Long texts are tried on a prefix first, so a wrong family costs little.
_PROBE_CHARS = 4000


def _try(family: _Family, text: str, allowance: int = _FILL_ALLOWANCE) -> tuple[str, int] | None:
    if len(text) > 2 * _PROBE_CHARS:
        probe = _try(family, text[:_PROBE_CHARS], allowance)
        if probe is None or text_score(probe[0]) < max(
            _MIN_RESULT, text_score(text[:_PROBE_CHARS]) + _MIN_GAIN
        ):
            return None
    units = family.encode(text)
    if units is None:
        return None
    try:
        reader = family.decode(units, allowance)
    except _TooDamaged:
        return None
    return _refine(reader.text(), reader.fills), reader.filled


# ftfy costs about a microsecond a character: a longer text is not given to it whole, only line by line
# (within SEARCH_CHARS). Real reports are a tenth of this.
FTFY_CHARS = 1_000_000


def _ftfy(text: str) -> str:
    return ftfy.fix_text(text, _FTFY)


def _new_holes(before: str, after: str) -> int:
    return after.count(HOLE) - before.count(HOLE)


def _best_reading(text: str, allowance: int = _FILL_ALLOWANCE) -> tuple[str, str, int] | None:
    """(re-decoded text, family, bytes guessed) for the family that reads `text` clearly better, if any.

    A reading that leaves new U+FFFD (beyond one per thousand characters) is refused: it is destroying
    text that was fine, as happens when a clean heading shares the line with mis-decoded words.
    """
    latin = _latin_share(text) >= _LATIN_SHARE
    best: tuple[str, str, int] | None = None
    # The score to beat: the text's own plus _MIN_GAIN, then the best reading's (worked out when first needed).
    best_score: float | None = None
    tolerated = 1 + len(text) // 1000
    for family in _FAMILIES:
        if family.latin != latin:
            continue
        result = _try(family, text, allowance)
        if result is None or _new_holes(text, result[0]) > tolerated:
            continue
        if best_score is None:
            best_score = text_score(text) + _MIN_GAIN
        score = text_score(result[0])
        if score > best_score and score >= _MIN_RESULT:
            best, best_score = (result[0], family.name, result[1]), score
    if latin and best is None and len(text) <= FTFY_CHARS:
        fixed = _ftfy(text)
        if fixed != text:
            if best_score is None:
                best_score = text_score(text) + _MIN_GAIN
            score = text_score(fixed)
            if score > best_score and score >= _MIN_RESULT and _new_holes(text, fixed) <= tolerated:
                best = (fixed, "utf-8 read as latin-1/cp1252 (ftfy)", 0)
    return best


def redecode(text: str) -> Redecoded | None:
    """The best re-decoding of a mis-decoded `text`, or None when it reads fine as it is."""
    if text_score(text, _GATE_SAMPLE) >= _SUSPECT_BELOW and not _has_suspect_lines(text):
        return None
    whole = _best_reading(text)
    if whole is not None:
        return Redecoded(whole[0], whole[1], 0, whole[2])
    return _redecode_parts(text)


# Mis-decoded words inside a clean line: runs of latin-1/cp1252 characters, clusters of rare characters.
# (U+FFFD inside: a byte cp1252 left undefined)
_LATIN_SEGMENT = re.compile(f"[{_LATIN_CHARS}][{_LATIN_CHARS}\ufffd]{{2,}}")
_PRIVATE_OR_HOLE = re.compile("[\ue000-\uf8ff\ufffd]")
_SEGMENT_GAP = 2
_SEGMENT_MIN_SUSPECTS = 3
_SEGMENT_ALLOWANCE = 1
# A line with at least three non-ASCII characters (the classes are disjoint: no backtracking).
_THREE_NON_ASCII = re.compile(
    r"[^\x00-\x7f][\x00-\x09\x0b-\x7f]*[^\x00-\x7f][\x00-\x09\x0b-\x7f]*[^\x00-\x7f]"
)


class _Budget:
    """Characters the line-by-line search may still read (SEARCH_CHARS at the start)."""

    def __init__(self, chars: int) -> None:
        self.left = chars
        self.refused = False

    def spend(self, chars: int) -> bool:
        """False when nothing is left (and `refused` from then on); otherwise take `chars` (the last piece
        may overdraw) and True."""
        if self.left <= 0:
            self.refused = True
            return False
        self.left -= chars
        return True


def _candidate_lines(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each line with at least three non-ASCII characters; other lines cost a regex scan."""
    pos = 0
    while (match := _THREE_NON_ASCII.search(text, pos)) is not None:
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.end())
        end = len(text) if end < 0 else end
        yield start, end
        pos = end + 1


def _redecode_parts(text: str) -> Redecoded | None:
    """Line by line, then word runs inside lines, for texts where only some parts were mis-decoded."""
    limit = SEARCH_CHARS
    pieces: list[str] = []
    last = 0
    changed = 0
    filled = 0
    names: set[str] = set()
    budget = _Budget(limit)
    capped: str | None = None
    for start, end in _candidate_lines(text):
        if not budget.spend(end - start + 1):
            capped = capped or _cap_detail(limit, start, len(text))
            break
        line = text[start:end]
        fixed: str | None = None
        if text_score(line) < _SUSPECT_BELOW and budget.spend(len(line) + _ATTEMPT_COST):
            reading = _best_reading(line)
            if reading is not None:
                fixed = reading[0]
                names.add(reading[1])
                filled += reading[2]
        if fixed is None:
            fixed, families, guessed = _redecode_segments(line, budget)
            names.update(families)
            filled += guessed
            if not families:
                fixed = None
        if budget.refused and capped is None:
            capped = _cap_detail(limit, start, len(text))
        if fixed is not None:
            pieces.append(text[last:start])
            pieces.append(fixed)
            last = end
            changed += 1
    if not changed:
        return None if capped is None else Redecoded(text, "", 0, 0, capped)
    pieces.append(text[last:])
    return Redecoded("".join(pieces), ", ".join(sorted(names)), changed, filled, capped)


def _cap_detail(limit: int, offset: int, length: int) -> str:
    return (
        f"mis-decoding search stopped at character {offset:,} of {length:,} after reading {limit:,} characters "
        "of suspect text; the rest left as is"
    )


@lru_cache(maxsize=1)
def _segment_clusters() -> re.Pattern[str]:
    """Rare, private-use or replacement characters no more than _SEGMENT_GAP apart, as one match."""
    one = "[" + suspect_pattern().pattern[1:-1] + "\ue000-\uf8ff\ufffd]"
    return re.compile(f"{one}(?:.{{0,{_SEGMENT_GAP}}}{one})*+", re.DOTALL)


def _clusters(line: str) -> Iterator[tuple[int, int]]:
    for match in _segment_clusters().finditer(line):
        start, end = match.span()
        # A private-use character GBK garbage produces is a suspect too, and counts twice. (Counted only up to
        # the minimum: a cluster may be a megabyte long.)
        members = _at_most(suspect_pattern(), line, start, end, _SEGMENT_MIN_SUSPECTS)
        members += _at_most(_PRIVATE_OR_HOLE, line, start, end, _SEGMENT_MIN_SUSPECTS - members)
        if members >= _SEGMENT_MIN_SUSPECTS:
            yield start, end


def _at_most(pattern: re.Pattern[str], text: str, start: int, end: int, limit: int) -> int:
    """Matches of `pattern` in text[start:end], counted up to `limit`."""
    count = 0
    if limit > 0:
        for _match in pattern.finditer(text, start, end):
            count += 1
            if count >= limit:
                break
    return count


def _segments(line: str) -> Iterator[tuple[int, int]]:
    """Candidate mis-decoded runs of a line, in order: latin runs, and clusters of rare or private-use
    characters. Produced as they are needed, so a megabyte-long line of garbage costs what is searched."""
    latin = (m.span() for m in _LATIN_SEGMENT.finditer(line))
    return heapq.merge(latin, _clusters(line))


def _redecode_segments(line: str, budget: _Budget | None = None) -> tuple[str, set[str], int]:
    """Re-decode mis-decoded runs inside a line; the run's edges are tried a character or two wider."""
    pieces: list[str] = []
    families: set[str] = set()
    guessed = 0
    last = 0
    for start, end in _segments(line):
        if start < last:
            continue
        best: tuple[float, int, int, tuple[str, str, int]] | None = None
        for a in range(max(last, start - _SEGMENT_GAP), start + 1):
            for b in range(end, min(len(line), end + _SEGMENT_GAP) + 1):
                segment = line[a:b]
                if segment.isascii():
                    continue
                if budget is not None and not budget.spend(len(segment) + _ATTEMPT_COST):
                    break
                reading = _best_reading(segment, _SEGMENT_ALLOWANCE)
                if reading is None:
                    continue
                gain = sum(map(clean_logp, reading[0])) - sum(map(clean_logp, segment))
                if best is None or gain > best[0]:
                    best = (gain, a, b, reading)
        if best is not None:
            _gain, a, b, reading = best
            pieces.append(line[last:a])
            pieces.append(reading[0])
            families.add(reading[1])
            guessed += reading[2]
            last = b
        if budget is not None and budget.refused:
            break
    if not families:
        return line, families, 0
    pieces.append(line[last:])
    return "".join(pieces), families, guessed
