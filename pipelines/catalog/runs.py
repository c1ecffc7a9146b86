"""The ``crawl_runs`` table, derived once all captures are in: a function of the ``captures`` table (plus the WARC
file names), so a live crawl and a rebuild end in the same state."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from archive.naming import parse_warc_name
from archive.reader import warc_files
from pipelines.catalog.capture_info import run_ids_for_files
from pipelines.catalog.schema import SCHEMA, transaction

RUN_COUNTS = ("new", "changed", "unchanged", "failed", "not_rechecked")
_RUNS_TABLE = "crawl_runs"


@dataclass
class _RunStats:
    start_key: str = ""  # when the run began, as digits (its first WARC file's name, else its first capture)
    started: str | None = None
    finished: str | None = None
    files: set[str] = field(default_factory=set)
    captures: int = 0
    latest: dict[str, tuple[str, str, str | None, str]] = field(default_factory=dict)  # url -> last capture
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RUN_COUNTS, 0))

    def add_time(self, at: str | None) -> None:
        if at is None:
            return
        self.started = at if self.started is None else min(self.started, at)
        self.finished = at if self.finished is None else max(self.finished, at)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())[:17].ljust(17, "0")


def _file_time(name: str) -> str | None:
    """ISO time of one of our WARC file names (when the writer opened it), or None for another tool's file."""
    parsed = parse_warc_name(name)
    if parsed is None:
        return None
    ts = parsed.timestamp
    return f"{ts[:4]}-{ts[4:6]}-{ts[6:8]}T{ts[8:10]}:{ts[10:12]}:{ts[12:14]}.{ts[14:17]}Z"


def _ensure_runs_table(conn: sqlite3.Connection) -> None:
    """``crawl_runs`` is derived whole on every refresh: one from an older schema is dropped and made again."""
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info({_RUNS_TABLE})")]
    if columns and "not_rechecked" in columns:
        return
    ddl = next(stmt for stmt in SCHEMA.split(";") if f"CREATE TABLE IF NOT EXISTS {_RUNS_TABLE} " in stmt)
    with transaction(conn):
        conn.execute(f"DROP TABLE IF EXISTS {_RUNS_TABLE}")
        conn.execute(ddl.strip())


def refresh_runs(conn: sqlite3.Connection, warc_dir: Path | None = None) -> None:
    """Recompute ``captures.run_id`` and the ``crawl_runs`` table from the captures (and the WARC file names).

    A run is the WARC files one process wrote (:func:`run_ids_for_files`); with ``warc_dir``, every WARC there
    counts, so a run that captured no report (all of them still fresh) still has its row. Runs are taken in the
    order they began. Per run, each report URL it captured counts once, by its last capture of the run: ``failed``
    when that capture could not be parsed, else ``new`` (no earlier run captured the URL), ``changed`` or
    ``unchanged`` (payload digest against the URL's capture in the latest earlier run that has one). Every report
    URL an earlier run captured and this one did not is ``not_rechecked``. So new + changed + unchanged + failed +
    not_rechecked = the report URLs known after the run: the counts the incremental middleware reports in the
    run's stats (``crawler/incremental.py``).
    """
    _ensure_runs_table(conn)
    files = {f for (f,) in conn.execute("SELECT DISTINCT warc_file FROM captures WHERE warc_file IS NOT NULL")}
    if warc_dir is not None and warc_dir.is_dir():
        files |= {p.name for p in warc_files(warc_dir)}
    run_of = run_ids_for_files(files)
    stats: dict[str, _RunStats] = {}
    for name, run_id in run_of.items():
        s = stats.setdefault(run_id, _RunStats())
        s.files.add(name)
        when = _file_time(name)
        if when is not None:
            s.start_key = min(s.start_key or "9" * 17, _digits(when))
    rows = conn.execute(
        "SELECT url, captured_at, record_id, warc_file, payload_digest, outcome FROM captures"
        " ORDER BY url, captured_at, record_id"
    ).fetchall()
    for url, captured_at, record_id, warc_file, digest, outcome in rows:
        run = run_of.get(warc_file) if warc_file else None
        if run is None:
            continue
        s = stats[run]
        s.captures += 1
        s.add_time(captured_at)
        if outcome != "not_report":
            s.latest[url] = (captured_at or "", record_id, digest, outcome)  # rows come in capture order
    for s in stats.values():
        if not s.start_key and s.started is not None:
            s.start_key = _digits(s.started)  # another tool's file: when its first capture was made
        if s.started is None:  # no report captured: the run's span is when its files were opened
            times = sorted(t for t in map(_file_time, s.files) if t is not None)
            s.started, s.finished = (times[0], times[-1]) if times else (None, None)
    known: dict[str, str | None] = {}  # report URL -> payload digest of its last capture so far
    for s in sorted(stats.values(), key=lambda r: (r.start_key, sorted(r.files))):
        for url, (_, _, digest, outcome) in s.latest.items():
            if outcome == "failed":
                kind = "failed"
            elif url not in known:
                kind = "new"
            elif known[url] == digest:
                kind = "unchanged"
            else:
                kind = "changed"
            s.counts[kind] += 1
        s.counts["not_rechecked"] = len(known.keys() - s.latest.keys())
        known.update({url: digest for url, (_, _, digest, _) in s.latest.items()})
    with transaction(conn):
        conn.executemany("UPDATE captures SET run_id = ? WHERE warc_file = ?",
                         sorted((run, f) for f, run in run_of.items()))
        conn.execute(f"DELETE FROM {_RUNS_TABLE}")
        conn.executemany(
            f"INSERT INTO {_RUNS_TABLE} (run_id, started_at, finished_at, warc_files, captures, new, changed,"
            " unchanged, failed, not_rechecked) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(run, s.started, s.finished, len(s.files), s.captures, *(s.counts[k] for k in RUN_COUNTS))
             for run, s in sorted(stats.items())],
        )
