"""The catalog (``<ARCHIVE_DIR>/catalog.sqlite``): schema and the one write path shared by crawl and rebuild.

The catalog is derived data. Every key is derived from the capture (WARC record id) or the report URL, never from
insertion order, and a report row always describes the newest capture of its URL (``captured_at``, then record id),
so the same captures give the same rows in whatever order they arrive: a live crawl and ``scrapy rebuild`` from its
WARCs (with any number of workers) produce identical sorted SQL dumps.

Tables: ``captures`` (one per report capture seen, parsed or not), ``reports`` (one per report URL), ``sections``,
``table_cells`` (long form), ``issues``, ``crawl_runs`` (derived from ``captures``), ``labels`` (canonical keys).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.capture_info import CaptureInfo
from pipelines.labels import LABELS, LIST_COLUMNS

CATALOG_SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS captures (
    record_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    captured_at TEXT,
    run_id TEXT,
    status INTEGER,
    content_type TEXT,
    payload_digest TEXT,
    payload_length INTEGER,
    warc_file TEXT,
    warc_offset INTEGER,
    role TEXT,
    source TEXT,
    source_agency TEXT,
    family TEXT,
    list_title TEXT,
    list_date TEXT,
    discovery TEXT,
    attachment_of TEXT,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS captures_url ON captures (url, captured_at);
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    agency TEXT,
    year INTEGER,
    published TEXT,
    format TEXT,
    schema_version INTEGER,
    parser_version TEXT,
    charset TEXT,
    traditional INTEGER,
    pinyin_removed INTEGER,
    mojibake_spans INTEGER,
    section_count INTEGER,
    issue_count INTEGER,
    source TEXT,
    source_agency TEXT,
    list_title TEXT,
    list_date TEXT,
    content_type TEXT,
    attachment_of TEXT,
    payload_digest TEXT,
    captured_at TEXT,
    warc_file TEXT,
    warc_offset INTEGER,
    warc_record_id TEXT NOT NULL REFERENCES captures (record_id)
);
CREATE INDEX IF NOT EXISTS reports_agency_year ON reports (agency, year);
CREATE TABLE IF NOT EXISTS sections (
    report_id TEXT NOT NULL REFERENCES reports (id),
    path TEXT NOT NULL,
    key TEXT,
    number TEXT,
    title TEXT,
    text TEXT,
    PRIMARY KEY (report_id, path)
);
CREATE TABLE IF NOT EXISTS table_cells (
    report_id TEXT NOT NULL REFERENCES reports (id),
    table_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    column_key TEXT NOT NULL,
    row_order INTEGER NOT NULL,
    column_order INTEGER NOT NULL,
    value NUMERIC,
    inferred INTEGER NOT NULL,
    PRIMARY KEY (report_id, table_key, row_key, column_key)
);
CREATE INDEX IF NOT EXISTS table_cells_key ON table_cells (table_key, row_key, column_key);
CREATE TABLE IF NOT EXISTS issues (
    report_id TEXT NOT NULL REFERENCES reports (id),
    position INTEGER NOT NULL,
    code TEXT NOT NULL,
    table_key TEXT,
    row_key TEXT,
    column_key TEXT,
    detail TEXT,
    PRIMARY KEY (report_id, position)
);
CREATE INDEX IF NOT EXISTS issues_code ON issues (code);
CREATE TABLE IF NOT EXISTS crawl_runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT,
    finished_at TEXT,
    warc_files INTEGER NOT NULL,
    captures INTEGER NOT NULL,
    new INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    not_rechecked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS labels (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    zh TEXT NOT NULL,
    en TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


def open_catalog(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open (creating if needed) the catalog at ``path``; the schema and labels are ensured."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=check_same_thread, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")  # children are replaced together with their report, in one transaction
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, CATALOG_SCHEMA_VERSION):
        conn.close()
        raise ValueError(f"{path}: catalog schema version {version}, this nianbao writes version "
                         f"{CATALOG_SCHEMA_VERSION}; run `scrapy rebuild` to recreate it from the WARCs")
    with transaction(conn):
        for statement in _statements(SCHEMA):
            conn.execute(statement)
        conn.executemany("INSERT OR IGNORE INTO labels (kind, key, zh, en) VALUES (?, ?, ?, ?)", LABELS)
        conn.execute(f"PRAGMA user_version={CATALOG_SCHEMA_VERSION}")
    return conn


def _statements(script: str) -> Iterator[str]:
    for chunk in script.split(";"):
        if chunk.strip():
            yield chunk.strip()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``with transaction(conn):`` — one explicit transaction (the connection runs in autocommit mode), rolled
    back when the block raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ids_in(conn: sqlite3.Connection, query: str, values: Iterable[str], chunk: int = 500) -> set[str]:
    """The first column of ``query`` run over ``values`` in chunks: ``query`` holds one ``{marks}`` where the
    ``IN (…)`` list goes (SQLite caps the number of bound parameters per statement)."""
    out: set[str] = set()
    batch = sorted(values)
    for i in range(0, len(batch), chunk):
        part = batch[i:i + chunk]
        out.update(row[0] for row in conn.execute(query.format(marks=",".join("?" * len(part))), part))
    return out


def report_id(url: str) -> str:
    """The stable key of a report: derived from its URL, so it is the same whatever order rows arrive in."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StoreEntry:
    """One capture to store: its capture facts, and the canonical report dict (``None`` when parsing failed
    or the capture turned out not to be a report; ``error`` says why)."""

    capture: CaptureInfo
    report: dict[str, Any] | None
    parser_version: str | None = None
    error: str | None = None


def store_entries(conn: sqlite3.Connection, entries: Iterable[StoreEntry]) -> int:
    """Store a batch in one transaction; returns how many report rows were written (new or replaced).

    Idempotent: the same capture stored twice is one captures row and, at most, one reports row.
    """
    written = 0
    with transaction(conn):
        for entry in entries:
            written += store_report(conn, entry)
    return written


def store_report(conn: sqlite3.Connection, entry: StoreEntry) -> int:
    """Store one capture (and its report) inside the caller's transaction. Returns 1 if a report row was
    written, 0 if the capture was older than the stored one for its URL (or carried no report)."""
    cap = entry.capture
    outcome = "report" if entry.report is not None else ("failed" if entry.error else "not_report")
    conn.execute(
        "INSERT OR REPLACE INTO captures (record_id, url, captured_at, run_id, status, content_type, payload_digest,"
        " payload_length, warc_file, warc_offset, role, source, source_agency, family, list_title, list_date,"
        " discovery, attachment_of, outcome, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (cap.record_id, cap.url, cap.captured_at, cap.run_id, cap.status, cap.content_type, cap.payload_digest,
         cap.payload_length, cap.warc_file, cap.warc_offset, cap.role, cap.source, cap.agency, cap.family,
         cap.list_title, cap.list_date, json.dumps(list(cap.discovery), ensure_ascii=False),
         cap.attachment_of, outcome, entry.error),
    )
    if entry.report is None:
        return 0
    rid = report_id(cap.url)
    row = conn.execute("SELECT captured_at, warc_record_id FROM reports WHERE id = ?", (rid,)).fetchone()
    if row is not None and _capture_order(row[0], row[1]) > _capture_order(cap.captured_at, cap.record_id):
        return 0
    _delete_report(conn, rid)
    _insert_report(conn, rid, entry)
    return 1


def _capture_order(captured_at: str | None, record_id: str) -> tuple[str, str]:
    return (captured_at or "", record_id)


def _delete_report(conn: sqlite3.Connection, rid: str) -> None:
    for table in ("sections", "table_cells", "issues"):
        conn.execute(f"DELETE FROM {table} WHERE report_id = ?", (rid,))
    conn.execute("DELETE FROM reports WHERE id = ?", (rid,))


def _insert_report(conn: sqlite3.Connection, rid: str, entry: StoreEntry) -> None:
    cap, rep = entry.capture, entry.report
    assert rep is not None
    text = rep.get("text") or {}
    repairs = text.get("repairs") or {}
    sections = list(_flatten_sections(rep.get("sections") or []))
    issues = rep.get("issues") or []
    conn.execute(
        "INSERT INTO reports (id, url, title, agency, year, published, format, schema_version, parser_version,"
        " charset, traditional, pinyin_removed, mojibake_spans, section_count, issue_count, source, source_agency,"
        " list_title, list_date, content_type, attachment_of, payload_digest, captured_at, warc_file, warc_offset,"
        " warc_record_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (rid, cap.url, rep.get("title"), rep.get("agency") or cap.agency, _year(rep, cap), rep.get("published"),
         rep.get("format"), rep.get("schema_version"), entry.parser_version, text.get("charset"),
         int(bool(repairs.get("traditional"))), int(repairs.get("pinyin_removed") or 0),
         len(repairs.get("mojibake_spans") or []), len(sections), len(issues), cap.source, cap.agency,
         cap.list_title, cap.list_date, cap.content_type, cap.attachment_of, cap.payload_digest, cap.captured_at,
         cap.warc_file, cap.warc_offset, cap.record_id),
    )
    conn.executemany(
        "INSERT INTO sections (report_id, path, key, number, title, text) VALUES (?,?,?,?,?,?)",
        [(rid, path, *fields) for path, fields in sections],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO table_cells (report_id, table_key, row_key, column_key, row_order, column_order,"
        " value, inferred) VALUES (?,?,?,?,?,?,?,?)",
        [(rid, *cell) for cell in table_cells(rep)],
    )
    conn.executemany(
        "INSERT INTO issues (report_id, position, code, table_key, row_key, column_key, detail)"
        " VALUES (?,?,?,?,?,?,?)",
        [(rid, i, it.get("code"), it.get("table"), it.get("row"), it.get("column"), it.get("detail"))
         for i, it in enumerate(issues)],
    )


def _year(rep: dict[str, Any], cap: CaptureInfo) -> int | None:
    """The parsed year; when the report text gives none, the year in the listing title the crawl followed."""
    year = rep.get("year")
    if year is not None:
        return int(year)
    if cap.list_title:
        from crawler.titles import match_report_title

        match = match_report_title(cap.list_title)
        if match is not None:
            return match.year
    return None


def _flatten_sections(sections: list[dict[str, Any]]) -> Iterator[tuple[str, tuple[Any, ...]]]:
    for i, sec in enumerate(sections):
        path = f"{i + 1:03d}"
        yield path, (sec.get("key"), sec.get("number"), sec.get("title"), sec.get("text"))
        for j, sub in enumerate(sec.get("subsections") or []):
            yield f"{path}.{j + 1:03d}", (sec.get("key"), sub.get("number"), sub.get("title"), sub.get("text"))


def table_cells(rep: dict[str, Any]) -> list[tuple[str, str, str, int, int, Any, int]]:
    """The report's tables in long form: (table, row, column, row order, column order, value, inferred)."""
    inferred = {
        (it.get("table"), it.get("row"), it.get("column"))
        for it in rep.get("issues") or []
        if it.get("code") == "inferred_cell"
    }
    out: list[tuple[str, str, str, int, int, Any, int]] = []
    for table_key, table in (rep.get("tables") or {}).items():
        if not isinstance(table, dict):
            continue
        for r, (row_key, row) in enumerate(table.items()):
            if isinstance(row, dict):
                columns = list(row.items())
            elif isinstance(row, list):
                names = LIST_COLUMNS.get(table_key, ())
                columns = [(names[c] if c < len(names) else str(c), v) for c, v in enumerate(row)]
            else:
                columns = [("value", row)]
            for c, (column_key, value) in enumerate(columns):
                flag = int((table_key, row_key, column_key) in inferred)
                out.append((table_key, row_key, column_key, r, c, _number(value), flag))
    return out


def _number(value: Any) -> int | float | str | None:
    if value is None or isinstance(value, int | float):
        return value
    return str(value)


def sorted_dump(conn: sqlite3.Connection) -> list[str]:
    """The catalog as SQL statements, sorted: equal lists mean equal catalogs whatever the insertion order."""
    return sorted(conn.iterdump())
