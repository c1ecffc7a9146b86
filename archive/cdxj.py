"""pywb-compatible CDXJ: one sorted `<surt> <timestamp> {json}` line per capture.

Lines for a WARC are written when it closes (`index/<warc name>.cdxj`); `build_index` re-creates them from the
WARCs with an external merge sort (bounded buffer, spill to temp files, `heapq.merge`), so memory stays flat.
"""

from __future__ import annotations

import heapq
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .reader import Capture, DamagedRecord, ErrorHandler, iter_captures, warc_files
from .urls import lookup_key, method_query

INDEX_SUFFIX = ".cdxj"
SORT_BUFFER_LINES = 100_000


@dataclass
class IndexInfo:
    """What a CDXJ line says about a capture, besides where it is."""

    url: str
    date: str                   # WARC-Date
    record_type: str
    status: int | None
    mime: str | None
    digest: str | None
    method: str = "GET"
    request_content_type: str | None = None
    request_body: bytes = b""


def timestamp14(warc_date: str) -> str:
    return "".join(ch for ch in warc_date if ch.isdigit())[:14]


def cdxj_line(info: IndexInfo, filename: str, offset: int, length: int) -> str:
    fields: dict[str, object] = {"url": info.url}
    if info.record_type == "revisit":
        fields["mime"] = "warc/revisit"
    elif info.mime:
        fields["mime"] = info.mime
    if info.status is not None:
        fields["status"] = str(info.status)
    if info.digest:
        fields["digest"] = info.digest
    fields["length"] = str(length)
    fields["offset"] = str(offset)
    fields["filename"] = filename
    method = info.method.upper()
    if method not in ("GET", "HEAD", ""):
        fields["method"] = method
        fields["requestBody"] = method_query(method, info.request_content_type, info.request_body, info.url)
    key = lookup_key(info.url, method, info.request_content_type, info.request_body)
    return f"{key} {timestamp14(info.date)} {json.dumps(fields, ensure_ascii=False)}"


def info_from_capture(cap: Capture) -> IndexInfo:
    return IndexInfo(url=cap.url, date=cap.captured_at, record_type=cap.record_type, status=cap.status,
                     mime=cap.mime, digest=cap.payload_digest, method=cap.method,
                     request_content_type=cap.request_content_type, request_body=cap.request_body)


def index_path_for(index_dir: Path, warc_name: str) -> Path:
    return Path(index_dir) / (Path(warc_name).name + INDEX_SUFFIX)


def parse_line(line: str) -> tuple[str, str, dict[str, str]]:
    key, ts, data = line.rstrip("\n").split(" ", 2)
    return key, ts, json.loads(data)


def cut_off(warc: Path, index_dir: Path | None) -> list[DamagedRecord]:
    """Captures the WARC's own CDXJ index lists at or past the end of the file: a file cut (or lost its tail) after
    it was closed and indexed, at a record boundary, where the records left are whole and nothing else tells. A
    capture only partly cut is the reader's to report. Empty without an index, or with one that cannot be read."""
    if index_dir is None:
        return []
    idx = index_path_for(index_dir, warc.name)
    try:
        size = warc.stat().st_size
        lines = idx.read_text(encoding="utf-8").splitlines() if idx.is_file() else []
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        try:
            _key, _ts, data = parse_line(line)
            offset = int(data["offset"])
        except (ValueError, KeyError, TypeError):
            continue
        if offset >= size:
            out.append(DamagedRecord(str(warc), offset, f"{data.get('url')}: listed in {idx.name} but the file "
                                                        f"ends at byte {size} (cut off after it was indexed)"))
    return sorted(out, key=lambda d: d.offset)


# --- sorting ------------------------------------------------------------------------------------

def sorted_lines(lines: Iterable[str], buffer_lines: int = SORT_BUFFER_LINES,
                 tmp_dir: str | os.PathLike[str] | None = None) -> Iterator[str]:
    """Sort lines with at most `buffer_lines` in memory: full buffers are spilled to temp files, then merged."""
    buf: list[str] = []
    runs: list[tempfile._TemporaryFileWrapper[str]] = []
    try:
        for line in lines:
            buf.append(line if line.endswith("\n") else line + "\n")
            if len(buf) >= buffer_lines:
                buf.sort()
                run = tempfile.NamedTemporaryFile("w+", encoding="utf-8", suffix=".cdxj-run", dir=tmp_dir)
                run.writelines(buf)
                run.seek(0)
                runs.append(run)
                buf = []
        buf.sort()
        if not runs:
            yield from buf
            return
        yield from heapq.merge(buf, *runs)
    finally:
        for run in runs:
            run.close()


def write_sorted_lines(lines: Iterable[str], path: Path, buffer_lines: int = SORT_BUFFER_LINES) -> int:
    """Write `lines` sorted to `path` atomically; return how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            for line in sorted_lines(lines, buffer_lines, tmp_dir=path.parent):
                out.write(line)
                n += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk: no half index left beside
        raise
    return n


def index_lines(warc: Path, errors: ErrorHandler | None = None) -> Iterator[str]:
    for cap in iter_captures(warc, errors=errors):
        if cap.length is None:
            continue
        yield cdxj_line(info_from_capture(cap), warc.name, cap.offset, cap.length)


def index_warc(warc: Path, index_dir: Path, buffer_lines: int = SORT_BUFFER_LINES,
               errors: ErrorHandler | None = None) -> Path:
    out = index_path_for(index_dir, warc.name)
    write_sorted_lines(index_lines(warc, errors), out, buffer_lines)
    return out


@dataclass
class IndexReport:
    indexed: list[Path]
    skipped: list[Path]
    damaged: list[DamagedRecord]
    merged: Path | None = None
    lines: int = 0


def build_index(warc_dir: Path, index_dir: Path, *, force: bool = False, merge_to: Path | None = None,
                buffer_lines: int = SORT_BUFFER_LINES) -> IndexReport:
    """(Re)write `index/<warc>.cdxj` for every WARC under `warc_dir` whose index is missing or older
    (all of them with `force`), and optionally merge every per-WARC index into one sorted file."""
    report = IndexReport([], [], [])
    index_dir.mkdir(parents=True, exist_ok=True)
    paths = warc_files(warc_dir)
    for warc in paths:
        out = index_path_for(index_dir, warc.name)
        if not force and out.exists() and out.stat().st_mtime >= warc.stat().st_mtime:
            report.skipped.append(out)
            continue
        index_warc(warc, index_dir, buffer_lines, errors=report.damaged.append)
        report.indexed.append(out)
    if merge_to is not None:
        inputs = [index_path_for(index_dir, w.name) for w in paths]
        report.lines = merge_indexes(inputs, merge_to)
        report.merged = merge_to
    return report


def merge_indexes(inputs: Iterable[Path], out: Path) -> int:
    """Merge sorted CDXJ files into one sorted file, streaming (one line per input in memory). ``out`` is written
    beside and renamed into place: it must be a regular file, or nothing yet."""
    if out.exists() and not out.is_file():
        raise ValueError(f"--merge-to {out}: not a regular file (a folder, device, pipe or socket)")
    files = [open(p, encoding="utf-8") for p in inputs if p.exists()]  # noqa: SIM115
    tmp = out.with_name(out.name + ".tmp")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for line in heapq.merge(*files):
                fh.write(line)
                n += 1
    finally:
        for f in files:
            f.close()
    os.replace(tmp, out)
    return n
