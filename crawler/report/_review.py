"""Table 4 (行政复议、行政诉讼): 15 numbers in three groups of five, from grids or text."""

from __future__ import annotations

import re

from crawler.report._blocks import Grid
from crawler.report._digits import cell_number, is_blank, splits
from crawler.report._labels import REVIEW_GROUP_RES, review_column
from crawler.report._model import Number
from crawler.report._schema import REVIEW_GROUPS

_HEADER_WORDS = ("总计", "合计", "审结", "尚未")
_RUN = re.compile(r"[\s|｜]*([-−－]?[0-9][0-9.\s\-−－|｜]*)")

Values = list[Number | None]


def _groups_ok(values: list[Number]) -> bool:
    return all(abs(sum(values[g * 5:g * 5 + 4]) - values[g * 5 + 4]) < 1e-9 for g in range(3))


def _split15(values: Values) -> dict[str, Values]:
    return {g: values[i * 5:(i + 1) * 5] for i, g in enumerate(REVIEW_GROUPS)}


def grid_review(grid: Grid) -> tuple[dict[str, Values] | None, str | None]:
    """(groups, raw of a row that could not be read)."""
    rows = grid.rows
    numeric = [[cell_number(c) if not is_blank(c) else None for c in r] for r in rows]
    by_group: dict[str, Values] = {}
    for i, (row, nums) in enumerate(zip(rows, numeric, strict=True)):
        count = sum(1 for v in nums if v is not None)
        if count >= 12:
            mapped = _rect_mapping(rows[:i], row) if len(rows[0]) == len(row) else None
            if mapped is not None:
                return mapped, None
            first = next(j for j, v in enumerate(nums) if v is not None)
            cells = [None if is_blank(c) else cell_number(c) for c in row[first:]]
            while len(cells) > 15 and cells[-1] is None:
                cells.pop()
            if len(cells) == 15:
                return _split15(cells), None
            return None, "|".join(row)
        if count >= 4:
            label = "".join(c for c, v in zip(row, nums, strict=True) if v is None and c)
            for key, rx in REVIEW_GROUP_RES:
                if rx.search(label):
                    vals = [v for c, v in zip(row, nums, strict=True) if v is not None or is_blank(c)]
                    vals = [v for v in vals][-5:]
                    if len(vals) == 5:
                        by_group.setdefault(key, vals)
                    break
    if len(by_group) == 3:
        return by_group, None
    return None, None


def _rect_mapping(header: list[list[str]], row: list[str]) -> dict[str, Values] | None:
    """Columns matched by header words: a group word above, a result word at the bottom."""
    if not header:
        return None
    out: dict[str, Values] = {g: [None] * 5 for g in REVIEW_GROUPS}
    seen: set[tuple[str, int]] = set()
    for j, cell in enumerate(row):
        column_words = [h[j] for h in header if j < len(h) and h[j]]
        if not column_words:
            continue
        group = None
        for word in column_words:
            for key, rx in REVIEW_GROUP_RES:
                if rx.search(word):
                    group = key
                    break
        idx = review_column(column_words[-1])
        if group is None or idx is None or (group, idx) in seen:
            return None
        seen.add((group, idx))
        out[group][idx] = None if is_blank(cell) else cell_number(cell)
    return out if len(seen) == 15 else None


_GROUP_ROW = re.compile(r"(?P<review>行政复议)|(?P<litigation_direct>未经复议直接起诉)|(?P<litigation_after_review>复议后起诉)"
                        r"[ \t:：]*")
_GROUP_RUN = re.compile(r"[ \t:：|｜]*([-−－]?[0-9][0-9. \t\-−－|｜]*)")


def _group_rows(text: str) -> dict[str, Values] | None:
    """One row per group (``行政复议 0 0 1 0 1``), as flat tables print Table 4."""
    out: dict[str, Values] = {}
    for m in _GROUP_ROW.finditer(text):
        key = m.lastgroup
        run_m = _GROUP_RUN.match(text, m.end())
        if key is None or key in out or not run_m:
            continue
        choices = splits(run_m.group(1).strip(), 5, lambda v: abs(sum(v[:4]) - v[4]) < 1e-9, group=5)
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
    run_m = _RUN.match(text, end)
    if not run_m:
        return None, None, False
    run = run_m.group(1).strip()
    choices = splits(run, 15, _groups_ok, group=5)
    if choices is None or len(choices) > 1:
        return None, run, True
    if not choices:
        return None, run, False
    return _split15(list(choices[0])), run, False
