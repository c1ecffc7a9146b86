"""What both capture paths share (Scrapy's HTTP responses, a browser's network traffic): the rotating writer, the
dedup store, the record groups they submit, and the stamp that tells a capture's requester where it went.

No Scrapy here: :class:`archive.capture.WarcCaptureMiddleware` and :class:`archive.browser.BrowserCapture` are the
Scrapy components on top, each holding one :class:`Recorder`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .cdxj import IndexInfo
from .config import ArchiveConfig
from .dedup import DedupStore, PayloadRef, UrlRef
from .mend import mend_open_files
from .metadata import metadata_content, warm_up
from .records import (
    PROFILE_IDENTICAL,
    Exchange,
    RevisitOf,
    cached_target_uri,
    metadata_record,
    request_record,
    response_record,
    sha1_digest,
)
from .writer import BuiltRecord, RecordBuilder, RotatingWarcWriter, WrittenRecord

Counter = Callable[[str, int], None]

#: Request meta key the capture layer sets: the response's :class:`CaptureStamp`.
META_STAMP = "archive_capture"


class MetadataSource(Protocol):
    """A request's ``archive_metadata`` may be an object that says what its metadata record holds (the spider's
    routing record) instead of a plain mapping."""

    def metadata_fields(self) -> dict[str, Any]: ...


def metadata_of(value: object) -> dict[str, Any] | None:
    """The fields a request's ``archive_metadata`` puts in the capture's metadata record (``None``: no record)."""
    fields = getattr(value, "metadata_fields", None)
    if callable(fields):
        return dict(fields())
    if isinstance(value, Mapping):
        return dict(value)
    return None


@dataclass
class CaptureStamp:
    """Where a capture went: its record id, date and file are known when it is submitted; its offset once the
    writer has written its group (set from the writer thread, by the writer's own callback)."""

    record_id: str
    captured_at: str
    warc_file: str
    offset: int | None = None


class Recorder:
    """The writer and the dedup store of one crawl, opened on first use; ``count`` receives its stats."""

    def __init__(self, cfg: ArchiveConfig, count: Counter, warcinfo_fields: list[tuple[str, str]],
                 on_failure: Callable[[OSError], None] | None = None) -> None:
        self.cfg = cfg
        self.count = count
        self.warcinfo_fields = warcinfo_fields
        self.on_failure = on_failure  # the writer could not write (a full disk): called once, from its thread
        self.writer: RotatingWarcWriter | None = None
        self.dedup: DedupStore | None = None
        # offsets of groups the writer thread wrote before the crawl thread remembered their payload (a fast writer
        # finishes a group between submit() and remember_payload()): record id -> offset, taken by remember_payload
        self._early: dict[str, int] = {}
        self._early_lock = threading.Lock()

    # --- lifecycle ------------------------------------------------------------------------------

    def open(self) -> RotatingWarcWriter:
        if self.writer is not None:
            return self.writer
        cfg = self.cfg
        dedup_path = cfg.state_dir / "dedup.sqlite" if cfg.dedup or cfg.conditional else None
        if cfg.mend_on_start and cfg.warc_dir.exists():
            for res in mend_open_files(cfg.warc_dir, cfg.index_dir, dedup_path):
                self.count("archive/mended_files", 1)
                self.count("archive/mended_cut_bytes", res.cut_bytes)
        if dedup_path is not None:
            self.dedup = DedupStore(dedup_path)
        threading.Thread(target=warm_up, name="archive-warm-up", daemon=True).start()
        self.writer = RotatingWarcWriter(cfg.warc_dir, cfg.index_dir, cfg.max_size, self.warcinfo_fields,
                                         cfg.gzip_level, on_file_closed=self._file_closed,
                                         on_failure=self.on_failure)
        return self.writer

    def close(self) -> list[Path]:
        if self.writer is None:
            return []
        files = self.writer.close()
        self.count("archive/warc_files", len(files))
        self.count("archive/warc_bytes", self.writer.bytes_written)
        self.count("archive/write_errors", len(self.writer.errors))
        self.count("archive/groups_not_written", self.writer.dropped)
        self.count("archive/raw_bytes", self.writer.raw_bytes)
        return files

    def _file_closed(self, path: Path) -> None:
        if self.dedup is not None:
            self.dedup.save_file(path.name)

    # --- submitting -----------------------------------------------------------------------------

    def submit(self, builder: RecordBuilder, size: int, exchanges: tuple[Exchange, ...] = (),
               stamp_of: tuple[str, str] | None = None) -> tuple[str, CaptureStamp | None]:
        """Queue a record group; returns the WARC it goes to and, with ``stamp_of`` (record id, date of the
        capture the requester gets), the stamp the writer completes once the group is on disk."""
        stamp = CaptureStamp(stamp_of[0], stamp_of[1], "") if stamp_of is not None else None
        name = self.open().submit(builder, size, on_written=self._written(exchanges, stamp))
        if stamp is not None:
            stamp.warc_file = name
        return name, stamp

    def _written(self, exchanges: tuple[Exchange, ...],
                 stamp: CaptureStamp | None) -> Callable[[list[WrittenRecord]], None]:
        """Runs on the writer thread once the group is on disk: the offsets the dedup store saves, and the stamp's."""
        dedup = self.dedup

        def done(written: list[WrittenRecord]) -> None:
            offsets = {w.record_id: w for w in written}
            if stamp is not None and stamp.record_id in offsets:
                w = offsets[stamp.record_id]
                stamp.warc_file, stamp.offset = w.warc_file, w.offset
            if dedup is None:
                return
            with self._early_lock:
                for ex in exchanges:
                    if not _original(ex) or ex.record_id not in offsets:
                        continue
                    ref = dedup.payloads.get(ex.payload_digest or "")
                    if ref is not None and ref.record_id == ex.record_id:
                        ref.offset = offsets[ex.record_id].offset
                    elif ref is None:  # not remembered yet: remember_payload takes it
                        self._early[ex.record_id] = offsets[ex.record_id].offset
        return done

    # --- deduplication --------------------------------------------------------------------------

    def dedup_exchange(self, ex: Exchange) -> None:
        """Make ``ex`` an ``identical-payload-digest`` revisit when its payload is already archived."""
        ex.payload_digest = ex.payload_digest or sha1_digest(ex.body)
        if not self.cfg.dedup or self.dedup is None or not 200 <= ex.status < 300 or not ex.body or ex.truncated:
            return
        prior = self.dedup.payloads.get(ex.payload_digest)
        if prior is not None:
            ex.revisit = RevisitOf(PROFILE_IDENTICAL, prior.uri, prior.date, prior.record_id, prior.digest)
            self.count("archive/revisit_identical", 1)

    def remember_payload(self, ex: Exchange, warc_file: str) -> None:
        """A full 2xx capture becomes the original later identical payloads refer to."""
        if self.dedup is not None and _original(ex):
            assert ex.payload_digest is not None
            with self._early_lock:  # the writer thread may be setting this group's offset right now
                self.dedup.remember_payload(PayloadRef(ex.payload_digest, cached_target_uri(ex.url), ex.date,
                                                       ex.record_id, warc_file, self._early.pop(ex.record_id, None)))

    def remember_url(self, ex: Exchange, etag: str | None, last_modified: str | None, warc_file: str) -> None:
        """A 2xx GET capture (full or revisit) and its validators, for the next run's conditional request."""
        if self.dedup is None or not (200 <= ex.status < 300) or ex.payload_digest is None or ex.truncated:
            return
        if ex.revisit is None:
            if not ex.body:
                return
            self.remember_payload(ex, warc_file)
            payload = self.dedup.payloads[ex.payload_digest]
        else:
            payload = self.dedup.payloads.get(ex.payload_digest) or PayloadRef(
                ex.payload_digest, ex.revisit.uri, ex.revisit.date, ex.revisit.record_id or "", warc_file)
        if ex.method != "GET":
            return
        self.dedup.remember_url(UrlRef(ex.url, payload, etag, last_modified), warc_file)


def _original(ex: Exchange) -> bool:
    """A full 2xx capture: the original later identical payloads refer to (the dedup store remembers it)."""
    return bool(ex.revisit is None and ex.body and ex.payload_digest and 200 <= ex.status < 300 and not ex.truncated)


def index_info(ex: Exchange, record: Any) -> IndexInfo:
    """What the CDXJ line of an exchange's response (or revisit) record says."""
    ctype = next((v for k, v in ex.response_headers if k.lower() == "content-type"), None)
    req_ctype = next((v for k, v in ex.request_headers if k.lower() == "content-type"), None)
    return IndexInfo(url=record.rec_headers.get_header("WARC-Target-URI"), date=ex.date,
                     record_type="revisit" if ex.revisit is not None else "response", status=ex.status,
                     mime=ctype.split(";", 1)[0].strip().lower() if ctype else None,
                     digest=record.rec_headers.get_header("WARC-Payload-Digest"), method=ex.method,
                     request_content_type=req_ctype, request_body=ex.request_body)


def build_group(ex: Exchange, meta: dict[str, Any] | None, with_request: bool = True,
                meta_source: tuple[bytes, list[tuple[str, str]]] | None = None) -> list[BuiltRecord]:
    """Runs on the writer thread: response (or revisit), request, and the metadata record when asked for."""
    resp = response_record(ex)
    out: list[BuiltRecord] = [(resp, index_info(ex, resp))]
    if with_request:
        out.append((request_record(ex), None))
    if meta is not None:
        body, headers = meta_source if meta_source is not None else (ex.body, ex.response_headers)
        content = metadata_content(meta, body, headers, ex.url)
        out.append((metadata_record(ex.url, ex.date, ex.record_id, content), None))
    return out


__all__ = ["META_STAMP", "CaptureStamp", "MetadataSource", "Recorder", "build_group", "index_info", "metadata_of"]
