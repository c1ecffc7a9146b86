"""Numbers out of cells and out of digit runs whose separators were lost (``21710000218``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache

from crawler.report._model import Number

# A number as a table prints it: no leading zeros; thousands commas only in groups of three.
_NUMBER = re.compile(r"^[-−－]?(?:0|[1-9][0-9]*|[1-9][0-9]{0,2}(?:,[0-9]{3})+)(?:\.[0-9]{1,4})?$")
_CELL_NUMBER = re.compile(r"^[-−－+]?[0-9][0-9,，]*(?:\.[0-9]+)?$")
_UNIT = re.compile(r"(?:件|条|个|项|次|元|万元|人次|%|宗|份|家)$")
_PIECE = re.compile(r"[-−－]?[0-9.][0-9.,]*")
# Full-width digits (some editors type them): read as ASCII everywhere, prose included.
FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
# Past this many accepted readings (or 5x as many steps) a run counts as ambiguous and the walk stops.
MAX_CANDIDATES = 500


def to_number(text: str) -> Number:
    text = text.replace("−", "-").replace("－", "-").replace(",", "").replace("，", "").lstrip("+")
    return float(text) if "." in text else int(text)


@lru_cache(maxsize=8192)
def cell_number(cell: str) -> Number | None:
    """The number in a table cell, or None when the cell is not a number."""
    text = _UNIT.sub("", cell)
    if _CELL_NUMBER.match(text):
        try:
            return to_number(text)
        except ValueError:
            return None
    return None


# What tables print for "nothing" (a zero, or a cell left empty): dashes of every width, slashes, 无/空.
_BLANK = re.compile(r"^(?:[-—–－―─/／\\＼_＿…·.。]{1,4}|无|空|/无)$")


@lru_cache(maxsize=1024)
def is_blank(cell: str) -> bool:
    return not cell or bool(_BLANK.match(cell))


# Digits that OCR and careless typists replace with letters (O for 0, l or I for 1, S for 5...): read only in a
# cell that is otherwise a number.
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "〇": "0", "D": "0", "l": "1", "I": "1", "|": "1", "i": "1",
                             "S": "5", "s": "5", "B": "8", "Z": "2", "z": "2"})
_LOOKS_NUMERIC = re.compile(r"^[-−－+]?[0-9OoDlIi|SsBZz〇][0-9OoDlIi|SsBZz〇,，]*(?:\.[0-9OolI]+)?$")


_LETTERS_ONLY = re.compile(r"^[-−－+]?[OoIl〇]{1,4}$")


@lru_cache(maxsize=8192)
def read_number(cell: str) -> Number | None:
    """A cell's number: as ``cell_number``, and also with OCR letter-for-digit confusions (``1O`` → 10) when
    the cell holds at least one real digit. None when the cell is not a number."""
    v = cell_number(cell)
    if v is not None:
        return v
    text = _UNIT.sub("", cell).replace("．", ".")
    if text != cell:
        v = cell_number(text)
        if v is not None:
            return v
    if _LOOKS_NUMERIC.match(text) and any(ch.isdigit() for ch in text):
        return cell_number(text.translate(_OCR_DIGITS))
    if _LETTERS_ONLY.match(text):  # "O", "Il", "lO": letters only, but only those that look like 0 and 1
        return cell_number(text.translate(_OCR_DIGITS))
    return None


# The inside of a run of numbers in flattened text: digits, separators, and the units and thousands commas
# some tables print with every number ("540件-11件", "1,234"); see clean_run.
RUN_CHARS = r"[0-9.．\s\-−－|｜,，件个项条次元万]"
_UNIT_IN_RUN = re.compile(r"万元|[件个项条次元]")
_THOUSANDS = re.compile(r"(?<=[0-9])[,，](?=[0-9]{3})")
_LONE_COMMA = re.compile(r",(?![0-9]{3})|(?<![0-9]),")


def clean_run(run: str) -> str:
    """A run of numbers with its units read as separators. A comma between digits stays: it is a thousands
    comma that glues the three digits after it to the number before it ("3,300202,158" is 3,300|202,158 or
    3,300|20|2,158, never 3|300…); any other comma separates."""
    run = _THOUSANDS.sub(",", run.replace("．", "."))
    run = _UNIT_IN_RUN.sub(" ", run).replace("，", " ")
    return _LONE_COMMA.sub(" ", run).strip()


def pieces(run: str) -> list[str]:
    """Whitespace-separated tokens of a digit run, a minus sign always starting a new piece."""
    return _PIECE.findall(run.replace("−", "-").replace("－", "-"))


def splits(run: str, n: int, accept: Callable[[list[Number]], bool] | None = None,
           limit: int = MAX_CANDIDATES, group: int | None = None) -> list[list[Number]] | None:
    """Every way to read ``run`` as exactly ``n`` numbers that ``accept`` takes; None when too many ways.

    ``group=g``: the numbers come in groups of g whose last is the sum of the others (a row's 总计), which
    prunes the search to the readings where every total adds up."""
    toks = pieces(run)
    if not toks or len(toks) > n:
        return []
    if len(toks) == n and all(_NUMBER.match(t) for t in toks):
        # The source separated every cell: take it as printed (identity errors get reported, not hidden).
        return [[to_number(t) for t in toks]]
    if group is not None and n % group == 0 and all(t.isdigit() for t in toks):
        grouped = _grouped_splits(toks, n, group, limit)
        if grouped is None:
            return None
        return [r for r in grouped if accept is None or accept(r)]
    out: list[list[Number]] = []
    budget = [limit * 6]
    for values in _enumerate(toks, n, budget, group):
        if accept is None or accept(values):
            out.append(values)
            if len(out) > limit:
                return None
    if budget[0] <= 0:
        return None
    return out


def _enumerate(toks: list[str], n: int, budget: list[int], group: int | None = None) -> Iterator[list[Number]]:
    """Every reading, depth first; ``budget[0]`` counts down the steps taken and stops the walk at 0."""
    rest_chars = [0] * (len(toks) + 1)
    for i in range(len(toks) - 1, -1, -1):
        rest_chars[i] = rest_chars[i + 1] + len(toks[i])

    def rec(ti: int, pos: int, acc: list[Number]) -> Iterator[list[Number]]:
        budget[0] -= 1
        if budget[0] <= 0:
            return
        if ti == len(toks):
            if len(acc) == n:
                yield list(acc)
            return
        tok = toks[ti]
        remaining_tokens = len(toks) - ti - 1
        # every later token gives at least one number, and no number is shorter than one character
        if len(acc) + remaining_tokens >= n or len(acc) + (len(tok) - pos) + rest_chars[ti + 1] < n:
            return
        forced: str | None = None
        if group is not None and (len(acc) + 1) % group == 0:
            total = sum(acc[len(acc) - group + 1:])
            if isinstance(total, float) and not total.is_integer():
                return
            forced = str(int(total))
        for end in range(pos + 1, len(tok) + 1):
            part = tok[pos:end]
            if forced is not None and part != forced:
                continue
            if not _NUMBER.match(part):
                continue
            if end < len(tok) and tok[end] in ".,":
                continue
            acc.append(to_number(part))
            if end == len(tok):
                yield from rec(ti + 1, 0, acc)
            else:
                yield from rec(ti, end, acc)
            acc.pop()

    yield from rec(0, 0, [])


def _grouped_splits(toks: list[str], n: int, group: int, limit: int) -> list[list[Number]] | None:
    """Every reading of whole-number tokens as n numbers in groups of ``group`` whose last is the sum of the
    others, found total first: for each place a group's total could stand, the digits before it are split
    into numbers that add up to it (a running sum over the total cuts the search short). Numbers never cross
    a space between tokens. None when there are more than ``limit`` readings or the search runs too long."""
    s = "".join(toks)
    cuts = set()
    pos = 0
    for t in toks[:-1]:
        pos += len(t)
        cuts.add(pos)
    size = len(s)
    # no_cut[i][j]: s[i:j] crosses no token boundary (a boundary at i or j is fine)
    next_cut = [size] * (size + 1)
    nxt = size
    for i in range(size, -1, -1):
        next_cut[i] = nxt
        if i in cuts:
            nxt = i

    def number_ok(i: int, j: int) -> bool:
        return j - i >= 1 and next_cut[i] >= j and (s[i] != "0" or j - i == 1)

    out: list[list[Number]] = []
    steps = [limit * 40]

    def parts(i: int, end: int, k: int, total: int, acc: list[Number]) -> Iterator[list[Number]]:
        """Split s[i:end] into k numbers that sum to total."""
        steps[0] -= 1
        if steps[0] <= 0:
            return
        if k == 0:
            if i == end and total == 0:
                yield list(acc)
            return
        if end - i < k:
            return
        longest = end - i - (k - 1)
        for j in range(i + 1, i + longest + 1):
            if not number_ok(i, j):
                break
            v = int(s[i:j])
            if v > total:
                break
            acc.append(v)
            yield from parts(j, end, k - 1, total - v, acc)
            acc.pop()

    def groups(i: int, acc: list[Number]) -> Iterator[list[Number]]:
        if len(acc) == n:
            if i == size:
                yield list(acc)
            return
        left = (n - len(acc)) // group
        for e in range(i + group, size - (left - 1) * group + 1):
            for t in range(e - 1, i + group - 2, -1):
                if not number_ok(t, e):
                    continue
                total = int(s[t:e])
                for head in parts(i, t, group - 1, total, []):
                    acc.extend(head)
                    acc.append(total)
                    yield from groups(e, acc)
                    del acc[-group:]
                    if steps[0] <= 0:
                        return

    for reading in groups(0, []):
        out.append(reading)
        if len(out) > limit:
            return None
    if steps[0] <= 0:
        return None
    return out
