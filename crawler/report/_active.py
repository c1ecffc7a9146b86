"""Table 2 (主动公开政府信息情况): per-row fields named by the column headers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crawler.report._blocks import Grid
from crawler.report._digits import RUN_CHARS, clean_run, is_blank, read_number, splits
from crawler.report._labels import ACTIVE_START_RE, active_field, match_active_row
from crawler.report._lines import LineRow
from crawler.report._model import Number
from crawler.report._schema import ACTIVE_ROWS

_ZONE = re.compile(r"第二十条|信息内容")
_RUN = re.compile(r"[ \t|｜]*([-−－]?[0-9]" + RUN_CHARS + "*)")
_SEGMENT = re.compile(r"([^0-9\-−－]+)(?=[-−－]?[0-9])")


@dataclass
class ActiveObs:
    key: str
    values: dict[str, Number | None] | None  # None: no reading of the digits fits the row's columns
    raw: str
    split: RunSplit | None = None  # how a run-together row was read (text forms only)
    label: str = ""  # the label as printed
    score: float = 1.0  # how well it matched the row key
    conf: dict[str, float] | None = None  # OCR confidence of each field's cell (an OCR'd grid's row)


# Table 2 cells that may be negative (本年增/减) or fractional (amounts); every other cell is a whole count.
SIGNED_FIELDS = frozenset({"change"})
AMOUNT_FIELDS = frozenset({"amount_10k_yuan", "amount"})
# Past this many readings left, the detail of an undecided row gives their number instead of listing them.
_LIST_READINGS = 6


@dataclass
class RunSplit:
    """A digit run read as one Table 2 row. ``values`` holds the cells every admissible reading agrees on
    (None elsewhere); ``readings`` the admissible readings left (None: too many to enumerate); ``pinned``
    names, for each cell the digits alone leave open but something else decides, what decided it."""

    fields: tuple[str, ...]
    values: dict[str, Number | None] | None  # None: no admissible reading at all
    readings: list[list[Number]] | None
    pinned: dict[str, str] = field(default_factory=dict)

    @property
    def undecided(self) -> tuple[str, ...]:
        if self.values is None:
            return ()
        return tuple(f for f in self.fields if self.values[f] is None)


def admissible(fields: Sequence[str], values: Sequence[Number]) -> bool:
    """Counts are whole and not negative; only 本年增/减 may be negative, and the year's items it leads to
    (上一年项目数量 + 本年增/减) cannot be."""
    for f, v in zip(fields, values, strict=True):
        if v < 0 and f not in SIGNED_FIELDS:
            return False
        if f not in AMOUNT_FIELDS and v != int(v):
            return False
    if "prev_year_items" in fields and "change" in fields:
        return values[fields.index("prev_year_items")] + values[fields.index("change")] >= 0
    return True


def split_run(run: str, fields: Sequence[str],
              stated: Mapping[str, tuple[Number, str]] | None = None) -> RunSplit:
    """Read a run of digits as the cells ``fields``. A cell is filled only when every reading left agrees on
    it: first the readings of the digits, then those that pass ``admissible``, then those that agree with
    a figure the report states in its text (``stated``: field -> (value, quote)). A stated figure that no
    admissible reading has is ignored (the text and the table disagree; the table is what is read). Two
    readings that differ in a cell leave that cell None: a split is never guessed."""
    fields = tuple(fields)
    n = len(fields)
    plain = splits(run, n)
    fit = splits(run, n, lambda v: admissible(fields, v))
    left = fit
    used: list[str] = []
    told = {f: s for f, s in (stated or {}).items() if f in fields}
    if told and (left is None or len(left) > 1):
        if left is None:
            agree = splits(run, n, lambda v: admissible(fields, v)
                           and all(v[fields.index(f)] == s[0] for f, s in told.items()))
            if agree:
                left, used = agree, list(told)
        else:
            for f, (value, _) in told.items():
                i = fields.index(f)
                kept = [r for r in left if r[i] == value]
                if kept:
                    left = kept
                    used.append(f)
    if left is None:
        return RunSplit(fields, dict.fromkeys(fields), None)
    if not left:
        return RunSplit(fields, None, [])
    values: dict[str, Number | None] = {}
    pinned: dict[str, str] = {}
    for i, f in enumerate(fields):
        if any(r[i] != left[0][i] for r in left[1:]):
            values[f] = None
            continue
        values[f] = left[0][i]
        if plain and all(r[i] == plain[0][i] for r in plain[1:]):
            continue  # the digits alone decide it
        if fit and all(r[i] == fit[0][i] for r in fit[1:]):
            pinned[f] = "every reading with whole, non-negative counts (only 本年增/减 may be negative) gives it"
        else:
            quotes = "; ".join(f"«{told[u][1]}»" for u in used)
            pinned[f] = f"the report's text states {quotes}"
    return RunSplit(fields, values, None if len(left) == 1 else left, pinned)


def describe_undecided(split: RunSplit) -> str:
    """What is left open, for an issue's detail: the readings of the undecided cells, or their number."""
    if split.readings is None:
        return "too many readings to list"
    idx = [split.fields.index(f) for f in split.undecided]
    shown = sorted({tuple(r[i] for i in idx) for r in split.readings})
    head = "|".join(split.undecided)
    if len(shown) > _LIST_READINGS:
        return f"{len(shown)} readings of {head}"
    return f"{head} could be " + ", ".join("|".join(_num(v) for v in r) for r in shown)


def _num(v: Number) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


# Figures the report's prose states for a Table 2 cell. A sentence is read as a sequence of verbs (制发, 废止,
# 现行有效…), nouns (规范性文件, 规章) and counts (N件): a count is stated for the verb before it and the noun
# last named, so "制发规范性文件12件，废止4件，现行有效87件" states all three cells of the row. Only the
# quantity the cell's header names, in a sentence about this year.
_VERBS: dict[str, tuple[tuple[str, str], ...]] = {
    "2021": ((r"制发|印发|出台|制定|新制定|发布", "issued"), (r"废止|废除|宣布失效", "abolished"),
             (r"现行有效", "in_force")),
    "2019": ((r"新制作|制发|印发|出台|制定", "new_made"), (r"新公开", "new_published"),
             (r"对外公开总数|公开总数", "total_published")),
}
_STATED_TOKENS = {
    fmt: re.compile("|".join(f"(?P<v{i}>{p})" for i, (p, _) in enumerate(verbs))
                    + r"|(?P<normative>(?:行政)?规范性文件)|(?P<regulation>(?:政府)?规章)"
                    + r"|(?P<count>(?:共|合计|计)?([0-9]+)\s*(?:件|个))|(?P<other>[0-9]+\s*[^0-9件个\s])")
    for fmt, verbs in _VERBS.items()
}
_SENTENCE = re.compile(r"[^。；;！!？?\n]+")
# A clause about other years, a running total or a plan states another quantity.
_NOT_THIS_YEAR = re.compile(r"累计|历年|以来|拟|计划|上年|去年|同比")
_YEAR = re.compile(r"((?:19|20)[0-9]{2})\s*年")


def stated_figures(text: str, fmt: str, year: int | None) -> dict[str, dict[str, tuple[Number, str]]]:
    """row -> field -> (value, quote) for the Table 2 cells the report's prose states a figure for. A cell
    stated twice with different figures is left out."""
    found: dict[tuple[str, str], set[int]] = {}
    quotes: dict[tuple[str, str], str] = {}
    tokens = _STATED_TOKENS.get(fmt)
    if tokens is None:
        return {}
    fields = [f for _, f in _VERBS[fmt]]
    for sm in _SENTENCE.finditer(text):
        sentence = sm.group(0)
        if "规范性文件" not in sentence and "规章" not in sentence:
            continue
        for clause in re.split(r"[，,、]", sentence) if _NOT_THIS_YEAR.search(sentence) else [sentence]:
            if _NOT_THIS_YEAR.search(clause) or any(year is None or int(y) != year for y in _YEAR.findall(clause)):
                continue
            verb: str | None = None
            listed: str | None = None  # the verb of a list ("制发规章2件、规范性文件12件") for its next noun
            noun: str | None = None
            start = 0
            for m in tokens.finditer(clause):
                kind = m.lastgroup or ""
                if kind.startswith("v"):
                    verb, start, listed = fields[int(kind[1:])], m.start(), None
                elif kind in ("normative", "regulation"):
                    noun = "normative_documents" if kind == "normative" else "regulations"
                    if verb is None and listed is not None:
                        verb, start = listed, m.start()
                elif kind == "count" and verb is not None and noun is not None:
                    value = int(re.sub(r"[^0-9]", "", m.group("count")))
                    found.setdefault((noun, verb), set()).add(value)
                    cut = max(clause.rfind("，", 0, start), clause.rfind(",", 0, start))
                    quotes.setdefault((noun, verb), clause[cut + 1:m.end()].strip()[-60:])
                    verb, listed = None, verb
                elif kind == "other":
                    verb = listed = None  # a number of something else ("3个部门") ends the verb's reach
    out: dict[str, dict[str, tuple[Number, str]]] = {}
    for (row, fld), values in found.items():
        if len(values) == 1:
            out.setdefault(row, {})[fld] = (next(iter(values)), quotes[(row, fld)])
    return out


def prose_before_table(text: str) -> str:
    """The part of a section's text before its Table 2 (where a text dump prints the table)."""
    zone = _ZONE.search(text)
    return text[:zone.start()] if zone else text


def _distinct(cells: Sequence[str], ids: Sequence[int]) -> list[tuple[str, int, int]]:
    """(text, first column, last column) of each source cell, spanned slots folded into one."""
    out: list[tuple[str, int, int]] = []
    for j, (c, i) in enumerate(zip(cells, ids, strict=True)):
        if out and ids[out[-1][1]] == i:
            out[-1] = (out[-1][0], out[-1][1], j)
        else:
            out.append((c, j, j))
    return out


def _cell_value(cell: str, fld: str | None = None) -> Number | None:
    """A cell's number; an amount in 元 in the 万元 column (本年收费金额（单位：万元） printed as 215000元) is
    converted: the unit written in the cell is the one the number is in."""
    if is_blank(cell):
        return None
    value = read_number(cell)
    if value is not None and fld == "amount_10k_yuan" and cell.endswith("元") and not cell.endswith("万元"):
        value = round(value / 10000, 6)
        return int(value) if value == int(value) else value
    return value


def grid_active(grid: Grid, fmt: str) -> list[ActiveObs]:
    """Table 2 rows matched by label; each value cell goes to the field its header names. A value cell
    spanning other columns than its header (colspans that differ between the header row and the body) is
    matched by order when the row has as many cells as its header has fields."""
    fields_by_row = ACTIVE_ROWS[fmt]
    out: list[ActiveObs] = []
    header: list[tuple[str | None, int, int]] | None = None
    for i, (row, rid) in enumerate(zip(grid.rows, grid.cell_ids(), strict=True)):
        label = next((c for c in row if c), "")
        if "信息内容" in label:
            header = [(active_field(c) if c else None, a, b) for c, a, b in _distinct(row, rid)[1:]]
            continue
        key, score = match_active_row(label) if label else (None, 0.0)
        if key is None or key not in fields_by_row:
            continue
        fields = fields_by_row[key]
        values: dict[str, Number | None] = dict.fromkeys(fields)
        start = row.index(label)
        cells = [(c, a, b) for c, a, b in _distinct(row, rid) if a > start and rid[a] != rid[start]]
        while len(cells) > len(fields) and not cells[-1][0]:
            cells.pop()  # empty cells after the row's values (a one-value row in a four-column table)
        if grid.ids is None and len(cells) > len(fields):
            # text forms: empty pieces beyond the row's columns are padding left by spans, not cells
            cells = [x for x in cells if x[0]]
            if len(cells) > 1 and len({c for c, _, _ in cells}) == 1 and len(fields) == 1:
                cells = cells[:1]
        hdr = [h for h in header or [] if h[0] in fields]
        slot: dict[str, int] = {}  # field -> the column its cell starts in
        if header is not None and len(header) == len(cells) == len(fields) and all(
                h[0] in (None, f) for h, f in zip(header, fields, strict=True)):
            # as many header cells as value cells and fields, every header word in its field's place (or
            # unreadable): by order
            for f, (c, a, _) in zip(fields, cells, strict=True):
                values[f], slot[f] = _cell_value(c, f), a
        elif hdr and [h[0] for h in hdr] == [f for f in fields if f in {h[0] for h in hdr}] and len(hdr) == len(cells):
            for (hf, _, _), (c, a, _) in zip(hdr, cells, strict=True):
                values[str(hf)], slot[str(hf)] = _cell_value(c, hf), a
        elif hdr:
            for c, a, b in cells:
                over = {h[0] for h in hdr if h[1] <= b and a <= h[2]}
                if len(over) == 1:
                    f = str(next(iter(over)))
                    if values[f] is None:
                        values[f], slot[f] = _cell_value(c, f), a
        else:
            for f, (c, a, _) in zip(fields, cells, strict=False):
                values[f], slot[f] = _cell_value(c, f), a
        conf = {f: grid.confidence[i][j] for f, j in slot.items()} if grid.confidence is not None else None
        out.append(ActiveObs(key, values, "|".join(row), label=label, score=score, conf=conf))
    return out


def text_active(text: str, fmt: str,
                stated: Mapping[str, Mapping[str, tuple[Number, str]]] | None = None) -> list[ActiveObs]:
    """Table 2 rows of a text dump; ``stated`` (from ``stated_figures``) may decide run-together digits."""
    zone = _ZONE.search(text)
    if not zone:
        return []
    fields_by_row = ACTIVE_ROWS[fmt]
    body = text[zone.start():]
    starts: list[tuple[int, int, str, str]] = [(m.start(), m.end(), m.lastgroup or "", m.group(0))
                                             for m in ACTIVE_START_RE.finditer(body)]
    # labels worded otherwise (其它对外管理服务事项, a typo): each stretch of words before a run of digits,
    # matched by edit distance, where no official label start was found
    taken = [(a, b) for a, b, _, _ in starts]
    for seg in _SEGMENT.finditer(body):
        words = seg.group(1).rsplit("\n", 1)[-1].strip()[-20:]
        if any(a < seg.end(1) and seg.start(1) < b for a, b in taken) or len(words) < 2:
            continue
        key, _ = match_active_row(words)
        if key is not None and "信息内容" not in words and not _ZONE.search(words):
            starts.append((seg.end(1) - len(words), seg.end(1), key, words))
    starts.sort()
    out: list[ActiveObs] = []
    for i, (_, m_end, key, printed) in enumerate(starts):
        if key not in fields_by_row:
            continue
        end = starts[i + 1][0] if i + 1 < len(starts) else len(body)
        run_m = _RUN.match(body, m_end, end)
        if not run_m:
            continue
        run = clean_run(run_m.group(1))
        split = split_run(run, fields_by_row[key], (stated or {}).get(key))
        raw_run = run_m.group(1).rstrip()
        if split.values is not None and "amount_10k_yuan" in split.values and raw_run.endswith("元") \
                and not raw_run.endswith("万元") and split.values["amount_10k_yuan"] is not None:
            split.values["amount_10k_yuan"] = _cell_value(raw_run, "amount_10k_yuan")  # 元 in the 万元 column
        out.append(ActiveObs(key, split.values, run, split, label=printed))
    return out


def line_active(lines: list[LineRow], fmt: str) -> list[ActiveObs]:
    """Table 2 rows printed one per line ("规章 0 1 12"): cells as printed, in the row's column order. A line
    with fewer cells than its row has columns cannot say which are missing: every cell is left open."""
    fields_by_row = ACTIVE_ROWS[fmt]
    out: list[ActiveObs] = []
    # rows with cells first; a label-only line (a blank row) only for a row no line gives cells
    for lr in sorted(lines, key=lambda x: not x.cells):
        if "信息内容" in lr.label or (not lr.cells and lr.label in {o.label for o in out}):
            continue  # a header line (信息内容 本年收费金额（单位：万元）)
        key, score = match_active_row(lr.label)
        if not lr.cells and any(o.key == key for o in out):
            continue
        if key is None or key not in fields_by_row:
            continue
        fields = fields_by_row[key]
        values = lr.values()
        cells = dict.fromkeys(fields)
        if len(values) == len(fields) and not any(
                v is None and not is_blank(c) for c, v in zip(lr.cells, values, strict=True)):
            cells = {f: _cell_value(c, f) for f, c in zip(fields, lr.cells, strict=True)}
        out.append(ActiveObs(key, cells, lr.raw, label=lr.label, score=score))
    return out
