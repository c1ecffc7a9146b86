"""``scrapy export``: the dataset out of the catalog as CSV, JSON lines, Parquet (pyarrow) or XLSX (openpyxl).

Tables (docs/schema.md, "Export tables"): ``key_figures`` (one row per canonical report, every standard figure of
Tables 2–4 with ``_inferred``/``_issue`` companions), ``reports`` (canonical reports), ``copies`` (the reports set
aside as copies, each with its canonical report and reason), ``table_cells`` (long form) and ``applications_wide``
(Table 3 as ``<row>__<column>`` columns) and ``issues``, of canonical reports, ``crossyear_checks``, ``agencies``,
``agency_aliases``. Every export writes ``labels`` (the codebook of keys: Chinese and English label of every
section, table, row, column, issue code, format, level, copy reason) and ``codebook`` (every column of every table
written, with its Chinese and English heading) beside the tables.

Everything counts canonical reports only (one per agency × year: :mod:`pipelines.catalog.groups`); how many copies
were set aside is in the result and in ``copies``. Rows are sorted, so the same catalog exports to the same bytes
(CSV, JSON lines, Parquet; an XLSX file holds the same cells, its zip members stamped with the time of writing).
CSV files start with a UTF-8 byte-order mark by default (``excel``), so Excel reads the Chinese as UTF-8.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook

from pipelines.catalog.identity import refresh_identity
from pipelines.catalog.labels import APPLICANT_COLUMNS
from pipelines.catalog.schema import SCHEMA
from pipelines.key_figures import APPLICATION_ROWS, codebook_rows, headings, key_figures

__all__ = ["APPLICATION_ROWS", "FORMATS", "TABLES", "ExportResult", "export", "read_table"]

FORMATS = ("csv", "jsonl", "parquet", "xlsx")
LABEL_LANGS = ("en", "zh")
TABLES = ("key_figures", "reports", "copies", "table_cells", "applications_wide", "issues", "crossyear_checks",
          "agencies", "agency_aliases")
BESIDE = ("labels", "codebook")  # written with every export
SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet", "xlsx": ".xlsx"}
_XLSX_DATE = datetime(2020, 1, 1)

_CANONICAL = "JOIN report_members m ON m.report_id = {alias}.id AND m.canonical = 1"
_QUERIES = {
    "reports": (
        "SELECT r.id AS report_id, m.group_id, m.agency_id, a.name AS agency_canonical, a.level, a.province,"
        " r.url, r.title, r.agency, r.year, r.published, r.format, r.schema_version, r.parser_version, r.charset,"
        " r.traditional, r.pinyin_removed, r.mojibake_spans, r.section_count, r.issue_count, r.source,"
        " r.source_agency, r.list_title, r.list_date, r.content_type, r.attachment_of, r.payload_digest,"
        " r.captured_at, r.warc_file, r.warc_offset, r.warc_record_id, g.copies"
        f" FROM reports r {_CANONICAL.format(alias='r')} JOIN report_groups g ON g.group_id = m.group_id"
        " LEFT JOIN agencies a ON a.agency_id = m.agency_id ORDER BY a.name, r.year, r.url"
    ),
    "copies": (
        "SELECT m.report_id, m.group_id, m.agency_id, a.name AS agency_canonical, r.year, m.copy_of,"
        " c.url AS copy_of_url, m.reason, m.evidence, m.rank, m.medium, m.corrected, r.url, r.title, r.agency,"
        " r.format, r.issue_count, r.source, r.source_agency, r.attachment_of, r.captured_at, r.warc_file,"
        " r.warc_offset, r.warc_record_id FROM report_members m JOIN reports r ON r.id = m.report_id"
        " JOIN reports c ON c.id = m.copy_of LEFT JOIN agencies a ON a.agency_id = m.agency_id"
        " WHERE m.canonical = 0 ORDER BY a.name, r.year, m.rank"
    ),
    "table_cells": (
        "SELECT c.report_id, r.url, m.agency_id, a.name AS agency_canonical, r.year, r.format, c.table_key,"
        " c.row_key, c.column_key, c.value, c.inferred FROM table_cells c JOIN reports r ON r.id = c.report_id"
        f" {_CANONICAL.format(alias='r')} LEFT JOIN agencies a ON a.agency_id = m.agency_id"
        " ORDER BY a.name, r.year, r.url, c.table_key, c.row_order, c.column_order"
    ),
    "issues": (
        "SELECT i.report_id, r.url, m.agency_id, a.name AS agency_canonical, r.year, r.format, i.position, i.code,"
        " i.table_key, i.row_key, i.column_key, i.detail FROM issues i JOIN reports r ON r.id = i.report_id"
        f" {_CANONICAL.format(alias='r')} LEFT JOIN agencies a ON a.agency_id = m.agency_id"
        " ORDER BY a.name, r.year, r.url, i.position"
    ),
    "crossyear_checks": (
        "SELECT x.report_id, x.previous_report_id, x.agency_id, a.name AS agency_canonical, x.year, x.code,"
        " x.table_key, x.row_key, x.column_key, x.value, x.previous_value, x.expected, x.detail, r.url,"
        " p.url AS previous_url FROM crossyear_checks x JOIN reports r ON r.id = x.report_id"
        " JOIN reports p ON p.id = x.previous_report_id LEFT JOIN agencies a ON a.agency_id = x.agency_id"
        " ORDER BY a.name, x.year, x.code, x.table_key, x.row_key, x.column_key"
    ),
    "agencies": ("SELECT agency_id, name, level, province, place, match_key, reports, canonical_reports, first_year,"
                 " last_year FROM agencies ORDER BY level, name"),
    "agency_aliases": ("SELECT l.alias, l.agency_id, a.name, l.reason, l.reports FROM agency_aliases l"
                       " JOIN agencies a ON a.agency_id = l.agency_id ORDER BY a.name, l.alias, l.reason"),
    "labels": "SELECT kind, key, zh, en FROM labels ORDER BY kind, key",
}

# English descriptions of the columns of the tables other than key_figures (the codebook's label_en)
COLUMN_DOCS: dict[str, str] = {
    "report_id": "catalog id of the report (reports.id)", "group_id": "report group (report_groups)",
    "agency_id": "canonical agency id (agencies)", "agency_canonical": "canonical agency name (agencies.name)",
    "level": "administrative level of the agency", "province": "province-level division, if the name says",
    "url": "report URL", "title": "title as printed", "agency": "agency as printed (or as the column names it)",
    "year": "report year", "published": "publication date as printed", "format": "form version",
    "schema_version": "canonical JSON schema version", "parser_version": "parser that produced the row",
    "charset": "decoded charset", "traditional": "1 = source in Traditional characters",
    "pinyin_removed": "pinyin annotations removed", "mojibake_spans": "mojibake spans repaired",
    "section_count": "sections found", "issue_count": "parser issues", "source": "sources.toml entry",
    "source_agency": "agency of the column the report was found in", "list_title": "title in the listing",
    "list_date": "date in the listing", "content_type": "Content-Type of the capture",
    "attachment_of": "page that links this attachment", "payload_digest": "payload digest of the capture",
    "captured_at": "capture time (UTC)", "warc_file": "WARC file", "warc_offset": "record offset in the file",
    "warc_record_id": "WARC-Record-ID", "copies": "reports of the group set aside as copies",
    "copy_of": "report id of the group's canonical report", "copy_of_url": "URL of the canonical report",
    "reason": "why this report is a copy (labels kind 'reason')", "evidence": "every fact linking it, in order",
    "rank": "place under the canonical rule (1 = canonical)", "medium": "html, pdf, doc or other",
    "corrected": "1 = a corrected re-issue is involved (更正/修订)", "table_key": "table (labels kind 'table')",
    "row_key": "row (labels kind 'row')", "column_key": "column (labels kind 'column')",
    "value": "the value; empty when blank in the source (never an invented 0)",
    "inferred": "1 = filled from the identities (由勾稽关系推算)", "position": "order of the issue in the report",
    "code": "issue code (labels kind 'issue')", "detail": "what was found", "previous_report_id":
    "canonical report of year - 1", "previous_value": "the value in year - 1", "expected": "the value year - 1 implies",
    "previous_url": "URL of the year - 1 report", "name": "canonical agency name", "place": "place prefix of the name",
    "match_key": "key the printed names were matched on", "reports": "reports stored for it",
    "canonical_reports": "canonical reports", "first_year": "first year with a canonical report",
    "last_year": "last year with a canonical report", "alias": "a name as printed", "kind": "label kind",
    "key": "canonical key", "zh": "Chinese label", "en": "English label",
}


@dataclass
class ExportResult:
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)
    canonical: int = 0  # canonical reports (one per agency × year)
    copies: int = 0  # reports set aside as copies


def applications_wide(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per canonical report; Table 3 as columns ``<row>__<column>`` (NULL where the report has none)."""
    reports = pd.read_sql_query(
        "SELECT r.id AS report_id, r.url, m.agency_id, a.name AS agency_canonical, r.agency, r.year, r.format"
        f" FROM reports r {_CANONICAL.format(alias='r')} LEFT JOIN agencies a ON a.agency_id = m.agency_id"
        " ORDER BY a.name, r.year, r.url", conn)
    cells = pd.read_sql_query(
        "SELECT c.report_id, c.row_key, c.column_key, c.value FROM table_cells c JOIN report_members m"
        " ON m.report_id = c.report_id AND m.canonical = 1 WHERE c.table_key = 'applications'", conn)
    columns = [f"{row}__{col}" for row in APPLICATION_ROWS for col in APPLICANT_COLUMNS]
    if cells.empty:
        wide = pd.DataFrame(columns=["report_id", *columns])
    else:
        cells["key"] = cells["row_key"] + "__" + cells["column_key"]
        wide = cells.pivot(index="report_id", columns="key", values="value").reset_index()
    extra = sorted(c for c in wide.columns if c != "report_id" and c not in columns)  # rows outside the forms
    wide = wide.reindex(columns=["report_id", *columns, *extra])
    out = reports.merge(wide, on="report_id", how="left")
    value_columns = [*columns, *extra]
    out[value_columns] = out[value_columns].apply(pd.to_numeric, errors="coerce")
    return out


def read_table(conn: sqlite3.Connection, name: str, labels: str = "en") -> pd.DataFrame:
    """One export table as a DataFrame (``labels`` names the key_figures headings: ``en`` keys or ``zh``)."""
    if name == "key_figures":
        frame = key_figures(conn)
        return frame.rename(columns=headings(labels)) if labels != "en" else frame
    if name == "applications_wide":
        return applications_wide(conn)
    if name == "codebook":
        raise ValueError("the codebook is written from the tables exported, not read")
    if name not in _QUERIES:
        raise ValueError(f"unknown export table {name!r}: expected one of {', '.join(TABLES)}")
    return pd.read_sql_query(_QUERIES[name], conn)


def codebook(frames: dict[str, pd.DataFrame], labels: str) -> pd.DataFrame:
    """Every column of every table written: its table, heading as written, key, Chinese and English label."""
    rows: list[dict[str, Any]] = []
    kf = {r["column"]: r for r in codebook_rows()}
    heads = headings(labels)
    inverse = {v: k for k, v in heads.items()}
    for table, frame in frames.items():
        for written in frame.columns:
            if table == "key_figures":
                key = inverse.get(str(written), str(written))
                entry = kf[key]
                rows.append({"table": table, "heading": written, "column": key, "label_zh": entry["label_zh"],
                             "label_en": entry["label_en"], "type": entry["type"],
                             "source_table": entry["source_table"], "source_row": entry["source_row"],
                             "source_column": entry["source_column"]})
            else:
                rows.append({"table": table, "heading": written, "column": written, "label_zh": "",
                             "label_en": COLUMN_DOCS.get(str(written), _wide_doc(str(written))),
                             "type": _type_of(frame[written]), "source_table": "", "source_row": "",
                             "source_column": ""})
    return pd.DataFrame(rows)


def _wide_doc(column: str) -> str:
    row, _, col = column.partition("__")
    return f"Table 3 row {row}, applicant column {col}" if col else column


def _type_of(series: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "text"


def write_frame(frame: pd.DataFrame, path_stem: Path, fmt: str, *, excel: bool = True) -> Path:
    """Write ``frame`` at ``path_stem`` + the format's suffix. ``excel``: CSV with a UTF-8 byte-order mark."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    path = path_stem.with_name(path_stem.name + SUFFIX[fmt])
    if fmt == "csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig" if excel else "utf-8")
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "parquet":
        frame.to_parquet(path, engine="pyarrow", index=False)
    else:
        write_xlsx(frame, path, sheet=path_stem.name[:31])
    return path


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> Path:
    """One sheet, the header row frozen; blanks stay empty cells (never 0)."""
    book = Workbook(write_only=True)
    book.properties.created = book.properties.modified = _XLSX_DATE
    ws = book.create_sheet(title=sheet)
    ws.freeze_panes = "A2"
    ws.append([str(c) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        ws.append([_xlsx_value(v) for v in row])
    book.save(path)
    return path


def _xlsx_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _identity_ready(conn: sqlite3.Connection) -> sqlite3.Connection:
    """The catalog itself when its identity tables are derived; else an in-memory copy where they are (a catalog
    written before report groups existed: reading it must not change it)."""
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "report_members" in tables:
        (members,) = conn.execute("SELECT count(*) FROM report_members").fetchone()
        (reports,) = conn.execute("SELECT count(*) FROM reports").fetchone()
        if members == reports:
            return conn
    memory = sqlite3.connect(":memory:", isolation_level=None)
    conn.backup(memory)
    memory.executescript(SCHEMA)
    refresh_identity(memory)
    return memory


def export(catalog: Path, out_dir: Path, fmt: str = "csv", *, plots: bool = False,
           tables: Iterable[str] | None = None, labels: str = "en", excel: bool = True) -> ExportResult:
    """Write ``tables`` (default: all) of ``catalog`` to ``out_dir`` in ``fmt``, the labels and codebook beside
    them; with ``plots``, the charts (PNG and SVG) too."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if labels not in LABEL_LANGS:
        raise ValueError(f"--labels {labels!r}: expected zh or en")
    chosen = list(TABLES if not tables else tables)
    unknown = [t for t in chosen if t not in TABLES]
    if unknown:
        raise ValueError(f"--table {unknown[0]!r}: expected one of {', '.join(TABLES)}")
    if not catalog.exists():
        raise FileNotFoundError(f"{catalog}: no catalog (crawl first, or `scrapy rebuild` from the WARCs)")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    source = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        conn = _identity_ready(source)
        result.canonical, result.copies = conn.execute(
            "SELECT coalesce(sum(canonical), 0), coalesce(sum(1 - canonical), 0) FROM report_members").fetchone()
        frames: dict[str, pd.DataFrame] = {}
        for name in chosen:
            frame = read_table(conn, name, labels if name == "key_figures" else "en")
            frames[name] = frame
            result.files[name] = write_frame(frame, out_dir / name, fmt, excel=excel)
            result.rows[name] = len(frame)
        frames["labels"] = read_table(conn, "labels")
        beside = {"labels": frames["labels"], "codebook": codebook(frames, labels)}
        for name, frame in beside.items():
            result.files[name] = write_frame(frame, out_dir / name, fmt, excel=excel)
            result.rows[name] = len(frame)
        if plots:
            # only with --plots: matplotlib and pypinyin (~0.9 s, ~85 MB) are not loaded for a plain export
            from pipelines.plots import write_plots

            result.plots = write_plots(conn, out_dir)
        if conn is not source:
            conn.close()
    finally:
        source.close()
    return result
