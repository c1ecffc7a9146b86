"""Parse and validate one capture: the step the item pipeline and ``scrapy rebuild`` share.

``process_capture(body, capture)`` is pure (bytes and capture facts in, a :class:`StoreEntry` out), so it runs in
worker processes (or a thread, ``CATALOG_PARSE_WORKERS=0``) during a crawl and in worker processes during a rebuild
with the same result.
"""

from __future__ import annotations

from typing import Any

from crawler.report import PARSER_VERSION, parse_report
from pipelines.catalog.capture_info import CaptureInfo
from pipelines.catalog.store import StoreEntry

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


def process_capture(body: bytes, capture: CaptureInfo, content_type_header: str | None) -> StoreEntry:
    """Repair → parse → validate one report capture. A parser failure becomes an entry with ``error`` set
    (stored as a failed capture and counted), never an exception that would stop a crawl or a rebuild."""
    version = parser_version()
    headers = {"Content-Type": content_type_header} if content_type_header else {}
    try:
        report = parse_report(body, url=capture.url, content_type=content_type_header, headers=headers)
    except Exception as exc:  # the parser must not take the crawl down with one bad document
        return StoreEntry(capture, None, version, f"parse failed: {type(exc).__name__}: {exc}")
    report.source = capture.source_dict()
    data = report.to_dict()
    problems = validate_report(data)
    if problems:
        return StoreEntry(capture, None, version, "invalid report: " + "; ".join(problems))
    return StoreEntry(capture, data, version)
