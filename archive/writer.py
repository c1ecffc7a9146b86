"""The rotating WARC writer: records are built, gzipped and written on one background thread.

The reactor thread only calls `submit()`, which decides synchronously which file the group goes to (so the
file name can be put on the response at once) and queues the work. A group (response + request + metadata)
is written with a single `write()` and never split across files; a file is `<name>.open` while written and
is renamed, and its CDXJ index written, when it closes. The group's first record names the others
(:func:`link_group`), so a reader can tell a whole group from one a cut left short.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from warcio.recordloader import ArcWarcRecord

from .cdxj import IndexInfo, cdxj_line, index_path_for, write_sorted_lines
from .naming import OPEN_SUFFIX, safe_host, warc_name
from .records import serialize, serialize_counted, warc_date, warcinfo_record

logger = logging.getLogger("archive.writer")
_SERIALS = itertools.count()

# A built record and, when it is a capture that belongs in the CDXJ index, what the index needs.
BuiltRecord = tuple[ArcWarcRecord, IndexInfo | None]
RecordBuilder = Callable[[], list[BuiltRecord]]


@dataclass
class WrittenRecord:
    """Where a record landed: reported to `on_written` after its group is on disk."""

    record_id: str
    warc_file: str
    offset: int
    length: int


@dataclass
class _Job:
    filename: str
    builder: RecordBuilder
    estimate: int
    on_written: Callable[[list[WrittenRecord]], None] | None = None


@dataclass
class _OpenFile:
    name: str
    path: Path
    fd: int  # unbuffered: a failed write leaves no bytes in a buffer that a later close would still write
    size: int = 0  # bytes of whole record groups in the file
    # CDXJ lines in write order, spilled to a temp file so memory stays flat however big the WARC grows
    index_spool: tempfile.SpooledTemporaryFile[str] = field(
        default_factory=lambda: tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", encoding="utf-8"))


def _write_all(fd: int, data: bytes) -> None:
    """os.write until all of ``data`` is written (a write may stop short as a disk fills), or raise."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(28, "No space left on device (a write wrote nothing)")
        view = view[n:]


def link_group(built: list[BuiltRecord]) -> None:
    """The group's first record names every other record of the group in ``WARC-Concurrent-To`` (WARC 1.1: records
    of one capture event; the field may repeat). A group is written whole or not at all, but a file can still be cut
    between two of its records later (a copy, a full disk, another tool's repair): a reader that sees the first
    record and not the ones it names knows the group was cut (``archive.reader``), and the mend cuts back to the
    last whole group (``archive.mend``). Only the headers change: the block and its digests do not."""
    if len(built) < 2:
        return
    head = built[0][0].rec_headers
    named = {v for k, v in head.headers if k.lower() == "warc-concurrent-to"}
    for record, _ in built[1:]:
        rid = record.rec_headers.get_header("WARC-Record-ID")
        if rid and rid not in named:
            head.add_header("WARC-Concurrent-To", rid)
            named.add(rid)


class RotatingWarcWriter:
    def __init__(self, warc_dir: Path, index_dir: Path | None, max_size: int,
                 warcinfo_fields: Iterable[tuple[str, str]] = (), gzip_level: int = 6,
                 on_file_closed: Callable[[Path], None] | None = None, queue_size: int = 1000,
                 on_failure: Callable[[OSError], None] | None = None) -> None:
        self.warc_dir = Path(warc_dir)
        self.index_dir = Path(index_dir) if index_dir else None
        self.max_size = max_size
        self.warcinfo_fields = list(warcinfo_fields)
        self.gzip_level = gzip_level
        self.on_file_closed = on_file_closed
        self.warc_dir.mkdir(parents=True, exist_ok=True)
        if self.index_dir:
            self.index_dir.mkdir(parents=True, exist_ok=True)
        self._host = safe_host()
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._current: str | None = None
        self._assigned = 0          # estimated compressed bytes assigned to the current file
        self._ratio = 1.0           # observed compressed/raw ratio, to estimate queued groups
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self._closed = False
        self.files_closed: list[Path] = []
        self.bytes_written = 0      # compressed, as on disk
        self.raw_bytes = 0          # the records before compression
        self.busy_seconds = 0.0     # time the writer thread spent building, compressing and writing
        self.records_written = 0
        self.errors: list[str] = []
        # the write that failed for want of space (or any other I/O error writing the file): no group is written
        # after it, the file is cut back to its last whole group and left .open for the mend
        self.failed: OSError | None = None
        self.dropped = 0  # groups not written since
        self.on_failure = on_failure
        self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
        self._thread.start()

    # --- reactor side ---------------------------------------------------------------------------

    def submit(self, builder: RecordBuilder, raw_size: int,
               on_written: Callable[[list[WrittenRecord]], None] | None = None) -> str:
        """Queue one record group; return the basename of the WARC it will be written to."""
        if self._closed:
            raise RuntimeError("archive writer is closed; no more records can be submitted")
        with self._lock:
            estimate = int(raw_size * self._ratio) + 512
            if self._current is None or (self._assigned and self._assigned + estimate > self.max_size):
                self._current = self._next_name()
                self._assigned = 0
            self._assigned += estimate
            name = self._current
        self._queue.put(_Job(name, builder, estimate, on_written))
        return name

    def close(self) -> list[Path]:
        """Write what is queued, close the open file, stop the thread; return every file closed."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
        return list(self.files_closed)

    def _next_name(self) -> str:
        # one counter per process: two crawlers in one process never pick the same name in the same millisecond
        return warc_name(datetime.now(UTC), next(_SERIALS) % 100_000, self._host, self._pid)

    # --- writer thread --------------------------------------------------------------------------

    def _run(self) -> None:
        current: _OpenFile | None = None
        while True:
            job = self._queue.get()
            if job is None:
                break
            if self.failed is not None:
                self.dropped += 1  # drained, so submit() never blocks on a full queue: the crawl is stopping
                continue
            try:
                if current is None or current.name != job.filename:
                    if current is not None:
                        done, current = current, None
                        self._finish(done)
                    current = self._open(job.filename)
                written = self._write_group(current, job)
            except OSError as exc:  # a full disk, a quota, an I/O error: nothing more is written
                self._fail(current, job.filename, exc)
                current = None
                continue
            except Exception as exc:  # the thread must survive one bad group; it is logged and counted
                msg = f"archive writer: could not write a record group to {job.filename}: {exc!r}"
                logger.error(msg)
                self.errors.append(msg)
                continue
            if job.on_written:
                try:
                    job.on_written(written)
                except Exception as exc:
                    logger.error("archive writer: on_written callback failed: %r", exc)
        if current is not None:
            try:
                self._finish(current)
            except OSError as exc:
                msg = f"archive writer: could not close {current.name}: {exc!r} (it stays .open; mend fixes it)"
                logger.error(msg)
                self.errors.append(msg)
                if self.failed is None:
                    self.failed = exc
                    if self.on_failure is not None:
                        self.on_failure(exc)

    def _fail(self, f: _OpenFile | None, name: str, exc: OSError) -> None:
        """Stop writing: cut the open file back to its last whole group (a truncate needs no space) and leave it
        .open, so the next start mends, indexes and keeps it like a killed run's file."""
        self.failed = exc
        msg = f"archive writer: could not write a record group to {name}: {exc!r}; no more records are written"
        logger.error(msg)
        self.errors.append(msg)
        if f is not None:
            try:
                os.ftruncate(f.fd, f.size)
            except OSError as cut:
                logger.error("archive writer: could not cut %s back to %d bytes: %r (the mend will)", f.path.name,
                             f.size, cut)
            finally:
                os.close(f.fd)
                f.index_spool.close()
        if self.on_failure is not None:
            try:
                self.on_failure(exc)
            except Exception as cb:
                logger.error("archive writer: on_failure callback failed: %r", cb)

    def _open(self, name: str) -> _OpenFile:
        path = self.warc_dir / (name + OPEN_SUFFIX)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        f = _OpenFile(name, path, fd, size=os.fstat(fd).st_size)
        info = warcinfo_record(name, self.warcinfo_fields, warc_date(datetime.now(UTC)))
        data = serialize(info, self.gzip_level)
        try:
            _write_all(fd, data)
        except OSError:
            try:
                os.ftruncate(fd, f.size)  # not even its warcinfo: the mend removes a file with no record
            finally:
                os.close(fd)
            raise
        f.size += len(data)
        return f

    def _write_group(self, f: _OpenFile, job: _Job) -> list[WrittenRecord]:
        t0 = time.perf_counter()
        try:
            return self._write_group_timed(f, job)
        finally:
            self.busy_seconds += time.perf_counter() - t0

    def _write_group_timed(self, f: _OpenFile, job: _Job) -> list[WrittenRecord]:
        built = job.builder()
        link_group(built)
        chunks: list[bytes] = []
        written: list[WrittenRecord] = []
        offset = f.size
        raw_total = 0
        for record, info in built:
            raw_total += (record.length or 0) + 600
            data, raw_len = serialize_counted(record, self.gzip_level)
            self.raw_bytes += raw_len
            rid = record.rec_headers.get_header("WARC-Record-ID") or ""
            written.append(WrittenRecord(rid, f.name, offset, len(data)))
            if info is not None:
                f.index_spool.write(cdxj_line(info, f.name, offset, len(data)) + "\n")
            chunks.append(data)
            offset += len(data)
        blob = b"".join(chunks)
        _write_all(f.fd, blob)  # on an error _fail() cuts the file back to f.size: the group is whole or absent
        f.size += len(blob)
        self.bytes_written += len(blob)
        self.records_written += len(built)
        with self._lock:
            if raw_total:
                self._ratio = 0.8 * self._ratio + 0.2 * min(1.0, len(blob) / raw_total)
            if self._current == f.name:
                # replace the estimate by what was really written
                self._assigned += len(blob) - job.estimate
        return written

    def _finish(self, f: _OpenFile) -> None:
        try:
            os.fsync(f.fd)
        finally:
            os.close(f.fd)
        final = self.warc_dir / f.name
        os.replace(f.path, final)
        try:
            if self.index_dir is not None:
                f.index_spool.seek(0)
                write_sorted_lines(f.index_spool, index_path_for(self.index_dir, f.name))
        finally:
            f.index_spool.close()  # without its index (a full disk) the file is read directly; `scrapy index`
        self.files_closed.append(final)
        logger.info("archive: closed %s (%d bytes)", final.name, f.size)
        if self.on_file_closed:
            try:
                self.on_file_closed(final)
            except Exception as exc:
                logger.error("archive writer: on_file_closed callback failed for %s: %r", final.name, exc)
