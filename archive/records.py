"""Building WARC/1.1 records with warcio and serializing each into its own gzip member.

Builders take plain values (no Scrapy objects) so they run on the writer thread and in tests alike.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus

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
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


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


def response_record(ex: Exchange) -> ArcWarcRecord:
    w = _writer(io.BytesIO())
    http = StatusAndHeaders(_status_line(ex.status), _response_header_list(ex.response_headers), protocol=ex.protocol)
    headers: dict[str, str] = {"WARC-Record-ID": ex.record_id, "WARC-Date": ex.date}
    if ex.ip_address:
        headers["WARC-IP-Address"] = ex.ip_address
    if ex.truncated:
        headers["WARC-Truncated"] = ex.truncated
    if ex.revisit is not None:
        headers["WARC-Refers-To-Target-URI"] = ex.revisit.uri
        headers["WARC-Refers-To-Date"] = ex.revisit.date
        if ex.revisit.record_id:
            headers["WARC-Refers-To"] = ex.revisit.record_id
        headers["WARC-Profile"] = ex.revisit.profile
        headers["WARC-Payload-Digest"] = ex.revisit.digest
        return w.create_warc_record(target_uri(ex.url), "revisit", http_headers=http, warc_headers_dict=headers)
    return w.create_warc_record(target_uri(ex.url), "response", payload=io.BytesIO(ex.body),
                                length=len(ex.body), http_headers=http, warc_headers_dict=headers)


def request_target(url: str) -> str:
    """The request-target of the request line: path and query, percent-encoded."""
    from urllib.parse import urlsplit

    parts = urlsplit(target_uri(url))
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def request_record(ex: Exchange) -> ArcWarcRecord:
    from urllib.parse import urlsplit

    w = _writer(io.BytesIO())
    names = {n.lower() for n, _ in ex.request_headers}
    req_headers = list(ex.request_headers)
    if "host" not in names:
        req_headers.insert(0, ("Host", urlsplit(target_uri(ex.url)).netloc))
    if ex.request_body and "content-length" not in names:
        req_headers.append(("Content-Length", str(len(ex.request_body))))
    http = StatusAndHeaders(f"{ex.method} {request_target(ex.url)} {ex.protocol}", req_headers,
                            is_http_request=True)
    headers = {"WARC-Record-ID": ex.request_record_id, "WARC-Date": ex.date, "WARC-Concurrent-To": ex.record_id}
    return w.create_warc_record(target_uri(ex.url), "request", payload=io.BytesIO(ex.request_body),
                                length=len(ex.request_body), http_headers=http, warc_headers_dict=headers)


METADATA_FIELD = "nianbao-metadata"


def metadata_fields(content: dict[str, object]) -> bytes:
    """`application/warc-fields` as Heritrix writes them (`outlink:` lines, …), plus one `nianbao-metadata:` line
    with the rest as JSON. warc-fields (not JSON) keep replay tools and indexers from taking it for a capture."""
    rest = {k: v for k, v in content.items() if k not in ("outlinks", "charset")}
    lines = [f"{METADATA_FIELD}: {json.dumps(rest, ensure_ascii=False, sort_keys=True)}"]
    if content.get("charset"):
        lines.append(f"charset: {content['charset']}")
    for link in content.get("outlinks") or []:  # type: ignore[attr-defined]
        lines.append(f"outlink: {target_uri(str(link))}")
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
                    record_id: str | None = None) -> ArcWarcRecord:
    w = _writer(io.BytesIO())
    data = metadata_fields(content)
    headers = {"WARC-Record-ID": record_id or new_record_id(), "WARC-Date": date,
               "WARC-Concurrent-To": concurrent_to, "Content-Type": "application/warc-fields"}
    return w.create_warc_record(target_uri(url), "metadata", payload=io.BytesIO(data), length=len(data),
                                warc_headers_dict=headers, warc_content_type="application/warc-fields")


def resource_record(uri: str, date: str, content_type: str, body: bytes, record_id: str | None = None,
                    concurrent_to: str | None = None, source_uri: str | None = None) -> ArcWarcRecord:
    """A resource record (e.g. a rendered DOM under a `urn:` URI): no HTTP headers, the block is the content."""
    w = _writer(io.BytesIO())
    headers = {"WARC-Record-ID": record_id or new_record_id(), "WARC-Date": date, "Content-Type": content_type}
    if concurrent_to:
        headers["WARC-Concurrent-To"] = concurrent_to
    if source_uri:
        headers["WARC-Source-URI"] = target_uri(source_uri)
    record = w.create_warc_record(uri, "resource", payload=io.BytesIO(body), length=len(body),
                                  warc_headers_dict=headers, warc_content_type=content_type,
                                  http_headers=StatusAndHeaders("", [], protocol=""))
    # A resource has no HTTP part; an empty StatusAndHeaders only stops warcio from sniffing one.
    record.http_headers = None
    return record


def warcinfo_record(filename: str, fields: Iterable[tuple[str, str]], date: str) -> ArcWarcRecord:
    w = _writer(io.BytesIO())
    body = "".join(f"{k}: {v}\r\n" for k, v in fields if v).encode("utf-8")
    headers = {"WARC-Record-ID": new_record_id(), "WARC-Date": date, "WARC-Filename": filename,
               "Content-Type": "application/warc-fields"}
    return w.create_warc_record("", "warcinfo", payload=io.BytesIO(body), length=len(body),
                                warc_headers_dict=headers, warc_content_type="application/warc-fields")


def serialize_counted(record: ArcWarcRecord, level: int = 6) -> tuple[bytes, int]:
    """One record as one gzip member (so any record can be read from its offset alone), and its raw size."""
    raw = io.BytesIO()
    _writer(raw).write_record(record)
    data = raw.getvalue()
    comp = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return comp.compress(data) + comp.flush(), len(data)


def serialize(record: ArcWarcRecord, level: int = 6) -> bytes:
    return serialize_counted(record, level)[0]
