"""Item pipeline 1: repair → parse → validate a :class:`crawler.items.ReportItem`, off the reactor.

Parsing is CPU-bound (a PDF attachment costs ~150 ms of pdfminer) and pure, so by default it runs in a small pool
of worker processes (``CATALOG_PARSE_WORKERS``): the reactor thread keeps fetching and archiving on its own core
while the parse runs on the others, and no GIL is shared between them. ``CATALOG_PARSE_WORKERS = 0`` parses on one
thread inside the crawl process instead (one core, no process start-up).

A worker process that dies on a document (a segfault in a C extension, the OOM killer) costs that one document,
stored as a failed capture with the reason; the pool is started again for the next item.

No document holds a worker for ever: ``CATALOG_PARSE_TIME_LIMIT`` (:mod:`pipelines.catalog.timelimit`) stops a parse
that runs past it (a failed capture: "parse stopped: parse time limit of … s ran out"), and a worker stuck in C code
past the limit and a grace period ends itself, which is then a worker that died on the document.

A report page's pictures (``item.resources``, fetched and archived with it by the spider) go to the parser with it:
OCR of tables published as pictures runs here, in the workers, and only for pages that have such pictures.

The result, a :class:`pipelines.catalog.StoreEntry`, is the item's ``catalog_entry`` for
:class:`pipelines.store_pipeline.CatalogStorePipeline`. Items other than :class:`crawler.items.ReportItem` pass.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler.items import ReportItem
from pipelines.catalog.capture_info import CaptureInfo, content_type_of, header_value, payload_digest
from pipelines.catalog.processing import parser_version, process_capture
from pipelines.catalog.store import StoreEntry
from pipelines.catalog.timelimit import died_reason
from pipelines.catalog.workers import worker_pool
from pipelines.config import CatalogConfig
from pipelines.offthread import run_in_executor

MAX_AUTO_WORKERS = 4

logger = logging.getLogger(__name__)


def capture_from_item(item: ReportItem) -> tuple[CaptureInfo, bytes, str | None]:
    """The capture facts of a report item, its body, and its raw Content-Type header."""
    body = item.body
    raw_ctype = header_value(item.headers, "content-type") or item.content_type
    stamp = item.archived
    record_id = stamp.record_id if stamp is not None else f"urn:nianbao:unarchived:{payload_digest(body)}:{item.url}"
    info = CaptureInfo.of_capture(
        item.url, record_id, body, item.routing,
        captured_at=stamp.captured_at if stamp is not None else None,
        warc_file=stamp.warc_file if stamp is not None else None,
        warc_offset=stamp.offset if stamp is not None else None,
        status=item.status, content_type=content_type_of(item.headers, item.content_type),
    )
    return info, body, raw_ctype


def parse_workers(setting: Any, cpu_count: int | None = None) -> int:
    """``CATALOG_PARSE_WORKERS`` as a number of processes: ``None``/``""``/``"auto"`` → one per core, at most
    :data:`MAX_AUTO_WORKERS`; an int ≥ 0 as given. The crawl process is not counted out: fetching and archiving
    leave most of its core idle (``bench/crawl.py``: 2 workers on 2 cores crawl 1.3× faster than 1)."""
    if setting is None or (isinstance(setting, str) and setting.strip().lower() in ("", "auto")):
        cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
        return max(1, min(MAX_AUTO_WORKERS, cores))
    try:
        workers = int(setting)
    except (TypeError, ValueError):
        raise ValueError(f"CATALOG_PARSE_WORKERS={setting!r}: expected 'auto' or an integer >= 0") from None
    if workers < 0:
        raise ValueError(f"CATALOG_PARSE_WORKERS={workers}: expected 'auto' or an integer >= 0")
    return workers


class ParseReportPipeline:
    def __init__(self, stats: StatsCollector | None, workers: int = 0, seconds: float | None = None) -> None:
        self.stats = stats
        self.workers = workers
        self.seconds = seconds  # CATALOG_PARSE_TIME_LIMIT (None: no limit); enforced in worker processes only
        # in a worker process a parse stuck in C code past the limit ends the process (timelimit's hard stage)
        self.job = partial(process_capture, seconds=seconds, hard=workers > 0)
        self.executor: Executor = self._new_executor()
        self.runner = run_in_executor  # how a job's result comes back to the event loop (tests use asyncio's)

    def _new_executor(self) -> Executor:
        if self.workers == 0:
            return ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-parse")
        # spawn, not fork: the crawl process runs threads (reactor pool, WARC writer) that a fork would copy
        # mid-flight. Workers start on the first item, once, and are reused for the whole crawl.
        # A spawned worker's root logger is at WARNING (Python's default), so pdfminer's DEBUG records are not built.
        return worker_pool(self.workers)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParseReportPipeline:
        config = CatalogConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("CATALOG_ENABLED is off")
        return cls(crawler.stats, parse_workers(crawler.settings.get("CATALOG_PARSE_WORKERS")), config.parse_seconds)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ReportItem):
            return item
        info, body, raw_ctype = capture_from_item(item)
        entry: StoreEntry | None = None
        for attempt in (1, 2):
            executor = self.executor
            started = time.monotonic()
            try:
                entry = await self.runner(executor, self.job, body, info, raw_ctype, item.resources or None)
                break
            except BrokenProcessPool as exc:
                # a document killed a worker; every item in flight in that pool sees the same error. Each is tried
                # once more in a fresh pool; the one that kills its worker twice is stored as failed.
                if self.executor is executor:
                    self._restart()
                if self.stats is not None:
                    self.stats.inc_value("catalog/parse_worker_died")
                if attempt == 2:
                    reason = died_reason(exc, self.seconds, time.monotonic() - started)
                    logger.error("%s: %s", info.url, reason)
                    entry = StoreEntry(info, None, parser_version(), reason)
        assert entry is not None
        item.catalog_entry = entry
        if self.stats is not None:
            self.stats.inc_value("catalog/parsed" if entry.report is not None else "catalog/parse_failed")
            for issue in (entry.report or {}).get("issues") or []:
                self.stats.inc_value(f"catalog/issues/{issue.get('code')}")
        return item

    def _restart(self) -> None:
        broken, self.executor = self.executor, self._new_executor()
        broken.shutdown(wait=False, cancel_futures=True)

    def close_spider(self) -> None:
        self.executor.shutdown(wait=True)
