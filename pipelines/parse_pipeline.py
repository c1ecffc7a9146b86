"""Item pipeline 1: repair → parse → validate a :class:`crawler.items.ReportItem` (in a worker thread).

The result, a :class:`pipelines.catalog.StoreEntry`, rides on the item as ``item.extra["catalog_entry"]`` for
:class:`pipelines.store_pipeline.CatalogStorePipeline`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from pipelines.capture_info import (
    CaptureInfo,
    content_type_of,
    header_value,
    payload_digest,
)
from pipelines.catalog import StoreEntry
from pipelines.config import CatalogConfig
from pipelines.offthread import run_in_thread
from pipelines.processing import process_capture

ENTRY_KEY = "catalog_entry"


def capture_from_item(item: Any) -> tuple[CaptureInfo, bytes, str | None]:
    """The capture facts of a report item, its body, and its raw Content-Type header."""
    a = ItemAdapter(item)
    body = bytes(a.get("body") or b"")
    headers = a.get("headers") or {}
    raw_ctype = header_value(headers, "content-type") or a.get("content_type")
    record_id = a.get("archive_record_id") or f"urn:nianbao:unarchived:{payload_digest(body)}:{a['url']}"
    info = CaptureInfo.of_capture(
        a["url"], record_id, body, a,
        captured_at=a.get("archive_captured_at"), warc_file=a.get("archive_warc_file"), warc_offset=None,
        status=a.get("status"), content_type=content_type_of(headers, a.get("content_type")),
        discovery=a.get("discovery") or (),
    )
    return info, body, raw_ctype


class ParseReportPipeline:
    def __init__(self, stats: StatsCollector | None) -> None:
        self.stats = stats
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-parse")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParseReportPipeline:
        config = CatalogConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("CATALOG_ENABLED is off")
        return cls(crawler.stats)

    async def process_item(self, item: Any) -> Any:
        info, body, raw_ctype = capture_from_item(item)
        entry: StoreEntry = await run_in_thread(self.executor, process_capture, body, info, raw_ctype)
        a = ItemAdapter(item)
        extra = a.get("extra")
        if extra is None:
            extra = {}
            a["extra"] = extra
        extra[ENTRY_KEY] = entry
        if self.stats is not None:
            self.stats.inc_value("catalog/parsed" if entry.report is not None else "catalog/parse_failed")
            for issue in (entry.report or {}).get("issues") or []:
                self.stats.inc_value(f"catalog/issues/{issue.get('code')}")
        return item

    def close_spider(self) -> None:
        self.executor.shutdown(wait=True)
