"""Real-world variations of a generated report, each named and documented, with the exact ground truth.

The base renderers (``crawler.portal.render``) print only layouts the parser already reads. Real portals
publish many more: zeros printed as blanks or dashes, totals left empty, tables split over pages, Word
markup with a ``<span>`` per character, renumbered, shortened or misspelt labels, Traditional characters,
amounts in 元, full-width digits, PDF text dumps with page footers between the rows, cells run together.
Each variation here is a transformation of one rendering; any compatible combination can be applied to
any generated report::

    r = render_variant(report, ("zero_emdash", "split_page_break", "typos"), seed=7)
    r.body, r.content_type            # what a portal serves
    r.truth                           # report.tables: what the parser must return
    r.lost                            # cells the rendering destroyed (printed blank, or undecidable)
    check_parse(parse_report(r.body, content_type=r.content_type).to_dict(), r)   # [] = acceptable

``check_parse`` is the property the parser must satisfy: every cell comes back right, or - only where the
rendering destroyed it - comes back null with an issue naming its table and row; a present value that
differs from the truth is always a problem. docs/generator-variants.md lists the variants.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from crawler.portal.generator import GeneratedReport
from crawler.portal.grid import CellRef, Grid, report_grids, table4_grid
from crawler.portal.labels import APPLICANT_COLUMNS, TABLE4_COLUMNS
from crawler.portal.variant_cells import Plan, blank_cells, rewrite_grids, value_cells
from crawler.portal.variant_html import render_page
from crawler.portal.variant_text import render_lines, render_runon

MEDIA = ("html", "text")
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Variant:
    name: str
    family: str
    doc: str  # the real practice it models
    media: tuple[str, ...] = MEDIA
    destroys: str = "nothing: every value stays readable"
    # variant names or "family:<name>" this one cannot be combined with
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    name: str
    doc: str
    exclusive: bool  # at most one of its variants in a combination


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    variants: tuple[str, ...]
    truth: dict[str, Any]
    lost: frozenset[CellRef]
    fmt: str  # the report's format ("2021" | "2019"): the parser must detect it


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("zeros", "how a zero is printed: one token for the whole report", exclusive=True),
    Family("blanks", "cells and rows left empty that are not zero-by-token", exclusive=False),
    Family("structure", "where tables, titles and header notes sit", exclusive=False),
    Family("table_split", "one table printed as two or more <table> elements", exclusive=True),
    Family("word", "Word 'save as HTML' and copy-paste residue", exclusive=False),
    Family("numbering", "how row labels are numbered", exclusive=True),
    Family("labels", "label wording, slips, OCR confusions, script", exclusive=False),
    Family("numbers", "how a number is written", exclusive=False),
    Family("money", "the unit of the fees amount", exclusive=True),
    Family("text_layout", "how a text dump lays a table out", exclusive=True),
    Family("pages", "page boundaries inside a text dump", exclusive=False),
    Family("table4_text", "Table 4's numbers in a text dump", exclusive=True),
)}

_RUNON_EXCLUDES = ("family:zeros", "family:blanks", "family:pages", "family:table4_text", "ocr_digits",
                   "invisible_chars")
_ZERO_DESTROYS = "every zero value (lost; the accounting identities determine most of them)"

_VARIANT_LIST: tuple[Variant, ...] = (
    # --- zeros ---
    Variant("zero_empty", "zeros", "Zero cells left empty (<td></td>): editors type only the non-zero counts.",
            destroys=_ZERO_DESTROYS),
    Variant("zero_nbsp", "zeros", "Zero cells holding only &nbsp; (what TRS/UEditor put in a cell cleared by hand).",
            destroys=_ZERO_DESTROYS),
    Variant("zero_emdash", "zeros", "Zeros printed as an em dash '—' (a common 'none' mark in Chinese tables).",
            destroys=_ZERO_DESTROYS),
    Variant("zero_hyphen", "zeros", "Zeros printed as '-' (Excel's accounting format, pasted).",
            destroys=_ZERO_DESTROYS),
    Variant("zero_slash", "zeros", "Zeros printed as '/' ('not applicable' in Chinese forms).",
            destroys=_ZERO_DESTROYS),
    Variant("zero_wu", "zeros", "Zeros printed as '无' (none).", destroys=_ZERO_DESTROYS),
    Variant("zero_mixed", "zeros", "Each zero printed with one of '', &nbsp;, —, -, /, 无 (tables edited by "
            "several hands).", destroys=_ZERO_DESTROYS),
    # --- blanks ---
    Variant("sparse_rows", "blanks", "Table 3 rows carrying only one or two numbers: the natural-person cell "
            "(sometimes) and the total; the other zero cells left blank. Table 4 rows likewise keep the total.",
            destroys="the blanked zero cells", excludes=("text_runon",)),
    Variant("blank_totals", "blanks", "1-3 Table 3 rows (and maybe one Table 4 group) whose 总计 cell is empty "
            "although the total is not zero: the editor left the sum to the reader.",
            destroys="those totals (recoverable only through the row identity)", excludes=("text_runon",)),
    Variant("blank_zero_rows", "blanks", "Rows whose values are all zero printed wholly blank, total included "
            "(Tables 2, 3 and 4).", destroys="every cell of those rows", excludes=("text_runon",)),
    # --- structure ---
    Variant("corner_note", "structure", "Table 3's corner cell (colspan=3 rowspan=3) holds the Jiangsu/official "
            "note （本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和） next to 申请人情况 "
            "(colspan 7) over 法人或其他组织 (colspan 5); the HTML base leaves that corner empty.",
            media=("html",), excludes=("flat_tables",)),
    Variant("title_paragraph", "structure", "Each table's title as a paragraph of its own above the table "
            "(收到和处理政府信息公开申请情况, 表3 ..., 表三：..., 附表3 ...), below the section heading "
            "that already says the same."),
    Variant("title_row", "structure", "Each table's title as its first row, one cell spanning every column.",
            media=("html",)),
    Variant("flat_tables", "structure", "Tables without the official rowspan/colspan form: one header row, "
            "one label cell per row, group labels on rows of their own (simple CMS editors).", media=("html",)),
    # --- table_split ---
    Variant("split_header_body", "table_split", "Tables 3 and 4 as two <table>s: the header rows in one, the "
            "body in the next (a header table pasted apart from its data).", media=("html",)),
    Variant("split_page_break", "table_split", "Table 3 cut by a page break in the middle of its body: two "
            "<table>s, a cell spanning the cut printed again on top of the second (三、本年度办理结果 twice).",
            media=("html",)),
    Variant("split_page_break_header", "table_split", "As split_page_break, with the header rows repeated on "
            "top of the second part (Word's 'repeat header rows').", media=("html",)),
    # --- word ---
    Variant("word_markup", "word", "Word 'save as HTML': MsoNormal paragraphs, MsoNormalTable/MsoTableGrid, "
            "<o:p></o:p>, mso- styles, the zero-height row Word adds under misaligned columns.", media=("html",)),
    Variant("char_spans", "word", "Every character of every cell, digits too, in its own <span> (a font change "
            "per glyph survives the paste).", media=("html",)),
    Variant("label_breaks", "word", "Manual line breaks (<br>) inside label cells.", media=("html",)),
    Variant("nbsp_padding", "word", "Cells padded with &nbsp; runs to centre them by hand.", media=("html",)),
    Variant("invisible_chars", "word", "Soft hyphens (U+00AD) and zero-width characters (U+200B, U+200C, U+FEFF) "
            "inside labels and numbers, from Word and copy-paste.", excludes=("text_runon",)),
    # --- numbering ---
    Variant("numbering_dunhao", "numbering", "Item numbers written 1、 instead of 1.."),
    Variant("numbering_halfwidth", "numbering", "Half-width brackets: (一) for （一）, (1) for 1., 第二十条第(一)项 "
            "(as in the seeds' mirror copies)."),
    Variant("numbering_circled", "numbering", "Item numbers as circled digits ①②③ (Word's list style)."),
    Variant("numbering_none", "numbering", "No numbering at all: 本年新收政府信息公开申请数量, 予以公开, 属于国家秘密."),
    # --- labels ---
    Variant("labels_short", "labels", "Shortened labels: 本年新收申请数量, 上年结转, 国家秘密, 部分公开, 合计, "
            "直接起诉, 维持/纠正/未审结."),
    Variant("labels_merged_group", "labels", "A group merged into its rows' labels: 不予处理——信访举报投诉类申请, "
            "不予公开：属于国家秘密, （五）不予处理 1.信访举报投诉类申请; the group cell is gone."),
    Variant("normative_swap", "labels", "行政规范性文件 printed as 规范性文件 in the 2021 form (and the reverse in "
            "the 2019 form)."),
    Variant("typos", "labels", "1-3 one-character slips seen in published reports (申情, 于以公开, 部份公开, 其它, "
            "法津, 补证, 复义 ...)."),
    Variant("ocr_chars", "labels", "OCR look-alike confusions in labels: 已->己/巳, 未->末, 人->入, 沭->沐, "
            "1. -> l./I.."),
    Variant("traditional", "labels", "The whole page in Traditional characters (opencc s2t), as mirror sites "
            "serve it."),
    # --- numbers ---
    Variant("thousands_sep", "numbers", "Thousands separators: 1,234 and 18,651.06."),
    Variant("unit_jian", "numbers", "Counts carrying their unit: Table 2 counts end in 件 (项 for the 2019 "
            "item counts), Table 3 totals in 件."),
    Variant("fullwidth_digits", "numbers", "Full-width digits (０-９, ．, －) in numbers and label numbering."),
    Variant("ocr_digits", "numbers", "OCR digit confusions in numbers: 0 read as O/o, 1 as l/I.",
            excludes=("text_runon",)),
    # --- money ---
    Variant("fee_yuan", "money", "The 2021 fees amount in 元 with its unit (25.1 万元 -> 251000元) under the "
             "万元 header; the 2019 procurement amount (in 元) gains 元."),
    Variant("fee_wan", "money", "The 2021 fees amount with an explicit 万元 and no trailing zeros (12.5万元); "
            "no effect on the 2019 form."),
    # --- text_layout ---
    Variant("text_lines", "text_layout", "The text base: a PDF text dump (pdfplumber/pdftotext), a table row per "
            "line, cells separated by spaces, flat tables; an empty cell leaves no trace.", media=("text",),
            destroys="every value of a row in which a blank cell vanished (its numbers lose their columns)"),
    Variant("text_markdown", "text_layout", "PDF->markdown pipe tables (| a | b |, |---| under each piece's "
            "first row), flat tables, colspans padded with empty cells.", media=("text",)),
    Variant("text_cell_lines", "text_layout", "One cell per line ending in '|', the official rowspan form "
            "flattened (mirror-site copies, seeds 003/004).", media=("text",)),
    Variant("text_runon", "text_layout", "The page's text content with nothing between cells, whole report on "
            "one line (page.txt dumps: 21710000218 = 217|1|0|0|0|0|218).", media=("text",),
            destroys="every value whose digits can be cut more than one way within its row",
            excludes=_RUNON_EXCLUDES),
    # --- pages ---
    Variant("page_furniture", "pages", "Page footers and running headers (— 3 —, 第 3 页 共 8 页, a bare 3, the "
            "agency or title, a form feed) between two rows of Table 3 and after the overview.", media=("text",)),
    Variant("header_repeat", "pages", "Table 3's header rows printed again after a page break in its body.",
            media=("text",)),
    # --- table4_text ---
    Variant("table4_one_line", "table4_text", "Table 4 as its three header lines, then one line of 15 numbers.",
            media=("text",), excludes=("text_cell_lines",),
            destroys="all 15 values when a blank among them vanished (text_lines)"),
    Variant("table4_three_lines", "table4_text", "Table 4 as its three header lines, then three lines of 5 "
            "numbers.", media=("text",), excludes=("text_cell_lines",),
            destroys="a line's 5 values when a blank among them vanished (text_lines)"),
)

VARIANTS: dict[str, Variant] = {v.name: v for v in _VARIANT_LIST}
_ORDER = {name: i for i, name in enumerate(VARIANTS)}
TEXT_LAYOUTS = tuple(v.name for v in _VARIANT_LIST if v.family == "text_layout")
TEXT_BASE = "text_lines"


def family_members(family: str) -> tuple[str, ...]:
    return tuple(v.name for v in _VARIANT_LIST if v.family == family)


def _canonical(variants: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(variants, key=lambda n: _ORDER.get(n, len(_ORDER))))


def medium_of(variants: Sequence[str]) -> str:
    """"text" when a variant only exists in text, else "html"."""
    return "text" if any(VARIANTS[n].media == ("text",) for n in variants if n in VARIANTS) else "html"


def _layout(variants: Sequence[str]) -> str:
    if medium_of(variants) == "html":
        return "html"
    return next((n for n in variants if n in TEXT_LAYOUTS), TEXT_BASE)


def _excluded(a: Variant, b: Variant) -> bool:
    return b.name in a.excludes or f"family:{b.family}" in a.excludes


def incompatibilities(variants: Sequence[str]) -> list[str]:
    """Why these variants cannot be rendered together ([] when they can)."""
    problems = [f"unknown variant {n!r}" for n in variants if n not in VARIANTS]
    if problems:
        return problems
    if len(set(variants)) != len(variants):
        problems.append("a variant is named twice")
    chosen = [VARIANTS[n] for n in variants]
    html_only = [v.name for v in chosen if v.media == ("html",)]
    text_only = [v.name for v in chosen if v.media == ("text",)]
    if html_only and text_only:
        problems.append(f"HTML-only {html_only} with text-only {text_only}")
    for family in FAMILIES.values():
        members = [v.name for v in chosen if v.family == family.name]
        if family.exclusive and len(members) > 1:
            problems.append(f"at most one of family {family.name!r}: {members}")
    if text_only and not any(v.family == "text_layout" for v in chosen):
        chosen.append(VARIANTS[TEXT_BASE])  # the layout a text modifier is printed in by default
    for i, a in enumerate(chosen):
        for b in chosen[i + 1:]:
            if _excluded(a, b) or _excluded(b, a):
                problems.append(f"{a.name} excludes {b.name}")
    return problems


def compatible(variants: Sequence[str]) -> bool:
    return not incompatibilities(variants)


def random_combination(rng: Any, medium: str | None = None) -> tuple[str, ...]:
    """A random coherent combination for ``medium`` (drawn when None); a text one always names its layout."""
    medium = medium if medium is not None else rng.choice(MEDIA)
    if medium not in MEDIA:
        raise ValueError(f"unknown medium {medium!r}: expected one of {MEDIA}")
    picks: list[str] = [rng.choice(TEXT_LAYOUTS)] if medium == "text" else []
    for family in FAMILIES.values():
        members = [n for n in family_members(family.name) if medium in VARIANTS[n].media]
        if not members or family.name == "text_layout":
            continue
        if family.exclusive:
            if rng.random() < 0.45:
                picks.append(rng.choice(members))
        else:
            picks.extend(n for n in members if rng.random() < 0.25)
    out: list[str] = []
    for name in picks:
        if compatible([*out, name]):
            out.append(name)
    return _canonical(out)


def baseline(name: str) -> tuple[str, ...]:
    """The rendering a variant is a change of: () (the HTML base) or the text base for text modifiers."""
    v = VARIANTS[name]
    return (TEXT_BASE,) if v.media == ("text",) and v.family != "text_layout" else ()


def _plan(report: GeneratedReport, variants: Sequence[str], seed: int | str) -> Plan:
    chosen = _canonical(variants)
    problems = incompatibilities(chosen)
    if problems:
        raise ValueError(f"cannot render variants {list(variants)}: " + "; ".join(problems))
    return Plan(report, chosen, str(seed), medium_of(chosen), _layout(chosen))


def _grids(plan: Plan) -> dict[str, Grid]:
    if plan.layout in ("text_lines", "text_markdown"):
        grids = report_grids(plan.report, "flat")
        if plan.one_of(("table4_one_line", "table4_three_lines")):
            grids["review_litigation"] = table4_grid(plan.report, "official")
        return grids
    if plan.layout == "html" and plan.has("flat_tables"):
        return report_grids(plan.report, "flat")
    return report_grids(plan.report, "official")


@lru_cache(maxsize=1)
def _s2t() -> Any:
    import opencc

    return opencc.OpenCC("s2t")


def render_variant(report: GeneratedReport, variants: Sequence[str], seed: int | str = 0) -> Rendered:
    """``report`` printed with ``variants`` applied. Same report, variants and seed: same bytes."""
    plan = _plan(report, variants, seed)
    blanks = blank_cells(plan)
    grids = rewrite_grids(plan, _grids(plan), blanks)
    lost = set(blanks)
    if plan.medium == "html":
        body, content_type = render_page(plan, grids), HTML_CONTENT_TYPE
    else:
        printer = render_runon if plan.layout == "text_runon" else render_lines
        body, extra = printer(plan, grids)
        lost |= extra
        content_type = TEXT_CONTENT_TYPE
    if plan.has("traditional"):
        body = _s2t().convert(body)
    return Rendered(body=body.encode("utf-8"), content_type=content_type, variants=plan.chosen,
                    truth=copy.deepcopy(report.tables), lost=frozenset(lost), fmt=report.fmt)


def printed_cells(report: GeneratedReport, variants: Sequence[str], seed: int | str = 0) -> dict[CellRef, str]:
    """Each value cell's text as ``render_variant`` prints it (before the Traditional conversion)."""
    plan = _plan(report, variants, seed)
    grids = rewrite_grids(plan, _grids(plan), blank_cells(plan))
    return {c.ref: c.text for c in value_cells(grids) if c.ref is not None}


# --- the parser's property ------------------------------------------------------------------------
_COLUMN_NAMES = {
    "applications": tuple(k for k, _ in APPLICANT_COLUMNS),
    "review_litigation": tuple(k for k, _ in TABLE4_COLUMNS),
}


def column_name(table: str, column: str | int) -> str:
    """The issue ``column`` naming a cell: a field name, or the key of a list column."""
    return _COLUMN_NAMES[table][column] if isinstance(column, int) else column


def _got_cell(tables: dict[str, Any], table: str, row: str, column: str | int) -> Any:
    rows = tables.get(table)
    if not isinstance(rows, dict):
        return None
    values = rows.get(row)
    if isinstance(values, dict) and isinstance(column, str):
        return values.get(column)
    if isinstance(values, list) and isinstance(column, int) and column < len(values):
        return values[column]
    return None


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, bool) or not isinstance(got, int | float):
        return False
    if isinstance(got, float) or isinstance(want, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-9)
    return bool(got == want)


def _named(issues: list[dict[str, Any]], table: str, row: str, column: str) -> bool:
    for issue in issues:
        if issue.get("table") != table or issue.get("column") not in (None, column):
            continue
        if issue.get("row") == row or (issue.get("row") is None and issue.get("code") == "table_missing"):
            return True
    return False


def check_parse(got: dict[str, Any], rendered: Rendered) -> list[str]:
    """Problems with a parse of ``rendered`` ([] = acceptable).

    A cell is right when it equals the truth. It may be null only if the rendering destroyed it (it is in
    ``rendered.lost``) and an issue names its table and row (column: the cell's column or None;
    ``table_missing`` may name the table alone). A present value that differs from the truth is always a
    problem, lost or not, and so is a value in a row or field the truth does not have.
    """
    problems: list[str] = []
    if got.get("format") != rendered.fmt:
        problems.append(f"format: got {got.get('format')!r}, want {rendered.fmt!r}")
    tables = got.get("tables") or {}
    issues = [i for i in got.get("issues") or [] if isinstance(i, dict)]
    for table, rows in rendered.truth.items():
        for row, values in rows.items():
            columns = list(values) if isinstance(values, dict) else range(len(values))
            for column in columns:
                want = values[column]
                have = _got_cell(tables, table, row, column)
                where = f"{table}.{row}[{column_name(table, column)}]"
                if have is None:
                    if (table, row, column) not in rendered.lost:
                        problems.append(f"{where}: null, but the rendering kept it ({want!r})")
                    elif not _named(issues, table, row, column_name(table, column)):
                        problems.append(f"{where}: null (lost) with no issue naming {table}/{row}")
                elif not _same(have, want):
                    problems.append(f"{where}: got {have!r}, want {want!r} (silent error)")
    problems.extend(_extra_values(tables, rendered.truth))
    return problems


def _extra_values(tables: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    """Values in rows or fields the report does not have (a parser inventing a row is a silent error too)."""
    out: list[str] = []
    for table, rows in tables.items():
        if not isinstance(rows, dict):
            continue
        known = truth.get(table) or {}
        for row, values in rows.items():
            if row not in known:
                present = list(values.values()) if isinstance(values, dict) else list(values or [])
            elif isinstance(values, dict):
                present = [v for k, v in values.items() if k not in known[row]]
            elif isinstance(values, list):
                present = values[len(known[row]):]
            else:
                present = []
            if any(v is not None for v in present):
                out.append(f"{table}.{row}: values the report does not have: {present!r}")
    return out
