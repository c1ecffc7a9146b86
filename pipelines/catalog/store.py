"""Writing the catalog: the one write path shared by the crawl's store pipeline, ``scrapy rebuild`` and catch-up.

The catalog is derived data. Every key is derived from the capture (WARC record id) or the report URL, never from
insertion order, and a report row always describes the newest capture of its URL (``captured_at``, then record id),
so the same captures give the same rows in whatever order they arrive: a live crawl and ``scrapy rebuild`` from its
WARCs (with any number of workers) produce identical sorted SQL dumps.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crawler.titles import match_report_title
from pipelines.catalog.capture_info import CaptureInfo
from pipelines.catalog.labels import LIST_COLUMNS
from pipelines.catalog.schema import transaction


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
    cap, routing = entry.capture, entry.capture.routing
    outcome = "report" if entry.report is not None else ("failed" if entry.error else "not_report")
    conn.execute(
        "INSERT OR REPLACE INTO captures (record_id, url, captured_at, run_id, status, content_type, payload_digest,"
        " payload_length, warc_file, warc_offset, role, source, source_agency, family, list_title, list_date,"
        " discovery, attachment_of, outcome, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (cap.record_id, cap.url, cap.captured_at, cap.run_id, cap.status, cap.content_type, cap.payload_digest,
         cap.payload_length, cap.warc_file, cap.warc_offset, cap.role, routing.source, routing.agency,
         routing.family, routing.list_title, routing.list_date,
         json.dumps(list(routing.discovery), ensure_ascii=False), routing.attachment_of, outcome, entry.error),
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


def place_captures(conn: sqlite3.Connection, placed: Iterable[tuple[str, str, int]]) -> int:
    """Give rows stored before their record was on disk the WARC file and offset the archive's writer reported
    for it, ``(record id, file, offset)``; returns how many captures were placed."""
    updates = [(warc_file, offset, record_id) for record_id, warc_file, offset in placed]
    if updates:
        with transaction(conn):
            conn.executemany("UPDATE captures SET warc_file = ?, warc_offset = ? WHERE record_id = ?", updates)
            conn.executemany("UPDATE reports SET warc_file = ?, warc_offset = ? WHERE warc_record_id = ?", updates)
    return len(updates)


def _capture_order(captured_at: str | None, record_id: str) -> tuple[str, str]:
    return (captured_at or "", record_id)


def _delete_report(conn: sqlite3.Connection, rid: str) -> None:
    for table in ("sections", "table_cells", "issues"):
        conn.execute(f"DELETE FROM {table} WHERE report_id = ?", (rid,))
    conn.execute("DELETE FROM reports WHERE id = ?", (rid,))


def _insert_report(conn: sqlite3.Connection, rid: str, entry: StoreEntry) -> None:
    cap, rep = entry.capture, entry.report
    routing = cap.routing
    assert rep is not None
    text = rep.get("text") or {}
    repairs = text.get("repairs") or {}
    sections = list(_flatten_sections(rep.get("sections") or []))
    issues = rep.get("issues") or []
    conn.execute(
        "INSERT INTO reports (id, url, title, agency, year, published, format, schema_version, parser_version,"
        " charset, traditional, pinyin_removed, mojibake_spans, section_count, issue_count, source, source_agency,"
        " list_title, list_date, content_type, attachment_of, payload_digest, captured_at, warc_file, warc_offset,"
        " warc_record_id, ocr_pages) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (rid, cap.url, rep.get("title"), rep.get("agency") or routing.agency, _year(rep, routing.list_title),
         rep.get("published"), rep.get("format"), rep.get("schema_version"), entry.parser_version,
         text.get("charset"), int(bool(repairs.get("traditional"))), int(repairs.get("pinyin_removed") or 0),
         len(repairs.get("mojibake_spans") or []), len(sections), len(issues), routing.source, routing.agency,
         routing.list_title, routing.list_date, cap.content_type, routing.attachment_of, cap.payload_digest,
         cap.captured_at, cap.warc_file, cap.warc_offset, cap.record_id, (text.get("ocr") or {}).get("pages")),
    )
    conn.executemany(
        "INSERT INTO sections (report_id, path, key, number, title, text) VALUES (?,?,?,?,?,?)",
        [(rid, path, *fields) for path, fields in sections],
    )
    read = cell_sources(rep)
    conn.executemany(
        "INSERT OR REPLACE INTO table_cells (report_id, table_key, row_key, column_key, row_order, column_order,"
        " value, inferred, source, confidence) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(rid, *cell, *read(cell[0], cell[1], cell[2], cell[4])) for cell in table_cells(rep)],
    )
    conn.executemany(
        "INSERT INTO issues (report_id, position, code, table_key, row_key, column_key, detail)"
        " VALUES (?,?,?,?,?,?,?)",
        [(rid, i, it.get("code"), it.get("table"), it.get("row"), it.get("column"), it.get("detail"))
         for i, it in enumerate(issues)],
    )


def _year(rep: dict[str, Any], list_title: str | None) -> int | None:
    """The parsed year; when the report text gives none, the year in the listing title the crawl followed."""
    year = rep.get("year")
    if year is not None:
        return int(year)
    if list_title:
        match = match_report_title(list_title)
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


def cell_sources(rep: dict[str, Any]) -> Callable[[str, str, str, int], tuple[str, float | None]]:
    """How each cell of the report was read: ``("ocr", confidence)`` for a cell of a table OCR read from a picture
    (the engine's confidence, 0–100, from ``text.ocr.cells``; None where it gave none), ``("text", None)`` for one
    read from the document's text."""
    ocr = ((rep.get("text") or {}).get("ocr") or {}).get("cells") or {}

    def read(table: str, row: str, column: str, column_order: int) -> tuple[str, float | None]:
        if table not in ocr:
            return "text", None
        conf = (ocr[table] or {}).get(row)
        if isinstance(conf, dict):
            value = conf.get(column)
        elif isinstance(conf, list) and column_order < len(conf):
            value = conf[column_order]
        else:
            value = None
        return "ocr", float(value) if isinstance(value, int | float) else None
    return read


def _number(value: Any) -> int | float | str | None:
    if value is None or isinstance(value, int | float):
        return value
    return str(value)


def sorted_dump(conn: sqlite3.Connection) -> list[str]:
    """The catalog as SQL statements, sorted: equal lists mean equal catalogs whatever the insertion order."""
    return sorted(conn.iterdump())
