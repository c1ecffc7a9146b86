"""What ``scrapy report`` does, as functions tests call directly: parse a local file or an archived URL.

It sits above both the parser and the archive (it reads a capture through :mod:`archive.lookup` and hands its
payload to :func:`crawler.report.parse_report`), so the parser itself imports no archive code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from archive.lookup import CaptureNotFound, load_capture
from crawler.report import Report, parse_report

_TYPES = {".html": "text/html", ".htm": "text/html", ".shtml": "text/html", ".pdf": "application/pdf",
          ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          ".doc": "application/msword", ".wps": "application/msword", ".txt": "text/plain",
          ".md": "text/markdown"}


class ReportInputError(Exception):
    """The file or URL cannot be read; the message is one line naming it."""


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def report_from_file(path: str | os.PathLike[str]) -> Report:
    p = Path(path)
    try:
        content = p.read_bytes()
    except OSError as e:
        raise ReportInputError(f"cannot read {p}: {e.strerror or e}") from e
    return parse_report(content, content_type=_TYPES.get(p.suffix.lower()))


def report_from_archive(url: str, archive_dir: str | os.PathLike[str] | None = None,
                        at: str | None = None) -> Report:
    """Parse the archived capture of ``url`` closest to ``at`` (the latest without); source filled from it."""
    try:
        cap = load_capture(url, archive_dir=archive_dir, at=at)
    except CaptureNotFound as e:
        raise ReportInputError(str(e)) from e
    except ValueError as e:  # a malformed --at
        raise ReportInputError(f"--at {at}: {e}") from e
    headers: dict[str, Any] = {}
    for name, value in cap.headers:
        headers.setdefault(name, value)
    content_type = next((v for k, v in cap.headers if k.lower() == "content-type"), None) or cap.mime
    report = parse_report(cap.payload, url=cap.url, content_type=content_type, headers=headers)
    report.source.update({"captured_at": cap.captured_at, "warc_file": os.path.basename(cap.warc_file),
                          "warc_offset": cap.offset, "warc_record_id": cap.record_id})
    return report


def summary_lines(report: Report) -> list[str]:
    """A short human-readable account of a parsed report (``--json`` prints the canonical JSON instead)."""
    d = report.to_dict()
    lines = [f"title:     {d['title']}", f"agency:    {d['agency']}", f"year:      {d['year']}",
             f"published: {d['published']}", f"format:    {d['format']}",
             "sections:  " + ", ".join(f"{s['title'] or '(untitled)'} [{s['key']}]" for s in d["sections"])]
    for key, table in d["tables"].items():
        if table is None:
            lines.append(f"{key}: none")
            continue
        filled = sum(1 for row in table.values() for v in (row.values() if isinstance(row, dict) else row)
                     if v is not None)
        lines.append(f"{key}: {len(table)} rows, {filled} cells with a value")
    lines.append(f"issues:    {len(d['issues'])}")
    lines.extend(f"  {i['code']}: {i['table'] or ''} {i['row'] or ''} {i['column'] or ''} {i['detail']}".rstrip()
                 for i in d["issues"])
    return lines
