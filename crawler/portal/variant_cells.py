"""Cell texts under a combination of variants: how zeros, totals, numbers and labels get printed.

The grids of ``crawler.portal.grid`` carry each cell's ``ref``; this module rewrites their texts (and, for a
group merged into its rows, their spans) and says which values were printed blank. It decides nothing about
markup or layout: the HTML and text printers take the rewritten grids as they are.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from crawler.portal import variant_labels as vl
from crawler.portal.generator import GeneratedReport
from crawler.portal.grid import Cell, CellRef, Grid, format_number
from crawler.portal.labels import TABLE4_GROUPS, table3_rows

# zero printed as ... (one style per report; "zero_mixed" draws one per cell)
BLANK_TOKENS: dict[str, str] = {
    "zero_empty": "", "zero_nbsp": "\u00a0", "zero_emdash": "—", "zero_hyphen": "-", "zero_slash": "/",
    "zero_wu": "无",
}
ZERO_STYLES = (*BLANK_TOKENS, "zero_mixed")
# tokens a space-separated text dump cannot show: the cell disappears, and with it the row's column positions
VANISHING = ("", "\u00a0")
INVISIBLE = ("\u00ad", "\u200b", "\u200c", "\ufeff")
NUMBERING_VARIANTS = {f"numbering_{s}": s for s in vl.NUMBERING_STYLES}

_COUNT_UNITS_2019 = {"prev_year_items": "项", "change": "项", "items": "项"}
_AMOUNTS = ("amount_10k_yuan", "amount")
_FULLWIDTH = str.maketrans("0123456789.-", "０１２３４５６７８９．－")


@dataclass(frozen=True)
class Plan:
    """One rendering: the report, the variants chosen (canonical order), the seed, the medium and layout."""

    report: GeneratedReport
    chosen: tuple[str, ...]
    seed: str
    medium: str  # "html" | "text"
    layout: str  # "html" or the text layout variant

    def has(self, name: str) -> bool:
        return name in self.chosen

    def one_of(self, names: Sequence[str] | dict[str, str]) -> str | None:
        return next((n for n in self.chosen if n in names), None)

    def rng(self, name: str) -> random.Random:
        """A generator per variant, so adding one variant does not reshuffle what another draws."""
        return random.Random(f"{name}|{self.seed}|{self.report.fmt}|{self.report.title}")


def value_refs(tables: dict[str, Any]) -> list[CellRef]:
    """Every cell of a canonical ``tables`` dict, in table and row order."""
    refs: list[CellRef] = []
    for table, rows in tables.items():
        for row, values in rows.items():
            cols = list(values) if isinstance(values, dict) else range(len(values))
            refs.extend((table, row, c) for c in cols)
    return refs


def truth_of(tables: dict[str, Any], ref: CellRef) -> Any:
    table, row, col = ref
    return tables[table][row][col]  # a field of a dict or an index into a list: the same subscript


# --- which values are printed blank -----------------------------------------------------------------
def blank_cells(plan: Plan) -> dict[CellRef, str]:
    """ref -> the blank token printed instead of its value (every such value is lost)."""
    tables = plan.report.tables
    refs = value_refs(tables)
    style = plan.one_of(ZERO_STYLES)
    mixed = plan.rng("zero_mixed")

    def token() -> str:
        if style is None:
            return ""
        if style == "zero_mixed":
            return mixed.choice(tuple(BLANK_TOKENS.values()))
        return BLANK_TOKENS[style]

    out: dict[CellRef, str] = {}
    if style is not None:
        for ref in refs:
            if truth_of(tables, ref) == 0:
                out[ref] = token()
    if plan.has("sparse_rows"):
        rng = plan.rng("sparse_rows")
        for row, values in tables["applications"].items():
            keep_first = rng.random() < 0.5
            for ci in range(6):
                if values[ci] == 0 and (ci > 0 or not keep_first):
                    out.setdefault(("applications", row, ci), token())
        for row, values in tables["review_litigation"].items():
            for ci in range(4):
                if values[ci] == 0:
                    out.setdefault(("review_litigation", row, ci), token())
    if plan.has("blank_zero_rows"):
        by_row: dict[tuple[str, str], list[CellRef]] = {}
        for ref in refs:
            by_row.setdefault(ref[:2], []).append(ref)
        for row_refs in by_row.values():
            if all(truth_of(tables, r) == 0 for r in row_refs):
                for r in row_refs:
                    out.setdefault(r, token())
    if plan.has("blank_totals"):
        rng = plan.rng("blank_totals")
        rows = [row for row, v in tables["applications"].items() if v[6] != 0]
        for row in rng.sample(rows, min(len(rows), rng.randint(1, 3))):
            out[("applications", row, 6)] = ""
        groups = [g for g, _ in TABLE4_GROUPS if tables["review_litigation"][g][4] != 0]
        if groups and rng.random() < 0.5:
            out[("review_litigation", rng.choice(groups), 4)] = ""
    for ref in plan.report.blank_cells:
        out[ref] = ""
    return out


# --- how a value is printed ------------------------------------------------------------------------
def with_thousands(text: str) -> str:
    """12345 -> 12,345 and 18651.06 -> 18,651.06 (the number part only; a unit after it stays)."""
    m = re.match(r"^(-?)(\d+)(.*)$", text)
    if not m or len(m.group(2)) < 4:
        return text
    return f"{m.group(1)}{int(m.group(2)):,}{m.group(3)}"


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def fee_text(value: Any, field: str, unit: str) -> str:
    """The fees amount with an explicit unit. Truth is in 万元 (``amount_10k_yuan``): 25.1 prints as
    ``251000元`` or ``25.1万元``. The 2019 procurement amount is in 元 and only gains the 元."""
    printed = format_number(value)
    if field == "amount":
        return printed + "元" if unit == "元" else printed
    amount = Decimal(printed)
    if unit == "元":
        return _plain(amount * 10000) + "元"
    return _plain(amount) + "万元"


def ocr_digits(text: str, rng: random.Random, rate: float = 0.35) -> str:
    swaps = {"0": ("O", "o"), "1": ("l", "I")}
    return "".join(rng.choice(swaps[ch]) if ch in swaps and rng.random() < rate else ch for ch in text)


def insert_invisible(text: str, rng: random.Random, interior: bool) -> str:
    if not text:
        return text
    lo, hi = (1, len(text) - 1) if interior and len(text) > 1 else (0, len(text))
    at = rng.randint(lo, hi)
    return text[:at] + rng.choice(INVISIBLE) + text[at:]


def print_value(plan: Plan, ref: CellRef, value: Any, rngs: dict[str, random.Random]) -> str:
    table, _, col = ref
    text = format_number(value)
    if col in _AMOUNTS:
        unit = "元" if plan.has("fee_yuan") else "万元" if plan.has("fee_wan") else ""
        if unit:
            text = fee_text(value, str(col), unit)
    if plan.has("thousands_sep"):
        text = with_thousands(text)
    if plan.has("unit_jian") and col not in _AMOUNTS:
        if table == "active_disclosure":
            text += _COUNT_UNITS_2019.get(str(col), "件")
        elif table == "applications" and col == 6:
            text += "件"
    if plan.has("fullwidth_digits"):
        text = text.translate(_FULLWIDTH)
    if plan.has("ocr_digits"):
        text = ocr_digits(text, rngs["ocr_digits"])
    if plan.has("invisible_chars") and rngs["invisible_chars"].random() < 0.3:
        text = insert_invisible(text, rngs["invisible_chars"], interior=False)
    return text


# --- how a label is printed ------------------------------------------------------------------------
def _reword(plan: Plan, cell: Cell) -> Cell:
    """Wording and numbering: short forms, renumbering, 行政规范性文件 <-> 规范性文件, the corner note."""
    assert cell.ref is not None
    table, row, role = cell.ref
    text = cell.text
    if role == "corner" and table == "applications" and plan.medium == "html" and not plan.has("corner_note"):
        text = ""  # the HTML base leaves the corner empty; corner_note is the Jiangsu/official form
    if plan.has("labels_short") and role != "corner":
        text = vl.shorten(text)
    style = plan.one_of(NUMBERING_VARIANTS)
    if style is not None and role in ("label", "group", "results", "heading"):
        text = vl.renumber(text, NUMBERING_VARIANTS[style], str(role))
    if plan.has("normative_swap") and role == "label" and row == "normative_documents":
        text = vl.swap_normative(text)
    return replace(cell, text=text)


def _merge_groups(plan: Plan, grid: Grid) -> Grid:
    """Table 3 without its group cells: each row of 不予公开/无法提供/不予处理/其他处理 carries its group's words."""
    style = plan.rng("labels_merged_group").choice(vl.MERGE_STYLES)
    group_of = {key: group for key, _, group in table3_rows(plan.report.fmt) if group}
    printed: dict[str, str] = {}  # official group label -> as printed (already reworded)
    for row in grid:
        for cell in row:
            if cell.ref and cell.ref[2] == "group":
                printed[group_of[cell.ref[1]]] = cell.text
    # the official form gives groups a column of their own: their rows' labels widen over it
    official = any(c.ref is not None and c.ref[2] == "corner" for c in grid[0])
    out: Grid = []
    for row in grid:
        cells: list[Cell] = []
        for cell in row:
            if cell.ref and cell.ref[2] == "group":
                continue
            if cell.ref and cell.ref[2] == "label" and cell.ref[1] in group_of:
                merged = vl.merge_group(printed[group_of[cell.ref[1]]], cell.text, style)
                cell = replace(cell, text=merged, colspan=cell.colspan + (1 if official else 0))
            cells.append(cell)
        if cells:
            out.append(cells)
    return out


def _label_noise(plan: Plan, grids: dict[str, Grid], rngs: dict[str, random.Random]) -> dict[str, Grid]:
    """Slips, OCR confusions, full-width digits and invisible characters in label texts."""
    places = [(key, ri, ci) for key, grid in grids.items() for ri, row in enumerate(grid)
              for ci, cell in enumerate(row) if cell.label and cell.text]
    texts = [grids[k][ri][ci].text for k, ri, ci in places]
    if plan.has("typos"):
        rng = rngs["typos"]
        sites = vl.typo_sites(texts)
        for i, word, slip in rng.sample(sites, min(len(sites), rng.randint(1, 3))):
            if word in texts[i]:
                texts[i] = vl.apply_typo(texts[i], word, slip, rng)
    for i, text in enumerate(texts):
        if plan.has("ocr_chars"):
            text = vl.ocr_confuse(text, rngs["ocr_chars"], 0.5)
        if plan.has("fullwidth_digits"):
            text = text.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        if plan.has("invisible_chars") and rngs["invisible_chars"].random() < 0.3:
            text = insert_invisible(text, rngs["invisible_chars"], interior=True)
        texts[i] = text
    out = {key: [list(row) for row in grid] for key, grid in grids.items()}
    for (key, ri, ci), text in zip(places, texts, strict=True):
        out[key][ri][ci] = replace(out[key][ri][ci], text=text)
    return out


NOISE_RNGS = ("typos", "ocr_chars", "ocr_digits", "invisible_chars")


def rewrite_grids(plan: Plan, grids: dict[str, Grid], blanks: dict[CellRef, str]) -> dict[str, Grid]:
    """The grids with every cell printed as the variants say."""
    rngs = {name: plan.rng(name) for name in NOISE_RNGS}
    out: dict[str, Grid] = {}
    for key, grid in grids.items():
        rows: Grid = []
        for row in grid:
            cells = []
            for cell in row:
                if cell.ref is None:
                    cells.append(cell)
                elif cell.label:
                    cells.append(_reword(plan, cell))
                elif cell.ref in blanks:
                    cells.append(replace(cell, text=blanks[cell.ref]))
                else:
                    value = truth_of(plan.report.tables, cell.ref)
                    cells.append(replace(cell, text=print_value(plan, cell.ref, value, rngs)))
            rows.append(cells)
        if key == "applications" and plan.has("labels_merged_group"):
            rows = _merge_groups(plan, rows)
        out[key] = rows
    return _label_noise(plan, out, rngs)


def value_cells(grids: dict[str, Grid]) -> Iterator[Cell]:
    for grid in grids.values():
        for row in grid:
            for cell in row:
                if not cell.label and cell.ref is not None:
                    yield cell
