"""The accounting identities of Tables 3 and 4: fill the cells they determine, report the ones that fail."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from crawler.report._model import Issue, Number
from crawler.report._schema import APPLICANT_COLUMNS, REVIEW_COLUMNS, REVIEW_GROUPS, outcome_rows

Cell = tuple[str, int]
Rows = dict[str, list[Number | None]]
# A filled cell and the identity that determined it (Identity.kind).
Filled = tuple[str, int, str]

IDENTITY_WORDS = {
    "balance": "一+二 = （七）+四",
    "outcomes": "（七）总计 = the sum of the outcome rows",
    "row_total": "总计 = the sum of the six applicant columns",
    "review_total": "总计 = the sum of the four results",
}


class Identity:
    """``sum(lhs) == sum(rhs)`` over cells of one table."""

    __slots__ = ("lhs", "rhs", "kind")

    def __init__(self, lhs: Sequence[Cell], rhs: Sequence[Cell], kind: str) -> None:
        self.lhs, self.rhs, self.kind = tuple(lhs), tuple(rhs), kind


def application_identities(fmt: str) -> list[Identity]:
    outcomes = outcome_rows(fmt)
    out: list[Identity] = []
    for c in range(7):
        out.append(Identity([("new_received", c), ("carried_over", c)],
                            [("total_processed", c), ("carried_forward", c)], "balance"))
        out.append(Identity([("total_processed", c)], [(r, c) for r in outcomes], "outcomes"))
    rows = ("new_received", "carried_over") + outcomes + ("total_processed", "carried_forward")
    for r in rows:
        out.append(Identity([(r, 6)], [(r, c) for c in range(6)], "row_total"))
    return out


def review_identities() -> list[Identity]:
    return [Identity([(g, 4)], [(g, c) for c in range(4)], "review_total") for g in REVIEW_GROUPS]


def infer(rows: Rows, observed: set[str], identities: list[Identity]) -> tuple[list[Filled], int]:
    """Fill in place every None cell (of an observed row) that an identity determines; return the filled
    cells and the number of identities that fail afterwards (one that would need a negative or fractional
    count in its one open cell counts as failing)."""
    filled: list[Filled] = []
    impossible: set[int] = set()
    changed = True
    while changed:
        changed = False
        for ident in identities:
            unknown: list[tuple[Cell, int]] = []
            known = 0.0
            usable = True
            for side, cells in ((1, ident.lhs), (-1, ident.rhs)):
                for cell in cells:
                    v = rows[cell[0]][cell[1]]
                    if v is None:
                        if cell[0] not in observed:
                            usable = False
                            break
                        unknown.append((cell, side))
                    else:
                        known += side * v
                if not usable:
                    break
            if not usable or len(unknown) != 1:
                continue
            cell, side = unknown[0]
            value = -known * side
            if value < 0 or value != int(value):
                impossible.add(id(ident))
                continue
            rows[cell[0]][cell[1]] = int(value)
            filled.append((cell[0], cell[1], ident.kind))
            changed = True
    return filled, sum(1 for ident in identities if id(ident) in impossible or _fails(rows, ident))


def _fails(rows: Rows, ident: Identity) -> bool:
    total = 0.0
    for side, cells in ((1, ident.lhs), (-1, ident.rhs)):
        for r, c in cells:
            v = rows[r][c]
            if v is None:
                return False
            total += side * v
    return abs(total) > 1e-9


def resolve(rows: Rows, observed: set[str], choices: dict[str, list[list[Number | None]]],
            identities: list[Identity], limit: int = 2000) -> tuple[list[Filled], list[str]]:
    """Pick for each row in ``choices`` the reading that makes the identities hold (several readings come
    from run-together digits or from a row with fewer numbers than columns). Writes the chosen rows and
    the inferred cells into ``rows``; returns (inferred cells, rows left undecided)."""
    keys = [k for k in choices if choices[k]]
    for k in choices:
        if not choices[k]:
            rows[k] = [None] * len(rows[k])
    total = 1
    for k in keys:
        total *= len(choices[k])
    if total > limit:
        for k in keys:
            ch = choices[k]
            # a cell all of a row's readings agree on is read; the others stay open
            rows[k] = [ch[0][i] if all(c[i] == ch[0][i] for c in ch) else None for i in range(len(ch[0]))]
        filled, _ = infer(rows, observed, identities)
        return filled, [k for k in keys if len(choices[k]) > 1]
    best: list[tuple[Sequence[list[Number | None]], Rows]] = []
    best_score: int | None = None
    for combo in itertools.product(*(choices[k] for k in keys)):
        trial = {r: list(v) for r, v in rows.items()}
        for k, values in zip(keys, combo, strict=True):
            trial[k] = list(values)
        _, failures = infer(trial, observed, identities)
        if best_score is None or failures < best_score:
            best_score, best = failures, [(combo, trial)]
        elif failures == best_score:
            best.append((combo, trial))
    if not best:
        filled, _ = infer(rows, observed, identities)
        return filled, []
    first = best[0][1]
    undecided = [k for k in keys if any(b[1][k] != first[k] for b in best[1:])]
    for k, values in zip(keys, best[0][0], strict=True):
        if k in undecided:
            # the cells every remaining reading agrees on are read; only the others stay open
            rows[k] = [values[i] if all(combo[keys.index(k)][i] == values[i] for combo, _ in best) else None
                       for i in range(len(values))]
        else:
            rows[k] = list(values)
    filled, _ = infer(rows, observed, identities)
    return filled, undecided


def identity_issues(apps: Rows | None, review: Rows | None, fmt: str) -> list[Issue]:
    """Every identity that fails, in a stable order (applications columns, rows, then Table 4)."""
    out: list[Issue] = []
    if apps is not None:
        outcomes = outcome_rows(fmt)
        for ci, col in enumerate(APPLICANT_COLUMNS):
            new, carried = apps["new_received"][ci], apps["carried_over"][ci]
            processed, forward = apps["total_processed"][ci], apps["carried_forward"][ci]
            if None not in (new, carried, processed, forward):
                assert new is not None and carried is not None and processed is not None and forward is not None
                if new + carried != processed + forward:
                    out.append(Issue("identity_violated", "applications", "new_received", col,
                                     f"一+二={_fmt(new + carried)} but （七）+四={_fmt(processed + forward)}"))
            parts = [apps[r][ci] for r in outcomes]
            if processed is not None and None not in parts:
                summed = sum(p for p in parts if p is not None)
                if summed != processed:
                    out.append(Issue("identity_violated", "applications", "total_processed", col,
                                     f"（七）总计={_fmt(processed)} but outcome rows sum to {_fmt(summed)}"))
        for row, values in apps.items():
            if None not in values:
                six = sum(v for v in values[:6] if v is not None)
                if six != values[6]:
                    out.append(Issue("identity_violated", "applications", row, "total",
                                     f"总计={_fmt(values[6])} but the six applicant columns sum to {_fmt(six)}"))
    if review is not None:
        for group in REVIEW_GROUPS:
            values = review[group]
            if None not in values:
                four = sum(v for v in values[:4] if v is not None)
                if four != values[4]:
                    out.append(Issue("identity_violated", "review_litigation", group, REVIEW_COLUMNS[4],
                                     f"总计={_fmt(values[4])} but the four results sum to {_fmt(four)}"))
    return out


def _fmt(v: Number | None) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
