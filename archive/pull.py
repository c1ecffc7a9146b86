"""`pull`: one raw snapshot of a URL, as the payload, the HTTP response, or the WARC records."""

from __future__ import annotations

import os
from datetime import datetime
from typing import BinaryIO

from .lookup import list_captures, load_capture
from .reader import Capture, read_capture_at

FORMS = ("payload", "http", "warc")


def http_message(cap: Capture) -> bytes:
    """The HTTP response as archived: status line, headers (as stored), the payload still content-encoded."""
    status_line = cap.status_line or f"HTTP/1.1 {cap.status or 200}"
    head = status_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in cap.headers) + "\r\n"
    return head.encode("latin-1", "replace") + cap.raw_payload


def _record_bytes(warc_file: str, offset: int, length: int | None) -> bytes:
    if length is None:
        raise ValueError(f"{warc_file}@{offset}: record length unknown (damaged file?); cannot copy it")
    with open(warc_file, "rb") as fh:
        fh.seek(offset)
        return fh.read(length)


def warc_records(url: str, *, at: str | datetime | None = None, archive_dir: str | os.PathLike[str] | None = None,
                 warc_dir: str | os.PathLike[str] | None = None) -> bytes:
    """The capture's record (and, for a revisit, the record holding its payload), byte for byte."""
    cap = load_capture(url, archive_dir=archive_dir, at=at, warc_dir=warc_dir, resolve=False)
    data = _record_bytes(cap.warc_file, cap.offset, cap.length)
    if cap.record_type == "revisit":
        originals = _originals(cap, archive_dir, warc_dir)
        if not originals:
            raise LookupError(f"{url}: revisit of {cap.refers_to_uri} at {cap.refers_to_date}, which is not in the "
                              "archive")
        data = _record_bytes(originals[0].warc_file, originals[0].offset, originals[0].length) + data
    return data


def _originals(cap: Capture, archive_dir: str | os.PathLike[str] | None,
               warc_dir: str | os.PathLike[str] | None) -> list[Capture]:
    target = cap.refers_to_uri or cap.url
    out = []
    for e in list_captures(target, archive_dir=archive_dir, warc_dir=warc_dir, include_dom=False):
        if e.record_type != "revisit" and (not cap.payload_digest or e.digest == cap.payload_digest):
            c = read_capture_at(e.warc_file, e.offset)
            if not cap.refers_to or c.record_id == cap.refers_to:
                out.append(c)
    return out


def snapshot(url: str, form: str = "payload", *, at: str | datetime | None = None,
             archive_dir: str | os.PathLike[str] | None = None,
             warc_dir: str | os.PathLike[str] | None = None) -> bytes:
    if form not in FORMS:
        raise ValueError(f"--as {form!r}: choose one of {', '.join(FORMS)}")
    if form == "warc":
        return warc_records(url, at=at, archive_dir=archive_dir, warc_dir=warc_dir)
    cap = load_capture(url, archive_dir=archive_dir, at=at, warc_dir=warc_dir)
    return cap.payload if form == "payload" else http_message(cap)


def pull(url: str, out: BinaryIO, form: str = "payload", **kwargs: object) -> int:
    data = snapshot(url, form, **kwargs)  # type: ignore[arg-type]
    out.write(data)
    return len(data)
