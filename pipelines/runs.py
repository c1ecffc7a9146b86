"""Derived catalog facts computed once all captures are in: WARC offsets known only after the writer flushed,
and the ``crawl_runs`` table. Both are functions of the ``captures`` table (plus the WARC files), so a live crawl
and a rebuild end in the same state."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.capture_info import run_ids_for_files
from pipelines.catalog import transaction

OffsetReader = Callable[[Path], Iterable[tuple[str, str, int]]]


def warc_path(warc_dir: Path, warc_file: str) -> Path:
    """Where ``warc_file`` (a basename, maybe still carrying ``.open``) lives now."""
    name = warc_file.removesuffix(".open")
    return warc_dir / name


def reader_offsets(path: Path) -> Iterable[tuple[str, str, int]]:
    """(record id, file basename, offset) of every capture in ``path``, through ``archive.reader``."""
    from archive.reader import iter_captures

    for cap in iter_captures([path]):
        yield cap.record_id, path.name, cap.offset


def fill_offsets(conn: sqlite3.Connection, warc_dir: Path, read: OffsetReader = reader_offsets) -> int:
    """Fill ``warc_offset`` (and the final file name) of captures stored before their record was flushed.

    Returns how many captures got an offset. Files that are missing are left alone (their rows keep NULL).
    """
    pending: dict[str, set[str]] = {}
    for record_id, warc_file in conn.execute(
        "SELECT record_id, warc_file FROM captures WHERE warc_offset IS NULL AND warc_file IS NOT NULL"
    ):
        pending.setdefault(warc_file, set()).add(record_id)
    updates: list[tuple[str, int, str]] = []
    for warc_file, wanted in sorted(pending.items()):
        path = warc_path(warc_dir, warc_file)
        if not path.exists():
            continue
        for record_id, name, offset in read(path):
            if record_id in wanted:
                updates.append((name, offset, record_id))
    if updates:
        with transaction(conn):
            conn.executemany("UPDATE captures SET warc_file = ?, warc_offset = ? WHERE record_id = ?", updates)
            conn.executemany("UPDATE reports SET warc_file = ?, warc_offset = ? WHERE warc_record_id = ?", updates)
    return len(updates)


RUN_COUNTS = ("new", "changed", "unchanged", "failed")


@dataclass
class _RunStats:
    started: str | None = None
    finished: str | None = None
    files: set[str] = field(default_factory=set)
    captures: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RUN_COUNTS, 0))

    def add_time(self, at: str | None) -> None:
        if at is None:
            return
        self.started = at if self.started is None else min(self.started, at)
        self.finished = at if self.finished is None else max(self.finished, at)


def refresh_runs(conn: sqlite3.Connection) -> None:
    """Recompute ``captures.run_id`` and the ``crawl_runs`` table from the captures.

    Per run, each capture is ``new`` (first capture of its URL), ``changed``/``unchanged`` (payload digest against
    the URL's previous capture) or ``failed`` (it could not be parsed).
    """
    files = {f for (f,) in conn.execute("SELECT DISTINCT warc_file FROM captures WHERE warc_file IS NOT NULL")}
    run_of = run_ids_for_files(files)
    rows = conn.execute(
        "SELECT url, captured_at, warc_file, payload_digest, outcome FROM captures ORDER BY url, captured_at, record_id"
    ).fetchall()
    stats: dict[str, _RunStats] = {}
    last_digest: dict[str, str | None] = {}
    for url, captured_at, warc_file, digest, outcome in rows:
        run = run_of.get(warc_file) if warc_file else None
        if run is None:
            continue
        s = stats.setdefault(run, _RunStats())
        s.captures += 1
        s.files.add(warc_file)
        s.add_time(captured_at)
        if outcome == "failed":
            kind = "failed"
        elif url not in last_digest:
            kind = "new"
        elif last_digest[url] == digest:
            kind = "unchanged"
        else:
            kind = "changed"
        s.counts[kind] += 1
        if outcome != "failed":
            last_digest[url] = digest
    with transaction(conn):
        conn.executemany("UPDATE captures SET run_id = ? WHERE warc_file = ?",
                         sorted((run, f) for f, run in run_of.items()))
        conn.execute("DELETE FROM crawl_runs")
        conn.executemany(
            "INSERT INTO crawl_runs (run_id, started_at, finished_at, warc_files, captures, new, changed, unchanged,"
            " failed) VALUES (?,?,?,?,?,?,?,?,?)",
            [(run, s.started, s.finished, len(s.files), s.captures, *(s.counts[k] for k in RUN_COUNTS))
             for run, s in sorted(stats.items())],
        )
