"""Table 3 (收到和处理政府信息公开申请情况): rows from grids or run-on text, matched by label."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from crawler.report._blocks import Grid
from crawler.report._digits import cell_number, is_blank, splits
from crawler.report._labels import APP_START_RE, app_column, app_row_key
from crawler.report._model import Number

NCOL = 7
_RUN = re.compile(r"[-−－]?[0-9][0-9.\s\-−－|｜]*")
_SKIP_TO_DIGIT = re.compile(r"[^0-9\-−－]*")
# A row may lack at most this many cells before it is called unparsed.
_MAX_GAPS = 2
_ONLY_2021 = frozenset({"other_overdue_correction", "other_unpaid_fee", "other_other"})


@dataclass
class RowObs:
    key: str | None
    choices: list[list[Number | None]] | None  # None: too many readings to tell
    raw: str


def _row_total_ok(values: list[Number]) -> bool:
    return abs(sum(values[:6]) - values[6]) < 1e-9


def _with_gaps(values: list[Number | None]) -> list[list[Number | None]]:
    """A row printed with fewer numbers than columns: every placement of the missing cells."""
    gaps = NCOL - len(values)
    if gaps <= 0 or gaps > _MAX_GAPS:
        return []
    out: list[list[Number | None]] = []
    for holes in itertools.combinations(range(NCOL), gaps):
        it = iter(values)
        out.append([None if i in holes else next(it) for i in range(NCOL)])
    return out


def _values_choices(cells: list[str]) -> list[list[Number | None]] | None:
    values: list[Number | None] = []
    for c in cells:
        if is_blank(c):
            values.append(None)
        else:
            values.append(cell_number(c))
    while len(values) > NCOL and values[-1] is None:
        values.pop()
    if len(values) == NCOL:
        return [values]
    if len(values) < NCOL and None not in values:
        return _with_gaps(values)
    return []


def _is_numeric(cell: str) -> bool:
    return cell_number(cell) is not None


def grid_rows(grid: Grid) -> list[RowObs]:
    rows = grid.rows
    data_idx = [i for i, r in enumerate(rows) if sum(1 for c in r if _is_numeric(c)) >= 3]
    if not data_idx:
        return []
    width = len(rows[0])
    rect = all(len(r) == width for r in rows)
    colmap: dict[int, int] = {}
    if rect and data_idx[0] > 0:
        header = rows[: data_idx[0]]
        for j in range(width):
            leaf = next((h[j] for h in reversed(header) if h[j]), "")
            idx = app_column(leaf)
            if idx is not None and idx not in colmap.values() and any(_is_numeric(rows[i][j]) for i in data_idx):
                colmap[j] = idx
    out: list[RowObs] = []
    for i in data_idx:
        row = rows[i]
        if len(colmap) == NCOL:
            label = _join_label(c for j, c in enumerate(row) if j not in colmap)
            values: list[Number | None] = [None] * NCOL
            for j, idx in colmap.items():
                values[idx] = None if is_blank(row[j]) else cell_number(row[j])
            out.append(RowObs(app_row_key(label) if label else None, [values], "|".join(row)))
            continue
        first = next(j for j, c in enumerate(row) if _is_numeric(c))
        label = _join_label(row[:first])
        choices = _values_choices(row[first:])
        out.append(RowObs(app_row_key(label) if label else None, choices, "|".join(row)))
    return out


def _join_label(cells: Iterable[str]) -> str:
    """The texts of a row's label cells, each once (spanned cells repeat)."""
    parts: list[str] = []
    for c in cells:
        if c and (not parts or parts[-1] != c) and not _is_numeric(c):
            parts.append(c)
    return "".join(parts)


def text_rows(text: str) -> list[RowObs]:
    """Rows in run-on or space-separated text: a label start, then the digits up to the next label."""
    matches = list(APP_START_RE.finditer(text))
    out: list[RowObs] = []
    for m, nxt in itertools.zip_longest(matches, matches[1:]):
        end = nxt.start() if nxt is not None else min(len(text), m.end() + 400)
        seg = text[m.end():end]
        skip = _SKIP_TO_DIGIT.match(seg)
        rest = seg[skip.end():] if skip else seg
        run_m = _RUN.match(rest)
        if not run_m:
            continue
        run = run_m.group(0).strip()
        key = m.lastgroup
        readings = splits(run, NCOL, _row_total_ok, group=NCOL)
        choices: list[list[Number | None]] | None = (
            None if readings is None else [list[Number | None](r) for r in readings])
        if choices == [] and run:
            simple = run.split()
            if all(_is_numeric(t) for t in simple):
                choices = _with_gaps([cell_number(t) for t in simple]) or []
        out.append(RowObs(key, choices, run))
    return out


def assemble(obs: list[RowObs], order: tuple[str, ...]) -> tuple[
        dict[str, list[list[Number | None]] | None], list[str]]:
    """Map observations to canonical rows; an unlabeled row takes the next row of the official order
    (PDF conversions print some rows without their labels). Returns (row → readings, unplaced raws)."""
    found: dict[str, list[list[Number | None]] | None] = {}
    unplaced: list[str] = []
    pointer = -1
    for o in obs:
        key = o.key
        if key is None:
            nxt = pointer + 1
            while nxt < len(order) and order[nxt] in found:
                nxt += 1
            if nxt >= len(order):
                unplaced.append(o.raw)
                continue
            key = order[nxt]
        if key not in order:
            unplaced.append(o.raw)
            continue
        if key in found and found[key]:
            continue
        found[key] = o.choices
        pointer = order.index(key)
    return found, unplaced


def detect_rows_format(obs: list[RowObs]) -> str | None:
    keys = {o.key for o in obs}
    if keys & _ONLY_2021:
        return "2021"
    if "other" in keys:
        return "2019"
    return None
