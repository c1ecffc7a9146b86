"""`wacz`: package WARCs as a WACZ 1.1.1 file (https://specs.webrecorder.net/wacz/1.1.1/), streamed.

Layout: `archive/<warc>` (stored), `indexes/index.cdxj` (merged, sorted), `pages/pages.jsonl` (the report
pages, from our metadata records; every HTML 200 page when there are none), `datapackage.json` (sha256 and size of
every file), `datapackage-digest.json`. Files are copied in chunks and hashed on the way; nothing is held in
memory whole. Names inside the zip are WARC basenames checked against a strict pattern (no zip-slip).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .cdxj import index_lines, index_path_for, parse_line, sorted_lines
from .reader import iter_captures, warc_files
from .urls import surt_key, target_uri

WACZ_VERSION = "1.1.1"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CHUNK = 1 << 20


@dataclass
class WaczReport:
    path: Path
    warcs: int = 0
    pages: int = 0
    index_lines: int = 0
    resources: list[dict[str, Any]] = field(default_factory=list)


def _arcname(folder: str, name: str) -> str:
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(f"refusing to package {name!r}: not a plain file name")
    return f"{folder}/{name}"


class _HashingWriter:
    def __init__(self, dst: IO[bytes]) -> None:
        self.dst = dst
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.dst.write(data)
        self.sha.update(data)
        self.size += len(data)


def _add_stream(zf: zipfile.ZipFile, arcname: str, chunks: Iterable[bytes], report: WaczReport) -> None:
    info = zipfile.ZipInfo(arcname, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    with zf.open(info, "w", force_zip64=True) as dst:
        w = _HashingWriter(dst)
        for chunk in chunks:
            w.write(chunk)
    # Frictionless (which `wacz validate` runs) wants resource names in [-a-z0-9._/]
    name = re.sub(r"[^-a-z0-9._/]", "-", arcname.rsplit("/", 1)[1].lower())
    report.resources.append({"name": name, "path": arcname,
                             "hash": "sha256:" + w.sha.hexdigest(), "bytes": w.size})


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def _encoded(lines: Iterable[str], counter: list[int]) -> Iterator[bytes]:
    for line in lines:
        counter[0] += 1
        yield line.encode("utf-8")


def _matches(url: str, prefix: str | None) -> bool:
    return prefix is None or url.startswith(prefix) or target_uri(url).startswith(target_uri(prefix))


def _index_for(warcs: list[Path], index_dir: Path | None, prefix: str | None) -> Iterator[str]:
    pkey = surt_key(target_uri(prefix)) if prefix else None
    for warc in warcs:
        idx = index_path_for(index_dir, warc.name) if index_dir is not None else None
        lines: Iterable[str]
        if idx is not None and idx.exists() and idx.stat().st_mtime >= warc.stat().st_mtime:
            lines = open(idx, encoding="utf-8")  # noqa: SIM115 - closed by exhausting below
        else:
            lines = index_lines(warc)
        for line in lines:
            key, _ts, data = parse_line(line)
            if pkey is not None and not (key.startswith(pkey.split("?", 1)[0]) or _matches(data.get("url", ""),
                                                                                            prefix)):
                continue
            data["filename"] = warc.name
            yield f"{key} {_ts} {json.dumps(data, ensure_ascii=False)}\n"
        if hasattr(lines, "close"):
            lines.close()


def _pages(warcs: list[Path], prefix: str | None) -> Iterator[str]:
    yield json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "Report pages"}) + "\n"
    reports: list[dict[str, Any]] = []
    html: list[dict[str, Any]] = []
    for cap in iter_captures(warcs):
        if not _matches(cap.url, prefix) or cap.status is None or not 200 <= cap.status < 300:
            continue
        role = (cap.metadata or {}).get("role")
        page = {"id": cap.record_id.strip("<>").rsplit(":", 1)[-1], "url": cap.url, "ts": cap.captured_at}
        title = (cap.metadata or {}).get("list_title")
        if title:
            page["title"] = str(title)
        if role == "report":
            reports.append(page)
        elif (cap.mime or "").startswith("text/html") and len(html) < 100_000:
            html.append(page)
    for page in reports or html:
        yield json.dumps(page, ensure_ascii=False) + "\n"


def write_wacz(out: IO[bytes], warc_source: str | os.PathLike[str], *, index_dir: str | os.PathLike[str] | None = None,
               url_prefix: str | None = None, title: str = "nianbao archive",
               path_for_report: Path | None = None) -> WaczReport:
    """Write a WACZ of the WARCs under `warc_source` to the binary file `out` (seekable or not)."""
    warcs = warc_files(warc_source)
    if not warcs:
        raise FileNotFoundError(f"no WARC files under {warc_source}")
    report = WaczReport(path_for_report or Path("-"))
    idir = Path(index_dir) if index_dir is not None else None
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        for warc in warcs:
            _add_stream(zf, _arcname("archive", warc.name), _file_chunks(warc), report)
            report.warcs += 1
        lines = [0]
        _add_stream(zf, "indexes/index.cdxj", _encoded(sorted_lines(_index_for(warcs, idir, url_prefix)), lines),
                    report)
        report.index_lines = lines[0]
        pages = [0]
        _add_stream(zf, "pages/pages.jsonl", _encoded(_pages(warcs, url_prefix), pages), report)
        report.pages = pages[0] - 1
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        package = {"profile": "data-package", "wacz_version": WACZ_VERSION, "title": title, "created": now,
                   "modified": now, "software": "nianbao archive.wacz", "resources": report.resources}
        data = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
        zf.writestr(zipfile.ZipInfo("datapackage.json", date_time=datetime.now(UTC).timetuple()[:6]), data)
        digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
        zf.writestr(zipfile.ZipInfo("datapackage-digest.json", date_time=datetime.now(UTC).timetuple()[:6]),
                    json.dumps(digest, indent=2).encode("utf-8"))
    return report
