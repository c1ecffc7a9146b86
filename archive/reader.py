"""Streaming over WARC files (ours and other tools'): one `Capture` per response / resource / revisit record.

FastWARC does the bulk reading. It stops silently at a truncated gzip member and raises at garbage, so the
reader checks where the last good record ends and, when the file goes on, reports a `DamagedRecord` (file,
offset, one-line reason) and resumes at the next record it can find. Nothing here raises on a damaged file.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from fastwarc.warc import ArchiveIterator, WarcRecordType

from .naming import OPEN_SUFFIX, SUFFIX
from .payload import decode_payload
from .records import METADATA_FIELD, parse_metadata_fields

logger = logging.getLogger("archive.reader")

CAPTURE_TYPES = ("response", "resource", "revisit")
WARC_SUFFIXES = (".warc.gz", ".warc")
_GZIP_MAGIC = b"\x1f\x8b\x08"


@dataclass(frozen=True)
class DamagedRecord:
    """A stretch of a WARC that could not be read as a record."""

    warc_file: str
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.warc_file}@{self.offset}: {self.reason}"


ErrorHandler = Callable[[DamagedRecord], None]


def _log_damage(d: DamagedRecord) -> None:
    logger.warning("archive: damaged WARC data skipped: %s", d)


@dataclass
class Capture:
    """One archived capture: a response, a resource or a revisit record, with what belongs to it."""

    url: str
    captured_at: str                         # WARC-Date as written (ISO-8601, Z)
    record_type: str                         # "response" | "resource" | "revisit"
    record_id: str
    warc_file: str                           # path of the WARC file
    offset: int                              # of the record's gzip member (or record) in that file
    length: int | None                       # bytes of that member/record in the file
    status: int | None = None
    status_line: str | None = None           # e.g. "HTTP/1.1 200 OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    raw_payload: bytes = b""                 # as stored: still content-encoded
    payload_digest: str | None = None
    mime: str | None = None
    ip_address: str | None = None
    metadata: dict[str, object] | None = None
    method: str = "GET"
    request_headers: list[tuple[str, str]] | None = None
    request_body: bytes = b""
    request_record_id: str | None = None
    profile: str | None = None               # revisit profile
    refers_to: str | None = None
    refers_to_uri: str | None = None
    refers_to_date: str | None = None
    truncated: str | None = None

    @cached_property
    def payload(self) -> bytes:
        """The payload with transfer- and content-encoding undone."""
        return decode_payload(self.raw_payload, self.headers)

    @property
    def timestamp(self) -> str:
        """`YYYYMMDDhhmmss` of the capture, as in CDXJ and `pull --at`."""
        return "".join(ch for ch in self.captured_at if ch.isdigit())[:14]

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    @property
    def request_content_type(self) -> str | None:
        for k, v in self.request_headers or []:
            if k.lower() == "content-type":
                return v
        return None


def warc_files(source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
               include_open: bool = False) -> list[Path]:
    """The WARC files named by a path, a folder (recursively) or a list of those, sorted by name."""
    items = [source] if isinstance(source, str | os.PathLike) else list(source)
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                name = f.name
                if f.is_file() and (name.endswith(WARC_SUFFIXES) or (include_open and name.endswith(SUFFIX + OPEN_SUFFIX))):
                    out.append(f)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such WARC file or folder: {p}")
    return out


def iter_captures(source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                  start: int = 0, end: int | None = None, errors: ErrorHandler | None = None,
                  include_open: bool = False) -> Iterator[Capture]:
    """Yield every capture in the WARCs named by `source` (file, folder, or list), in file order.

    `start`/`end` restrict a single file to records beginning in [start, end) — the unit of work of a
    parallel reader. Damaged stretches go to `errors` (default: a warning in the log) and are skipped.
    """
    on_error = errors or _log_damage
    for path in warc_files(source, include_open=include_open):
        yield from _iter_file(path, start, end, on_error)


def read_capture_at(path: str | os.PathLike[str], offset: int) -> Capture:
    """The capture whose record starts at `offset` in `path` (with its request/metadata when they follow)."""
    damage: list[DamagedRecord] = []
    for cap in _iter_file(Path(path), offset, None, damage.append, limit=1):
        if cap.offset == offset:
            return cap
        break
    reason = damage[0].reason if damage else "no response, resource or revisit record starts there"
    raise LookupError(f"{path}@{offset}: {reason}")


# --- internals ----------------------------------------------------------------------------------

@dataclass
class _Request:
    record_id: str
    uri: str
    concurrent_to: list[str]
    method: str
    headers: list[tuple[str, str]]
    body: bytes


def _split_http(block: bytes) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """(first line, headers, body) of an HTTP message, or None when the block is not one."""
    sep = block.find(b"\r\n\r\n")
    if sep < 0:
        if block.startswith(b"HTTP/") or b" HTTP/1." in block[:2048].split(b"\r\n", 1)[0]:
            head, body = block, b""
        else:
            return None
    else:
        head, body = block[:sep], block[sep + 4:]
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0]
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t" and headers:  # obsolete line folding
            k, v = headers[-1]
            headers[-1] = (k, v + " " + line.strip())
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return first, headers, body


def _member_end(fh, pos: int, gz: bool, size: int) -> int | None:  # type: ignore[no-untyped-def]
    """Where the gzip member starting at `pos` ends, or None when it is cut short or broken."""
    if not gz:
        return size
    fh.seek(pos)
    d = zlib.decompressobj(zlib.MAX_WBITS + 16)
    consumed = 0
    try:
        while not d.eof:
            chunk = fh.read(1 << 16)
            if not chunk:
                return None
            d.decompress(chunk, 0)
            consumed += len(chunk) - len(d.unused_data)
            if d.eof:
                break
            # all of chunk went in; keep reading
    except zlib.error:
        return None
    return pos + consumed


def _resync(fh, pos: int, gz: bool, size: int) -> int | None:  # type: ignore[no-untyped-def]
    """The next offset after `pos` where a readable record starts, or None."""
    magic = _GZIP_MAGIC if gz else b"WARC/1."
    fh.seek(pos)
    base = pos
    carry = b""
    while base < size:
        chunk = fh.read(1 << 20)
        if not chunk:
            return None
        buf = carry + chunk
        start_of_buf = base - len(carry)
        i = buf.find(magic, 1 if start_of_buf == pos else 0)
        while i >= 0:
            cand = start_of_buf + i
            if cand > pos and _looks_like_record(fh, cand, gz):
                return cand
            i = buf.find(magic, i + 1)
        carry = buf[-8:]
        base += len(chunk)
        fh.seek(base)
    return None


def _looks_like_record(fh, pos: int, gz: bool) -> bool:  # type: ignore[no-untyped-def]
    fh.seek(pos)
    head = fh.read(4096)
    if gz:
        try:
            head = zlib.decompressobj(zlib.MAX_WBITS + 16).decompress(head, 16)
        except zlib.error:
            return False
    return head.startswith(b"WARC/1.")


def _iter_file(path: Path, start: int, end: int | None, on_error: ErrorHandler,
               limit: int | None = None) -> Iterator[Capture]:
    name = str(path)
    size = path.stat().st_size
    whole = start == 0 and end is None and limit is None  # the file read through: its groups can be checked
    groups = _Groups()
    reported: list[int] = []  # offsets of the damaged stretches named

    def damaged(offset: int, reason: str) -> None:
        reported.append(offset)
        on_error(DamagedRecord(name, offset, reason))

    if size == 0 and start == 0 and limit is None:  # not even a warcinfo record: a file cut (or lost) whole
        damaged(0, "empty file: not a single record")
        return
    with open(path, "rb") as fh:
        gz = fh.read(3) == _GZIP_MAGIC
        pos: int | None = start
        yielded = 0
        while pos is not None and pos < size and (end is None or pos < end):
            state = _FileState(name, path, gz, size, groups, damaged)
            fh.seek(pos)
            failure: str | None = None
            try:
                for cap in state.walk(fh, end):
                    yield cap
                    yielded += 1
                    if limit is not None and yielded >= limit:
                        return
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                failure = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                state.stopped_at = None  # where FastWARC gave up says nothing of where the last record ended
            for cap in state.finish(fh):
                yield cap
                yielded += 1
                if limit is not None and yielded >= limit:
                    return
            good_end = state.last_end if state.last_end is not None else pos
            if good_end >= size or (end is not None and good_end >= end):
                break
            damaged(good_end, failure or state.why or "truncated or unreadable record")
            pos = _resync(fh, good_end, gz, size)
    if whole:
        for offset, missing in groups.incomplete():
            if not any(r >= offset for r in reported):  # a damaged stretch after it already says what was lost
                damaged(offset, f"record group cut short: {missing} record(s) it names in WARC-Concurrent-To "
                                "(its request, metadata…) are not in the file")


class _Headers:
    """A record's WARC headers, copied out of FastWARC's record (read after the iterator has moved on)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        low = name.lower()
        for k, v in self.pairs:
            if k.lower() == low:
                return v
        return default

    def get_multiple(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.pairs if k.lower() == low]


@dataclass
class _Record:
    headers: _Headers
    block: bytes
    pos: int
    content_length: int


class _Groups:
    """Record groups of one file: a capture record that names later records in ``WARC-Concurrent-To`` (our writer
    names its request and metadata records so) is complete once they have all been read. A file cut exactly between
    records (by a copy, a full disk, a mend of another tool) loses no bytes of a record, but a group; this names it."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.waiting: dict[str, int] = {}  # a record id named by a capture and not read yet -> that capture's offset

    def read(self, rtype: str, rid: str, concurrent: list[str], pos: int) -> None:
        self.seen.add(rid)
        self.waiting.pop(rid, None)
        if rtype in CAPTURE_TYPES:
            for other in concurrent:
                if other not in self.seen:
                    self.waiting[other] = pos

    def incomplete(self) -> list[tuple[int, int]]:
        """(offset of the capture, records missing) of every group not complete at the end of the file."""
        missing: dict[int, int] = {}
        for pos in self.waiting.values():
            missing[pos] = missing.get(pos, 0) + 1
        return sorted(missing.items())


class _FileState:
    """Reading one run of records with FastWARC. A record is taken only once its end is known: where the next one
    starts, or, for the last one, where its gzip member (or its Content-Length) ends — FastWARC hands out a record
    whose member was cut inside its headers as an empty one, and a member cut in its trailer as whole. A capture is
    kept back until its request/metadata are seen."""

    def __init__(self, name: str, path: Path, gz: bool, size: int, groups: _Groups,
                 report: Callable[[int, str], None]) -> None:
        self.name, self.path, self.gz, self.size = name, path, gz, size
        self.groups = groups
        self.report = report  # a damaged stretch found while the walk goes on (an uncompressed record's end)
        self._check: BinaryIO | None = None  # a second handle on an uncompressed file, to check record ends
        self.pending: Capture | None = None
        self.last_request: _Request | None = None
        self.last_end: int | None = None      # end of the last complete record taken
        self.held: _Record | None = None      # the last record read, not taken yet
        self.stopped_at: int | None = None     # where the record that stopped the walk starts
        self.why: str | None = None

    def walk(self, fh, end: int | None) -> Iterator[Capture]:  # type: ignore[no-untyped-def]
        for rec in ArchiveIterator(fh, parse_http=False, stream_detect=True):
            pos = rec.stream_pos
            if self.held is not None:  # its member ended where this record starts
                held, self.held = self.held, None
                record_end: int | None = pos
                if not self.gz:  # no gzip CRC: its own end must be where its Content-Length says
                    record_end = self._plain_end(held)
                    if record_end is None:
                        self.report(held.pos, "record's block does not end where its Content-Length says (cut, "
                                              "then other bytes)")
                    elif record_end < pos:
                        self.report(record_end, "unreadable bytes between records")
                if record_end is not None:
                    ready = self._take(held, record_end)
                    if ready is not None:
                        yield ready
            self.stopped_at = pos
            if end is not None and pos >= end:
                return
            block = rec.reader.read()
            if len(block) < rec.content_length:
                self.why = f"record cut short: {len(block)} of its {rec.content_length} bytes"
                return  # finish() takes what came before it; the file's reader names it
            self.held = _Record(_Headers(list(rec.headers.astuples())), block, pos, rec.content_length)
        self.stopped_at = None  # the end of the data: the last record's own end must be checked

    def finish(self, fh) -> Iterator[Capture]:  # type: ignore[no-untyped-def]
        held, self.held = self.held, None
        if held is not None:
            if self.gz:
                record_end = self.stopped_at if self.stopped_at is not None else self._record_end(fh, held)
            else:
                record_end = self._plain_end(held)
            if record_end is not None:
                ready = self._take(held, record_end)
                if ready is not None:
                    yield ready
            else:
                self.why = "record cut short (its gzip member or its block ends before the file does)"
        if self.pending is not None:
            cap, self.pending = self.pending, None
            yield cap
        if self._check is not None:
            self._check.close()
            self._check = None

    def _record_end(self, fh, rec: _Record) -> int | None:  # type: ignore[no-untyped-def]
        """Where the last record read (of a gzip file) ends, or None when its member is cut short."""
        return _member_end(fh, rec.pos, True, self.size)

    def _plain_end(self, rec: _Record) -> int | None:
        """Where a record of an uncompressed file ends: after its headers, its Content-Length and the CRLF CRLF that
        must follow; None when those are not there (the file was cut inside it, whatever came after)."""
        if self._check is None:
            self._check = open(self.path, "rb")  # noqa: SIM115 - closed by finish()
        fh = self._check
        fh.seek(rec.pos)
        head = fh.read(8192)  # WARC headers are short; a long one is read whole below
        sep = head.find(b"\r\n\r\n")
        if sep < 0:
            head += fh.read(1 << 16)
            sep = head.find(b"\r\n\r\n")
        if sep < 0:
            return None
        block_end = rec.pos + sep + 4 + rec.content_length
        fh.seek(block_end)
        if fh.read(4) != b"\r\n\r\n":
            return None
        return block_end + 4

    def _take(self, rec: _Record, record_end: int) -> Capture | None:
        h, block, pos = rec.headers, rec.block, rec.pos
        self.last_end = record_end
        rtype = h.get("WARC-Type", "") or ""
        rid = h.get("WARC-Record-ID", "") or ""
        uri = (h.get("WARC-Target-URI", "") or "").strip().strip("<>")
        concurrent = list(h.get_multiple("WARC-Concurrent-To"))
        self.groups.read(rtype, rid, concurrent, pos)
        if rtype in CAPTURE_TYPES:
            out, self.pending = self.pending, self._capture(rtype, h, block, pos, rid, uri)
            self.pending.length = record_end - pos
            req = self.last_request
            if req is not None and (rid in req.concurrent_to or req.record_id in concurrent or req.uri == uri):
                self._attach(self.pending, req)
            self.last_request = None
            return out
        if rtype == "request":
            req = self._request(block, rid, uri, concurrent)
            p = self.pending
            if p is not None and p.request_record_id is None and (p.record_id in concurrent or p.url == uri):
                self._attach(p, req)
            else:
                self.last_request = req
        elif rtype == "metadata":
            p = self.pending
            ctype = (h.get("Content-Type") or "").lower()
            if p is not None and p.record_id in concurrent:
                if ctype.startswith("application/warc-fields") and METADATA_FIELD.encode() in block:
                    p.metadata = parse_metadata_fields(block)
                elif ctype.startswith("application/json"):
                    try:
                        data = json.loads(block.decode("utf-8"))
                    except (UnicodeDecodeError, json.JSONDecodeError):
                        data = None
                    if isinstance(data, dict):
                        p.metadata = data
        return None

    def _capture(self, rtype: str, h: _Headers, block: bytes, pos: int, rid: str, uri: str) -> Capture:
        cap = Capture(url=uri, captured_at=h.get("WARC-Date", "") or "", record_type=rtype, record_id=rid,
                      warc_file=self.name, offset=pos, length=None,
                      payload_digest=h.get("WARC-Payload-Digest"), ip_address=h.get("WARC-IP-Address"),
                      truncated=h.get("WARC-Truncated"))
        ctype = (h.get("Content-Type") or "").lower()
        is_http = ctype.startswith("application/http") or (rtype != "resource" and block.startswith(b"HTTP/"))
        if rtype == "revisit":
            cap.profile = h.get("WARC-Profile")
            cap.refers_to = h.get("WARC-Refers-To")
            cap.refers_to_uri = (h.get("WARC-Refers-To-Target-URI") or "").strip("<>") or None
            cap.refers_to_date = h.get("WARC-Refers-To-Date")
        if is_http:
            parsed = _split_http(block)
            if parsed is not None:
                first, headers, body = parsed
                cap.status_line = first
                parts = first.split(" ", 2)
                if len(parts) >= 2 and parts[1].isdigit():
                    cap.status = int(parts[1])
                cap.headers = headers
                cap.raw_payload = body
                ctype_h = cap.header("Content-Type")
                cap.mime = ctype_h.split(";", 1)[0].strip().lower() if ctype_h else None
                return cap
        cap.raw_payload = block
        cap.mime = ctype.split(";", 1)[0].strip() or None
        if rtype == "resource":
            cap.status = 200
        return cap

    @staticmethod
    def _request(block: bytes, rid: str, uri: str, concurrent: list[str]) -> _Request:
        parsed = _split_http(block)
        method, body = "GET", b""
        headers: list[tuple[str, str]] = []
        if parsed is not None:
            first, headers, body = parsed
            method = first.split(" ", 1)[0].upper() or "GET"
        return _Request(rid, uri, concurrent, method, headers, body)

    @staticmethod
    def _attach(cap: Capture, req: _Request) -> None:
        cap.method = req.method
        cap.request_headers = req.headers
        cap.request_body = req.body
        cap.request_record_id = req.record_id


__all__ = ["CAPTURE_TYPES", "Capture", "DamagedRecord", "WarcRecordType", "iter_captures", "read_capture_at",
           "warc_files"]
