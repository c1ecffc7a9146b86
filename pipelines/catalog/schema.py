"""The catalog's schema (``<ARCHIVE_DIR>/catalog.sqlite``), opening it, and the transaction every write runs in.

Tables: ``captures`` (one per report capture seen, parsed or not), ``reports`` (one per report URL), ``sections``,
``table_cells`` (long form), ``issues``, ``crawl_runs`` (derived from ``captures``), ``labels`` (canonical keys);
derived from ``reports`` after every crawl and rebuild (:mod:`pipelines.catalog.identity`): ``agencies``,
``agency_aliases``, ``agency_notes`` (canonical agencies), ``report_groups``, ``report_members`` (one canonical
report per agency, year and kind, copies linked with their reason), ``crossyear_checks`` (carry-over checks); the
view ``agency_year_figures`` (the main Table 3 and 4 totals of every canonical report, for browsing).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.catalog.labels import LABELS

CATALOG_SCHEMA_VERSION = 2  # 2: table_cells.source/confidence, reports.ocr_pages (OCR provenance)

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
    warc_record_id TEXT NOT NULL REFERENCES captures (record_id),
    ocr_pages INTEGER
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
    source TEXT NOT NULL,
    confidence REAL,
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
CREATE TABLE IF NOT EXISTS agencies (
    agency_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    match_key TEXT NOT NULL UNIQUE,
    level TEXT NOT NULL,
    province TEXT,
    place TEXT,
    reports INTEGER NOT NULL,
    canonical_reports INTEGER NOT NULL,
    first_year INTEGER,
    last_year INTEGER
);
CREATE TABLE IF NOT EXISTS agency_aliases (
    alias TEXT NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies (agency_id),
    reason TEXT NOT NULL,
    reports INTEGER NOT NULL,
    PRIMARY KEY (alias, agency_id, reason)
);
CREATE TABLE IF NOT EXISTS agency_notes (
    report_id TEXT NOT NULL REFERENCES reports (id),
    code TEXT NOT NULL,
    printed TEXT,
    column_agency TEXT,
    agency_id TEXT REFERENCES agencies (agency_id),
    detail TEXT,
    PRIMARY KEY (report_id, code)
);
CREATE TABLE IF NOT EXISTS report_groups (
    group_id TEXT PRIMARY KEY,
    agency_id TEXT REFERENCES agencies (agency_id),
    year INTEGER,
    kind TEXT NOT NULL,
    canonical_report_id TEXT NOT NULL REFERENCES reports (id),
    members INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    corrected INTEGER NOT NULL,
    tables_differ INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS report_members (
    report_id TEXT PRIMARY KEY REFERENCES reports (id),
    group_id TEXT NOT NULL REFERENCES report_groups (group_id),
    agency_id TEXT REFERENCES agencies (agency_id),
    canonical INTEGER NOT NULL,
    rank INTEGER NOT NULL,
    copy_of TEXT REFERENCES reports (id),
    reason TEXT,
    evidence TEXT,
    medium TEXT NOT NULL,
    corrected INTEGER NOT NULL,
    first_captured_at TEXT,
    text_digest TEXT,
    tables_digest TEXT
);
CREATE INDEX IF NOT EXISTS report_members_group ON report_members (group_id, rank);
CREATE TABLE IF NOT EXISTS crossyear_checks (
    report_id TEXT NOT NULL REFERENCES reports (id),
    previous_report_id TEXT NOT NULL REFERENCES reports (id),
    agency_id TEXT NOT NULL REFERENCES agencies (agency_id),
    year INTEGER NOT NULL,
    code TEXT NOT NULL,
    table_key TEXT NOT NULL,
    row_key TEXT NOT NULL,
    column_key TEXT NOT NULL,
    value NUMERIC,
    previous_value NUMERIC,
    expected NUMERIC,
    detail TEXT,
    PRIMARY KEY (report_id, code, table_key, row_key, column_key)
);
CREATE VIEW IF NOT EXISTS agency_year_figures AS SELECT
    r.id AS report_id, a.name AS agency, a.level, a.province, r.year, r.format,
    max(CASE WHEN c.row_key = 'new_received' AND c.column_key = 'total' THEN c.value END) AS new_received,
    max(CASE WHEN c.row_key = 'carried_over' AND c.column_key = 'total' THEN c.value END) AS carried_over,
    max(CASE WHEN c.row_key = 'granted' AND c.column_key = 'total' THEN c.value END) AS granted,
    max(CASE WHEN c.row_key = 'partially_granted' AND c.column_key = 'total' THEN c.value END) AS partially_granted,
    sum(CASE WHEN c.row_key LIKE 'denied%' AND c.column_key = 'total' THEN c.value END) AS denied,
    sum(CASE WHEN c.row_key LIKE 'unable%' AND c.column_key = 'total' THEN c.value END) AS unable,
    sum(CASE WHEN c.row_key LIKE 'not_processed%' AND c.column_key = 'total' THEN c.value END) AS not_processed,
    sum(CASE WHEN c.row_key LIKE 'other%' AND c.table_key = 'applications' AND c.column_key = 'total'
        THEN c.value END) AS other_handling,
    max(CASE WHEN c.row_key = 'total_processed' AND c.column_key = 'total' THEN c.value END) AS total_processed,
    max(CASE WHEN c.row_key = 'carried_forward' AND c.column_key = 'total' THEN c.value END) AS carried_forward,
    max(CASE WHEN c.row_key = 'review' AND c.column_key = 'total' THEN c.value END) AS review,
    sum(CASE WHEN c.row_key LIKE 'litigation%' AND c.column_key = 'total' THEN c.value END) AS litigation,
    r.issue_count,
    (SELECT count(*) FROM crossyear_checks x WHERE x.report_id = r.id) AS crossyear_mismatches,
    g.copies, r.url
FROM reports r JOIN report_members m ON m.report_id = r.id AND m.canonical = 1
JOIN report_groups g ON g.group_id = m.group_id LEFT JOIN agencies a ON a.agency_id = m.agency_id
LEFT JOIN table_cells c ON c.report_id = r.id AND c.table_key IN ('applications', 'review_litigation')
GROUP BY r.id;
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
        if conn.in_transaction:  # SQLite may have rolled it back itself (a full disk, an I/O error)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error that stopped the block is the one to report
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
