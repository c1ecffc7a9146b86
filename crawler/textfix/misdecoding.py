"""Whole documents (or lines) decoded with the wrong codec: re-encode with it, decode with the right one.

Families: UTF-8 read as GBK (`锛堜簩锛夊畬`), UTF-8 read as latin-1/cp1252 (`æ”¿åºœ`), GBK read as
latin-1/cp1252 (`Õþ¸®`). Bytes the wrong decoder replaced with U+FFFD are holes; a hole is filled with the
byte that makes the most likely character under the character model (for cp1252 only the five bytes cp1252
leaves undefined can be holes). A repair is kept only when the result reads clearly better.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ftfy

from .charmodel import (
    clean_logp,
    context_logp,
    is_cjk,
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
_LATIN_CHARS = r"\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122"
_LATIN_RUN = re.compile(f"[{_LATIN_CHARS}]{{3}}")
_SUSPECT_RUN = 4


def _has_suspect_lines(text: str) -> bool:
    """Cheap check for mis-decoded lines inside an otherwise clean document: a run of rare characters
    (UTF-8 read as GBK) or of latin-1/cp1252 characters."""
    if _LATIN_RUN.search(text):
        return True
    last = -2
    run = 0
    for match in suspect_pattern().finditer(text):
        run = run + 1 if match.start() == last + 1 else 1
        if run >= _SUSPECT_RUN:
            return True
        last = match.start()
    return False


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


@dataclass(frozen=True)
class Redecoded:
    text: str
    family: str
    lines: int  # 0 when the whole document was re-decoded at once
    holes_filled: int


# A byte, or the bytes a hole may have been (a tuple).
Unit = int | tuple[int, ...]
Units = list[Unit]
_INVALID_LEAD = (0x80,)


def _encode_gb18030(text: str) -> Units | None:
    out: Units = []
    for index, ch in enumerate(text):
        if ch == HOLE:
            # gb18030 decoding leaves a hole for 0x80 (never a lead) or for a lead byte followed by a byte
            # that cannot be a trail (ASCII punctuation, newline). In UTF-8 text the hole is a continuation
            # byte, so before a non-ASCII byte it can only have been 0x80.
            nxt = text[index + 1] if index + 1 < len(text) else "\n"
            out.append(_CONTINUATION if nxt < "\x80" or nxt == HOLE else _INVALID_LEAD)
        else:
            out.extend(ch.encode("gb18030"))
    return out


def _encode_cp1252(text: str) -> Units | None:
    out: Units = []
    for ch in text:
        if ch == HOLE:
            out.append(_CP1252_UNDEFINED)
            continue
        try:
            out.extend(ch.encode("cp1252"))
        except UnicodeEncodeError:
            if ord(ch) < 256:
                out.append(ord(ch))  # latin-1 reading, or a C1 control a browser kept
            else:
                return None
    return out


_MAX_OPTIONS = 4096


def _candidates(options: Iterable[bytes], codec: str) -> list[str]:
    """Single characters the byte options decode to, most likely first (unigram model)."""
    found: set[str] = set()
    for raw in options:
        try:
            ch = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if len(ch) == 1:
            found.add(ch)
    return sorted(found, key=lambda c: (-clean_logp(c), c))[:_KEEP_CANDIDATES]


_KEEP_CANDIDATES = 24


def _expand(seq: Units) -> list[bytes]:
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


Fills = list[tuple[int, list[str]]]


def _decode_utf8(units: Units, allowance: int = _FILL_ALLOWANCE) -> tuple[list[str], Fills]:
    reader = _Reader(units, allowance)
    out = reader.out
    i = 0
    n = len(units)
    while i < n:
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
            leads = range(0xE0, 0xF0) if k == 2 else range(0xC2, 0xE0) if k == 1 else range(0xF0, 0xF5)
            tail = bytes(x for x in units[i + 1 : i + 1 + k] if isinstance(x, int))
            reader.emit(_candidates((bytes((lead,)) + tail for lead in leads), "utf-8"))
            i += 1 + k
            continue
        if b < 0x80:
            out.append(chr(b))
            i += 1
            continue
        length = _utf8_length(b)
        if length == 0:
            reader.hole()
            i += 1
            continue
        # Take continuation bytes and holes; a hole right before a non-continuation byte may hide two bytes.
        seq: Units = [b]
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
            known = [x for x in seq if isinstance(x, int)]
            guesses: list[bytes] = []
            if len(known) == len(seq):
                for k in range(1, length):
                    guesses.extend(bytes(known[:k]) + bytes((f,)) + bytes(known[k:]) for f in _CONTINUATION)
            reader.emit(_candidates(guesses, "utf-8"))
            i = j
            continue
        if len(seq) < length:
            reader.hole()
            i = j
            continue
        if all(isinstance(x, int) for x in seq):
            try:
                out.append(bytes(seq).decode("utf-8"))  # type: ignore[arg-type]
            except UnicodeDecodeError:
                reader.hole()
            i = j
            continue
        reader.emit(_candidates(_expand(seq), "utf-8"))
        i = j
    return out, reader.fills


class _TooDamaged(Exception):
    """Raised when a candidate reading needs so many guesses that it cannot be the right family."""


class _Reader:
    """Output of a decoder with holes: characters, filled positions with their options, damage budget."""

    def __init__(self, units: Units, allowance: int = _FILL_ALLOWANCE) -> None:
        self.out: list[str] = []
        self.fills: Fills = []
        self.damage = 0
        self.budget = _budget(units, allowance)

    def emit(self, options: list[str]) -> None:
        if options:
            self.fills.append((len(self.out), options))
            self.out.append(options[0])
            self.damage += 1
        else:
            self.hole()
            return
        if self.damage > self.budget:
            raise _TooDamaged

    def hole(self) -> None:
        self.out.append(HOLE)
        self.damage += 1
        if self.damage > self.budget:
            raise _TooDamaged


def _budget(units: Units, allowance: int) -> int:
    # A line whose UTF-8 byte count is odd loses its last byte when read as GBK: one hole per line is normal.
    # cp1252 leaves 5 of the 64 continuation bytes undefined: about 8 % of UTF-8 bytes become holes.
    lines = sum(1 for x in units if x == 0x0A)
    cp1252_holes = sum(1 for x in units if x is _CP1252_UNDEFINED)
    return allowance + int(len(units) * _MAX_FILL_SHARE) + lines + cp1252_holes


def _decode_gbk(units: Units, allowance: int = _FILL_ALLOWANCE) -> tuple[list[str], Fills]:
    reader = _Reader(units, allowance)
    out = reader.out
    i = 0
    n = len(units)
    while i < n:
        b = units[i]
        nxt = _known(units[i + 1]) if i + 1 < n else None
        if isinstance(b, tuple):
            if nxt is not None and nxt >= 0x40 and nxt != 0x7F:
                leads = [x for x in b if x >= 0x81]
                reader.emit(_candidates((bytes((lead, nxt)) for lead in leads), "gb18030"))
                i += 2
            else:
                reader.hole()
                i += 1
            continue
        if b < 0x80:
            out.append(chr(b))
            i += 1
            continue
        if nxt is None:
            hole = units[i + 1] if i + 1 < n else None
            if isinstance(hole, tuple):
                trails = [t for t in hole if t >= 0x40 and t != 0x7F]
                reader.emit(_candidates((bytes((b, t)) for t in trails), "gb18030"))
            else:
                reader.hole()
            i += 2
            continue
        if 0x30 <= nxt <= 0x39 and i + 3 < n and all(isinstance(x, int) for x in units[i : i + 4]):
            try:
                out.append(bytes(units[i : i + 4]).decode("gb18030"))  # type: ignore[arg-type]
                i += 4
                continue
            except UnicodeDecodeError:
                pass
        try:
            out.append(bytes((b, nxt)).decode("gb18030"))
            i += 2
        except UnicodeDecodeError:
            reader.hole()
            i += 1
    return out, reader.fills


# Fills re-chosen with context; past this (pathological input) the unigram choice stands.
_MAX_REFINED = 5000
# Penalty (nats) for a filled character whose script (Simplified/Traditional) differs from the document's.
_SCRIPT_MISMATCH = 1.0


def _refine(out: list[str], fills: Fills) -> str:
    """Re-choose each filled character with its neighbours in view (bigram model, document script)."""
    cjk = [ch for ch in out if is_cjk(ch)]
    traditional = bool(cjk) and sum(simplified_char(ch) != ch for ch in cjk) > 0.05 * len(cjk)

    def score(prev: str | None, ch: str, nxt: str | None) -> float:
        mismatch = (simplified_char(ch) != ch) != traditional
        penalty = _SCRIPT_MISMATCH if mismatch else 0.0
        return context_logp(prev, ch, nxt) + word_bonus(prev, ch, nxt) - penalty

    for index, options in fills[:_MAX_REFINED]:
        if len(options) < 2:
            continue
        prev = out[index - 1] if index > 0 else None
        nxt = out[index + 1] if index + 1 < len(out) else None
        out[index] = max(options, key=lambda c: (score(prev, c, nxt), c))
    return "".join(out)


@dataclass(frozen=True)
class _Family:
    name: str
    encode: Callable[[str], Units | None]
    decode: Callable[[Units, int], tuple[list[str], Fills]]
    latin: bool


_FAMILIES = (
    _Family("utf-8 read as gbk", _encode_gb18030, _decode_utf8, False),
    _Family("utf-8 read as latin-1/cp1252", _encode_cp1252, _decode_utf8, True),
    _Family("gbk read as latin-1/cp1252", _encode_cp1252, _decode_gbk, True),
)


def _latin_share(text: str) -> float:
    non_ascii = 0
    latin = 0
    for ch in text:
        if ch < "\x80":
            continue
        non_ascii += 1
        if ch <= "\xff" or ch in _CP1252_EXTRA:
            latin += 1
    return latin / non_ascii if non_ascii else 0.0


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
        out, fills = family.decode(units, allowance)
    except _TooDamaged:
        return None
    return _refine(out, fills), len(fills)


def _ftfy(text: str) -> str:
    return ftfy.fix_text(text, _FTFY)


def _new_holes(before: str, after: str) -> int:
    return after.count(HOLE) - before.count(HOLE)


def _best_reading(text: str, allowance: int = _FILL_ALLOWANCE) -> tuple[str, str, int] | None:
    """(re-decoded text, family, bytes guessed) for the family that reads `text` clearly better, if any.

    A reading that leaves new U+FFFD (beyond one per thousand characters) is refused: it is destroying
    text that was fine, as happens when a clean heading shares the line with mis-decoded words.
    """
    before = text_score(text)
    latin = _latin_share(text) >= _LATIN_SHARE
    best: tuple[str, str, int] | None = None
    best_score = before + _MIN_GAIN
    tolerated = 1 + len(text) // 1000
    for family in _FAMILIES:
        if family.latin != latin:
            continue
        result = _try(family, text, allowance)
        if result is None or _new_holes(text, result[0]) > tolerated:
            continue
        score = text_score(result[0])
        if score > best_score and score >= _MIN_RESULT:
            best, best_score = (result[0], family.name, result[1]), score
    if latin and best is None:
        fixed = _ftfy(text)
        score = text_score(fixed)
        if (
            fixed != text
            and score > best_score
            and score >= _MIN_RESULT
            and _new_holes(text, fixed) <= tolerated
        ):
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
_SEGMENT_GAP = 2
_SEGMENT_MIN_SUSPECTS = 3
_SEGMENT_ALLOWANCE = 1


def _redecode_parts(text: str) -> Redecoded | None:
    """Line by line, then word runs inside lines, for texts where only some parts were mis-decoded."""
    lines = text.split("\n")
    changed = 0
    filled = 0
    names: set[str] = set()
    for index, line in enumerate(lines):
        if sum(1 for ch in line if ch >= "\x80") < 3:
            continue
        if text_score(line) < _SUSPECT_BELOW:
            reading = _best_reading(line)
            if reading is not None:
                lines[index] = reading[0]
                names.add(reading[1])
                changed += 1
                filled += reading[2]
                continue
        fixed, families, guessed = _redecode_segments(line)
        if families:
            lines[index] = fixed
            names.update(families)
            changed += 1
            filled += guessed
    if not changed:
        return None
    return Redecoded("\n".join(lines), ", ".join(sorted(names)), changed, filled)


def _segments(line: str) -> list[tuple[int, int]]:
    """Candidate mis-decoded runs of a line: latin runs, and clusters of rare or private-use characters."""
    found = [m.span() for m in _LATIN_SEGMENT.finditer(line)]
    positions = [m.start() for m in suspect_pattern().finditer(line)]
    positions += [i for i, ch in enumerate(line) if "\ue000" <= ch <= "\uf8ff" or ch == HOLE]
    positions.sort()
    i = 0
    while i < len(positions):
        j = i
        while j + 1 < len(positions) and positions[j + 1] - positions[j] <= _SEGMENT_GAP + 1:
            j += 1
        if j - i + 1 >= _SEGMENT_MIN_SUSPECTS:
            found.append((positions[i], positions[j] + 1))
        i = j + 1
    return sorted(found)


def _redecode_segments(line: str) -> tuple[str, set[str], int]:
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
                reading = _best_reading(segment, _SEGMENT_ALLOWANCE)
                if reading is None:
                    continue
                gain = sum(map(clean_logp, reading[0])) - sum(map(clean_logp, segment))
                if best is None or gain > best[0]:
                    best = (gain, a, b, reading)
        if best is None:
            continue
        _gain, a, b, reading = best
        pieces.append(line[last:a])
        pieces.append(reading[0])
        families.add(reading[1])
        guessed += reading[2]
        last = b
    if not families:
        return line, families, 0
    pieces.append(line[last:])
    return "".join(pieces), families, guessed
