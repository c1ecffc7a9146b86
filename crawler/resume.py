"""Resume after a crash: a JOBDIR frontier that survives SIGKILL, and a catalog caught up from the WARCs.

Scrapy's own JOBDIR keeps its seen-set in a buffered file and its queue state in ``active.json`` written on a clean
close: after ``kill -9`` both are stale, so a restarted crawl either re-fetches everything or loses what was queued.
Here, with ``JOBDIR`` set (and no Redis frontier), the add-on :class:`DurableJobdir` puts a SQLite frontier in
``<JOBDIR>/frontier.sqlite`` (WAL, one transaction per change):

* every scheduled request is a row (``queued`` → ``taken`` → ``processed`` or ``dropped``; a retry or redirect
  copy supersedes its parent), with the fingerprint in a ``seen`` table written in the same transaction;
* ``processed`` is set by :class:`FrontierSpiderMiddleware` once the callback is done and every request it yielded
  is a row (in the transaction that queues the last of them: Scrapy buffers a callback's output, so the callback
  ends before its last requests reach the scheduler); ``dropped`` by :class:`FrontierDownloaderMiddleware` when a
  request finally failed or was ignored;
* on start, if the previous run did not finish, requests ``queued`` or ``taken`` are queued again, and so are
  ``processed`` ones whose response never reached a WARC (it was still in the writer's queue at the kill; the
  archive mends ``.open`` files first), and the catalog catches up with the killed run's WARCs before the item
  pipelines open it (:func:`pipelines.catalog.catchup.catch_up`: only records the catalog lacks are parsed and stored, rows
  whose record the kill lost are removed), so reports whose items were in an unflushed batch are not lost, at a cost
  in proportion to what was lost; when only the whole archive can say (a revisit of a record neither the catalog
  nor the dedup store knows), the catalog is rebuilt instead (``pipelines.catalog.rebuild``);
* a run that finishes clears the frontier, so the next scheduled run with the same JOBDIR starts afresh.

At most the requests in flight at the kill are fetched twice. Requests that cannot be serialised (a callable in
``meta``) stay in memory, as with Scrapy's own disk queues.
"""

from __future__ import annotations

import heapq
import logging
import pickle
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured
from scrapy.extensions.spiderstate import SpiderState
from scrapy.http import Request, Response
from scrapy.utils.request import request_from_dict

from archive.config import ArchiveConfig
from archive.mend import mend_open_files
from archive.naming import parse_warc_name
from archive.reader import iter_captures, warc_files
from crawler.diskfull import is_out_of_space, stop_crawl
from crawler.incremental import IncrementalConfig, catch_up_state
from pipelines.catalog.catchup import catch_up
from pipelines.catalog.rebuild import rebuild
from pipelines.catalog.schema import transaction
from pipelines.config import CatalogConfig

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

META_ID = "nianbao_job_id"
META_PARENT = "nianbao_job_parent"  # on a request a callback yielded: the row of the request whose callback it was
_SCHEMA = """
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY, priority INTEGER NOT NULL, url TEXT NOT NULL, blob BLOB NOT NULL,
    state TEXT NOT NULL, changed REAL NOT NULL);
CREATE INDEX IF NOT EXISTS requests_state ON requests (state);
CREATE TABLE IF NOT EXISTS seen (fp TEXT PRIMARY KEY);
"""
_OPEN_STATES = ("queued", "taken")


class DurableJobdir:
    """Add-on: with ``JOBDIR`` (and without ``NIANBAO_REDIS_URL``) use :class:`DurableScheduler` and its
    middlewares; ``NIANBAO_DURABLE_JOBDIR = False`` keeps Scrapy's own JOBDIR behaviour."""

    def update_settings(self, settings: BaseSettings) -> None:
        if not settings.get("JOBDIR") or settings.get("NIANBAO_REDIS_URL"):
            return
        if not settings.getbool("NIANBAO_DURABLE_JOBDIR", True):
            return
        settings.set("SCHEDULER", "crawler.resume.DurableScheduler", priority="addon")
        # Scrapy's spider-state file (spider.state, pickled at close): our spider keeps no state, and writing it is
        # one more thing to fail, with a traceback, when the crawl stops for a full disk
        settings.set_in_component_priority_dict("EXTENSIONS", SpiderState, None)
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", FrontierSpiderMiddleware, 1)
        settings.set_in_component_priority_dict("DOWNLOADER_MIDDLEWARES", FrontierDownloaderMiddleware, 1)


class Frontier:
    """The SQLite file under JOBDIR: rows of requests, the seen fingerprints, and run bookkeeping."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(_SCHEMA)

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def set_state(self, job_id: int, state: str) -> None:
        self.db.execute("UPDATE requests SET state = ?, changed = ? WHERE id = ?", (state, time.time(), job_id))

    def clear(self) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM requests")
            self.db.execute("DELETE FROM seen")
            self.db.execute("DELETE FROM meta")

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One explicit transaction: the connection is in autocommit mode, where ``with db:`` opens none and every
        statement commits on its own — a kill between two of them left a fingerprint seen without its request, or
        a parent superseded without its redirect hop (found by bench/chaos.py)."""
        return transaction(self.db)

    def close(self) -> None:
        self.db.close()


class DurableScheduler:
    """A priority scheduler whose queue and seen-set live in :class:`Frontier` (see the module docstring)."""

    def __init__(self, crawler: Crawler, jobdir: Path) -> None:
        self.crawler = crawler
        self.frontier = Frontier(jobdir / "frontier.sqlite")
        self.fingerprinter = crawler.request_fingerprinter
        self.stats = crawler.stats
        self.spider: Any = None
        self.seen: set[str] = set()
        self._heap: list[tuple[int, int]] = []  # (-priority, row id): FIFO within a priority
        self._memory: list[Request] = []  # requests that cannot be serialised
        self._warned = False
        self.failed = False  # the disk is full: nothing more is written, nothing more handed out
        self._children: dict[int, int] = {}  # row id -> requests its callback yielded that are not queued yet
        self._finished: set[int] = set()  # rows whose callback is done, waiting for their requests to be queued

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        jobdir = crawler.settings.get("JOBDIR")
        if not jobdir:
            raise NotConfigured("DurableScheduler needs JOBDIR")
        return cls(crawler, Path(jobdir))

    # --- life cycle -----------------------------------------------------------------------------
    def open(self, spider: Any) -> None:
        self.spider = spider
        try:
            self._open()
        except (OSError, sqlite3.Error) as e:
            if not is_out_of_space(e):
                raise
            self._full(e, "the resume (mend, catalog catch-up, frontier)")

    def _open(self) -> None:
        db = self.frontier.db
        self.seen = {fp for (fp,) in db.execute("SELECT fp FROM seen")}
        interrupted = self.frontier.get("run_started")
        if interrupted is not None:
            self._recover(float(interrupted))
        for job_id, priority in db.execute(
                "SELECT id, priority FROM requests WHERE state IN ('queued', 'taken')"):
            heapq.heappush(self._heap, (-priority, job_id))
        db.execute("UPDATE requests SET state = 'queued' WHERE state = 'taken'")
        self.frontier.put("run_started", str(time.time()))
        if interrupted is not None:
            logger.info("resume: %d requests queued again from %s, %d fingerprints seen",
                        len(self._heap), self.frontier.path, len(self.seen))
            self._inc("nianbao/resume/requeued", len(self._heap))

    def _recover(self, run_started: float) -> None:
        """The previous run was killed: requeue processed requests whose responses never reached a WARC, and bring
        the catalog up to date with the WARCs before the item pipelines open it."""
        archive = ArchiveConfig.from_settings(self.crawler.settings)
        warc_dir = archive.warc_dir
        if archive.mend_on_start and warc_dir.is_dir():  # the killed run's .open file (the archive would do it later)
            mend_open_files(warc_dir, archive.index_dir,
                            archive.state_dir / "dedup.sqlite" if archive.dedup or archive.conditional else None)
        started = time.strftime("%Y%m%d%H%M%S", time.gmtime(run_started))
        recent = [p for p in (warc_files(warc_dir) if warc_dir.is_dir() else [])
                  if (name := parse_warc_name(p.name)) is not None and name.timestamp[:14] >= started]
        captured = self._catch_up_catalog(recent, warc_dir, archive.state_dir / "dedup.sqlite")
        if captured is None:
            captured = {c.url for c in iter_captures(recent)} if recent else set()
        lost = [(job_id, url) for job_id, url in self.frontier.db.execute(
            "SELECT id, url FROM requests WHERE state = 'processed' AND changed >= ?", (run_started,))
            if url not in captured]
        with self.frontier.transaction():
            for job_id, _ in lost:
                self.frontier.set_state(job_id, "queued")
        if lost:
            logger.info("resume: %d processed requests had no WARC record yet; queued again", len(lost))
        self._inc("nianbao/resume/unarchived_requeued", len(lost))
        self._catch_up_state(recent, run_started)

    def _catch_up_state(self, recent: list[Path], run_started: float) -> None:
        """The incremental state level with the killed run's WARCs (:func:`crawler.incremental.catch_up_state`),
        every request queued again due whatever it says."""
        settings = self.crawler.settings
        if not settings.getwithbase("DOWNLOADER_MIDDLEWARES").get("crawler.incremental.IncrementalMiddleware"):
            return
        config = IncrementalConfig.from_settings(settings)
        again = {url for (url,) in self.frontier.db.execute(
            "SELECT url FROM requests WHERE state IN ('queued', 'taken')")}
        result = catch_up_state(config.state_path, recent, run_started, self._catalog_urls(recent), again)
        logger.info("resume: incremental state caught up: %d pages noted as checked, %d due again, %d forgotten",
                    result.recorded, result.rechecked, result.forgotten)
        self._inc("nianbao/resume/state_recorded", result.recorded)
        self._inc("nianbao/resume/state_rechecked", result.rechecked)

    def _catalog_urls(self, recent: list[Path]) -> set[str] | None:
        """URLs the catalog holds captures of in ``recent`` (the killed run's reports), None without a catalog."""
        config = CatalogConfig.from_settings(self.crawler.settings)
        if not config.enabled or not config.path.exists():
            return None
        names = {p.name for p in recent}
        con = sqlite3.connect(f"file:{config.path}?mode=ro", uri=True)
        try:
            return {url for url, warc_file in con.execute("SELECT url, warc_file FROM captures") if warc_file in names}
        finally:
            con.close()

    def _catch_up_catalog(self, recent: list[Path], warc_dir: Path, dedup: Path) -> set[str] | None:
        """Catch the catalog up with the killed run's WARCs ``recent``; returns the URLs captured in them (None
        when the catalog is off or was rebuilt instead: the caller reads them itself)."""
        config = CatalogConfig.from_settings(self.crawler.settings)
        if not config.enabled:
            return None
        result = catch_up(recent, config.path, warc_dir, dedup, seconds=config.parse_seconds)
        if result.needs_rebuild is None:
            logger.info("resume: catalog caught up: %s", result.summary_line())
            for key in ("records", "known", "parsed", "stored", "stale"):
                self._inc(f"nianbao/resume/catchup_{key}", getattr(result, key))
            for where in result.unresolved:
                logger.warning("resume: capture not recognised (a rebuild lists it too): %s", where)
            for damaged in result.damaged:
                logger.warning("resume: damaged WARC record skipped: %s", damaged)
            self._inc("nianbao/resume/catchup_damaged", len(result.damaged))
            return result.urls
        logger.warning("resume: the catalog cannot catch up from the killed run's WARCs alone (%s); rebuilding it "
                       "from the whole archive", result.needs_rebuild)
        self._rebuild_catalog(warc_dir)
        return None

    def _rebuild_catalog(self, warc_dir: Path) -> None:
        config = CatalogConfig.from_settings(self.crawler.settings)
        if not config.enabled or not warc_dir.is_dir():
            return
        result = rebuild(warc_dir, config.path, seconds=config.parse_seconds)
        logger.info("resume: catalog rebuilt from the WARCs: %s", result.summary_lines()[0])
        for damaged in result.damaged:
            logger.warning("resume: damaged WARC record skipped: %s", damaged)
        self._inc("nianbao/resume/catalog_rebuilt")

    def close(self, reason: str) -> None:
        try:
            if reason == "finished" and not self._heap and not self._memory and not self.failed:
                self.frontier.clear()  # the next scheduled run starts afresh
            self.frontier.close()
        except sqlite3.Error as e:
            if not is_out_of_space(e):
                raise
            logger.warning("resume: frontier not cleared (%s); the next run resumes this one", e)

    def _full(self, exc: BaseException, what: str = "the frontier") -> None:
        """No space left for the frontier: what it holds stays as it was (each change is one transaction, so a
        request not written is one whose parent is not marked done and will be made again), and the crawl stops."""
        self.failed = True
        stop_crawl(self.crawler, what, exc)

    # --- queue ----------------------------------------------------------------------------------
    def has_pending_requests(self) -> bool:
        return not self.failed and bool(self._heap or self._memory)

    def __len__(self) -> int:
        return len(self._heap) + len(self._memory)

    # --- a callback's requests, and when its own request is done ------------------------------------------
    def child_yielded(self, job_id: int) -> None:
        self._children[job_id] = self._children.get(job_id, 0) + 1

    def callback_done(self, job_id: int) -> None:
        if self._children.get(job_id, 0) > 0:
            self._finished.add(job_id)  # marked processed with its last request (enqueue_request)
        else:
            self._children.pop(job_id, None)
            self._set_state(job_id, "processed")

    def _origin_due(self, origin: int | None) -> int | None:
        """``origin`` (the row whose callback yielded the request being queued) when this request was its last
        one outstanding and its callback is done: it is to be marked processed with this request."""
        if origin is None or origin not in self._children:
            return None
        self._children[origin] -= 1
        if self._children[origin] > 0 or origin not in self._finished:
            return None
        del self._children[origin]
        self._finished.discard(origin)
        return origin

    def enqueue_request(self, request: Request) -> bool:
        origin = request.meta.pop(META_PARENT, None)
        done = self._origin_due(origin)
        fp: str | None = None
        if not request.dont_filter:
            fp = self.fingerprinter.fingerprint(request).hex()
            if fp in self.seen:
                self._inc("dupefilter/filtered")
                if done is not None:
                    self._set_state(done, "processed")
                return False
        parent = request.meta.pop(META_ID, None)
        try:
            blob = pickle.dumps(request.to_dict(spider=self.spider), protocol=4)
        except (pickle.PicklingError, AttributeError, TypeError, ValueError) as e:
            if not self._warned:
                logger.warning("request %s cannot be saved in JOBDIR (%s): kept in memory, lost on a crash",
                               request, e)
                self._warned = True
            self._inc("nianbao/resume/unserializable")
            blob = None
        db = self.frontier.db
        cur: sqlite3.Cursor | None = None
        if self.failed:
            return False  # stopping for want of space: its parent is not marked done, so it is made again
        try:
            with self.frontier.transaction():
                if parent is not None:
                    self.frontier.set_state(parent, "superseded")
                if fp is not None:
                    db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (fp,))
                if blob is not None:
                    cur = db.execute("INSERT INTO requests (priority, url, blob, state, changed) VALUES (?,?,?,?,?)",
                                     (request.priority, request.url, blob, "queued", time.time()))
                if done is not None:  # its callback's last request is in: the callback's own request is done
                    self.frontier.set_state(done, "processed")
        except sqlite3.OperationalError as e:
            if not is_out_of_space(e):
                raise
            self._full(e)
            return False
        if fp is not None:
            self.seen.add(fp)
        if blob is None:
            self._memory.append(request)
        else:
            assert cur is not None and cur.lastrowid is not None
            heapq.heappush(self._heap, (-request.priority, cur.lastrowid))
        self._inc("scheduler/enqueued")
        return True

    def next_request(self) -> Request | None:
        if self.failed:
            return None
        if self._memory:
            self._inc("scheduler/dequeued")
            return self._memory.pop()
        while self._heap:
            _, job_id = heapq.heappop(self._heap)
            row = self.frontier.db.execute("SELECT blob FROM requests WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                continue
            request = request_from_dict(pickle.loads(row[0]), spider=self.spider)  # noqa: S301 - our own file
            request.meta[META_ID] = job_id
            self._set_state(job_id, "taken")  # not written (no space): still queued, so made again on resume
            self._inc("scheduler/dequeued")
            return request
        return None

    def mark(self, request: Request | None, state: str) -> None:
        job_id = request.meta.get(META_ID) if request is not None else None
        if job_id is not None:
            self._set_state(job_id, state)

    def _set_state(self, job_id: int, state: str) -> None:
        if self.failed:
            return  # a request not marked done is made again on resume: at worst fetched twice
        try:
            self.frontier.set_state(job_id, state)
        except sqlite3.OperationalError as e:
            if not is_out_of_space(e):
                raise
            self._full(e)

    def _inc(self, key: str, n: int = 1) -> None:
        if self.stats is not None and n:
            self.stats.inc_value(key, n)


def _scheduler(crawler: Crawler) -> DurableScheduler | None:
    engine = crawler.engine
    slot = getattr(engine, "_slot", None)
    scheduler = getattr(slot, "scheduler", None)
    return scheduler if isinstance(scheduler, DurableScheduler) else None


class FrontierSpiderMiddleware:
    """Outermost spider middleware: a request is ``processed`` once its callback's output was all consumed and every
    request in it is in the frontier. Scrapy hands a callback's output to the engine through a queue of its own
    (``CONCURRENT_ITEMS`` workers, twice as many items buffered), so the callback can be done while its last requests
    are not queued yet; marked ``processed`` then, a kill in between lost them for good (a listing's next page, and
    every report on it). Each request this middleware passes on carries its parent's row id (``nianbao_job_parent``);
    the scheduler marks the parent ``processed`` in the transaction that queues its last one."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        parent = self._parent(response)
        for o in result:
            self._adopt(parent, o)
            yield o
        self._done(parent)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        parent = self._parent(response)
        async for o in result:
            self._adopt(parent, o)
            yield o
        self._done(parent)

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        self._done(self._parent(response))
        return None

    def _parent(self, response: Response | None) -> tuple[DurableScheduler, int] | None:
        scheduler = _scheduler(self.crawler)
        request = response.request if response is not None else None
        job_id = request.meta.get(META_ID) if request is not None else None
        return (scheduler, job_id) if scheduler is not None and job_id is not None else None

    @staticmethod
    def _adopt(parent: tuple[DurableScheduler, int] | None, output: Any) -> None:
        if parent is not None and isinstance(output, Request):
            scheduler, job_id = parent
            output.meta[META_PARENT] = job_id
            scheduler.child_yielded(job_id)

    @staticmethod
    def _done(parent: tuple[DurableScheduler, int] | None) -> None:
        if parent is not None:
            scheduler, job_id = parent
            scheduler.callback_done(job_id)


class FrontierDownloaderMiddleware:
    """Innermost-last downloader middleware: a request that finally failed or was ignored is ``dropped``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        scheduler = _scheduler(self.crawler)
        if scheduler is not None:
            scheduler.mark(request, "dropped")
        return None
