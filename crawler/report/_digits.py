"""Numbers out of cells and out of digit runs whose separators were lost (``21710000218``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from crawler.report._model import Number

_NUMBER = re.compile(r"^[-−－]?(?:0|[1-9][0-9]*)(?:\.[0-9]{1,4})?$")
_CELL_NUMBER = re.compile(r"^[-−－+]?[0-9][0-9,，]*(?:\.[0-9]+)?$")
_UNIT = re.compile(r"(?:件|条|个|项|次|元|万元|人次|%)$")
_PIECE = re.compile(r"[-−－]?[0-9.]+")
# Full-width digits (some editors type them): read as ASCII everywhere, prose included.
FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
# Past this many candidate splits a run counts as ambiguous (and the enumeration stops).
MAX_CANDIDATES = 4000


def to_number(text: str) -> Number:
    text = text.replace("−", "-").replace("－", "-").replace(",", "").replace("，", "").lstrip("+")
    return float(text) if "." in text else int(text)


def cell_number(cell: str) -> Number | None:
    """The number in a table cell, or None when the cell is not a number."""
    text = _UNIT.sub("", cell)
    if _CELL_NUMBER.match(text):
        try:
            return to_number(text)
        except ValueError:
            return None
    return None


def is_blank(cell: str) -> bool:
    return cell in ("", "-", "—", "/", "／", "－", "——", "无", "空")


def pieces(run: str) -> list[str]:
    """Whitespace-separated tokens of a digit run, a minus sign always starting a new piece."""
    return _PIECE.findall(run.replace("−", "-").replace("－", "-"))


def splits(run: str, n: int, accept: Callable[[list[Number]], bool] | None = None,
           limit: int = MAX_CANDIDATES) -> list[list[Number]] | None:
    """Every way to read ``run`` as exactly ``n`` numbers that ``accept`` takes; None when too many ways."""
    toks = pieces(run)
    if not toks or len(toks) > n:
        return []
    if len(toks) == n and all(_NUMBER.match(t) for t in toks):
        # The source separated every cell: take it as printed (identity errors get reported, not hidden).
        return [[to_number(t) for t in toks]]
    out: list[list[Number]] = []
    seen = 0
    for values in _enumerate(toks, n):
        seen += 1
        if seen > limit:
            return None
        if accept is None or accept(values):
            out.append(values)
    return out


def _enumerate(toks: list[str], n: int) -> Iterator[list[Number]]:
    def rec(ti: int, pos: int, acc: list[Number]) -> Iterator[list[Number]]:
        if ti == len(toks):
            if len(acc) == n:
                yield list(acc)
            return
        tok = toks[ti]
        remaining_tokens = len(toks) - ti - 1
        if len(acc) + remaining_tokens >= n + (0 if pos < len(tok) else 1):
            return
        for end in range(pos + 1, len(tok) + 1):
            part = tok[pos:end]
            if not _NUMBER.match(part):
                continue
            if end < len(tok) and tok[end] == ".":
                continue
            acc.append(to_number(part))
            if end == len(tok):
                yield from rec(ti + 1, 0, acc)
            else:
                yield from rec(ti, end, acc)
            acc.pop()

    yield from rec(0, 0, [])
