"""The end-of-crawl summary: canonical reports per agency and year (copies counted apart), pages fetched, WARC
files and sizes, errors.

Printed to stdout once the catalog is complete (:data:`pipelines.signals.catalog_closed`), or at
``engine_stopped`` when the catalog is off. ``CATALOG_SUMMARY_ENABLED = False`` turns it off.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.naming import parse_warc_name
from pipelines import signals as catalog_signals
from pipelines.config import CatalogConfig


@dataclass(frozen=True)
class WarcFile:
    name: str
    size: int


def crawl_warc_files(warc_dir: Path, started_at: float | None, pid: int) -> list[WarcFile]:
    """WARC files this process wrote during this crawl: our names carry the writer's pid; the start time
    excludes an earlier process that had the same pid."""
    if not warc_dir.is_dir():
        return []
    out = []
    for path in sorted(warc_dir.iterdir()):
        parsed = parse_warc_name(path.name)
        if parsed is None or parsed.pid != pid:
            continue
        stat = path.stat()
        if started_at is not None and stat.st_mtime < started_at - 1:
            continue
        out.append(WarcFile(path.name, stat.st_size))
    return out


def reports_by_agency_year(catalog: Path, record_ids: list[str]) -> dict[str, dict[int | None, int]]:
    """Canonical reports stored from the captures ``record_ids`` (this crawl's), counted per canonical agency and
    year (copies are counted by :func:`copies_set_aside`)."""
    return _crawl_counts(catalog, record_ids)[0]


def copies_set_aside(catalog: Path, record_ids: list[str]) -> int:
    """Reports stored from this crawl's captures that are copies of another report of their group."""
    return _crawl_counts(catalog, record_ids)[1]


def _crawl_counts(catalog: Path, record_ids: list[str]) -> tuple[dict[str, dict[int | None, int]], int]:
    if not catalog.exists() or not record_ids:
        return {}, 0
    conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        conn.execute("CREATE TEMP TABLE crawl_ids (record_id TEXT PRIMARY KEY)")
        conn.executemany("INSERT OR IGNORE INTO crawl_ids VALUES (?)", [(r,) for r in record_ids])
        rows = conn.execute(
            "SELECT coalesce(a.name, r.agency, '?'), r.year, coalesce(m.canonical, 1), count(*) FROM reports r"
            " LEFT JOIN report_members m ON m.report_id = r.id LEFT JOIN agencies a ON a.agency_id = m.agency_id"
            " WHERE r.warc_record_id IN (SELECT record_id FROM crawl_ids) GROUP BY 1, 2, 3").fetchall()
    finally:
        conn.close()
    table: dict[str, dict[int | None, int]] = {}
    copies = 0
    for agency, year, canonical, n in rows:
        if canonical:
            table.setdefault(agency, {})[year] = n
        else:
            copies += n
    return table, copies


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_summary(
    stats: Mapping[str, Any], per_agency: dict[str, dict[int | None, int]], warcs: list[WarcFile], copies: int = 0
) -> str:
    years = sorted({y for row in per_agency.values() for y in row}, key=lambda y: (y is None, y or 0))
    lines = ["", "nianbao crawl summary", "=" * 21]
    total = sum(n for row in per_agency.values() for n in row.values())
    lines.append(f"reports stored: {total + copies}")
    lines.append(f"canonical reports: {total} (one per agency and year, counted below); copies set aside: {copies}"
                 " (report_members says which and why)")
    if per_agency:
        width = max(_width(a) for a in per_agency) + 2
        head = _pad("agency", width) + "".join(f"{y or '?':>7}" for y in years) + f"{'total':>8}"
        lines.append(head)
        for agency in sorted(per_agency):
            row = per_agency[agency]
            cells = "".join(f"{row.get(y, 0) or '':>7}" for y in years)
            lines.append(_pad(agency, width) + cells + f"{sum(row.values()):>8}")
    lines.append(f"pages fetched: {stats.get('downloader/response_count', 0)}"
                 f" (requests {stats.get('downloader/request_count', 0)},"
                 f" items {stats.get('item_scraped_count', 0)})")
    size = sum(w.size for w in warcs)
    lines.append(f"WARC files: {len(warcs)}, {size / 1e6:.2f} MB")
    lines += [f"  {w.name}  {w.size:,} bytes" for w in warcs]
    errors = {
        "log errors": stats.get("log_count/ERROR", 0),
        "download errors": stats.get("downloader/exception_count", 0),
        "HTTP errors": sum(v for k, v in stats.items() if k.startswith("downloader/response_status_count/")
                           and k.rsplit("/", 1)[-1][:1] in "45"),
        "parse failures": stats.get("catalog/failed", 0),
        "items dropped": stats.get("item_dropped_count", 0),
    }
    lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    return "\n".join(lines) + "\n"


class CrawlSummary:
    def __init__(self, crawler: Crawler, config: CatalogConfig, out: TextIO = sys.stdout) -> None:
        self.crawler = crawler
        self.config = config
        self.out = out
        self.started: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlSummary:
        config = CatalogConfig.from_settings(crawler.settings)
        if not config.summary:
            raise NotConfigured("CATALOG_SUMMARY_ENABLED is off")
        ext = cls(crawler, config)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        if config.enabled and crawler.settings.getdict("ITEM_PIPELINES"):
            crawler.signals.connect(ext.print_summary, signal=catalog_signals.catalog_closed)
        else:
            crawler.signals.connect(ext.print_summary, signal=signals.engine_stopped)
        return ext

    def spider_opened(self) -> None:
        self.started = time.time()

    def print_summary(self, record_ids: list[str] | None = None) -> None:
        stats = self.crawler.stats.get_stats() if self.crawler.stats is not None else {}
        warcs = crawl_warc_files(self.config.warc_dir, self.started, os.getpid())
        per_agency, copies = _crawl_counts(self.config.path, record_ids or [])
        self.out.write(format_summary(stats, per_agency, warcs, copies))
        self.out.flush()
