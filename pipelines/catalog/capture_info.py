"""What the catalog records about one capture, built the same way from a live item and from a WARC capture.

Both the item pipelines and ``scrapy rebuild`` turn their input into a :class:`CaptureInfo` through the functions
here, so the two paths cannot disagree on a field's spelling (dates, content types, digests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from archive.naming import OPEN_SUFFIX, parse_warc_name
from archive.records import sha1_digest, sha1_of
from crawler.routing import Routing

__all__ = ["CaptureInfo", "payload_digest", "sha1_of"]


_NO_ROUTING = Routing(role="report")


@dataclass(frozen=True)
class CaptureInfo:
    """One capture as the catalog records it: where and when it was archived, its payload, and the routing record
    the spider made for it (held, not copied: its fields are the row's ``source``, ``agency``, … columns)."""

    url: str
    record_id: str
    captured_at: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    status: int | None = None
    content_type: str | None = None
    payload_digest: str | None = None
    payload_length: int | None = None
    routing: Routing = _NO_ROUTING
    run_id: str | None = None

    @property
    def role(self) -> str:
        """``attachment`` (a document linked from a detail page) or ``report``."""
        return "attachment" if self.routing.attachment_of else "report"

    @classmethod
    def of_capture(cls, url: str, record_id: str, body: bytes, routing: Routing, *, captured_at: str | None,
                   warc_file: str | None, warc_offset: int | None, status: int | None,
                   content_type: str | None) -> CaptureInfo:
        """The one place a capture's catalog facts are assembled, from the routing record the spider made (the
        item's live, the WARC metadata record's in a rebuild): so live and rebuilt catalogs cannot drift."""
        return cls(
            url=url, record_id=record_id, captured_at=normalise_timestamp(captured_at),
            warc_file=(warc_file or "").removesuffix(OPEN_SUFFIX) or None, warc_offset=warc_offset,
            status=status, content_type=content_type,
            payload_digest=payload_digest(body), payload_length=len(body), routing=routing,
        )

    def with_offset(self, warc_file: str | None, warc_offset: int | None) -> CaptureInfo:
        return replace(self, warc_file=warc_file or self.warc_file, warc_offset=warc_offset)

    def source_dict(self) -> dict[str, Any]:
        """The ``source`` object of the canonical report JSON."""
        return {"url": self.url, "captured_at": self.captured_at, "warc_file": self.warc_file,
                "warc_offset": self.warc_offset, "warc_record_id": self.record_id,
                "content_type": self.content_type, "attachment_of": self.routing.attachment_of}


def payload_digest(body: bytes) -> str:
    """``sha1:BASE32`` of the payload, as WARC-Payload-Digest spells it (the archive's digest, memoised)."""
    return sha1_digest(body)


def normalise_timestamp(value: str | None) -> str | None:
    """ISO-8601 UTC with ``Z``, to the second or the precision given (WARC-Date and Scrapy meta agree on it)."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    spec = "microseconds" if parsed.microsecond else "seconds"
    return parsed.isoformat(timespec=spec) + "Z"


def header_value(headers: Mapping[Any, Any] | None, name: str) -> str | None:
    """The first value of header ``name`` in a dict of str/bytes keys to str/bytes values or lists of them."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        key_text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key_text.lower() != wanted:
            continue
        if isinstance(value, list | tuple):
            if not value:
                return None
            value = value[0]
        return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return None


def content_type_of(headers: Mapping[Any, Any] | None, fallback: str | None = None) -> str | None:
    """The media type (lower case, no parameters) from Content-Type, else ``fallback``'s."""
    raw = header_value(headers, "content-type") or fallback
    if not raw:
        return None
    return raw.split(";", 1)[0].strip().lower() or None


def run_ids_for_files(warc_files: set[str]) -> dict[str, str]:
    """Map each WARC basename to the crawl run that wrote it.

    Our files are named as :mod:`archive.naming` says (``NIANBAO-<timestamp>-<serial>-<host>-<pid>.warc.gz``,
    read by its :func:`~archive.naming.parse_warc_name`): one process writes serials
    00000, 00001, … so a run is a host/pid whose serial restarts; its id is ``<host>-<pid>-<first timestamp>``.
    A file from another tool is a run of its own, named after the file.
    """
    out: dict[str, str] = {}
    ours: dict[tuple[str, int], list[tuple[str, int, str]]] = {}
    for name in warc_files:
        parsed = parse_warc_name(name)
        if parsed is None:
            out[name] = name.removesuffix(".gz").removesuffix(".warc")
            continue
        ours.setdefault((parsed.host, parsed.pid), []).append((parsed.timestamp, parsed.serial, name))
    for (host, pid), files in ours.items():
        current: str | None = None
        last_serial = -1
        for ts, serial, name in sorted(files):
            if current is None or serial <= last_serial:
                current = f"{host}-{pid}-{ts}"
            last_serial = serial
            out[name] = current
    return out
