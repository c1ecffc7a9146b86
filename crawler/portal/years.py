"""Consecutive years of one agency, linked as the official forms link them (the cross-year checks of
docs/schema.md): this year's 上年结转 is last year's 结转下年度继续办理, and in the 2021 form this year's 现行有效件数
is last year's plus this year's 制发 minus 废止.

The links are pure functions of the agency's name and the year (:func:`year_links`), not of the order in which a
site plans its reports: every generated report of an agency, on whatever site, continues the one of the year
before. ``DELIBERATE_BREAKS`` names the demo's one deliberate carry-over mismatch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# (agency, year) -> (applicant column index, how many more 上年结转 than last year carried forward): the demo
# portal's deliberate carry-over mismatch (the second TRS site, 岚城县, 2022 against 2021)
DELIBERATE_BREAKS: dict[tuple[str, int], tuple[int, int]] = {("岚城县", 2022): (0, 2)}
FIRST_2021_YEAR = 2021  # the 2021 form is used for reports of 2021 and later


@dataclass(frozen=True)
class YearLinks:
    """What a report of ``year`` shares with its neighbours: six applicant columns (the total is their sum)."""

    carried_over: tuple[int, ...]  # 二、上年结转: carried forward from year − 1
    carried_forward: tuple[int, ...]  # 四、结转下年度继续办理: carried over into year + 1
    # Table 2 (2021 form) rows regulations / normative_documents: (issued, abolished, in_force)
    active: dict[str, tuple[int, int, int]] | None = None
    break_column: int | None = None  # DELIBERATE_BREAKS: the column whose 上年结转 does not continue last year's


def carried(agency: str, boundary: int) -> tuple[int, ...]:
    """Applications carried from ``boundary − 1`` into ``boundary`` (six applicant columns)."""
    rng = random.Random(f"carry:{agency}:{boundary}")
    return (rng.choice((0, 0, 1, 2, 3)), rng.choice((0, 0, 0, 1)), 0, rng.choice((0, 0, 0, 0, 1)), 0,
            rng.choice((0, 0, 0, 1)))


def _active_step(agency: str, row: str, year: int) -> tuple[int, int]:
    rng = random.Random(f"in_force:{agency}:{row}:{year}")
    if row == "regulations":
        return rng.choice((0, 0, 0, 1, 2)), rng.choice((0, 0, 1))
    return rng.randint(0, 15), rng.randint(0, 8)


def in_force_chain(agency: str, row: str, year: int) -> tuple[int, int, int]:
    """(issued, abolished, in force) of Table 2's ``row`` in ``year`` (2021 form), continuing year − 1."""
    base = random.Random(f"in_force:{agency}:{row}:base")
    in_force = base.randint(0, 12) if row == "regulations" else base.randint(5, 300)
    issued = abolished = 0
    for y in range(FIRST_2021_YEAR, year + 1):
        issued, abolished = _active_step(agency, row, y)
        abolished = min(abolished, in_force + issued)
        in_force = in_force + issued - abolished
    return issued, abolished, in_force


def year_links(agency: str, year: int, fmt: str) -> YearLinks:
    over = list(carried(agency, year))
    brk = DELIBERATE_BREAKS.get((agency, year))
    if brk is not None:
        over[brk[0]] += brk[1]
    active = None
    if fmt == "2021":
        active = {row: in_force_chain(agency, row, year) for row in ("regulations", "normative_documents")}
    return YearLinks(tuple(over), carried(agency, year + 1), active, brk[0] if brk else None)
