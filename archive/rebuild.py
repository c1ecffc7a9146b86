"""``scrapy rebuild``: the catalog again, from the WARC files alone, offline.

Every capture is read through :func:`archive.reader.iter_captures`. Report captures are recognised from the
``metadata`` records written at crawl time (role ``report``/``attachment``, or a ``detail`` page that carries no
attachments or prints the report besides them, the spider's own rule); WARCs without them (other tools') fall back
to the same title rules the spider uses on listings (:mod:`crawler.titles`). Each report goes through
:func:`pipelines.processing.process_capture` and :func:`pipelines.catalog.store_entries`, the very functions the live
item pipelines call, so the rebuilt catalog equals the live one. Parsing runs in ``workers`` processes; the parent reads and writes.

The catalog is written to a temporary file next to the target and moved into place at the end, so an interrupted
rebuild never leaves a half catalog behind.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from archive.payload import PayloadTooLarge
from pipelines.capture_info import (
    CaptureInfo,
    content_type_of,
)
from pipelines.catalog import StoreEntry, open_catalog, store_entries
from pipelines.runs import refresh_runs

if TYPE_CHECKING:
    from archive.reader import Capture, DamagedRecord

REPORT_ROLES = ("report", "attachment")
BATCH_SIZE = 200


@dataclass(frozen=True)
class Damaged:
    warc_file: str
    offset: int | None
    reason: str

    @classmethod
    def of(cls, record: DamagedRecord) -> Damaged:
        """The reader's report of a damaged record, with the file's name only."""
        return cls(Path(record.warc_file).name, record.offset, record.reason)

    def __str__(self) -> str:
        where = f"{self.warc_file}@{self.offset}" if self.offset is not None else self.warc_file
        return f"{where}: {self.reason}"


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

    def summary_lines(self) -> list[str]:
        rate = self.records / self.seconds if self.seconds else 0.0
        lines = [
            f"rebuild: {self.files} WARC files, {self.records} captures read, {self.reports} reports stored, "
            f"{len(self.failed)} failed to parse, {len(self.damaged)} damaged records skipped, "
            f"{len(self.unresolved)} revisits without their original "
            f"({self.seconds:.1f}s, {rate:.0f} captures/s) -> {self.catalog}",
        ]
        lines += [f"  damaged: {d}" for d in self.damaged]
        lines += [f"  failed: {url}: {err}" for url, err in self.failed]
        lines += [f"  revisit without its original: {where}" for where in self.unresolved]
        return lines


@dataclass(frozen=True)
class Candidate:
    """A capture that may be a report: what a worker process needs to decide and parse it."""

    body: bytes
    capture: CaptureInfo
    content_type_header: str | None
    check_attachments: bool  # a detail page: a report only when it links no attachments (spider's rule)
    charset: str | None = None  # detected at crawl time (metadata record), so the check need not detect again
    doc_links: bool | None = None  # the metadata's outlinks include a PDF/DOCX/DOC (None: no outlinks recorded)


def list_warcs(warc_dir: Path) -> list[Path]:
    """The WARC files under ``warc_dir``, sorted (files still being written, ``*.open``, are left out)."""
    from archive.reader import warc_files

    if not warc_dir.is_dir():
        raise FileNotFoundError(f"--warc-dir {warc_dir}: no such directory")
    return warc_files(warc_dir)


def rebuild(
    warc_dir: Path,
    catalog_path: Path,
    *,
    workers: int = 1,
    progress: TextIO | None = None,
) -> RebuildResult:
    """Rebuild ``catalog_path`` from every WARC under ``warc_dir`` with ``workers`` parser processes."""
    if workers < 1:
        raise ValueError(f"--workers {workers}: must be at least 1")
    started = time.monotonic()
    files = list_warcs(warc_dir)
    result = RebuildResult(catalog=catalog_path, files=len(files))
    tmp = catalog_path.with_name(catalog_path.name + ".rebuild-tmp")
    for leftover in _sqlite_files(tmp):
        leftover.unlink(missing_ok=True)
    conn = open_catalog(tmp)
    meter = _Progress(progress, sum(p.stat().st_size for p in files))
    try:
        candidates = _candidates(files, result, meter)
        batch: list[StoreEntry] = []
        for entry in _parse_all(candidates, workers):
            if entry is None:
                continue
            if entry.error:
                result.failed.append((entry.capture.url, entry.error))
            batch.append(entry)
            if len(batch) >= BATCH_SIZE:
                store_entries(conn, batch)
                batch = []
            meter.reports += entry.report is not None
        store_entries(conn, batch)
        refresh_runs(conn, warc_dir)
        result.reports = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
        meter.done()
    for stale in _sqlite_files(catalog_path)[1:]:
        stale.unlink(missing_ok=True)  # a WAL left by a crashed writer must not be replayed onto the new file
    os.replace(tmp, catalog_path)
    result.failed.sort()
    result.seconds = time.monotonic() - started
    return result


def _sqlite_files(path: Path) -> list[Path]:
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


# --- reading and recognising --------------------------------------------------------------------------------


_ROUTING_KEYS = ("role", "source", "agency", "family", "discovery", "list_title", "list_date", "attachment_of",
                 "charset")
NOT_MODIFIED = "server-not-modified"


class _Unresolved(Exception):
    """A report's revisit record whose original is not in the WARCs read, or cannot be read."""


@dataclass(frozen=True)
class _Seen:
    """Where a capture is, and (for report-like ones) the routing part of its metadata: a revisit of the same URL
    carries no metadata record of its own, it repeats its original's."""

    warc_file: str
    offset: int
    meta: dict[str, Any] | None


def _candidates(files: list[Path], result: RebuildResult, meter: _Progress) -> Iterator[Candidate]:
    from archive.naming import parse_warc_name
    from archive.reader import iter_captures

    linked: dict[str, str] = {}  # report URL -> listing title, from listings without metadata
    seen: dict[str, _Seen] = {}  # record id (and "uri date") -> where it is, to resolve revisit records

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
                candidate = _recognise(cap, linked, seen, by_title)
            except _Unresolved as e:
                result.unresolved.append(str(e))
                continue
            if candidate is not None:
                result.candidates += 1
                yield candidate
        meter.file_done(path)


def _remember(cap: Capture, meta: dict[str, Any] | None, seen: dict[str, _Seen]) -> None:
    routing = None
    if meta is not None and meta.get("role") in (*REPORT_ROLES, "detail"):
        routing = {k: meta.get(k) for k in _ROUTING_KEYS}
        routing["doc_links"] = _doc_links(meta)
    entry = _Seen(cap.warc_file, cap.offset, routing)
    seen[cap.record_id] = entry
    if routing is not None:
        seen[f"{cap.url} {cap.captured_at}"] = entry


def _recognise(cap: Capture, linked: dict[str, str], seen: dict[str, _Seen], by_title: bool) -> Candidate | None:
    original: _Seen | None = None
    meta: dict[str, Any] | None = dict(cap.metadata) if cap.metadata else None
    if cap.record_type == "revisit":
        original = seen.get(cap.refers_to or "") or seen.get(f"{cap.refers_to_uri} {cap.refers_to_date}")
        if meta is None and original is not None and original.meta is not None and cap.refers_to_uri == cap.url:
            meta = dict(original.meta)
        if original is None and (meta is None or meta.get("role") in (*REPORT_ROLES, "detail")):
            raise _Unresolved(f"{Path(cap.warc_file).name}@{cap.offset} {cap.url} (refers to {cap.refers_to})")
    if cap.record_type != "revisit":
        _remember(cap, meta, seen)
    role = (meta or {}).get("role")
    if (role is None and not by_title) or (role is not None and role not in (*REPORT_ROLES, "detail")):
        return None
    source: Capture = cap
    try:
        body = cap.payload
    except PayloadTooLarge as e:
        raise _Unresolved(f"{Path(cap.warc_file).name}@{cap.offset} {cap.url}: {e}") from e
    if cap.record_type == "revisit":
        assert original is not None
        where = f"{Path(cap.warc_file).name}@{cap.offset} {cap.url} (refers to {cap.refers_to})"
        from archive.reader import read_capture_at

        try:
            prior = read_capture_at(original.warc_file, original.offset)
        except (LookupError, OSError) as e:
            raise _Unresolved(f"{where}: {e}") from e
        try:
            body = prior.payload
        except PayloadTooLarge as e:
            raise _Unresolved(f"{where}: {e}") from e
        if (cap.profile or "").endswith(NOT_MODIFIED):
            source = prior  # the crawl handed the spider the earlier response in place of the 304
    if source.status is None or not 200 <= source.status < 300:
        return None
    ctype_header = source.header("Content-Type") or source.mime
    if role is None:
        return _recognise_by_title(cap, body, ctype_header, linked)
    assert meta is not None
    charset = meta.get("charset")
    doc_links = meta["doc_links"] if "doc_links" in meta else _doc_links(meta)
    return Candidate(body, _capture_info(cap, meta, body, ctype_header, source.status), ctype_header,
                     role == "detail", charset if isinstance(charset, str) else None, doc_links)


def _doc_links(meta: dict[str, Any]) -> bool | None:
    """Whether the page links any document, from the outlinks its metadata record lists (``None``: not listed).
    A page without one cannot have attachments, so the HTML need not be parsed to find out."""
    outlinks = meta.get("outlinks")
    if not isinstance(outlinks, list):
        return None
    from crawler.families.links import is_document_url

    return any(is_document_url(str(u)) for u in outlinks)


def _capture_info(cap: Capture, meta: dict[str, Any], body: bytes, ctype_header: str | None,
                  status: int | None = None) -> CaptureInfo:
    url = cap.url
    discovery = list(meta.get("discovery") or [])
    if discovery and discovery[-1] != url:
        discovery[-1] = url  # followed a redirect: the spider's item names the final URL, as the capture does
    elif not discovery:
        discovery = [url]
    return CaptureInfo.of_capture(
        url, cap.record_id, body, meta,
        captured_at=cap.captured_at, warc_file=Path(cap.warc_file).name, warc_offset=cap.offset,
        status=status if status is not None else cap.status,
        content_type=content_type_of({"content-type": ctype_header} if ctype_header else None),
        discovery=discovery,
    )


def _recognise_by_title(cap: Capture, body: bytes, ctype_header: str | None,
                        linked: dict[str, str]) -> Candidate | None:
    """No metadata record (another tool's WARC): a report is a page or document that a listing links with a
    report title, or an HTML page whose own title is one (the spider's title rules, :mod:`crawler.titles`)."""
    from crawler.families.links import is_document_url, report_links
    from crawler.titles import match_report_title

    url = cap.url
    ctype = content_type_of({"content-type": ctype_header} if ctype_header else None) or ""
    is_html = "html" in ctype or "xml" in ctype
    if url in linked:
        meta = {"list_title": linked[url], "discovery": [url]}
        return Candidate(body, _capture_info(cap, meta, body, ctype_header), ctype_header, not is_document_url(url))
    if not is_html:
        return None
    from parsel import Selector

    text = _html_text(body, ctype_header)
    sel = Selector(text=text)
    for link in report_links(sel, url):
        linked.setdefault(link.url, link.title)
    own = " ".join(sel.xpath("//title//text()").getall()).strip()
    if own and match_report_title(own) is not None:
        return Candidate(body, _capture_info(cap, {"discovery": [url]}, body, ctype_header), ctype_header, True)
    return None


def _html_text(body: bytes, ctype_header: str | None, charset: str | None = None) -> str:
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass  # a name Python does not know: detect again
    from crawler.textfix import decode

    return decode(body, {"Content-Type": ctype_header} if ctype_header else None).text


# --- parsing, in worker processes -------------------------------------------------------------------------


def parse_candidate(c: Candidate) -> StoreEntry | None:
    """Parse one candidate (in a worker process); ``None`` when it is a detail page whose report is its
    attachments (the spider yields those instead of the page)."""
    from pipelines.processing import process_capture

    if c.check_attachments and _has_attachments(c):
        return None
    return process_capture(c.body, c.capture, c.content_type_header)


def _has_attachments(c: Candidate) -> bool:
    from crawler.families.links import attachment_links, carries_report_text, is_document_url

    ctype = c.capture.content_type or ""
    if c.doc_links is False:
        return False
    if is_document_url(c.capture.url) or not ("html" in ctype or "xml" in ctype or ctype.startswith("text/")):
        return False
    from parsel import Selector

    sel = Selector(text=_html_text(c.body, c.content_type_header, c.charset))
    # a page that prints the report and links a copy is a report too (the spider yields both)
    return bool(attachment_links(sel, c.capture.url)) and not carries_report_text(sel)


def _parse_all(candidates: Iterable[Candidate], workers: int) -> Iterator[StoreEntry | None]:
    if workers == 1:
        for c in candidates:
            yield parse_candidate(c)
        return
    window = workers * 4  # bounded: memory stays flat however many captures the WARCs hold
    import crawler.report  # noqa: F401  (loaded once here, so forked workers do not each import the parser)
    from pipelines.offthread import die_with_parent

    # forked, and killed with the rebuild if it is killed (no worker left parsing for nobody)
    with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        pending: set[Future[StoreEntry | None]] = set()
        for c in candidates:
            pending.add(pool.submit(parse_candidate, c))
            if len(pending) >= window:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        for fut in pending:
            yield fut.result()


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
