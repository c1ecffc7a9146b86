"""Item pipeline 2: store parsed reports into the catalog, in batches, in a writer process (or thread).

The writer is one spawned process by default (``CATALOG_STORE_PROCESS``): turning a report into rows and SQLite's
inserts cost the crawl process about 2.3 ms a page on a thread there, where they shared the GIL with fetching and
archiving; in its own process they cost it only the pickling of the batch. ``CATALOG_STORE_PROCESS = False`` keeps
the writer a thread of the crawl process. Either way one connection does every write, in order.

A row's WARC file and offset come from the archive writer's own callback, through the item's
:class:`archive.recorder.CaptureStamp`: known when its batch is flushed (the writer usually is ahead), else given
at the end of the crawl (``engine_stopped``: the archive has closed its files, so every callback has run), with no
WARC read again. Then it recomputes ``crawl_runs`` and sends :data:`pipelines.signals.catalog_closed` for the crawl
summary.
"""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.lock import ArchiveLock
from archive.recorder import CaptureStamp
from crawler.diskfull import is_out_of_space, stop_crawl
from crawler.items import ReportItem
from pipelines import signals as catalog_signals
from pipelines.catalog.identity import refresh_identity
from pipelines.catalog.processing import process_capture
from pipelines.catalog.runs import refresh_runs
from pipelines.catalog.schema import open_catalog
from pipelines.catalog.store import StoreEntry, place_captures, store_entries
from pipelines.catalog.workers import worker_pool
from pipelines.config import CatalogConfig
from pipelines.offthread import run_in_executor
from pipelines.parse_pipeline import capture_from_item


class CatalogStorePipeline:
    def __init__(self, crawler: Crawler, config: CatalogConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.stats = crawler.stats
        self.executor: Executor
        if config.store_process:
            self.executor = worker_pool(1)  # one process, so one connection does every write, in order
        else:
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-store")
        self.opened = False
        self.token = uuid.uuid4().hex  # names this pipeline's connection where the writer runs
        self.batch: list[tuple[StoreEntry, CaptureStamp | None]] = []
        self.unplaced: list[CaptureStamp] = []  # stored before the writer reported their offset
        self.stored_ids: list[str] = []  # this crawl's captures, for the summary
        self.lock: ArchiveLock | None = None
        self.failed = False  # the disk is full: nothing more is written to the catalog

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CatalogStorePipeline:
        config = CatalogConfig.from_settings(crawler.settings)
        if not config.enabled:
            raise NotConfigured("CATALOG_ENABLED is off")
        pipe = cls(crawler, config)
        crawler.signals.connect(pipe.engine_stopped, signal=signals.engine_stopped)
        return pipe

    async def open_spider(self) -> None:
        # the crawl's lock on ARCHIVE_DIR (crawler/archive_lock.py), held on until the last rows are in: the lock
        # is released at engine_stopped, when this pipeline may still be writing
        self.lock = ArchiveLock.acquire(self.config.warc_dir.parent, "scrapy crawl")
        try:
            await run_in_executor(self.executor, _open_writer, self.token, self.config.path)
        except (OSError, sqlite3.Error) as e:
            if not is_out_of_space(e):
                raise
            self._full(e)
            return
        self.opened = True

    def _full(self, exc: BaseException) -> None:
        """No space for the catalog: stop writing it and stop the crawl. The rows not written are made again by the
        resume's catch-up from the WARCs, which hold every complete capture."""
        self.failed = True
        stop_crawl(self.crawler, "the catalog", exc)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ReportItem):
            return item
        if self.failed:
            item.catalog_entry = None
            return item
        entry, item.catalog_entry = item.catalog_entry, None  # the entry is the catalog's now, not the item's
        if entry is None:  # ParseReportPipeline is not in ITEM_PIPELINES: parse here, on the writer
            info, body, raw_ctype = capture_from_item(item)
            entry = await run_in_executor(self.executor, partial(process_capture, seconds=self.config.parse_seconds),
                                          body, info, raw_ctype)
        self.batch.append((entry, item.archived))
        if len(self.batch) >= self.config.batch_size:
            await self._flush()
        return item

    async def _flush(self) -> None:
        pending, self.batch = self.batch, []
        if not pending or not self.opened:
            return
        batch = []
        for entry, stamp in pending:
            if stamp is not None and stamp.offset is not None:
                entry = replace(entry, capture=entry.capture.with_offset(stamp.warc_file, stamp.offset))
            elif stamp is not None:
                self.unplaced.append(stamp)
            batch.append(entry)
        try:
            written = await run_in_executor(self.executor, _store, self.token, batch)
        except (OSError, sqlite3.Error) as e:
            if not is_out_of_space(e):
                raise
            self._full(e)
            return
        self.stored_ids += [e.capture.record_id for e in batch]
        if self.stats is not None:
            self.stats.inc_value("catalog/batches")
            self.stats.inc_value("catalog/stored", written)
            self.stats.inc_value("catalog/failed", sum(1 for e in batch if e.error))

    async def close_spider(self) -> None:
        await self._flush()

    async def engine_stopped(self) -> None:
        if self.opened:
            try:
                # the archive closed its writer at spider_closed: every stamp that will be placed is by now
                placed = [(s.record_id, s.warc_file, s.offset) for s in self.unplaced if s.offset is not None]
                if not self.failed:
                    filled = await run_in_executor(self.executor, _finish, self.token, self.config.warc_dir, placed)
                    if self.stats is not None:
                        self.stats.set_value("catalog/offsets_filled", filled)
            except (OSError, sqlite3.Error) as e:
                if not is_out_of_space(e):
                    raise
                self._full(e)  # crawl_runs and the identity tables are derived again by the resume
            finally:
                await run_in_executor(self.executor, _close_writer, self.token)
                self.opened = False
        self.executor.shutdown(wait=True)
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        await self.crawler.signals.send_catch_log_async(
            signal=catalog_signals.catalog_closed, path=self.config.path, record_ids=list(self.stored_ids))


# Each pipeline's connection, by its token: created, used and closed where its writer runs (the writer process, or
# the writer thread: two crawls in one process each have their own).
_connections: dict[str, sqlite3.Connection] = {}


def _open_writer(token: str, path: Path) -> None:
    _connections[token] = open_catalog(path, check_same_thread=False)


def _conn(token: str) -> sqlite3.Connection:
    conn = _connections.get(token)
    if conn is None:
        raise RuntimeError("catalog writer used before it was opened")
    return conn


def _store(token: str, batch: list[StoreEntry]) -> int:
    return store_entries(_conn(token), batch)


def _finish(token: str, warc_dir: Path, placed: list[tuple[str, str, int]]) -> int:
    conn = _conn(token)
    filled = place_captures(conn, placed)
    refresh_runs(conn, warc_dir)  # this run's files count even with no report in them
    refresh_identity(conn)  # report groups, agencies, cross-year checks: as a rebuild derives them
    return filled


def _close_writer(token: str) -> None:
    conn = _connections.pop(token, None)
    if conn is not None:
        conn.close()
