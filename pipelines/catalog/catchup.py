"""Catching the catalog up with WARC records it does not hold yet: the resume after a crash.

A crawl killed with SIGKILL leaves the catalog behind its WARCs: items in the store pipeline's unflushed batch were
never written, while their records reached the WARC. :func:`pipelines.catalog.rebuild.rebuild` fixes that by reading and
parsing the whole archive, which costs as much as everything ever crawled. :func:`catch_up` reads only the files the
killed run wrote and parses only the records the catalog does not have (compared by WARC record id), so a resume
costs in proportion to what was lost. It makes the same rows a rebuild would: records are recognised and parsed by
the rebuild's own functions, a revisit's original in an older file is found through the catalog or the dedup store
(``state/dedup.sqlite``), and catalog rows the kill made stale (an item stored while its record was still in the
writer's queue, then cut away by the mend) are removed. When a case would need the whole archive after all (a
revisit whose original neither knows, or a stale row whose URL has older captures to fall back on),
:attr:`CatchUpResult.needs_rebuild` says why and the caller rebuilds.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from archive.cdxj import cut_off
from archive.naming import OPEN_SUFFIX, parse_warc_name
from archive.reader import DamagedRecord, iter_captures, read_capture_at
from pipelines.catalog.identity import refresh_identity
from pipelines.catalog.pictures import PagePictures
from pipelines.catalog.rebuild import BATCH_SIZE
from pipelines.catalog.recognise import (
    Awaiting,
    Damaged,
    Seen,
    Unresolved,
    parse_candidate,
    recognise,
    remember,
)
from pipelines.catalog.runs import refresh_runs
from pipelines.catalog.schema import ids_in, open_catalog, transaction
from pipelines.catalog.store import StoreEntry, place_captures, store_entries
from pipelines.catalog.timelimit import DEFAULT_PARSE_TIME_LIMIT


@dataclass
class CatchUpResult:
    catalog: Path
    files: int = 0
    records: int = 0  # captures read in those files
    known: int = 0  # of them, already in the catalog: not parsed again
    parsed: int = 0  # report candidates parsed (a detail page that only links its attachments is parsed, not stored)
    stored: int = 0  # captures written to the catalog
    offsets_filled: int = 0  # catalog rows stored before their record was flushed, now pointing at it
    stale: int = 0  # catalog rows whose record the kill lost, removed
    urls: set[str] = field(default_factory=set)  # every URL captured in those files
    damaged: list[Damaged] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)  # captures a rebuild would list too (payload too large…)
    needs_rebuild: str | None = None  # why only a full rebuild gives the right catalog
    seconds: float = 0.0

    def summary_line(self) -> str:
        return (f"{self.files} WARC files, {self.records} captures read, {self.known} already in the catalog, "
                f"{self.parsed} parsed, {self.stored} stored, {self.offsets_filled} offsets filled, "
                f"{self.stale} stale rows removed, {len(self.damaged)} damaged records skipped "
                f"({self.seconds:.1f}s) -> {self.catalog}")


def catch_up(files: Iterable[Path], catalog_path: Path, warc_dir: Path, dedup_path: Path | None = None,
             index_dir: Path | None = None, seconds: float | None = DEFAULT_PARSE_TIME_LIMIT) -> CatchUpResult:
    """Add to the catalog at ``catalog_path`` what ``files`` (the killed run's WARCs, already mended) hold and it
    does not; ``warc_dir`` is where the catalog's WARC file names live (older originals of revisits). Damaged
    records are named in :attr:`CatchUpResult.damaged` as a rebuild names them (``index_dir``: default
    ``<warc_dir>/../index``). ``seconds``: a parse's time limit (:mod:`pipelines.catalog.timelimit`)."""
    started = time.monotonic()
    if index_dir is None and (warc_dir.parent / "index").is_dir():
        index_dir = warc_dir.parent / "index"
    paths = sorted(files)
    result = CatchUpResult(catalog=catalog_path, files=len(paths))
    names = {p.name for p in paths}
    conn = open_catalog(catalog_path)
    try:
        stored = _stored_ids(conn, names)
        originals = _OriginalFinder(conn, warc_dir, dedup_path)
        seen: dict[str, Seen] = {}
        linked: dict[str, str] = {}
        present: dict[str, tuple[str, int]] = {}  # record id -> (file, offset), for every capture read
        batch: list[StoreEntry] = []
        pictures = PagePictures.over(paths)  # report pages that show pictures wait for theirs, as in a rebuild

        def damaged(d: DamagedRecord) -> None:
            result.damaged.append(Damaged.of(d))

        for path in paths:
            by_title = parse_warc_name(path.name) is None
            for cap in iter_captures([path], errors=damaged):
                result.records += 1
                result.urls.add(cap.url)
                present[cap.record_id] = (path.name, cap.offset)
                if cap.record_id in stored:
                    result.known += 1
                    if cap.record_type != "revisit":  # a later revisit in these files may refer to it
                        remember(cap, seen)
                    continue
                if cap.record_type == "revisit" and not _in(seen, cap.refers_to, cap.refers_to_uri,
                                                            cap.refers_to_date):
                    found = originals.find(cap.refers_to, cap.payload_digest)
                    if found is None:
                        result.needs_rebuild = (f"{path.name}@{cap.offset} {cap.url}: a revisit whose original "
                                                f"({cap.refers_to}) neither the catalog nor the dedup store knows")
                        return result
                    try:
                        original = read_capture_at(found[0], found[1])
                    except (LookupError, OSError) as e:
                        result.needs_rebuild = f"{path.name}@{cap.offset} {cap.url}: its original: {e}"
                        return result
                    remember(original, seen)
                try:
                    candidate = recognise(cap, linked, seen, by_title)
                except Unresolved as e:
                    result.unresolved.append(str(e))  # as a rebuild lists it (a payload past the limit…)
                    continue
                pictures.note(cap, seen)
                if candidate is None:
                    continue
                result.parsed += 1
                entry = parse_candidate(candidate, seconds)
                if isinstance(entry, Awaiting):
                    pictures.wait(entry)
                elif entry is not None:
                    batch.append(entry)
                if len(batch) >= BATCH_SIZE:
                    store_entries(conn, batch)
                    result.stored += len(batch)
                    batch = []
            for lost in cut_off(path, index_dir):
                damaged(lost)
        for candidate in pictures.candidates(linked, seen):
            entry = parse_candidate(candidate, seconds)
            if isinstance(entry, StoreEntry):
                batch.append(entry)
        result.unresolved.extend(pictures.unresolved)
        store_entries(conn, batch)
        result.stored += len(batch)
        result.offsets_filled = _fill_offsets(conn, present)
        result.stale, why = _remove_stale(conn, names, present, warc_dir)
        if why is not None:
            result.needs_rebuild = why
            return result
        refresh_runs(conn, warc_dir)
        refresh_identity(conn)
    finally:
        conn.close()
        result.seconds = time.monotonic() - started
    return result


def _in(seen: dict[str, Seen], refers_to: str | None, uri: str | None, date: str | None) -> bool:
    return (refers_to or "") in seen or f"{uri} {date}" in seen


def _stored_ids(conn: sqlite3.Connection, names: set[str]) -> set[str]:
    """Record ids the catalog holds in ``names`` (and rows stored before their file name was final)."""
    out = ids_in(conn, "SELECT record_id FROM captures WHERE warc_file IN ({marks})", names)
    out.update(rid for (rid,) in conn.execute("SELECT record_id FROM captures WHERE warc_offset IS NULL"))
    return out


class _OriginalFinder:
    """Where the record a revisit refers to lives, when it is in an older file: a report capture the catalog
    holds, or any payload the dedup store remembers (listings included)."""

    def __init__(self, conn: sqlite3.Connection, warc_dir: Path, dedup_path: Path | None) -> None:
        self.conn = conn
        self.warc_dir = warc_dir
        self.dedup_path = dedup_path if dedup_path is not None and dedup_path.exists() else None

    def find(self, record_id: str | None, digest: str | None) -> tuple[Path, int] | None:
        if record_id:
            row = self.conn.execute("SELECT warc_file, warc_offset FROM captures WHERE record_id = ?"
                                    " AND warc_offset IS NOT NULL", (record_id,)).fetchone()
            if row is not None and (self.warc_dir / row[0]).exists():
                return self.warc_dir / row[0], int(row[1])
        if self.dedup_path is None or not digest:
            return None
        # not read-only: a kill inside one of the store's transactions (the absorb after a mend) leaves a hot
        # rollback journal, which only a connection that may write can roll back before reading
        con = sqlite3.connect(self.dedup_path, timeout=30)
        try:
            row = con.execute("SELECT record_id, warc_file, offset FROM payloads WHERE digest = ?",
                              (digest,)).fetchone()
        finally:
            con.close()
        if row is None or row[2] is None or (record_id and row[0] != record_id):
            return None
        path = self.warc_dir / row[1]
        return (path, int(row[2])) if path.exists() else None


def _fill_offsets(conn: sqlite3.Connection, present: dict[str, tuple[str, int]]) -> int:
    """Rows stored before their record was flushed get its file and offset (the kill came before the writer's
    callback could report them)."""
    pending = [rid for (rid,) in conn.execute("SELECT record_id FROM captures WHERE warc_offset IS NULL")
               if rid in present]
    return place_captures(conn, [(rid, *present[rid]) for rid in pending])


def _remove_stale(conn: sqlite3.Connection, names: set[str], present: dict[str, tuple[str, int]],
                  warc_dir: Path) -> tuple[int, str | None]:
    """Remove rows stored live whose record is not in the files (cut by the mend, or never written). Returns how
    many, and a reason to rebuild when a removed capture was its URL's report and older captures of the URL remain
    (the report must come from one of those: a rebuild's job)."""
    stale = [(rid, url) for rid, url, warc_file in conn.execute(
        "SELECT record_id, url, warc_file FROM captures WHERE warc_offset IS NULL")
        if rid not in present and (warc_file in names or not _exists(warc_dir, str(warc_file)))]
    if not stale:
        return 0, None
    with transaction(conn):
        for rid, url in stale:
            conn.execute("DELETE FROM captures WHERE record_id = ?", (rid,))
            report = conn.execute("SELECT id FROM reports WHERE warc_record_id = ?", (rid,)).fetchone()
            if report is None:
                continue
            if conn.execute("SELECT 1 FROM captures WHERE url = ? AND outcome = 'report'", (url,)).fetchone():
                return len(stale), f"the report row of {url} pointed at a capture the crash lost; older ones remain"
            for table in ("sections", "table_cells", "issues"):
                conn.execute(f"DELETE FROM {table} WHERE report_id = ?", (report[0],))
            conn.execute("DELETE FROM reports WHERE id = ?", (report[0],))
    return len(stale), None


def _exists(warc_dir: Path, name: str) -> bool:
    """The file is there, closed or still being written (another process's ``.open`` file is not ours to judge)."""
    return (warc_dir / name).exists() or (warc_dir / f"{name}{OPEN_SUFFIX}").exists()


__all__ = ["CatchUpResult", "catch_up"]
