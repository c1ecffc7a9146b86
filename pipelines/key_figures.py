"""The key-figure table: one row per canonical report, every standard figure of Tables 2, 3 and 4 as a column.

Columns (docs/schema.md, "key_figures"): the report's identity (:data:`META`), then per figure ``t2__<row>__<field>``,
``t3__<row>__<applicant column>``, ``t4__<group>__<result>`` with two companions: ``<figure>_inferred`` (1 when the
value was filled from the accounting identities, not printed) and ``<figure>_issue`` (the issue codes naming that
cell or its row, ``;``-separated, cross-year ``carryover_mismatch``/``in_force_mismatch`` included; empty when the
value is plain). A figure the report's form does not have, or printed blank, is empty (NULL), never 0.

``headings(lang)`` gives the column headings: ``en`` the keys above, ``zh`` the official Chinese row and column
headings (表三|本年新收政府信息公开申请数量|自然人). The codebook (:func:`codebook`) lists every column with both.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.catalog.labels import APPLICANT_COLUMNS, LABELS, REVIEW_COLUMNS

# Table 3 rows of both official formats, in form order (the 2019 form has one ``other`` row instead of three).
APPLICATION_ROWS: tuple[str, ...] = (
    "new_received", "carried_over", "granted", "partially_granted",
    "denied_state_secret", "denied_law_prohibited", "denied_three_securities", "denied_third_party",
    "denied_internal_affairs", "denied_process_info", "denied_enforcement_file", "denied_query",
    "unable_not_held", "unable_needs_creation", "unable_unclear",
    "not_processed_petition", "not_processed_duplicate", "not_processed_publication", "not_processed_massive",
    "not_processed_confirm", "other_overdue_correction", "other_unpaid_fee", "other_other", "other",
    "total_processed", "carried_forward",
)  # fmt: skip

# Table 2 rows and their fields: the 2021 form's first, then the 2019 form's
ACTIVE_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("regulations", ("issued", "abolished", "in_force", "new_made", "new_published", "total_published")),
    ("normative_documents", ("issued", "abolished", "in_force", "new_made", "new_published", "total_published")),
    ("licensing", ("decisions", "prev_year_items", "change")),
    ("other_services", ("prev_year_items", "change", "decisions")),
    ("punishment", ("decisions", "prev_year_items", "change")),
    ("enforcement", ("decisions", "prev_year_items", "change")),
    ("fees", ("amount_10k_yuan", "prev_year_items", "change")),
    ("procurement", ("items", "amount")),
)
REVIEW_ROWS = ("review", "litigation_direct", "litigation_after_review")
TABLE_PREFIX = {"active_disclosure": "t2", "applications": "t3", "review_litigation": "t4"}
TABLE_ZH = {"active_disclosure": "表二", "applications": "表三", "review_litigation": "表四"}
REVIEW_ZH = {"review": "行政复议", "litigation_direct": "行政诉讼（未经复议直接起诉）",
             "litigation_after_review": "行政诉讼（复议后起诉）"}
SEP_ZH = "|"


@dataclass(frozen=True)
class Figure:
    table: str
    row: str
    column: str

    @property
    def key(self) -> str:
        return f"{TABLE_PREFIX[self.table]}__{self.row}__{self.column}"


FIGURES: tuple[Figure, ...] = (
    *(Figure("active_disclosure", row, field) for row, fields in ACTIVE_FIELDS for field in fields),
    *(Figure("applications", row, col) for row in APPLICATION_ROWS for col in APPLICANT_COLUMNS),
    *(Figure("review_litigation", row, col) for row in REVIEW_ROWS for col in REVIEW_COLUMNS),
)

# (key, zh heading, en description) of the columns before the figures
META: tuple[tuple[str, str, str], ...] = (
    ("report_id", "报告编号", "catalog id of the canonical report (reports.id)"),
    ("group_id", "报告组编号", "its group: one agency, year and kind (report_groups.group_id)"),
    ("agency_id", "机关编号", "canonical agency id (agencies.agency_id)"),
    ("agency", "机关", "canonical agency name (agencies.name)"),
    ("agency_printed", "报告所印机关名称", "the agency as the report prints it (reports.agency)"),
    ("level", "行政层级", "administrative level: state_council, province, city, county, township, unknown"),
    ("province", "省份", "province-level division the agency's name starts with, if any"),
    ("year", "年度", "report year"),
    ("format", "表格格式", "form version: 2021, 2019, legacy (pre-2019), unknown"),
    ("title", "标题", "title as printed"),
    ("published", "发布日期", "publication date as printed (empty: not stated)"),
    ("url", "网址", "URL of the report (the attachment for a PDF/DOC report)"),
    ("captured_at", "抓取时间", "capture time (UTC) of the stored capture"),
    ("warc_file", "WARC文件", "WARC file holding the capture"),
    ("warc_offset", "WARC偏移", "byte offset of the response record in that file"),
    ("warc_record_id", "WARC记录编号", "WARC-Record-ID of the response record"),
    ("copies", "副本数", "other reports of the group set aside as copies (report_members)"),
    ("corrected", "含更正版", "1 when the group holds a corrected re-issue (更正/修订)"),
    ("issue_count", "解析问题数", "parser issues of this report (issues)"),
    ("issue_codes", "解析问题类型", "distinct parser issue codes of this report, ;-separated"),
    ("crossyear_mismatches", "跨年度不一致数", "cells of this report in crossyear_checks (against year-1)"),
)
INFERRED, ISSUE = "_inferred", "_issue"

_META_SQL = (
    "SELECT r.id AS report_id, m.group_id, m.agency_id, a.name AS agency, r.agency AS agency_printed, a.level,"
    " a.province, r.year, r.format, r.title, r.published, r.url, r.captured_at, r.warc_file, r.warc_offset,"
    " r.warc_record_id, g.copies, g.corrected, r.issue_count,"
    " (SELECT group_concat(code, ';') FROM (SELECT DISTINCT code FROM issues i WHERE i.report_id = r.id"
    "  ORDER BY code)) AS issue_codes,"
    " (SELECT count(*) FROM crossyear_checks x WHERE x.report_id = r.id) AS crossyear_mismatches"
    " FROM reports r JOIN report_members m ON m.report_id = r.id AND m.canonical = 1"
    " JOIN report_groups g ON g.group_id = m.group_id LEFT JOIN agencies a ON a.agency_id = m.agency_id"
    " ORDER BY a.name, r.year, r.url"
)


def _zh(kind: str) -> dict[str, str]:
    return {key: zh for k, key, zh, _en in LABELS if k == kind}


def _en(kind: str) -> dict[str, str]:
    return {key: en for k, key, _zh, en in LABELS if k == kind}


def figure_heading(fig: Figure, lang: str) -> str:
    if lang == "en":
        return fig.key
    rows, cols = _zh("row"), _zh("column")
    row = REVIEW_ZH[fig.row] if fig.table == "review_litigation" else rows.get(fig.row, fig.row)
    return SEP_ZH.join((TABLE_ZH[fig.table], row, cols.get(fig.column, fig.column)))


def headings(lang: str = "en") -> dict[str, str]:
    """Column key -> heading in ``lang`` (``en``: the key itself; ``zh``: the official Chinese heading)."""
    if lang not in ("en", "zh"):
        raise ValueError(f"--labels {lang!r}: expected zh or en")
    out = {key: (key if lang == "en" else zh) for key, zh, _ in META}
    for fig in FIGURES:
        head = figure_heading(fig, lang)
        out[fig.key] = head
        out[fig.key + INFERRED] = head + (INFERRED if lang == "en" else SEP_ZH + "推算")
        out[fig.key + ISSUE] = head + (ISSUE if lang == "en" else SEP_ZH + "问题")
    return out


def columns() -> list[str]:
    return [key for key, _, _ in META] + [k for fig in FIGURES for k in (fig.key, fig.key + INFERRED, fig.key + ISSUE)]


def key_figures(conn: sqlite3.Connection) -> pd.DataFrame:
    """The table, with its ``en`` keys as column names (rename with :func:`headings`)."""
    meta = pd.read_sql_query(_META_SQL, conn)
    ids = list(meta["report_id"])
    index = {rid: i for i, rid in enumerate(ids)}
    position = {(f.table, f.row, f.column): j for j, f in enumerate(FIGURES)}
    values: list[list[Any]] = [[None] * len(FIGURES) for _ in ids]
    inferred: list[list[int]] = [[0] * len(FIGURES) for _ in ids]
    issues: list[list[set[str]]] = [[set() for _ in FIGURES] for _ in ids]
    for rid, table, row, column, value, flag in conn.execute(
            "SELECT c.report_id, c.table_key, c.row_key, c.column_key, c.value, c.inferred FROM table_cells c"
            " JOIN report_members m ON m.report_id = c.report_id AND m.canonical = 1"):
        j = position.get((table, row, column))
        if j is None:
            continue
        i = index[rid]
        values[i][j] = value if not isinstance(value, str) else pd.to_numeric(value, errors="coerce")
        inferred[i][j] = int(flag)
    by_row: dict[tuple[str, str], list[int]] = defaultdict(list)
    for j, f in enumerate(FIGURES):
        by_row[(f.table, f.row)].append(j)
    found = conn.execute(
        "SELECT i.report_id, i.table_key, i.row_key, i.column_key, i.code FROM issues i"
        " JOIN report_members m ON m.report_id = i.report_id AND m.canonical = 1 WHERE i.code != 'inferred_cell'"
        " UNION ALL SELECT report_id, table_key, row_key, column_key, code FROM crossyear_checks").fetchall()
    for rid, table, row, column, code in found:
        if rid not in index or table is None or row is None:
            continue  # a report-wide or table-wide issue: issue_codes holds it
        i = index[rid]
        targets = [position[(table, row, column)]] if (table, row, column) in position else (
            by_row.get((table, row), []) if column is None else [])
        for j in targets:
            issues[i][j].add(code)
    data: dict[str, list[Any]] = {}
    for j, fig in enumerate(FIGURES):
        data[fig.key] = [values[i][j] for i in range(len(ids))]
        data[fig.key + INFERRED] = [inferred[i][j] for i in range(len(ids))]
        data[fig.key + ISSUE] = [";".join(sorted(issues[i][j])) for i in range(len(ids))]
    figures = pd.DataFrame(data, index=meta.index)
    value_cols = [f.key for f in FIGURES]
    figures[value_cols] = figures[value_cols].apply(pd.to_numeric, errors="coerce")
    frame = pd.concat([meta, figures], axis=1)
    frame["issue_codes"] = frame["issue_codes"].fillna("")
    return frame[columns()]


def codebook_rows() -> list[dict[str, Any]]:
    """One entry per key_figures column: key, Chinese and English headings, where it comes from, its type."""
    zh = headings("zh")
    rows_en, cols_en = _en("row"), _en("column")
    out: list[dict[str, Any]] = []
    for key, zh_head, desc in META:
        out.append({"table": "key_figures", "column": key, "label_zh": zh_head, "label_en": desc,
                    "source_table": "", "source_row": "", "source_column": "",
                    "type": "integer" if key in ("year", "warc_offset", "copies", "corrected", "issue_count",
                                                 "crossyear_mismatches") else "text"})
    for fig in FIGURES:
        en = f"{TABLE_ZH[fig.table]} {rows_en.get(fig.row, fig.row)}: {cols_en.get(fig.column, fig.column)}"
        base = {"table": "key_figures", "source_table": fig.table, "source_row": fig.row, "source_column": fig.column}
        out.append({**base, "column": fig.key, "label_zh": zh[fig.key], "label_en": en, "type": "number"})
        out.append({**base, "column": fig.key + INFERRED, "label_zh": zh[fig.key + INFERRED],
                    "label_en": en + " — 1 = inferred from the identities (推算)", "type": "integer"})
        out.append({**base, "column": fig.key + ISSUE, "label_zh": zh[fig.key + ISSUE],
                    "label_en": en + " — issue codes naming this cell or its row (问题)", "type": "text"})
    return out
