"""``scrapy rebuild``: the catalog again, from the WARC files alone, offline.

Every capture is read through :func:`archive.reader.iter_captures`; report captures are recognised and parsed as
:mod:`pipelines.catalog.recognise` says, and stored with :func:`pipelines.catalog.store.store_entries`, the write
path of the live item pipelines, so the rebuilt catalog equals the live one; then ``crawl_runs`` and the identity
tables (report groups, agencies, cross-year checks: :mod:`pipelines.catalog.identity`) are derived as after a
crawl. Parsing runs in ``workers`` processes; the parent reads and writes. Report pages that show pictures are
parsed once every capture has been read, with the pictures the crawl archived for them
(:mod:`pipelines.catalog.pictures`), as the crawl parsed them.

The catalog is written to a temporary file next to the target and moved into place at the end in one rename
(:func:`_swap`), so an interrupted or failed rebuild (a kill, a full disk) leaves the old catalog whole and no half
one behind. ``scrapy rebuild`` runs under the lock of ``ARCHIVE_DIR`` (:mod:`archive.lock`), so no crawl writes the
old catalog meanwhile: rows written to a file about to be replaced would be lost.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from archive.cdxj import cut_off
from archive.naming import parse_warc_name
from archive.reader import DamagedRecord, iter_captures, warc_files
from pipelines.catalog.identity import IdentityResult, refresh_identity
from pipelines.catalog.pictures import PagePictures
from pipelines.catalog.processing import parser_version
from pipelines.catalog.recognise import (
    Awaiting,
    Candidate,
    Damaged,
    Seen,
    Unresolved,
    parse_candidate,
    recognise,
)
from pipelines.catalog.runs import refresh_runs
from pipelines.catalog.schema import open_catalog
from pipelines.catalog.store import StoreEntry, store_entries
from pipelines.catalog.timelimit import DEFAULT_PARSE_TIME_LIMIT, died_reason
from pipelines.catalog.workers import die_with_parent

BATCH_SIZE = 200


@dataclass
class RebuildResult:
    catalog: Path
    files: int = 0
    records: int = 0
    candidates: int = 0
    reports: int = 0  # report rows in the rebuilt catalog (one per URL)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, error)
    unresolved: list[str] = field(default_factory=list)  # revisits whose original record is missing or unreadable
    damaged: list[Damaged] = field(default_factory=list)
    seconds: float = 0.0
    identity: IdentityResult | None = None  # report groups, agencies and cross-year checks of the rebuilt catalog

    def summary_lines(self) -> list[str]:
        rate = self.records / self.seconds if self.seconds else 0.0
        lines = [
            f"rebuild: {self.files} WARC files, {self.records} captures read, {self.reports} reports stored, "
            f"{len(self.failed)} failed to parse, {len(self.damaged)} damaged records skipped, "
            f"{len(self.unresolved)} revisits without their original "
            f"({self.seconds:.1f}s, {rate:.0f} captures/s) -> {self.catalog}",
        ]
        if self.identity is not None:
            lines.append(self.identity.summary_line())
        lines += [f"  damaged: {d}" for d in self.damaged]
        lines += [f"  failed: {url}: {err}" for url, err in self.failed]
        lines += [f"  revisit without its original: {where}" for where in self.unresolved]
        return lines


def list_warcs(warc_dir: Path) -> list[Path]:
    """The WARC files under ``warc_dir``, sorted (files still being written, ``*.open``, are left out)."""
    if not warc_dir.is_dir():
        raise FileNotFoundError(f"--warc-dir {warc_dir}: no such directory")
    return warc_files(warc_dir)


def rebuild(
    warc_dir: Path,
    catalog_path: Path,
    *,
    workers: int = 1,
    progress: TextIO | None = None,
    index_dir: Path | None = None,
    seconds: float | None = DEFAULT_PARSE_TIME_LIMIT,
) -> RebuildResult:
    """Rebuild ``catalog_path`` from every WARC under ``warc_dir`` with ``workers`` parser processes. Every damaged
    record is in :attr:`RebuildResult.damaged` (file, offset, why): cut short, garbage, a record group cut between
    its records, or a capture the file's CDXJ index (under ``index_dir``, default ``<warc_dir>/../index``) lists
    past the end of a file that lost its tail. ``seconds``: the time limit of one capture's parse
    (``CATALOG_PARSE_TIME_LIMIT``, :mod:`pipelines.catalog.timelimit`; ``None``: none); a worker that dies on a
    capture (a crash in C code, the limit's hard stage) costs that capture, stored as failed, as in a crawl."""
    if workers < 1:
        raise ValueError(f"--workers {workers}: must be at least 1")
    if catalog_path.exists() and not catalog_path.is_file():  # never renamed over a device, a pipe or a folder
        raise ValueError(f"--catalog {catalog_path}: not a regular file (a folder, device, pipe or socket)")
    started = time.monotonic()
    files = list_warcs(warc_dir)
    result = RebuildResult(catalog=catalog_path, files=len(files))
    tmp = catalog_path.with_name(catalog_path.name + ".rebuild-tmp")
    for leftover in _sqlite_files(tmp):
        leftover.unlink(missing_ok=True)
    conn = open_catalog(tmp)
    meter = _Progress(progress, sum(p.stat().st_size for p in files))
    pictures = PagePictures.over(files)
    linked: dict[str, str] = {}  # report URL -> listing title, from listings without metadata
    seen: dict[str, Seen] = {}  # record id (and "uri date") -> where it is, to resolve revisit records
    complete = False
    try:
        index = index_dir if index_dir is not None else warc_dir.parent / "index"
        batch: list[StoreEntry] = []
        # every capture in order; then the report pages that show pictures, with theirs (archived after them)
        for candidates in (lambda: _candidates(files, result, meter, index if index.is_dir() else None, pictures,
                                               linked, seen),
                           lambda: pictures.candidates(linked, seen)):
            for entry in _parse_all(candidates(), workers, seconds):
                if entry is None:
                    continue
                if isinstance(entry, Awaiting):
                    pictures.wait(entry)
                    continue
                if entry.error:
                    result.failed.append((entry.capture.url, entry.error))
                batch.append(entry)
                if len(batch) >= BATCH_SIZE:
                    store_entries(conn, batch)
                    batch = []
                meter.reports += entry.report is not None
        result.unresolved.extend(pictures.unresolved)
        store_entries(conn, batch)
        refresh_runs(conn, warc_dir)
        result.identity = refresh_identity(conn)
        result.reports = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        conn.execute("PRAGMA journal_mode=DELETE")
        complete = True
    finally:
        conn.close()
        meter.done()
        if not complete:  # a full disk, a bad file: the old catalog stays as it was, and no half one beside it
            for leftover in _sqlite_files(tmp):
                leftover.unlink(missing_ok=True)
    _swap(tmp, catalog_path)
    result.failed.sort()
    result.seconds = time.monotonic() - started
    return result


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def _swap(new: Path, catalog_path: Path) -> None:
    """Put the finished catalog ``new`` in place of ``catalog_path`` in one rename. The old catalog's WAL (left by a
    killed writer) is first checkpointed into it, so that whenever this is interrupted the old catalog is whole, and
    a WAL is never replayed onto the new file (SQLite does not check which database a WAL belongs to)."""
    if catalog_path.exists():
        try:
            old = sqlite3.connect(catalog_path, timeout=30)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
        except sqlite3.Error:
            pass  # not a database (corrupt, or not ours): it is replaced all the same, and its WAL is worthless
    for stale in _sqlite_files(catalog_path)[1:]:
        stale.unlink(missing_ok=True)
    os.replace(new, catalog_path)


# --- reading -----------------------------------------------------------------------------------------------


def _candidates(files: list[Path], result: RebuildResult, meter: _Progress, index_dir: Path | None,
                pictures: PagePictures, linked: dict[str, str], seen: dict[str, Seen]) -> Iterator[Candidate]:
    def damaged(d: DamagedRecord) -> None:
        result.damaged.append(Damaged.of(d))

    for path in files:
        # Our own files carry a metadata record for every request the spider made: there, a capture without one
        # (robots.txt, a rendered DOM) is not a report. Other tools' files get the title rules.
        by_title = parse_warc_name(path.name) is None
        for cap in iter_captures([path], errors=damaged):
            result.records += 1
            meter.tick(cap.offset)
            try:
                candidate = recognise(cap, linked, seen, by_title)
            except Unresolved as e:
                result.unresolved.append(str(e))
                continue
            pictures.note(cap, seen)
            if candidate is not None:
                result.candidates += 1
                yield candidate
        for lost in cut_off(path, index_dir):
            damaged(lost)
        meter.file_done(path)


def _parse_all(candidates: Iterable[Candidate], workers: int,
               seconds: float | None) -> Iterator[StoreEntry | Awaiting | None]:
    if workers == 1:  # in this process: the soft limit only (the hard stage would end the rebuild)
        for c in candidates:
            yield parse_candidate(c, seconds)
        return
    window = workers * 4  # bounded: memory stays flat however many captures the WARCs hold
    pool = _pool(workers)
    try:
        pending: dict[Future[StoreEntry | Awaiting | None], Candidate] = {}
        for c in candidates:
            pending[pool.submit(parse_candidate, c, seconds, True)] = c
            if len(pending) >= window:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = yield from _results(done, pending)
                if broken:  # the pool is broken: every future in it ends, with its result or the same error
                    broken += yield from _results(list(pending), pending)
                    pool.shutdown(wait=False, cancel_futures=True)
                    yield from _alone(broken, seconds)
                    pool = _pool(workers)
        broken = yield from _results(set(pending), pending)
        yield from _alone(broken, seconds)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int) -> ProcessPoolExecutor:
    # forked (the parser, imported with this module, is loaded once here, not in each worker), and killed with
    # the rebuild if it is killed (no worker left parsing for nobody)
    return ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(),))


def _results(done: Iterable[Future[StoreEntry | Awaiting | None]],
             pending: dict[Future[StoreEntry | Awaiting | None], Candidate]
             ) -> Generator[StoreEntry | Awaiting | None, None, list[Candidate]]:
    """Yield the results of ``done`` (taken out of ``pending``); return the candidates whose worker died."""
    broken: list[Candidate] = []
    for fut in done:
        c = pending.pop(fut)
        try:
            result = fut.result()
        except BrokenProcessPool:
            broken.append(c)
            continue
        yield result
    return broken


def _alone(candidates: list[Candidate], seconds: float | None) -> Iterator[StoreEntry | Awaiting | None]:
    """Candidates that were in a pool when a worker died: each again in a pool of its own, so that a second death is
    its own; that one is stored as a failed capture, as the crawl stores it
    (:class:`pipelines.parse_pipeline.ParseReportPipeline`)."""
    for c in candidates:
        with _pool(1) as pool:
            started = time.monotonic()
            try:
                yield pool.submit(parse_candidate, c, seconds, True).result()
            except BrokenProcessPool as exc:
                yield StoreEntry(c.capture, None, parser_version(),
                                 died_reason(exc, seconds, time.monotonic() - started))


# --- progress -------------------------------------------------------------------------------------------------


class _Progress:
    """A one-line progress report on a terminal stream: captures/s, bytes read, ETA."""

    def __init__(self, stream: TextIO | None, total_bytes: int) -> None:
        self.stream = stream
        self.total = max(total_bytes, 1)
        self.done_bytes = 0
        self.position = 0
        self.records = 0
        self.reports = 0
        self.started = time.monotonic()
        self.last = 0.0

    def tick(self, offset: int) -> None:
        self.records += 1
        self.position = offset
        now = time.monotonic()
        if self.stream is not None and now - self.last >= 0.5:
            self.last = now
            self._write(now)

    def file_done(self, path: Path) -> None:
        self.done_bytes += path.stat().st_size
        self.position = 0

    def _write(self, now: float) -> None:
        assert self.stream is not None
        elapsed = max(now - self.started, 1e-6)
        read = min(self.done_bytes + self.position, self.total)
        fraction = read / self.total
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else float("nan")
        self.stream.write(
            f"\rrebuild: {self.records} captures, {self.reports} reports, {self.records / elapsed:.0f} captures/s,"
            f" {fraction:.0%} of {self.total / 1e6:.1f} MB, ETA {eta:.0f}s   "
        )
        self.stream.flush()

    def done(self) -> None:
        if self.stream is not None:
            self._write(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
