"""Finding captures of a URL: through the CDXJ indexes of an archive, or by reading any folder of WARCs.

`load_capture()` returns the capture closest to a time (the latest without one), with a revisit resolved to
the capture holding the payload. Works on WARCs written by other tools (wget, warcio) through `warc_dir`.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from .cdxj import INDEX_SUFFIX, parse_line
from .reader import Capture, iter_captures, read_capture_at, warc_files
from .urls import check_url, dom_urn, search_prefix, surt_key, target_uri


class CaptureNotFound(LookupError):
    """No capture of the URL (at that time) in the archive."""


@dataclass(frozen=True)
class CaptureEntry:
    """One line of `captures`: where a capture is and what it says, without its payload."""

    url: str
    timestamp: str
    captured_at: str
    record_type: str
    status: int | None
    mime: str | None
    digest: str | None
    length: int | None
    warc_file: str
    offset: int
    method: str = "GET"


def default_archive_dir() -> Path:
    """``$ARCHIVE_DIR``, else ``data``: the project setting's own default (crawler/settings.py); commands pass
    the setting's value explicitly."""
    return Path(os.environ.get("ARCHIVE_DIR") or "data")


def parse_at(at: str | datetime | None) -> str | None:
    """`YYYY[MM[DD[hh[mm[ss]]]]]` (or a datetime) → 14 digits, missing parts as their earliest value."""
    if at is None:
        return None
    if isinstance(at, datetime):
        return at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    digits = "".join(ch for ch in str(at) if ch.isdigit())
    if len(digits) < 4 or len(digits) > 14:
        raise ValueError(f"--at wants YYYYMMDDhhmmss (at least the year), got {at!r}")
    return (digits + "00000101000000"[len(digits):])[:14]


def _same_url(a: str, b: str) -> bool:
    if a == b:
        return True
    if a.startswith("urn:") or b.startswith("urn:"):
        return False
    return surt_key(target_uri(a)) == surt_key(target_uri(b))


def _distance(ts: str, at: str | None) -> tuple[int, int]:
    if at is None:
        return (0, -int(ts or 0))  # latest first
    t = datetime.strptime(ts.ljust(14, "0")[:14], "%Y%m%d%H%M%S")
    a = datetime.strptime(at, "%Y%m%d%H%M%S")
    return (abs(int((t - a).total_seconds())), -int(ts or 0))


# --- index access -------------------------------------------------------------------------------

def _index_files(index_dir: Path) -> list[Path]:
    return sorted(index_dir.glob("*" + INDEX_SUFFIX)) if index_dir.is_dir() else []


def _prefix_lines(path: Path, prefix: str) -> Iterator[str]:
    """Lines of a sorted CDXJ file starting with `prefix` (binary search over an mmap)."""
    if path.stat().st_size == 0:
        return
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        p = prefix.encode("utf-8")
        lo, hi = 0, len(mm)
        while lo < hi:  # find the first line whose key >= prefix
            mid = (lo + hi) // 2
            start = mm.rfind(b"\n", 0, mid) + 1
            end = mm.find(b"\n", start)
            end = len(mm) if end < 0 else end
            if mm[start:end] < p:
                lo = end + 1
            else:
                hi = start
        pos = lo
        while pos < len(mm):
            end = mm.find(b"\n", pos)
            end = len(mm) if end < 0 else end
            line = mm[pos:end]
            if not line.startswith(p):
                break
            yield line.decode("utf-8")
            pos = end + 1


def _entries_from_index(url: str, index_dir: Path, warc_dir: Path) -> tuple[list[CaptureEntry], set[str]]:
    prefix = search_prefix(target_uri(url))
    out = []
    indexed: set[str] = set()
    for idx in _index_files(index_dir):
        indexed.add(idx.name[: -len(INDEX_SUFFIX)])
        for line in _prefix_lines(idx, prefix):
            _key, ts, data = parse_line(line)
            if not _same_url(data.get("url", ""), url):
                continue
            mime = data.get("mime")
            out.append(CaptureEntry(
                url=data["url"], timestamp=ts, captured_at=ts, record_type="revisit" if mime == "warc/revisit"
                else ("resource" if data.get("url", "").startswith("urn:") else "response"),
                status=int(data["status"]) if str(data.get("status", "")).isdigit() else None, mime=mime,
                digest=data.get("digest"), length=int(data["length"]) if "length" in data else None,
                warc_file=str(warc_dir / data["filename"]), offset=int(data["offset"]),
                method=data.get("method", "GET")))
    return out, indexed


def _entry(cap: Capture) -> CaptureEntry:
    return CaptureEntry(url=cap.url, timestamp=cap.timestamp, captured_at=cap.captured_at,
                        record_type=cap.record_type, status=cap.status,
                        mime="warc/revisit" if cap.record_type == "revisit" else cap.mime,
                        digest=cap.payload_digest, length=cap.length, warc_file=cap.warc_file, offset=cap.offset,
                        method=cap.method)


def list_captures(url: str, archive_dir: str | os.PathLike[str] | None = None,
                  warc_dir: str | os.PathLike[str] | None = None, include_dom: bool = True) -> list[CaptureEntry]:
    """Every capture of `url` (GET and POST), oldest first; with `include_dom`, also the rendered DOMs of it that
    browser capture stored as `urn:dom:<url>` resources.

    With `warc_dir`, that folder's WARCs are read directly (any tool's); otherwise the archive's CDXJ indexes
    are searched, and WARCs without an index are read.
    """
    urls = [check_url(url)]  # a malformed URL is one line (BadUrl, a ValueError), not a traceback from urlsplit
    if include_dom and not url.startswith("urn:"):
        urls.append(dom_urn(url))
    entries: list[CaptureEntry] = []
    if warc_dir is not None:
        entries = [_entry(c) for c in iter_captures(warc_files(Path(warc_dir)))
                   if any(_same_url(c.url, u) for u in urls)]
    else:
        root = Path(archive_dir) if archive_dir is not None else default_archive_dir()
        wdir, idir = root / "warc", root / "index"
        indexed: set[str] = set()
        for u in urls:
            found, indexed = _entries_from_index(u, idir, wdir)
            entries += found
        unindexed = [p for p in (warc_files(wdir) if wdir.is_dir() else []) if p.name not in indexed]
        if unindexed:
            entries += [_entry(c) for c in iter_captures(unindexed) if any(_same_url(c.url, u) for u in urls)]
    entries.sort(key=lambda e: (e.timestamp, e.warc_file, e.offset))
    return entries


def _resolve_revisit(cap: Capture, candidates_dir: Path | None, archive_dir: Path | None) -> Capture:
    """A revisit with the payload (status/headers stay the revisit's own for server-not-modified)."""
    target = cap.refers_to_uri or cap.url
    ts = "".join(ch for ch in (cap.refers_to_date or "") if ch.isdigit())[:14]
    entries = list_captures(target, archive_dir=archive_dir, warc_dir=candidates_dir, include_dom=False)
    wanted = [e for e in entries if e.record_type != "revisit" and (not cap.payload_digest or
                                                                    e.digest == cap.payload_digest)]
    if cap.refers_to:
        for e in wanted:
            orig = read_capture_at(e.warc_file, e.offset)
            if orig.record_id == cap.refers_to:
                return _merge(cap, orig)
    if ts:
        wanted.sort(key=lambda e: _distance(e.timestamp, ts))
    if not wanted:
        raise CaptureNotFound(f"{cap.url}: revisit of {target} at {cap.refers_to_date} but that capture is not in "
                              "the archive")
    return _merge(cap, read_capture_at(wanted[0].warc_file, wanted[0].offset))


def _merge(revisit: Capture, orig: Capture) -> Capture:
    headers = revisit.headers if revisit.status and revisit.status != 304 else orig.headers
    status = revisit.status if revisit.status and revisit.status != 304 else orig.status
    status_line = revisit.status_line if revisit.status and revisit.status != 304 else orig.status_line
    return replace(revisit, headers=headers, status=status, status_line=status_line, raw_payload=orig.raw_payload,
                   mime=orig.mime, metadata=revisit.metadata or orig.metadata)


def load_capture(url: str, archive_dir: str | os.PathLike[str] | None = None,
                 at: str | datetime | None = None, warc_dir: str | os.PathLike[str] | None = None,
                 resolve: bool = True) -> Capture:
    """The capture of `url` closest to `at` (the latest without), revisits resolved to their payload.

    Raises `CaptureNotFound` with a one-line reason, `ValueError` (one line) for a malformed `url` or `at`.
    """
    when = parse_at(at)
    root = Path(archive_dir) if archive_dir is not None else (None if warc_dir is not None else default_archive_dir())
    wdir = Path(warc_dir) if warc_dir is not None else None
    entries = list_captures(url, archive_dir=root, warc_dir=wdir, include_dom=False)
    if not entries:
        where = wdir if wdir is not None else root
        raise CaptureNotFound(f"no capture of {url} in {where}")
    entries.sort(key=lambda e: _distance(e.timestamp, when))
    best = entries[0]
    cap = read_capture_at(best.warc_file, best.offset)
    if resolve and cap.record_type == "revisit":
        cap = _resolve_revisit(cap, wdir, root)
    return cap
