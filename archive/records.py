"""Building WARC/1.1 records (as warcio builds them, byte for byte) and serializing each into its own gzip member.

Builders take plain values (no Scrapy objects) so they run on the writer thread and in tests alike.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import threading
import uuid
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .urls import target_uri

WARC_VERSION = "WARC/1.1"
PROFILE_IDENTICAL = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
# Header names kept in the archive but renamed, because the body stored is no longer in that form.
TRANSFER_ENCODING_RENAMED = "X-Archive-Orig-Transfer-Encoding"

Headers = Sequence[tuple[str, str]]


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(when: datetime) -> str:
    """WARC/1.1 date with microseconds, UTC, `Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha1_digest(data: bytes) -> str:
    """`sha1:<base32>` as in WARC-Payload-Digest."""
    return "sha1:" + base64.b32encode(sha1_of(data)).decode("ascii")


# The SHA-1 of the last few bodies, by identity: the archive, the incremental state and the catalog each digest a
# page's `response.body`, the same bytes object (a body held here cannot be freed, so its id cannot be reused).
# Bodies over _MEMO_MAX_BYTES are not held.
_MEMO_SIZE = 8
_MEMO_MAX_BYTES = 4 * 1024 * 1024
_memo: deque[tuple[bytes, bytes]] = deque(maxlen=_MEMO_SIZE)
_memo_lock = threading.Lock()


def sha1_of(body: bytes | bytearray | memoryview) -> bytes:
    """``hashlib.sha1(body).digest()``, computed once for a body object digested several times in a row."""
    with _memo_lock:
        for held, digest in _memo:
            if held is body:
                return digest
    digest = hashlib.sha1(body).digest()
    if type(body) is bytes and len(body) <= _MEMO_MAX_BYTES:
        with _memo_lock:
            _memo.append((body, digest))
    return digest


@dataclass
class RevisitOf:
    """What a revisit record refers to."""

    profile: str
    uri: str
    date: str
    record_id: str | None
    digest: str


@dataclass
class Exchange:
    """One HTTP request/response as seen on the wire (body still content-encoded, transfer-decoded)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    body: bytes
    date: str
    record_id: str = field(default_factory=new_record_id)
    request_record_id: str = field(default_factory=new_record_id)
    protocol: str = "HTTP/1.1"
    ip_address: str | None = None
    payload_digest: str | None = None
    revisit: RevisitOf | None = None
    truncated: str | None = None


def _writer(out: io.BytesIO) -> WARCWriter:
    return WARCWriter(out, gzip=False, warc_version=WARC_VERSION)


# `target_uri`, remembered: a capture's URL is put in several records (and in the dedup store) and the same
# outlinks in many metadata records.
cached_target_uri = functools.lru_cache(maxsize=8192)(target_uri)
_uri = cached_target_uri

# What warcio's record builder puts in `Content-Type` when it is not given, and the types without a payload digest.
_DEFAULT_CONTENT_TYPES = {"warcinfo": "application/warc-fields", "response": "application/http; msgtype=response",
                          "revisit": "application/http; msgtype=response",
                          "request": "application/http; msgtype=request", "metadata": "application/warc-fields"}
_NO_PAYLOAD_DIGEST = ("warcinfo", "revisit")


class FinalRecord(ArcWarcRecord):
    """A record whose headers are final (digests, Content-Type, Content-Length) and whose block is in memory.

    Built in one pass the way warcio's `create_warc_record` + `write_record` build it, header for header and
    byte for byte, without the record's block being streamed, copied and hashed again on every step.
    """

    def __init__(self, rec_type: str, rec_headers: StatusAndHeaders, http_headers: StatusAndHeaders | None,
                 http_block: bytes, payload: bytes, content_type: str) -> None:
        length = len(http_block) + (0 if rec_type == "revisit" else len(payload)) if http_headers else len(payload)
        super().__init__("warc", rec_type, rec_headers, io.BytesIO(payload), http_headers, content_type, length)
        self.payload_length = len(payload)
        self.http_block = http_block
        self.payload = payload

    def to_bytes(self) -> bytes:
        """The record as `WARCWriter(gzip=False).write_record` writes it."""
        parts = [self.rec_headers.to_bytes(encoding="utf-8"), self.http_block]
        if self.rec_type != "revisit":
            parts.append(self.payload)
        parts.append(b"\r\n\r\n")
        return b"".join(parts)


def build_record(uri: str, rec_type: str, warc_headers: dict[str, str], *, payload: bytes = b"",
                 http_headers: StatusAndHeaders | None = None, content_type: str = "",
                 payload_digest: str | None = None) -> FinalRecord:
    """What `WARCWriter.create_warc_record(uri, rec_type, payload=BytesIO(payload), length=len(payload),
    http_headers=..., warc_headers_dict=..., warc_content_type=...)` and then `write_record` make of a record.

    `payload_digest`, when given, is the sha1 digest of `payload` already computed (the capture computes it
    for deduplication); it is not computed a second time. The header order is warcio's: the given headers, then
    WARC-Type, WARC-Target-URI, WARC-Payload-Digest, WARC-Block-Digest, Content-Type, Content-Length (each
    replaced in place when given).
    """
    rec = StatusAndHeaders("", list(warc_headers.items()), protocol=WARC_VERSION)
    rec.replace_header("WARC-Type", rec_type)
    if not rec.get_header("WARC-Record-ID"):
        rec.add_header("WARC-Record-ID", new_record_id())
    if uri:
        rec.replace_header("WARC-Target-URI", uri)
    if not rec.get_header("WARC-Date"):
        rec.add_header("WARC-Date", warc_date(datetime.now(UTC)))
    content_type = content_type or rec.get_header("Content-Type") or _DEFAULT_CONTENT_TYPES.get(
        rec_type, "application/warc-record")
    http_block = b""
    if http_headers:
        http_headers.compute_headers_buffer()
        http_block = http_headers.headers_buff or b""
    else:
        http_headers = None
    if not rec.get_header("WARC-Payload-Digest") and rec_type not in _NO_PAYLOAD_DIGEST:
        payload_digest = payload_digest or sha1_digest(payload)
        rec.add_header("WARC-Payload-Digest", payload_digest)
    if not rec.get_header("WARC-Block-Digest"):
        if http_headers is None and payload_digest:  # no HTTP part: the block is the payload
            block_digest = payload_digest
        else:
            block = hashlib.sha1(http_block)
            block.update(payload)
            block_digest = "sha1:" + base64.b32encode(block.digest()).decode("ascii")
        rec.add_header("WARC-Block-Digest", block_digest)
    rec.replace_header("Content-Type", content_type)
    record = FinalRecord(rec_type, rec, http_headers, http_block, payload, content_type)
    rec.replace_header("Content-Length", str(record.length))
    return record


def _response_header_list(headers: Headers) -> list[tuple[str, str]]:
    """The response headers to store: a dechunked body cannot keep `Transfer-Encoding: chunked`."""
    out = []
    for name, value in headers:
        if name.lower() == "transfer-encoding":
            out.append((TRANSFER_ENCODING_RENAMED, value))
        else:
            out.append((name, value))
    return out


def _status_line(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"{status} {phrase}".rstrip()


def response_parts(ex: Exchange) -> tuple[str, dict[str, str], StatusAndHeaders]:
    """The record type (response or revisit), WARC headers and HTTP head of an exchange's response record."""
    http = StatusAndHeaders(_status_line(ex.status), _response_header_list(ex.response_headers), protocol=ex.protocol)
    headers: dict[str, str] = {"WARC-Record-ID": ex.record_id, "WARC-Date": ex.date}
    if ex.ip_address:
        headers["WARC-IP-Address"] = ex.ip_address
    if ex.truncated:
        headers["WARC-Truncated"] = ex.truncated
    if ex.revisit is None:
        return "response", headers, http
    headers["WARC-Refers-To-Target-URI"] = ex.revisit.uri
    headers["WARC-Refers-To-Date"] = ex.revisit.date
    if ex.revisit.record_id:
        headers["WARC-Refers-To"] = ex.revisit.record_id
    headers["WARC-Profile"] = ex.revisit.profile
    headers["WARC-Payload-Digest"] = ex.revisit.digest
    return "revisit", headers, http


def response_record(ex: Exchange) -> FinalRecord:
    rec_type, headers, http = response_parts(ex)
    if rec_type == "revisit":
        return build_record(_uri(ex.url), "revisit", headers, http_headers=http)
    # ex.payload_digest of a capture (not a revisit) is the digest of ex.body, computed when it was captured
    return build_record(_uri(ex.url), "response", headers, payload=ex.body, http_headers=http,
                        payload_digest=ex.payload_digest)


def request_target(url: str) -> str:
    """The request-target of the request line: path and query, percent-encoded."""
    parts = urlsplit(_uri(url))
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def request_parts(ex: Exchange) -> tuple[dict[str, str], StatusAndHeaders]:
    """The WARC headers and HTTP head of an exchange's request record (Host and Content-Length added if missing)."""
    names = {n.lower() for n, _ in ex.request_headers}
    req_headers = list(ex.request_headers)
    if "host" not in names:
        req_headers.insert(0, ("Host", urlsplit(_uri(ex.url)).netloc))
    if ex.request_body and "content-length" not in names:
        req_headers.append(("Content-Length", str(len(ex.request_body))))
    http = StatusAndHeaders(f"{ex.method} {request_target(ex.url)} {ex.protocol}", req_headers,
                            is_http_request=True)
    headers = {"WARC-Record-ID": ex.request_record_id, "WARC-Date": ex.date, "WARC-Concurrent-To": ex.record_id}
    return headers, http


def request_record(ex: Exchange) -> FinalRecord:
    headers, http = request_parts(ex)
    return build_record(_uri(ex.url), "request", headers, payload=ex.request_body, http_headers=http)


METADATA_FIELD = "nianbao-metadata"


def metadata_fields(content: dict[str, object]) -> bytes:
    """`application/warc-fields` as Heritrix writes them (`outlink:` lines, …), plus one `nianbao-metadata:` line
    with the rest as JSON. warc-fields (not JSON) keep replay tools and indexers from taking it for a capture."""
    rest = {k: v for k, v in content.items() if k not in ("outlinks", "charset")}
    lines = [f"{METADATA_FIELD}: {json.dumps(rest, ensure_ascii=False, sort_keys=True)}"]
    if content.get("charset"):
        lines.append(f"charset: {content['charset']}")
    for link in content.get("outlinks") or []:  # type: ignore[attr-defined]
        lines.append(f"outlink: {_uri(str(link))}")
    return ("".join(line + "\r\n" for line in lines)).encode("utf-8")


def parse_metadata_fields(block: bytes) -> dict[str, object]:
    """The inverse of `metadata_fields` (unknown fields are kept as strings, repeated ones as lists)."""
    out: dict[str, object] = {}
    outlinks: list[str] = []
    for raw in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = raw.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name == METADATA_FIELD:
            try:
                data = json.loads(value)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict):
                out.update(data)
        elif name == "outlink":
            outlinks.append(value)
        elif name in out and name != "charset":
            prev = out[name]
            out[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[name] = value
    out["outlinks"] = outlinks
    out.setdefault("charset", None)
    return out


def metadata_record(url: str, date: str, concurrent_to: str, content: dict[str, object],
                    record_id: str | None = None) -> FinalRecord:
    data = metadata_fields(content)
    headers = {"WARC-Record-ID": record_id or new_record_id(), "WARC-Date": date,
               "WARC-Concurrent-To": concurrent_to, "Content-Type": "application/warc-fields"}
    return build_record(_uri(url), "metadata", headers, payload=data, content_type="application/warc-fields")


def resource_record(uri: str, date: str, content_type: str, body: bytes, record_id: str | None = None,
                    concurrent_to: str | None = None, source_uri: str | None = None) -> FinalRecord:
    """A resource record (e.g. a rendered DOM under a `urn:` URI): no HTTP headers, the block is the content."""
    headers = {"WARC-Record-ID": record_id or new_record_id(), "WARC-Date": date, "Content-Type": content_type}
    if concurrent_to:
        headers["WARC-Concurrent-To"] = concurrent_to
    if source_uri:
        headers["WARC-Source-URI"] = _uri(source_uri)
    return build_record(uri, "resource", headers, payload=body, content_type=content_type)


def warcinfo_record(filename: str, fields: Iterable[tuple[str, str]], date: str) -> FinalRecord:
    body = "".join(f"{k}: {v}\r\n" for k, v in fields if v).encode("utf-8")
    headers = {"WARC-Record-ID": new_record_id(), "WARC-Date": date, "WARC-Filename": filename,
               "Content-Type": "application/warc-fields"}
    return build_record("", "warcinfo", headers, payload=body, content_type="application/warc-fields")


def serialize_counted(record: ArcWarcRecord, level: int = 6) -> tuple[bytes, int]:
    """One record as one gzip member (so any record can be read from its offset alone), and its raw size."""
    if isinstance(record, FinalRecord):
        data = record.to_bytes()
    else:
        raw = io.BytesIO()
        _writer(raw).write_record(record)
        data = raw.getvalue()
    return zlib.compress(data, level, wbits=zlib.MAX_WBITS + 16), len(data)


def serialize(record: ArcWarcRecord, level: int = 6) -> bytes:
    return serialize_counted(record, level)[0]
