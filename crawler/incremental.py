"""Incremental runs: listings are fetched every run, known report pages only when they are due.

A weekly crawl should not download every annual report again. This downloader middleware keeps, per report page
(requests whose routing record, :mod:`crawler.routing`, has role ``report``, ``attachment`` or ``detail``), when it was last checked,
the SHA-1 of what came back and, for an attachment, the page that links it — and, for a link that redirects, where
it leads — in ``<ARCHIVE_DIR>/state/incremental.sqlite``. On the next run:

* a page checked less than ``NIANBAO_REFRESH_DAYS`` ago is skipped (:class:`FreshSkip`, an ``IgnoreRequest``);
* an older one is fetched again — the archive layer turns that into a conditional request (``If-None-Match`` /
  ``If-Modified-Since`` from the previous capture, ``ARCHIVE_CONDITIONAL_REQUESTS``), and a 304 comes back as the
  previous capture replayed (flag ``archive:replayed``), recorded as a ``server-not-modified`` revisit;
* listing pages (role ``listing``, or no role) are always fetched, so new reports are found.

The run's counts are per **report**, the unit of the catalog's ``reports`` table: a report page the spider turned
into an item (a detail page that only links its attachments is not one; the state remembers which pages were).
When the spider closes, every report known after the run is in exactly one of

``nianbao/reports_new``            answered for the first time;
``nianbao/reports_changed``        answered with other bytes than at its last check;
``nianbao/reports_unchanged``      same bytes, or a 304 (the previous capture replayed);
``nianbao/reports_failed``         answered, but the catalog could not parse the capture (read back from
                                   ``CATALOG_PATH`` once the pipelines closed);
``nianbao/reports_not_rechecked``  known from an earlier run, not answered in this one: still fresh (those also in
                                   ``nianbao/reports_fresh_skipped``; a report behind a fresh detail page counts
                                   as skipped), its page failed (below), or it is no longer listed,

so new + changed + unchanged + failed + not_rechecked = the reports known after the run. These are the columns of
the run's ``crawl_runs`` row, which the catalog derives from the WARCs (``pipelines/runs.py``); the two agree.
``nianbao/reports_unreachable`` counts report links that got no usable answer (an HTTP error after the retries, or
no answer at all): a known one is also in ``not_rechecked``, a new one is not known yet. Listing pages are never
skipped, and ``NIANBAO_INCREMENTAL = False`` turns the skipping off (counting stays).

The state is written in batches and when the spider closes, so a crawl killed with SIGKILL leaves it behind its
WARCs (or, past a batch, ahead of them: a page noted as checked whose answer the kill lost). The resume
(:mod:`crawler.resume`) brings it level with the killed run's WARCs before this middleware opens it
(:func:`catch_up_state`): every page the killed run archived is noted as checked when it was captured, with the
catalog saying which were reports, and a page noted in that run without an archived answer is to be checked again.
A request the resume queues again is never skipped as fresh. So the resumed run, and the runs after it, count what
``crawl_runs`` counts.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from archive.payload import PayloadTooLarge
from archive.reader import DamagedRecord, iter_captures
from archive.records import sha1_of
from crawler.diskfull import is_out_of_space, stop_crawl
from crawler.routing import PAGE_ROLES, Routing, routing_of
from pipelines.catalog.schema import ids_in
from pipelines.config import CatalogConfig

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

STATS = ("new", "changed", "unchanged", "failed", "not_rechecked")
_ANSWERED = ("new", "changed", "unchanged")
_DAY = 86400.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_checked REAL NOT NULL,
    last_changed REAL NOT NULL,
    parent TEXT,
    report INTEGER
);
CREATE TABLE IF NOT EXISTS redirects (url TEXT PRIMARY KEY, target TEXT NOT NULL);
"""


class FreshSkip(IgnoreRequest):
    """A known report page checked within ``NIANBAO_REFRESH_DAYS``: not fetched this run."""

    nianbao_logged = True  # an expected outcome, not a fault: crawl.log leaves it out


@dataclass(frozen=True)
class IncrementalConfig:
    enabled: bool
    refresh_days: float
    state_path: Path
    catalog_path: Path | None  # where parse failures are read back from (None: no catalog)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> IncrementalConfig:
        days = settings.getfloat("NIANBAO_REFRESH_DAYS", 28.0)
        if days < 0:
            raise ValueError(f"NIANBAO_REFRESH_DAYS must be >= 0 (0 re-checks every report), got {days}")
        state = settings.get("NIANBAO_INCREMENTAL_STATE") or "state/incremental.sqlite"
        path = Path(state) if Path(state).is_absolute() else Path(settings.get("ARCHIVE_DIR", "data")) / state
        catalog = CatalogConfig.from_settings(settings)
        return cls(enabled=settings.getbool("NIANBAO_INCREMENTAL", True), refresh_days=days, state_path=path,
                   catalog_path=catalog.path if catalog.enabled else None)


# digest, first seen, last checked, last changed, the page linking it (attachments), whether it was a report (an
# item) at its last check (None: not known, a state file from before this was kept)
Row = tuple[str, float, float, float, str | None, int | None]


class PageState:
    """url → :data:`Row`; read whole at start, written in batches."""

    def __init__(self, path: Path, on_full: Callable[[BaseException], None] | None = None) -> None:
        self.path = path
        self.on_full = on_full  # no space to save it: called (once) instead of raising, the rows kept in memory
        self.full = False
        path.parent.mkdir(parents=True, exist_ok=True)
        self._con = sqlite3.connect(path)
        self._con.executescript(_SCHEMA)
        columns = {row[1] for row in self._con.execute("PRAGMA table_info(pages)")}
        with self._con:  # a state file from before reports and attachments were told apart
            for name, kind in (("parent", "TEXT"), ("report", "INTEGER")):
                if name not in columns:
                    self._con.execute(f"ALTER TABLE pages ADD COLUMN {name} {kind}")
        self.pages: dict[str, Row] = {
            url: (digest, first, checked, changed, parent, report)
            for url, digest, first, checked, changed, parent, report in self._con.execute(
                "SELECT url, digest, first_seen, last_checked, last_changed, parent, report FROM pages")
        }
        self._dirty: dict[str, Row] = {}
        # a report link that redirects: its state is the target's (so it is skipped while the target is fresh)
        self.redirects: dict[str, str] = dict(self._con.execute("SELECT url, target FROM redirects"))
        self._dirty_redirects: dict[str, str] = {}

    def redirected(self, url: str, target: str) -> None:
        if url != target and self.redirects.get(url) != target:
            self.redirects[url] = target
            self._dirty_redirects[url] = target

    def record(self, url: str, digest: str, now: float, parent: str | None = None) -> str:
        """Note a successful check of ``url``; return ``"new"``, ``"changed"`` or ``"unchanged"``."""
        old = self.pages.get(url)
        parent = parent or (old[4] if old is not None else None)
        report = old[5] if old is not None else None
        row: Row
        if old is None:
            row, kind = (digest, now, now, now, parent, report), "new"
        elif old[0] != digest:
            row, kind = (digest, old[1], now, now, parent, report), "changed"
        else:
            row, kind = (old[0], old[1], now, old[3], parent, report), "unchanged"
        self._put(url, row)
        return kind

    def set_report(self, url: str, report: bool) -> None:
        """Whether the page checked this run turned out to be a report (the spider made an item of it). A report
        stays one (the catalog keeps its row, whatever the page links later)."""
        row = self.pages.get(url)
        if row is None or row[5] == 1:
            return
        if report or row[5] is None:
            self._put(url, (*row[:5], int(report)))

    def is_report(self, url: str) -> bool:
        row = self.pages.get(url)
        return row is not None and row[5] != 0

    def recheck(self, url: str) -> None:
        """Keep what is known of ``url`` but have the next run check it again, however fresh it looked."""
        row = self.pages.get(url)
        if row is not None and row[2] != 0.0:
            self._put(url, (row[0], row[1], 0.0, *row[3:]))

    def forget(self, url: str) -> None:
        if self.pages.pop(url, None) is not None:
            self._dirty.pop(url, None)
            with self._con:
                self._con.execute("DELETE FROM pages WHERE url = ?", (url,))

    def _put(self, url: str, row: Row) -> None:
        self.pages[url] = row
        self._dirty[url] = row
        if len(self._dirty) >= 200:
            self.flush()

    def flush(self) -> None:
        if not self._dirty and not self._dirty_redirects or self.full:
            return
        try:
            with self._con:
                self._con.executemany("INSERT OR REPLACE INTO pages (url, digest, first_seen, last_checked,"
                                      " last_changed, parent, report) VALUES (?,?,?,?,?,?,?)",
                                      [(url, *row) for url, row in self._dirty.items()])
                self._con.executemany("INSERT OR REPLACE INTO redirects VALUES (?,?)", self._dirty_redirects.items())
        except sqlite3.OperationalError as e:
            if self.on_full is None or not is_out_of_space(e):
                raise
            self.full = True  # the resume catches the state up from the WARCs (catch_up_state)
            self.on_full(e)
            return
        self._dirty.clear()
        self._dirty_redirects.clear()

    def close(self) -> None:
        self.flush()
        self._con.close()


class IncrementalMiddleware:
    """Downloader middleware: skip fresh report pages; at the end, count every known report's outcome."""

    def __init__(self, crawler: Crawler, config: IncrementalConfig) -> None:
        self.crawler = crawler
        self.config = config
        self.state: PageState | None = None
        self.known_before: set[str] = set()  # reports known when the run started
        self.outcome: dict[str, str] = {}  # report page → new/changed/unchanged/skipped/unreachable, this run
        self.record_ids: dict[str, str] = {}  # report page → the WARC record of this run's answer
        self.items: set[str] = set()  # URLs the spider made report items of, this run
        self.counts: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = IncrementalConfig.from_settings(crawler.settings)
        mw = cls(crawler, config)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(mw.item_scraped, signal=signals.item_scraped)
        return mw

    def spider_opened(self, spider: Any) -> None:
        try:
            self.state = PageState(self.config.state_path,
                                   on_full=lambda e: stop_crawl(self.crawler, "the incremental state", e))
        except (OSError, sqlite3.Error) as e:
            if not is_out_of_space(e):
                raise
            stop_crawl(self.crawler, "the incremental state", e)
            return
        self.known_before = {url for url in self.state.pages if self.state.is_report(url)}
        logger.info("incremental: %d reports known, refresh after %g days%s", len(self.known_before),
                    self.config.refresh_days, "" if self.config.enabled else " (NIANBAO_INCREMENTAL off: no skips)")

    def item_scraped(self, item: Any, **_: Any) -> None:
        url = getattr(item, "url", None) or (item.get("url") if isinstance(item, dict) else None)
        if isinstance(url, str):
            self.items.add(url)

    def spider_closed(self, spider: Any) -> None:
        if self.state is None:
            return
        for url, kind in self.outcome.items():
            if kind in _ANSWERED:
                self.state.set_report(url, url in self.items)
        self.counts = self.tally(self._unparsed())
        if self.crawler.stats is not None:
            for key, value in self.counts.items():
                self.crawler.stats.set_value(f"nianbao/reports_{key}", value)
        self.state.close()
        self.state = None

    @staticmethod
    def _routing(request: Request) -> Routing | None:
        """The request's routing record when it asks for a report page (report, attachment or detail)."""
        routing = routing_of(request.meta)
        return routing if routing is not None and routing.role in PAGE_ROLES else None

    def _note(self, url: str, kind: str) -> None:
        if self.outcome.get(url) not in _ANSWERED:  # a later failure does not undo an answer of this run
            self.outcome[url] = kind

    def process_request(self, request: Request) -> None:
        if not self.config.enabled or self.state is None or self._routing(request) is None:
            return None
        if request.meta.get("retry_times") or request.meta.get("redirect_urls"):
            return None  # decided when the first attempt was scheduled
        url = self.state.redirects.get(request.url, request.url)
        known = self.state.pages.get(url)
        if known is None:
            return None
        age_days = (time.time() - known[2]) / _DAY
        if age_days < self.config.refresh_days:
            self._note(url, "skipped")
            via = f" (redirects to {url})" if url != request.url else ""
            raise FreshSkip(f"fresh: {request.url}{via} was checked {age_days:.1f} days ago "
                            f"(NIANBAO_REFRESH_DAYS={self.config.refresh_days:g})")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        routing = self._routing(request)
        if self.state is None or routing is None:
            return response
        if response.status >= 400:
            self._note(request.url, "unreachable")
            return response
        if response.status != 200:
            return response  # a 304 the archive could not replay reaches no callback: not a check
        digest = sha1_of(response.body).hex()
        kind = self.state.record(request.url, digest, time.time(), routing.attachment_of)
        if "archive:replayed" in response.flags:
            kind = "unchanged"  # a 304 to a conditional request: the previous capture handed on
        self.outcome[request.url] = kind
        for hop in request.meta.get("redirect_urls") or ():
            self.state.redirected(hop, request.url)
        record_id = request.meta.get("archive_record_id")
        if isinstance(record_id, str):
            self.record_ids[request.url] = record_id
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        # Reached only once RetryMiddleware (higher in the chain) gave up, or for errors it does not retry.
        if self._routing(request) is not None and not isinstance(exception, IgnoreRequest):
            self._note(request.url, "unreachable")
        return None

    # --- counting -----------------------------------------------------------------------------------

    def _unparsed(self) -> set[str]:
        """Reports answered this run whose capture the catalog could not parse (the item pipelines have closed
        by ``spider_closed``, so their rows are in)."""
        path = self.config.catalog_path
        ids = {rid: url for url, rid in self.record_ids.items() if url in self.items}
        if path is None or not ids or not path.exists():
            return set()
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                failed = ids_in(con, "SELECT record_id FROM captures WHERE outcome = 'failed' AND record_id IN ({marks})",
                                ids)
            finally:
                con.close()
        except sqlite3.Error as e:
            logger.warning("incremental: cannot read parse outcomes from %s (%s); reports_failed stays 0", path, e)
            return set()
        return {ids[rid] for rid in failed}

    def tally(self, unparsed: set[str] | None = None) -> dict[str, int]:
        """The run's counts per report (see the module docstring); ``unparsed``: reports answered this run that
        the catalog could not parse."""
        unparsed = unparsed or set()
        counts = dict.fromkeys((*STATS, "fresh_skipped", "unreachable"), 0)
        answered = {url for url, kind in self.outcome.items() if kind in _ANSWERED and url in self.items}
        for url in answered:
            counts["failed" if url in unparsed else self.outcome[url]] += 1
        pages = self.state.pages if self.state is not None else {}
        counts["unreachable"] = sum(1 for url, kind in self.outcome.items()
                                    if kind == "unreachable" and (url not in pages or pages[url][5] != 0))
        skipped = {url for url, kind in self.outcome.items() if kind == "skipped"}
        for url in self.known_before - answered:
            counts["not_rechecked"] += 1
            parent = pages[url][4] if url in pages else None
            if url in skipped or (parent is not None and parent in skipped):
                counts["fresh_skipped"] += 1
        return counts


@dataclass
class StateCatchUp:
    recorded: int = 0  # pages the killed run archived, noted as checked
    rechecked: int = 0  # pages noted in the killed run without an archived answer, or queued again: due again
    forgotten: int = 0  # pages first noted in the killed run without an archived answer


def catch_up_state(state_path: Path, files: Iterable[Path], since: float, reports: set[str] | None,
                   again: set[str]) -> StateCatchUp:
    """Bring the incremental state at ``state_path`` level with ``files``, the WARCs of a run killed after ``since``
    (epoch seconds; the files already mended). ``reports``: the URLs the catalog holds a capture of in those files
    (the spider made items of them; None: no catalog, report flags stay as they are); ``again``: URLs of the
    requests the resume queues again, to be fetched whatever the state says."""
    result = StateCatchUp()
    state = PageState(state_path)
    archived: set[str] = set()

    def ignore(_: DamagedRecord) -> None:  # the catalog's catch-up names damaged records; once is enough
        return None

    try:
        for cap in iter_captures(list(files), errors=ignore):
            routing = Routing.from_metadata(cap.metadata) if cap.metadata else None
            if routing is None or routing.role not in PAGE_ROLES:
                continue
            when = _epoch(cap.captured_at, since)
            if cap.status is not None and 300 <= cap.status < 400:
                location = cap.header("Location")
                if location:
                    state.redirected(cap.url, urljoin(cap.url, location))
                continue
            if cap.status != 200 and cap.record_type != "revisit":
                continue
            known = state.pages.get(cap.url)
            if cap.record_type == "revisit":  # the same payload as a capture the state already describes
                if known is None:
                    continue
                digest = known[0]
            else:
                try:
                    digest = sha1_of(cap.payload).hex()  # as the middleware hashes it: encoding undone
                except PayloadTooLarge:
                    continue
            state.record(cap.url, digest, when, routing.attachment_of)
            archived.add(cap.url)
            result.recorded += 1
        if reports is not None:
            for url in archived:
                state.set_report(url, url in reports)
        for url, row in list(state.pages.items()):
            if row[2] < since or (url in archived and url not in again):
                continue
            if url not in archived and row[1] >= since:
                state.forget(url)  # first seen by the killed run, and its answer is not in any WARC
                result.forgotten += 1
            else:
                state.recheck(url)
                result.rechecked += 1
    finally:
        state.close()
    return result


def _epoch(captured_at: str, default: float) -> float:
    try:
        return datetime.fromisoformat(captured_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default


def count_stats(stats: dict[str, Any]) -> dict[str, int]:
    """The five run counts from a crawl's stats (0 when absent), for summaries and tests."""
    return {k: int(stats.get(f"nianbao/reports_{k}", 0)) for k in STATS}


__all__ = ["FreshSkip", "IncrementalMiddleware", "PageState", "StateCatchUp", "catch_up_state", "count_stats"]
