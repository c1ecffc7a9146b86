"""Incremental runs: listings are fetched every run, known report pages only when they are due.

A weekly crawl should not download every annual report again. This downloader middleware keeps, per report page
(requests whose ``archive_metadata`` role is ``report``, ``attachment`` or ``detail``), when it was last checked and
the SHA-1 of what came back, in ``<ARCHIVE_DIR>/state/incremental.sqlite``. On the next run:

* a page checked less than ``NIANBAO_REFRESH_DAYS`` ago is skipped (:class:`FreshSkip`, an ``IgnoreRequest``);
* an older one is fetched again — the archive layer turns that into a conditional request (``If-None-Match`` /
  ``If-Modified-Since`` from the previous capture, ``ARCHIVE_CONDITIONAL_REQUESTS``), and a 304 comes back as the
  previous capture replayed (flag ``archive:replayed``), recorded as a ``server-not-modified`` revisit;
* listing pages (role ``listing``, or no role) are always fetched, so new reports are found.

Each report page's outcome is counted in stats: ``nianbao/reports_new`` (never seen), ``nianbao/reports_changed``
(different bytes), ``nianbao/reports_unchanged`` (same bytes, 304, or skipped as fresh — the skips also in
``nianbao/reports_fresh_skipped``), ``nianbao/reports_failed`` (final error or HTTP error after retries).
Listing pages are never skipped, and ``NIANBAO_INCREMENTAL = False`` turns the skipping off (counting stays).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

REPORT_ROLES = frozenset({"report", "attachment", "detail"})
STATS = ("new", "changed", "unchanged", "failed")
_DAY = 86400.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_checked REAL NOT NULL,
    last_changed REAL NOT NULL
);
"""


class FreshSkip(IgnoreRequest):
    """A known report page checked within ``NIANBAO_REFRESH_DAYS``: not fetched this run."""

    nianbao_logged = True  # an expected outcome, not a fault: crawl.log leaves it out


@dataclass(frozen=True)
class IncrementalConfig:
    enabled: bool
    refresh_days: float
    state_path: Path

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> IncrementalConfig:
        days = settings.getfloat("NIANBAO_REFRESH_DAYS", 28.0)
        if days < 0:
            raise ValueError(f"NIANBAO_REFRESH_DAYS must be >= 0 (0 re-checks every report), got {days}")
        state = settings.get("NIANBAO_INCREMENTAL_STATE") or "state/incremental.sqlite"
        path = Path(state) if Path(state).is_absolute() else Path(settings.get("ARCHIVE_DIR", "data")) / state
        return cls(enabled=settings.getbool("NIANBAO_INCREMENTAL", True), refresh_days=days, state_path=path)


class PageState:
    """url → (digest, first seen, last checked, last changed); read whole at start, written in batches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(path)
        self._con.executescript(_SCHEMA)
        self.pages: dict[str, tuple[str, float, float, float]] = {
            url: (digest, first, checked, changed)
            for url, digest, first, checked, changed in self._con.execute("SELECT * FROM pages")
        }
        self._dirty: dict[str, tuple[str, float, float, float]] = {}

    def record(self, url: str, digest: str, now: float) -> str:
        """Note a successful check of ``url``; return ``"new"``, ``"changed"`` or ``"unchanged"``."""
        old = self.pages.get(url)
        if old is None:
            row, kind = (digest, now, now, now), "new"
        elif old[0] != digest:
            row, kind = (digest, old[1], now, now), "changed"
        else:
            row, kind = (old[0], old[1], now, old[3]), "unchanged"
        self.pages[url] = row
        self._dirty[url] = row
        if len(self._dirty) >= 200:
            self.flush()
        return kind

    def flush(self) -> None:
        if not self._dirty:
            return
        with self._con:
            self._con.executemany("INSERT OR REPLACE INTO pages VALUES (?,?,?,?,?)",
                                  [(url, *row) for url, row in self._dirty.items()])
        self._dirty.clear()

    def close(self) -> None:
        self.flush()
        self._con.close()


class IncrementalMiddleware:
    """Downloader middleware: skip fresh report pages, count every report page's outcome."""

    def __init__(self, crawler: Crawler, config: IncrementalConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.state: PageState | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = IncrementalConfig.from_settings(crawler.settings)
        mw = cls(crawler, config)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_opened(self, spider: Any) -> None:
        self.state = PageState(self.config.state_path)
        logger.info("incremental: %d report pages known, refresh after %g days%s", len(self.state.pages),
                    self.config.refresh_days, "" if self.config.enabled else " (NIANBAO_INCREMENTAL off: no skips)")

    def spider_closed(self, spider: Any) -> None:
        if self.state is not None:
            self.state.close()
            self.state = None

    @staticmethod
    def _role(request: Request) -> str | None:
        meta = request.meta.get("archive_metadata")
        role = meta.get("role") if isinstance(meta, dict) else None
        return role if role in REPORT_ROLES else None

    def _count(self, kind: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"nianbao/reports_{kind}")

    def process_request(self, request: Request) -> None:
        if not self.config.enabled or self.state is None or self._role(request) is None:
            return None
        if request.meta.get("retry_times") or request.meta.get("redirect_urls"):
            return None  # decided when the first attempt was scheduled
        known = self.state.pages.get(request.url)
        if known is None:
            return None
        age_days = (time.time() - known[2]) / _DAY
        if age_days < self.config.refresh_days:
            self._count("unchanged")
            self._count("fresh_skipped")
            raise FreshSkip(f"fresh: {request.url} was checked {age_days:.1f} days ago "
                            f"(NIANBAO_REFRESH_DAYS={self.config.refresh_days:g})")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if self.state is None or self._role(request) is None:
            return response
        if response.status >= 400:
            self._count("failed")
            return response
        if response.status == 304:
            self._count("unchanged")
            return response
        if response.status != 200:
            return response
        digest = hashlib.sha1(response.body).hexdigest()
        kind = self.state.record(request.url, digest, time.time())
        if "archive:replayed" in response.flags:
            kind = "unchanged"  # a 304 to a conditional request: the previous capture handed on
        self._count(kind)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        # Reached only once RetryMiddleware (higher in the chain) gave up, or for errors it does not retry.
        if self._role(request) is not None and not isinstance(exception, IgnoreRequest):
            self._count("failed")
        return None


def count_stats(stats: dict[str, Any]) -> dict[str, int]:
    """The four run counts from a crawl's stats (0 when absent), for summaries and tests."""
    return {k: int(stats.get(f"nianbao/reports_{k}", 0)) for k in STATS}


__all__ = ["FreshSkip", "IncrementalMiddleware", "PageState", "count_stats"]
