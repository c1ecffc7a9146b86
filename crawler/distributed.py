"""Distributed crawling: one setting, ``NIANBAO_REDIS_URL``, puts the frontier and the duplicate filter in Redis.

With ``NIANBAO_REDIS_URL = "redis://host:6379/0"`` every ``scrapy crawl annual_reports`` started against that Redis
is a worker of one crawl: requests go to a shared priority queue (``nianbao:<spider>:requests``) and a shared
fingerprint set (``nianbao:<spider>:dupefilter``), both from scrapy-redis, so each URL is fetched by one worker
only. Every worker writes its own WARCs (the file names carry host and pid) under its own ``ARCHIVE_DIR``;
``scrapy rebuild`` over all of them gives the full catalog.

Two pieces:

* :class:`RedisFrontier` — a Scrapy add-on (``ADDONS``) that, when the setting is given, switches ``SCHEDULER``
  and ``DUPEFILTER_CLASS`` to scrapy-redis and enables the coordinator; without it, it does nothing;
* :class:`WorkerCoordinator` — an extension that keeps a worker alive while others may still hand it work (a
  worker that finds the queue empty at start would otherwise stop at once), wakes the engine when the shared
  queue fills (instead of Scrapy's 5-second heartbeat), and lets the *last* worker clear the frontier, so the next
  scheduled run starts fresh while a worker that crashed mid-run leaves it for its replacement.

Liveness: every ``NIANBAO_REDIS_POLL`` seconds each worker refreshes ``nianbao:<spider>:alive:<worker>`` and, while
it has requests in flight, ``nianbao:<spider>:busy:<worker>`` (both expire after ``NIANBAO_REDIS_BUSY_TTL``, so a
killed worker stops counting). A worker closes when the queue is empty and no other worker is busy; the last
alive worker to finish deletes the queue and the fingerprints.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Request
from scrapy.utils.asyncio import create_looping_call
from scrapy_redis.scheduler import Scheduler

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

KEY_PREFIX = "nianbao:%(spider)s"


class SharedScheduler(Scheduler):
    """scrapy-redis's scheduler, plus what Scrapy's own scheduler does with a request its disk queue cannot
    serialise (a callable in ``meta``, e.g. a Playwright page-event handler): keep it in this worker's memory,
    with one warning and the stat ``nianbao/redis/unserializable``, instead of stopping the crawl."""

    def open(self, spider: Any) -> None:
        super().open(spider)
        self._local: deque[Request] = deque()
        self._warned = False

    def enqueue_request(self, request: Request) -> bool:
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        try:
            self.queue.push(request)
        except (pickle.PicklingError, AttributeError, TypeError, ValueError) as e:
            if not self._warned:
                logger.warning("request %s cannot go to the Redis frontier (%s): this worker keeps it (and any "
                               "like it) in memory", request, e)
                self._warned = True
            if self.stats is not None:
                self.stats.inc_value("nianbao/redis/unserializable")
            self._local.append(request)
            return True
        if self.stats is not None:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self._local:
            return self._local.popleft()
        request: Request | None = self.queue.pop(self.idle_before_close)
        if request is not None and self.stats is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self._local) or len(self) > 0


class RedisFrontier:
    """Add-on: ``NIANBAO_REDIS_URL`` set → scrapy-redis scheduler + dupefilter + :class:`WorkerCoordinator`."""

    def update_settings(self, settings: BaseSettings) -> None:
        url = (settings.get("NIANBAO_REDIS_URL") or "").strip()
        if not url:
            return
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"NIANBAO_REDIS_URL: {url!r} is not a redis:// (or rediss://, unix://) URL")
        if settings.get("JOBDIR"):
            raise ValueError("NIANBAO_REDIS_URL and JOBDIR both set: the Redis frontier already survives a restart; "
                             "drop JOBDIR")
        settings.set("REDIS_URL", url, priority="addon")
        settings.set("SCHEDULER", "crawler.distributed.SharedScheduler", priority="addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", priority="addon")
        settings.set("SCHEDULER_QUEUE_KEY", f"{KEY_PREFIX}:requests", priority="addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", f"{KEY_PREFIX}:dupefilter", priority="addon")
        # Kept across worker exits; the last worker of a run clears it (WorkerCoordinator).
        settings.set("SCHEDULER_PERSIST", True, priority="addon")
        settings.set("SCHEDULER_FLUSH_ON_START", False, priority="addon")
        settings.set("SCHEDULER_IDLE_BEFORE_CLOSE", 0, priority="addon")  # never block the reactor on BRPOP
        settings.set_in_component_priority_dict("EXTENSIONS", WorkerCoordinator, 200)


@dataclass(frozen=True)
class CoordinatorConfig:
    url: str
    busy_ttl: float
    poll: float
    min_workers: int
    wait: float

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CoordinatorConfig:
        url = (settings.get("NIANBAO_REDIS_URL") or "").strip()
        if not url:
            raise NotConfigured("NIANBAO_REDIS_URL is not set: single-process crawl")
        ttl = settings.getfloat("NIANBAO_REDIS_BUSY_TTL", 10.0)
        poll = settings.getfloat("NIANBAO_REDIS_POLL", 0.5)
        if ttl <= poll * 2:
            raise ValueError(f"NIANBAO_REDIS_BUSY_TTL ({ttl}) must be more than twice NIANBAO_REDIS_POLL ({poll})")
        min_workers = settings.getint("NIANBAO_REDIS_MIN_WORKERS", 1)
        if min_workers < 1:
            raise ValueError(f"NIANBAO_REDIS_MIN_WORKERS must be >= 1, got {min_workers}")
        return cls(url=url, busy_ttl=ttl, poll=poll, min_workers=min_workers,
                   wait=settings.getfloat("NIANBAO_REDIS_WAIT", 60.0))


class WorkerCoordinator:
    """Extension: stay up while the shared frontier may still get work; the last worker out clears it."""

    def __init__(self, crawler: Crawler, config: CoordinatorConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.server = redis.Redis.from_url(config.url)
        self.worker = f"{socket.gethostname()}-{os.getpid()}"
        self._loop: Any = None
        self._keys: dict[str, str] = {}
        self._waiting_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler, CoordinatorConfig.from_settings(crawler.settings))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        prefix = KEY_PREFIX % {"spider": spider.name}
        self._keys = {"queue": f"{prefix}:requests", "dupefilter": f"{prefix}:dupefilter",
                      "alive": f"{prefix}:alive:", "busy": f"{prefix}:busy:"}
        self._mark_alive()
        self._mark_busy(True)
        if self.config.min_workers > 1 and self.crawler.engine is not None:
            # Start requests still go to the shared queue; nothing is downloaded until enough workers joined.
            self.crawler.engine.pause()
            self._waiting_since = time.monotonic()
        self._loop = create_looping_call(self._tick)
        self._loop.start(self.config.poll, now=False)
        logger.info("worker %s joined the Redis frontier %s", self.worker, self._keys["queue"])

    def _queue_len(self) -> int:
        return int(self.server.zcard(self._keys["queue"]))

    def _mark_alive(self) -> None:
        self.server.set(self._keys["alive"] + self.worker, "1", px=int(self.config.busy_ttl * 1000))

    def _mark_busy(self, busy: bool) -> None:
        key = self._keys["busy"] + self.worker
        if busy:
            self.server.set(key, "1", px=int(self.config.busy_ttl * 1000))
        else:
            self.server.delete(key)

    def _others(self, kind: str) -> list[str]:
        prefix = self._keys[kind]
        names = (k.decode()[len(prefix):] for k in self.server.scan_iter(match=prefix + "*"))
        return [n for n in names if n != self.worker]

    def _tick(self) -> None:
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        self._mark_alive()
        if self._waiting_since is not None:
            joined = 1 + len(self._others("alive"))
            waited = time.monotonic() - self._waiting_since
            if joined < self.config.min_workers and waited < self.config.wait:
                return
            logger.info("worker %s starts: %d worker(s) joined after %.1f s (NIANBAO_REDIS_MIN_WORKERS=%d)",
                        self.worker, joined, waited, self.config.min_workers)
            self._waiting_since = None
            engine.unpause()
        idle = engine.spider_is_idle()
        self._mark_busy(not idle)
        if idle and self._queue_len():
            # Work arrived from another worker: poll now rather than at the engine's next 5 s heartbeat.
            slot = getattr(engine, "_slot", None)
            nextcall = getattr(slot, "nextcall", None)
            if nextcall is not None:
                nextcall.schedule()

    def spider_idle(self, spider: Any) -> None:
        self._mark_busy(False)
        if self._queue_len():
            raise DontCloseSpider("requests wait in the Redis frontier")
        others = self._others("busy")
        if others:
            raise DontCloseSpider(f"other workers still busy: {', '.join(others)}")

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._mark_busy(False)
        self.server.delete(self._keys["alive"] + self.worker)
        if reason == "finished" and not self._others("alive"):
            self.server.delete(self._keys["queue"], self._keys["dupefilter"])
            logger.info("worker %s was the last one: Redis frontier cleared for the next run", self.worker)
        else:
            logger.info("worker %s left the Redis frontier (%s)", self.worker, reason)
