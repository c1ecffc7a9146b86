"""What ``scrapy report`` does, as functions tests call directly: parse a local file or an archived URL.

It sits above both the parser and the archive (it reads a capture through :mod:`archive.lookup` and hands its
payload to :func:`crawler.report.parse_report`), so the parser itself imports no archive code.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Any

from archive.lookup import CaptureNotFound, load_capture, parse_at
from archive.urls import check_url
from crawler.report import Report, parse_report
from pipelines.catalog.labels import APPLICANT_COLUMNS, LABELS, REVIEW_COLUMNS

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
    if p.exists() and not p.is_file():  # a folder, or a pipe or device a read would block on or never finish
        raise ReportInputError(f"{p} is not a regular file")
    try:
        content = p.read_bytes()
    except OSError as e:
        raise ReportInputError(f"cannot read {p}: {e.strerror or e}") from e
    if not content:
        raise ReportInputError(f"{p} is empty: there is no report to parse")
    return parse_report(content, content_type=_TYPES.get(p.suffix.lower()))


def unreadable(report: Report) -> str | None:
    """Why the parser could not read the document at all (a truncated PDF, a zip bomb refused, an empty body), or
    None when it read it: ``scrapy report`` then exits non-zero, after printing what it made of it."""
    d = report.to_dict()
    if d["sections"] or any((d.get("tables") or {}).values()):
        return None  # read in part (an OCR page limit, one picture not read): a result, with its issues
    for issue in d["issues"]:
        if issue.get("code") == "unparsed_document":
            return " ".join(str(issue.get("detail") or "the document could not be read").split())
    return None


def report_from_archive(url: str, archive_dir: str | os.PathLike[str] | None = None,
                        at: str | None = None) -> Report:
    """Parse the archived capture of ``url`` closest to ``at`` (the latest without); source filled from it."""
    try:
        check_url(url)
        parse_at(at)
    except ValueError as e:  # a malformed URL or --at: each message names what it was given
        raise ReportInputError(str(e)) from e
    try:
        cap = load_capture(url, archive_dir=archive_dir, at=at)
    except (CaptureNotFound, ValueError, OSError) as e:
        raise ReportInputError(str(e)) from e
    headers: dict[str, Any] = {}
    for name, value in cap.headers:
        headers.setdefault(name, value)
    content_type = next((v for k, v in cap.headers if k.lower() == "content-type"), None) or cap.mime
    report = parse_report(cap.payload, url=cap.url, content_type=content_type, headers=headers)
    report.source.update({"captured_at": cap.captured_at, "warc_file": os.path.basename(cap.warc_file),
                          "warc_offset": cap.offset, "warc_record_id": cap.record_id})
    return report


_TABLE_TITLES = {"active_disclosure": "表二 主动公开政府信息情况 (Table 2)",
                 "applications": "表三 收到和处理政府信息公开申请情况 (Table 3)",
                 "review_litigation": "表四 政府信息公开行政复议、行政诉讼情况 (Table 4)"}
_REVIEW_GROUPS = {"review": "行政复议", "litigation_direct": "行政诉讼：未经复议直接起诉",
                  "litigation_after_review": "行政诉讼：复议后起诉"}
_ZH = {(kind, key): zh for kind, key, zh, _en in LABELS}


def text_width(text: str) -> int:
    """Columns a terminal gives ``text``: two for a wide (CJK) character, none for a combining mark."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - text_width(text))
    return gap + text if right else text + gap


def _cell(value: Any, inferred: bool) -> str:
    if value is None:
        return "—"
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return text + ("*" if inferred else "")


def grid_lines(head: list[str], rows: list[tuple[str, list[str]]], indent: str = "  ") -> list[str]:
    """An aligned table: a label column, then right-aligned value columns, widths by display width."""
    label_w = max([text_width(head[0])] + [text_width(label) for label, _ in rows])
    widths = [max([text_width(h)] + [text_width(cells[c]) for _, cells in rows if c < len(cells)])
              for c, h in enumerate(head[1:])]
    lines = [indent + _pad(head[0], label_w) + "".join("  " + _pad(h, w, True) for h, w in zip(head[1:], widths,
                                                                                              strict=True))]
    for label, cells in rows:
        cells = cells + [""] * (len(widths) - len(cells))
        lines.append((indent + _pad(label, label_w) + "".join("  " + _pad(c, w, True)
                                                              for c, w in zip(cells, widths, strict=True))).rstrip())
    return lines


def table_lines(d: dict[str, Any]) -> list[str]:
    """Tables 2–4 of a canonical report dict as aligned tables under the forms' Chinese headings; ``—`` is a blank
    cell, ``*`` a cell inferred from the accounting identities."""
    inferred = {(i.get("table"), i.get("row"), i.get("column")) for i in d.get("issues") or []
                if i.get("code") == "inferred_cell"}
    lines: list[str] = []
    for key, title in _TABLE_TITLES.items():
        table = (d.get("tables") or {}).get(key)
        lines.append(title)
        if not table:
            lines.append("  not found (the report has no such table, or prints it as an image)")
            continue
        if key == "active_disclosure":
            fields: list[str] = []
            for values in table.values():
                fields += [f for f in values or {} if f not in fields]
            rows = [(_ZH.get(("row", row), row),
                     [_cell(values.get(f), (key, row, f) in inferred) if f in (values or {}) else ""
                      for f in fields]) for row, values in table.items()]
            lines += grid_lines(["信息内容", *(_ZH.get(("column", f), f) for f in fields)], rows)
        else:
            columns = APPLICANT_COLUMNS if key == "applications" else REVIEW_COLUMNS
            rows = [((_ZH.get(("row", row), row) if key == "applications" else _REVIEW_GROUPS.get(row, row)),
                     [_cell(v, (key, row, columns[c]) in inferred) for c, v in enumerate(values or [])])
                    for row, values in table.items()]
            lines += grid_lines(["申请情况" if key == "applications" else "", *(_ZH.get(("column", c), c)
                                                                            for c in columns)], rows)
    lines.append("  — blank in the source; * inferred from the accounting identities (由勾稽关系推算)")
    return lines


def summary_lines(report: Report) -> list[str]:
    """A human-readable account of a parsed report: what it is, its sections, the key figures of Tables 2–4 as
    aligned tables with the forms' Chinese headings, then the issues (``--json`` prints the canonical JSON)."""
    d = report.to_dict()
    year = d["year"] if d["year"] is not None else "not stated"
    lines = [f"title:     {d['title'] or 'not stated'}", f"agency:    {d['agency'] or 'not stated'}",
             f"year:      {year}", f"published: {d['published'] or 'not stated'}", f"format:    {d['format']}",
             "sections:  " + (", ".join(f"{s['title'] or '(untitled)'} [{s['key'] or 'no standard key'}]"
                                        for s in d["sections"])
                              or "none found"), ""]
    lines += table_lines(d)
    lines += ["", f"issues:    {len(d['issues'])}"]
    for i in d["issues"]:
        where = " ".join(p for p in (i.get("table"), i.get("row"), i.get("column")) if p)
        label = _ZH.get(("issue", i["code"]))
        lines.append(f"  {i['code']}{f' ({label})' if label else ''}: {where} {i['detail'] or ''}".rstrip())
    return lines
