"""Which values survive a text dump that ran a row's cells together (``21710000218`` = 217|1|0|0|0|0|218).

A reader who knows the form knows how many numbers a row holds and which of them are totals; it does not
know where one number ends. A cell is recoverable when every way of cutting the run into that many
well-formed numbers that satisfies the row's totals gives it the same text; the others are lost. Only
identities inside the row are used (a row's total; a Table 4 group's total), so the set is an upper bound
of what a parser that also uses the column identities must give up.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal

_POSITIVE = r"(?:[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)"
_DIGITS = r"(?:0|" + _POSITIVE + ")"
GRAMMAR: dict[str, re.Pattern[str]] = {
    "count": re.compile(_DIGITS + r"(?:件|项)?"),
    "signed": re.compile(r"(?:0|[-+]?" + _POSITIVE + r")(?:件|项)?"),
    "amount": re.compile(_DIGITS + r"(?:\.\d+)?(?:万元|元)?"),
}
# A total: (first addend, number of addends); the total is the part right after them.
Total = tuple[int, int]


def number_of(part: str) -> Decimal:
    return Decimal(re.sub(r"[,件项万元]", "", part))


def readings(run: str, kinds: Sequence[str], totals: Sequence[Total] = ()) -> list[tuple[str, ...]]:
    """Every cut of ``run`` into ``len(kinds)`` numbers of those kinds whose totals hold."""
    run = unicodedata.normalize("NFKC", run)
    total_at = {start + count: (start, count) for start, count in totals}
    total_of = {j: start + count for start, count in totals for j in range(start, start + count)}
    n = len(kinds)
    out: list[tuple[str, ...]] = []
    parts: list[str] = []

    def walk(pos: int) -> None:
        i = len(parts)
        if i == n:
            if pos == len(run):
                out.append(tuple(parts))
            return
        last = len(run) - (n - i - 1)
        for end in range(pos + 1, last + 1):
            part = run[pos:end]
            if not GRAMMAR[kinds[i]].fullmatch(part):
                continue
            if i in total_at:
                start, count = total_at[i]
                if number_of(part) != sum(number_of(p) for p in parts[start:start + count]):
                    continue
            elif i in total_of:  # an addend: the total still has to fit in what is left of the run
                t = total_of[i]
                room = len(run) - end - (t - i - 1) - (n - t - 1)
                start = total_at[t][0]
                if room < 1 or sum(number_of(p) for p in parts[start:]) + number_of(part) >= 10 ** room:
                    break
            parts.append(part)
            walk(end)
            parts.pop()

    walk(0)
    return out


def ambiguous(texts: Sequence[str], kinds: Sequence[str], totals: Sequence[Total] = ()) -> list[int]:
    """Indices of the cells whose text the run does not determine (all of them if the row cannot be read)."""
    found = readings("".join(texts), kinds, totals)
    truth = tuple(unicodedata.normalize("NFKC", t) for t in texts)
    if truth not in found:
        return list(range(len(texts)))
    return [i for i in range(len(texts)) if len({r[i] for r in found}) > 1]
