"""``scrapy export``: the dataset out of the catalog as CSV, JSON lines or Parquet (pyarrow).

Four tables: ``reports`` (one row per report), ``table_cells`` (long form, with the report's url/agency/year),
``applications_wide`` (one row per report, every Table 3 value as a ``<row>__<column>`` column) and ``issues``.
Rows are sorted, so the same catalog always exports to the same bytes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.catalog.labels import APPLICANT_COLUMNS

FORMATS = ("csv", "jsonl", "parquet")
TABLES = ("reports", "table_cells", "applications_wide", "issues")

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

REPORT_KEYS = ["report_id", "url", "agency", "year", "format"]

_QUERIES = {
    "reports": "SELECT * FROM reports ORDER BY agency, year, url",
    "table_cells": (
        "SELECT c.report_id, r.url, r.agency, r.year, r.format, c.table_key, c.row_key, c.column_key, c.value,"
        " c.inferred FROM table_cells c JOIN reports r ON r.id = c.report_id"
        " ORDER BY r.agency, r.year, r.url, c.table_key, c.row_order, c.column_order"
    ),
    "issues": (
        "SELECT i.report_id, r.url, r.agency, r.year, r.format, i.position, i.code, i.table_key, i.row_key,"
        " i.column_key, i.detail FROM issues i JOIN reports r ON r.id = i.report_id"
        " ORDER BY r.agency, r.year, r.url, i.position"
    ),
}


@dataclass
class ExportResult:
    files: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    plots: dict[str, Path] = field(default_factory=dict)


def read_table(conn: sqlite3.Connection, name: str) -> pd.DataFrame:
    """One export table as a DataFrame."""
    if name == "applications_wide":
        return applications_wide(conn)
    if name not in _QUERIES:
        raise ValueError(f"unknown export table {name!r}: expected one of {TABLES}")
    frame = pd.read_sql_query(_QUERIES[name], conn)
    if name == "reports":
        frame = frame.rename(columns={"id": "report_id"})
    return frame


def applications_wide(conn: sqlite3.Connection) -> pd.DataFrame:
    """One row per report; Table 3 as columns ``<row>__<column>`` (NULL where the report has no such cell)."""
    reports = pd.read_sql_query(
        "SELECT id AS report_id, url, agency, year, format FROM reports ORDER BY agency, year, url", conn)
    cells = pd.read_sql_query(
        "SELECT report_id, row_key, column_key, value FROM table_cells WHERE table_key = 'applications'", conn)
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


def write_frame(frame: pd.DataFrame, path_stem: Path, fmt: str) -> Path:
    if fmt == "csv":
        path = path_stem.with_suffix(".csv")
        frame.to_csv(path, index=False, encoding="utf-8")
    elif fmt == "jsonl":
        path = path_stem.with_suffix(".jsonl")
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "parquet":
        path = path_stem.with_suffix(".parquet")
        frame.to_parquet(path, engine="pyarrow", index=False)
    else:
        raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return path


def export(catalog: Path, out_dir: Path, fmt: str = "csv", *, plots: bool = False) -> ExportResult:
    """Write the four tables of ``catalog`` to ``out_dir`` in ``fmt``; with ``plots``, the PNG charts too."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not catalog.exists():
        raise FileNotFoundError(f"{catalog}: no catalog (crawl first, or `scrapy rebuild` from the WARCs)")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        for name in TABLES:
            frame = read_table(conn, name)
            result.files[name] = write_frame(frame, out_dir / name, fmt)
            result.rows[name] = len(frame)
        if plots:
            # only with --plots: matplotlib and pypinyin (~0.9 s, ~85 MB) are not loaded for a plain export
            from pipelines.plots import write_plots

            result.plots = write_plots(conn, out_dir)
    finally:
        conn.close()
    return result
