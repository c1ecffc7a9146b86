"""Table 3 (收到和处理政府信息公开申请情况): rows from grids or run-on text, matched by label."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from crawler.report._blocks import Grid
from crawler.report._digits import RUN_CHARS, cell_number, clean_run, is_blank, read_number, splits
from crawler.report._labels import APP_START_RE, app_column, match_app_row
from crawler.report._lines import LineRow
from crawler.report._model import Number

NCOL = 7
_RUN = re.compile(r"[-−－]?[0-9]" + RUN_CHARS + "*")
_SKIP_TO_DIGIT = re.compile(r"[^0-9\-−－]*")
# A row may lack at most this many cells before it is called unparsed.
_MAX_GAPS = 2
_ONLY_2021 = frozenset({"other_overdue_correction", "other_unpaid_fee", "other_other"})


@dataclass
class RowObs:
    key: str | None
    choices: list[list[Number | None]] | None  # None: too many readings to tell
    raw: str
    label: str = ""  # the label as printed (group cells included)
    score: float = 1.0  # how well the label matched the row key (1.0: its keywords)
    unreadable: tuple[int, ...] = ()  # columns whose cell held something that is neither a number nor blank
    bare: bool = False  # a label printed with no cells at all (a blank row, or a group heading)
    conf: list[float] | None = None  # OCR confidence of each of the seven cells (an OCR'd grid's row)


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
            values.append(read_number(c))
    while len(values) > NCOL and values[-1] is None:
        values.pop()
    if len(values) == NCOL:
        return [values]
    if len(values) < NCOL and None not in values:
        return _with_gaps(values)
    return []


def _is_numeric(cell: str) -> bool:
    return cell_number(cell) is not None


def _is_value(cell: str) -> bool:
    return is_blank(cell) or read_number(cell) is not None


def _trailing_values(row: list[str]) -> int:
    """How many cells at the end of the row are numbers or blanks."""
    k = 0
    for c in reversed(row):
        if not _is_value(c):
            break
        k += 1
    return k


MIN_NAMED = 3  # columns a header must name, in the official order, to place values when it does not name all seven


def header_columns(header: list[list[str]], width: int) -> dict[int, int]:
    """Grid column -> applicant column, from the lowest header word above each column: all seven columns, each
    found once; or at least :data:`MIN_NAMED` named in the official order left to right, the others placed by
    their offset from the nearest named one, and left out where that falls outside the grid (a PDF whose table
    ran off the page's right edge lost its 总计 column: its values are then null, never taken from the next
    column). Else {}."""
    colmap: dict[int, int] = {}
    for j in range(width):
        idx = _leaf_column(header, j)
        if idx is not None:
            if idx in colmap.values():
                prev = next(k for k, v in colmap.items() if v == idx)
                if header[-1][prev:prev + 1] == header[-1][j:j + 1]:
                    continue  # one header cell spanning two columns
                return {}
            colmap[j] = idx
    if len(colmap) == NCOL:
        return colmap
    order = [colmap[j] for j in sorted(colmap)]
    if len(colmap) < MIN_NAMED or order != sorted(order):
        return {}
    # a column the header does not name (a misprinted 自然入, an empty 总计 cell) sits where its neighbours say,
    # when the grid has a column there; one it has not (cut off at the page's edge) stays out of the map
    for idx in sorted(set(range(NCOL)) - set(colmap.values())):
        near = min(colmap, key=lambda j: (abs(colmap[j] - idx), j))
        j = near + idx - colmap[near]
        if 0 <= j < width and j not in colmap:
            colmap[j] = idx
    order = [colmap[j] for j in sorted(colmap)]
    return colmap if order == sorted(order) else {}


def named_columns(header: list[list[str]], width: int) -> dict[int, int]:
    """Grid column -> applicant column for each column whose lowest header word names one (any number of them)."""
    return {j: idx for j in range(width) if (idx := _leaf_column(header, j)) is not None}


def _leaf_column(header: list[list[str]], j: int) -> int | None:
    """The applicant column the lowest header word above grid column ``j`` names, if it names one."""
    leaf = next((h[j] for h in reversed(header) if j < len(h) and h[j] and not _is_value(h[j])), "")
    return app_column(leaf) if len(leaf) <= 12 else None


def named_elsewhere(named: dict[int, int], width: int, length: int) -> bool:
    """The header names a column where reading a row's last seven cells would put another: those are then not the
    seven columns (a table cut at the page's edge), and the row is not read that way."""
    return length == width and any(colmap_at != j - (width - NCOL) for j, colmap_at in named.items())


ColumnMap = tuple[int, dict[int, int]]  # (grid width, grid column -> applicant column)


def grid_rows(grid: Grid, inherited: ColumnMap | None = None) -> tuple[list[RowObs], ColumnMap | None]:
    """Table 3 rows of one grid, matched by their labels, blank cells kept as None. The seven value
    columns come from the header words when they name all seven, else from a header inherited from the
    part of the table before it (a table split in two), else they are the last seven cells of a row.
    Returns the rows and the column map to hand to the next part of a split table."""
    rows = grid.rows
    if not rows:
        return [], inherited
    width = max(len(r) for r in rows)
    rect = all(len(r) == width for r in rows)
    info = []
    first_data = None
    for i, row in enumerate(rows):
        k = _trailing_values(row)
        numeric = sum(1 for c in row if _is_numeric(c))
        label = _join_label(row[: len(row) - k]) if k < len(row) else ""
        key, score = match_app_row(label) if label and k else (None, 0.0)
        data = k > 0 and (key is not None or numeric >= 3)
        info.append((k, numeric, label, key, score, data))
        if data and first_data is None:
            first_data = i
    if first_data is None:
        header = rows if rect else []
        colmap = header_columns(header, width) if header else {}
        return [], ((width, colmap) if colmap else inherited)
    colmap = header_columns(rows[:first_data], width) if rect and first_data > 0 else {}
    header_names = named_columns(rows[:first_data], width) if rect and first_data > 0 and not colmap else {}
    if not colmap and inherited and rect and inherited[0] == width:
        colmap = inherited[1]
    out: list[RowObs] = []
    for i, (row, (k, _numeric, label, key, score, data)) in enumerate(zip(rows, info, strict=True)):
        if not data:
            continue
        raw = "|".join(row)
        slots: list[int | None] | None = None
        if colmap and len(row) == width and all(_is_value(row[j]) for j in colmap):
            label = _join_label(c for j, c in enumerate(row) if j not in colmap)
            key, score = match_app_row(label) if label else (None, 0.0)
            where = {column: j for j, column in colmap.items()}
            slots = [where.get(column) for column in range(NCOL)]  # None: a column the grid does not have
        # not when a header placed the columns and this row does not fit it, nor when the header names a column
        # where the last seven would put another: a PDF whose body cells do not line up with its header
        elif k >= NCOL and not colmap and not named_elsewhere(header_names, width, len(row)):
            end = len(row)
            while end - (len(row) - k) > NCOL and is_blank(row[end - 1]):
                end -= 1  # padding cells after the total (markdown rows with a trailing empty column)
            slots = list(range(end - NCOL, end))
        if slots is not None:
            values, bad = _read_values(["" if j is None else row[j] for j in slots])
            conf = ([0.0 if j is None else grid.confidence[i][j] for j in slots] if grid.confidence is not None
                    else None)
            out.append(RowObs(key, [values], raw, label, score, bad, conf=conf))
        else:
            first = next((j for j, c in enumerate(row) if _is_numeric(c)), len(row) - k)
            label = _join_label(row[:first])
            key, score = match_app_row(label) if label else (None, 0.0)
            out.append(RowObs(key, _values_choices(row[first:]), raw, label, score))
    return out, ((width, colmap) if colmap else inherited)


def _read_values(cells: list[str]) -> tuple[list[Number | None], tuple[int, ...]]:
    values: list[Number | None] = []
    bad: list[int] = []
    for i, c in enumerate(cells):
        if is_blank(c):
            values.append(None)
            continue
        v = read_number(c)
        if v is None:
            bad.append(i)
        values.append(v)
    return values, tuple(bad)


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
        if skip and "\n" in skip.group(0):
            # the digits are on a later line: this row's (its label wrapped) unless that line is another row's
            tail = skip.group(0).rsplit("\n", 1)[1].strip()
            if tail and match_app_row(tail)[0] not in (None, m.lastgroup):
                continue
        rest = seg[skip.end():] if skip else seg
        run_m = _RUN.match(rest)
        if not run_m or _NUMBERING_START.match(rest[run_m.end():]):
            continue  # no digits, or the next row's numbering ("1.申请人…"), not this row's cells
        run = clean_run(run_m.group(0))
        key = m.lastgroup
        readings = splits(run, NCOL, _row_total_ok, group=NCOL)
        choices: list[list[Number | None]] | None = (
            None if readings is None else [list[Number | None](r) for r in readings])
        if choices == [] and run:
            simple = run.split()
            if all(_is_numeric(t) for t in simple):
                choices = _with_gaps([cell_number(t) for t in simple]) or []
        out.append(RowObs(key, choices, run, m.group(0)))
    return out


# Run-on text read without knowing its labels in advance: each stretch of words, then the digits after it.
_SEGMENT = re.compile(r"([^0-9]+)([0-9](?:[0-9 \t,，]|[件个项条次元](?=[ \t]*[0-9]))*)")
_NUMBERING_START = re.compile(r"^[.．、]")
_BRACKET_NUMBER = re.compile(r"[(（]([1-9])[)）]")
_LEADING_UNIT = re.compile(r"^[\s件个项条次元万]+")  # the unit of the previous row's last number


def segment_rows(text: str) -> list[RowObs]:
    """Rows of run-on text whatever their labels say: every stretch of words followed by a run of at least
    seven digits is a label matched like a grid's (edit distance included), the digits its cells. A row's
    numbering glued to the previous row's digits ("00000002.其他法律…") goes back to its label."""
    # bracketed numbering "(3)" holds a digit that is not a cell: spelled out before the text is segmented
    pieces = _SEGMENT.findall(_BRACKET_NUMBER.sub(lambda m: "（" + "一二三四五六七八九"[int(m.group(1)) - 1] + "）",
                                                  text))
    out: list[RowObs] = []
    carry = ""
    for i, (words, run) in enumerate(pieces):
        label = carry + _LEADING_UNIT.sub("", words.rsplit("\n", 1)[-1])
        carry = ""
        run = clean_run(run)
        if i + 1 < len(pieces) and _NUMBERING_START.match(pieces[i + 1][0]) and run:
            carry, run = run[-1], run[:-1].strip()
        digits = sum(ch.isdigit() for ch in run)
        label = label.strip()
        if len(label) > 80:
            label = label[-40:]  # the table's header ran into its first row's label: the label is at the end
        if digits < NCOL:
            continue
        key, score = match_app_row(label)
        if key is None:
            continue
        readings = splits(run, NCOL, _row_total_ok, group=NCOL)
        choices = None if readings is None else [list[Number | None](r) for r in readings]
        out.append(RowObs(key, choices, run, label, score))
    return out


def assemble(obs: list[RowObs], order: tuple[str, ...]) -> tuple[
        dict[str, list[list[Number | None]] | None], list[str], dict[str, RowObs]]:
    """Map observations to canonical rows; a row printed without any label takes the next row of the
    official order (PDF conversions print some rows without their labels); a row whose label matches no
    row is not placed. Returns (row → readings, unplaced raws, row → the observation it came from)."""
    found: dict[str, list[list[Number | None]] | None] = {}
    source: dict[str, RowObs] = {}
    unplaced: list[str] = []
    pointer = -1
    for o in obs:
        key = o.key
        if key is None and o.label and re.search(r"[\u4e00-\u9fff]{2}", o.label):
            unplaced.append(o.raw)
            continue
        if key is None:
            nxt = pointer + 1
            while nxt < len(order) and order[nxt] in found:
                nxt += 1
            if nxt >= len(order):
                unplaced.append(o.raw)
                continue
            key = order[nxt]
        if key not in order:
            if not o.bare:  # a bare label of the other format's row is a group heading here (（六）其他处理)
                unplaced.append(o.raw)
            continue
        if key in found and found[key]:
            continue
        found[key] = o.choices
        source[key] = o
        pointer = order.index(key)
    return found, unplaced, source


def detect_rows_format(obs: list[RowObs]) -> str | None:
    keys = {o.key for o in obs if o.choices and not o.bare}
    # the 2021 form's three 其他处理 rows against the 2019 form's one: two of three outweigh a stray match
    if len(keys & _ONLY_2021) >= 2:
        return "2021"
    if "other" in keys:
        return "2019"
    if keys & _ONLY_2021:
        return "2021"
    if any(o.key == "other" and o.choices and not o.bare for o in obs):
        return "2019"
    return None


def line_obs(lines: list[LineRow]) -> list[RowObs]:
    """Table 3 rows printed one per line with space-separated cells. A line with fewer numbers than
    columns (blank cells printed as nothing) has every placement of its gaps as readings; the identities
    choose among them, or leave the row open."""
    out: list[RowObs] = []
    for lr in lines:
        key, score = match_app_row(lr.label)
        if key is None:
            continue
        values = lr.values()
        bad = tuple(i for i, (c, v) in enumerate(zip(lr.cells, values, strict=True)) if v is None and not is_blank(c))
        choices: list[list[Number | None]]
        if bad:
            choices = []
        elif not values:
            choices = [[None] * NCOL]  # a row printed with every cell blank
        elif len(values) == NCOL:
            choices = [values]
        elif len(values) < NCOL and None not in values:
            choices = _with_gaps(values)
        else:
            choices = []
        out.append(RowObs(key, choices, lr.raw, lr.label, score, bare=not values))
    return out
