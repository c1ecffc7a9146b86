"""Parse and validate one capture: the step the item pipeline and ``scrapy rebuild`` share.

``process_capture(body, capture)`` is pure (bytes and capture facts in, a :class:`StoreEntry` out), so it runs in
worker processes (or a thread, ``CATALOG_PARSE_WORKERS=0``) during a crawl and in worker processes during a rebuild
with the same result. A report page's pictures (``resources``: the archived bytes of its article's ``<img>``) go to
the parser with it, which reads tables published as pictures by OCR.

A capture read through pictures in which the parser found nothing of a report (no text in any section, no table:
a poster, a logo, an 一图读懂 page listed like a report) is stored as ``not_report``, not as a report without
figures (issue 17).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawler.report import PARSER_VERSION, parse_report
from pipelines.catalog.capture_info import CaptureInfo
from pipelines.catalog.store import StoreEntry
from pipelines.catalog.timelimit import ParseTimeLimit, time_limit

FORMATS = frozenset({"2021", "2019", "legacy", "unknown"})
REQUIRED_KEYS = ("schema_version", "source", "title", "agency", "year", "published", "format", "text", "sections",
                 "tables", "issues")


def parser_version() -> str:
    return str(PARSER_VERSION)


def validate_report(report: dict[str, Any]) -> list[str]:
    """Problems that make ``report`` unfit for the catalog (not findings about its numbers: those are issues)."""
    problems = [f"missing key {key!r}" for key in REQUIRED_KEYS if key not in report]
    if problems:
        return problems
    if report["schema_version"] != 1:
        problems.append(f"schema_version {report['schema_version']!r}, expected 1")
    if report["format"] not in FORMATS:
        problems.append(f"format {report['format']!r} not one of {sorted(FORMATS)}")
    if report["year"] is not None and not isinstance(report["year"], int):
        problems.append(f"year {report['year']!r} is not an integer")
    if not isinstance(report["sections"], list):
        problems.append("sections is not a list")
    if not isinstance(report["tables"], dict):
        problems.append("tables is not an object")
    if not isinstance(report["issues"], list):
        problems.append("issues is not a list")
    return problems


def process_capture(body: bytes, capture: CaptureInfo, content_type_header: str | None,
                    resources: Mapping[str, bytes] | None = None, *, seconds: float | None = None,
                    hard: bool = False) -> StoreEntry:
    """Repair → parse → validate one report capture (``resources``: its pictures, absolute URL → bytes). A parser
    failure becomes an entry with ``error`` set (stored as a failed capture and counted), never an exception that
    would stop a crawl or a rebuild. ``seconds``: the parse's time limit (``CATALOG_PARSE_TIME_LIMIT``,
    :mod:`pipelines.catalog.timelimit`; ``hard`` in a worker process, which may be ended past it)."""
    version = parser_version()
    headers = {"Content-Type": content_type_header} if content_type_header else {}
    try:
        with time_limit(seconds, hard=hard):
            report = parse_report(body, url=capture.url, content_type=content_type_header, headers=headers,
                                  resources=resources or None)
    except ParseTimeLimit as exc:  # not parsed: the bytes stay in the WARC, a rebuild with a longer limit reads them
        return StoreEntry(capture, None, version, f"parse stopped: {exc} ({len(body)} bytes"
                          f"{f', {len(resources)} pictures' if resources else ''})")
    except Exception as exc:  # the parser must not take the crawl down with one bad document
        return StoreEntry(capture, None, version, f"parse failed: {type(exc).__name__}: {exc}")
    report.source = capture.source_dict()
    data = report.to_dict()
    problems = validate_report(data)
    if problems:
        return StoreEntry(capture, None, version, "invalid report: " + "; ".join(problems))
    if read_from_pictures(data, capture.content_type, bool(resources)) and nothing_of_a_report(data):
        return StoreEntry(capture, None, version)  # a poster or a logo: not a report
    return StoreEntry(capture, data, version)


# The parser's issue for a picture (image file or scanned PDF) that holds no report: no table, and neither text
# nor any of a report's section headings (crawler/report/_parse.py, docs/schema.md)
_NOT_A_REPORT = "not_report"


def read_from_pictures(report: dict[str, Any], content_type: str | None, had_pictures: bool) -> bool:
    """The capture was read through pictures: an image file, a page whose article pictures were given to the
    parser, or a document OCR read."""
    ocr = (report.get("text") or {}).get("ocr")
    return (had_pictures or ocr is not None or (content_type or "").startswith("image/")
            or any(issue.get("code") == _NOT_A_REPORT for issue in report.get("issues") or []))


def nothing_of_a_report(report: dict[str, Any]) -> bool:
    """No text in any section, no table, and nothing that could not be read (an unreadable picture, or no OCR
    engine, keeps its report row: its ``unparsed_document`` issue says what is missing), except the parser's own
    verdict that a picture holds neither text nor a table."""
    for section in report.get("sections") or []:
        if (section.get("text") or "").strip() or section.get("subsections"):
            return False
    if any(table is not None for table in (report.get("tables") or {}).values()):
        return False
    return not any(issue.get("code") == "unparsed_document" for issue in report.get("issues") or [])
