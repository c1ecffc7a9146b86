"""Table 4 (行政复议、行政诉讼): 15 numbers in three groups of five, from grids or text."""

from __future__ import annotations

import re

from crawler.report._blocks import Grid
from crawler.report._digits import RUN_CHARS, clean_run, is_blank, read_number, splits
from crawler.report._labels import REVIEW_GROUP_LABELS, fuzzy_key, match_review_group, review_column
from crawler.report._lines import LineRow
from crawler.report._model import Number
from crawler.report._schema import REVIEW_GROUPS

_HEADER_WORDS = ("总计", "合计", "审结", "尚未")
_RUN = re.compile(r"[\s|｜]*([-−－]?[0-9]" + RUN_CHARS + "*)")

Values = list[Number | None]


def _groups_ok(values: list[Number]) -> bool:
    return all(abs(sum(values[g * 5:g * 5 + 4]) - values[g * 5 + 4]) < 1e-9 for g in range(3))


def _split15(values: Values) -> dict[str, Values]:
    return {g: values[i * 5:(i + 1) * 5] for i, g in enumerate(REVIEW_GROUPS)}


def _is_value(cell: str) -> bool:
    return is_blank(cell) or read_number(cell) is not None


def _value(cell: str) -> Number | None:
    return None if is_blank(cell) else read_number(cell)


Confidences = dict[str, list[float]]


def grid_review(grid: Grid) -> tuple[dict[str, Values] | None, str | None, Confidences | None]:
    """(groups, raw of a row that could not be read, the OCR confidence of each cell read when the grid was
    OCR'd). Blank cells are None. The official layout (one row of 15 under the group and result headers),
    the flat one (a row per group, its label first) and a body printed apart from its header (15 numbers,
    or three rows of five, in the official order)."""
    rows = grid.rows
    by_group: dict[str, Values] = {}
    blank_rows: dict[str, Values] = {}
    fives: list[Values] = []
    conf: Confidences = {}
    fives_conf: list[list[float]] = []

    def conf_of(i: int, slots: range | list[int]) -> list[float]:
        return [grid.confidence[i][j] for j in slots] if grid.confidence is not None else []

    for i, row in enumerate(rows):
        k = 0
        for c in reversed(row):
            if not _is_value(c):
                break
            k += 1
        if k == 0:
            continue
        numbers = sum(1 for c in row[len(row) - k:] if not is_blank(c))
        if k >= 15 and (numbers or i > 0):
            mapped = _rect_mapping(rows[:i], row) if len(rows[0]) == len(row) else None
            if mapped is not None:
                groups, slots = mapped
                return groups, None, ({g: conf_of(i, js) for g, js in slots.items()} if grid.confidence else None)
            cells = [_value(c) for c in row[len(row) - k:]]
            while len(cells) > 15 and row[len(row) - len(cells)] == "":
                if _result_over(rows[:i], len(row) - len(cells)) is not None:
                    # a header names a result column over this blank: a cell of the table (a PDF whose empty
                    # columns collapsed no longer lines up with its header), not a label's padding to drop
                    return None, "|".join(row), None
                cells.pop(0)
            if len(cells) == 15:
                first = len(row) - 15
                return _split15(cells), None, ({g: conf_of(i, range(first + n * 5, first + n * 5 + 5))
                                                for n, g in enumerate(REVIEW_GROUPS)} if grid.confidence else None)
            return None, "|".join(row), None
        if k >= 5:
            label = "".join(dict.fromkeys(c for c in row[: len(row) - k] if c))
            vals = [_value(c) for c in row[len(row) - 5:]]
            last5 = range(len(row) - 5, len(row))
            over = [_result_over(rows[:i], j) for j in last5]
            if any(w is not None and w != n for n, w in enumerate(over)):
                continue  # the header puts other columns over these five cells: they do not line up with it
            if label:
                key, _ = match_review_group(label)
                if key is not None and any(row[len(row) - 5:]):
                    if key not in by_group:
                        by_group[key] = vals
                        conf[key] = conf_of(i, last5)
                elif key is not None:
                    # five empty cells after a label: a blank group row, or a header's span padding — a blank
                    # row only where other group rows of the grid hold numbers (the flat layout)
                    blank_rows.setdefault(key, vals)
            elif k == len(row) and len(row) == 5:
                fives.append(vals)
                fives_conf.append(conf_of(i, last5))
    if by_group:
        for key, vals in blank_rows.items():
            by_group.setdefault(key, vals)
    if len(by_group) == 3:
        return by_group, None, (conf if grid.confidence is not None else None)
    if not by_group and len(fives) == 3:
        return (dict(zip(REVIEW_GROUPS, fives, strict=True)), None,
                dict(zip(REVIEW_GROUPS, fives_conf, strict=True)) if grid.confidence is not None else None)
    return None, None, None


def _result_over(header: list[list[str]], j: int) -> int | None:
    """The result column (0-4) the lowest header word over slot ``j`` names, if one does."""
    for h in reversed(header):
        if j < len(h) and h[j]:
            idx = review_column(h[j])
            if idx is not None:
                return idx
    return None


def _rect_mapping(header: list[list[str]], row: list[str]) -> tuple[dict[str, Values], dict[str, list[int]]] | None:
    """Columns matched by header words: a group word above, a result word at the bottom. Returns the groups
    and, for each, the columns its five cells came from."""
    if not header:
        return None
    out: dict[str, Values] = {g: [None] * 5 for g in REVIEW_GROUPS}
    slots: dict[str, list[int]] = {g: [0] * 5 for g in REVIEW_GROUPS}
    seen: set[tuple[str, int]] = set()
    for j, cell in enumerate(row):
        column_words = [h[j] for h in header if j < len(h) and h[j]]
        if not column_words:
            continue
        group = None
        for word in column_words:
            key, _ = match_review_group(word)
            if key is not None:
                group = key
        idx = review_column(column_words[-1])
        if group is None or idx is None or (group, idx) in seen:
            return None
        seen.add((group, idx))
        out[group][idx] = _value(cell)
        slots[group][idx] = j
    return (out, slots) if len(seen) == 15 else None


_GROUP_ROW = re.compile(r"(?P<review>行政复议)|(?P<litigation_direct>未经复议直接起诉)|(?P<litigation_after_review>复议后起诉)"
                        r"[ \t:：]*")
_GROUP_RUN = re.compile(r"[ \t:：|｜]*([-−－]?[0-9](?:[0-9. \t\-−－|｜,，件个项条次元万])*)")


def _group_rows(text: str) -> dict[str, Values] | None:
    """One row per group (``行政复议 0 0 1 0 1``), as flat tables print Table 4."""
    out: dict[str, Values] = {}
    for m in _GROUP_ROW.finditer(text):
        key = m.lastgroup
        run_m = _GROUP_RUN.match(text, m.end())
        if key is None or key in out or not run_m:
            continue
        choices = splits(clean_run(run_m.group(1)), 5, lambda v: abs(sum(v[:4]) - v[4]) < 1e-9, group=5)
        if choices and len(choices) == 1:
            out[key] = list(choices[0])
    return out if len(out) == 3 else None


def text_review(text: str) -> tuple[dict[str, Values] | None, str | None, bool]:
    """(groups, the digit run, ambiguous?) from rows per group, or else from the numbers that follow the
    last header word."""
    per_group = _group_rows(text)
    if per_group is not None:
        return per_group, None, False
    end = max((text.rfind(w) + len(w) if w in text else -1) for w in _HEADER_WORDS)
    if end < 0:
        return None, None, False
    tokens = [t for line in _number_lines(text[end:]) for t in line]
    if len(tokens) == 15:
        # the body as printed, cells separated (one line of 15, or three lines of five): blanks stay None
        return _split15([None if is_blank(t) else read_number(t) for t in tokens]), None, False
    if tokens and any(is_blank(t) for t in tokens):
        return None, " ".join(tokens), False  # separated cells, but not fifteen of them
    run_m = _RUN.match(text, end)
    if not run_m:
        return None, None, False
    run = clean_run(run_m.group(1))
    choices = splits(run, 15, _groups_ok, group=5)
    if choices is None or len(choices) > 1:
        return None, run, True
    if not choices:
        return None, run, False
    return _split15(list(choices[0])), run, False


def _number_lines(text: str) -> list[list[str]]:
    """The lines right after Table 4's header that hold only numbers and blank marks, as token lists."""
    lines: list[list[str]] = []
    for line in text.split("\n"):
        parts = line.split()
        if not parts:
            if lines:
                break
            continue
        if all(is_blank(p) or read_number(p) is not None for p in parts):
            lines.append(parts)
        elif lines or line.strip():
            break
    return lines


def body_lines(text: str) -> dict[str, list[Values]] | None:
    """Table 4's body as three unlabelled lines, one per group in the official order, some printed with four
    numbers (a blank printed as nothing): group -> its readings, for the identities to choose from."""
    end = max((text.rfind(w) + len(w) if w in text else -1) for w in _HEADER_WORDS)
    if end < 0:
        return None
    lines = _number_lines(text[end:])
    if len(lines) != 3 or all(len(x) == 5 for x in lines):
        return None
    out: dict[str, list[Values]] = {}
    for group, parts in zip(REVIEW_GROUPS, lines, strict=True):
        values = [None if is_blank(p) else read_number(p) for p in parts]
        if len(values) == 5:
            out[group] = [values]
        elif None in values or len(values) != 4:
            out[group] = []  # blank marks and blanks printed as nothing together: the cells cannot be placed
        else:
            readings: list[Values] = []
            for hole in range(5):
                it = iter(values)
                readings.append([None if i == hole else next(it) for i in range(5)])
            out[group] = readings
    return out


def line_review(lines: list[LineRow]) -> dict[str, list[Values]] | None:
    """Table 4 printed a group per line ("行政复议 0 1 0 0 1"): group -> its readings. A line with four
    numbers (a blank printed as nothing) has one reading per place of the blank; the identities choose."""
    out: dict[str, list[Values]] = {}
    for lr in lines:
        key, _ = match_review_group(lr.label)
        if not lr.cells:
            # a label alone is a group printed with every cell blank only when it is that group's label, not
            # a header line naming several (行政复议 行政诉讼)
            key, score = fuzzy_key(lr.label, REVIEW_GROUP_LABELS)
            if score < 0.8:
                key = None
        if key is None or key in out:
            continue
        values = lr.values()
        if any(v is None and not is_blank(c) for c, v in zip(lr.cells, values, strict=True)):
            out[key] = []
        elif not values:
            out[key] = [[None] * 5]  # a group printed with every cell blank
        elif len(values) == 5:
            out[key] = [values]
        elif len(values) == 4 and None not in values:
            readings: list[Values] = []
            for hole in range(5):
                it = iter(values)
                readings.append([None if i == hole else next(it) for i in range(5)])
            out[key] = readings
        else:
            out[key] = []
    # two of the three groups printed is the table (a group with every cell blank may print no numbers)
    return out if len(out) >= 2 else None
