"""``<ARCHIVE_DIR>/crawl.log``: one JSON line per thing that went wrong (or was refused) during a crawl.

Every line is a crawl event (:mod:`crawler.crawl_events`): a download exception seen by :class:`CrawlLogMiddleware`
before ``RetryMiddleware`` turns it into a retry (so a timeout, a reset and a short body are told apart), what
Scrapy's own middlewares decide (retries, give-ups, redirect limits, decompression bombs, robots.txt refusals;
:mod:`crawler.crawllog_sources`), Scrapy's signals (HTTP errors, spider and item errors, dropped items, a declared
charset the bytes contradict) and the events our components send (address guard, pagination cap, redirect loop).
Nothing is recognised from the wording of a log message. Log records at WARNING and above that no event covers are
copied as ``warning``/``error`` lines, so an operator sees them too::

    {"time": "2026-11-22T05:40:42.123Z", "run": "20261122T054042Z-4711", "event": "retry",
     "url": "http://…/index_3.html", "reason": "503 Service Unavailable", "attempt": 1}

:class:`CrawlLog` is the extension that owns the file (append mode, one line per event, flushed, so a SIGKILL loses
nothing written). On a browser page :class:`CrawlLogMiddleware` also watches the requests Chromium makes while
rendering (:mod:`crawler.crawllog_browser`). Stats: ``nianbao/crawl_log/<event>``.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urljoin

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response

from crawler import crawllog_browser
from crawler.crawl_events import LOGGED_AS_EVENT, classify_exception, crawl_event, describe, send_event
from crawler.crawllog_sources import META_LOGGED
from crawler.diskfull import stop_crawl
from crawler.textfix.charsets import header_charset, meta_charset

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

_URL_RE = re.compile(r"https?://[^\s<>\"')]+")
_TEXT_TYPES = ("text/", "application/xhtml", "application/xml", "application/json", "application/javascript")
_CHARSET_PROBE = 65536
# Loggers whose faults reach crawl.log as events (exceptions, middleware outcomes, signals): their records are not
# copied again. By logger name only; what a record says is never read.
_EVENT_SOURCED_LOGGERS = (
    "scrapy.downloadermiddlewares.retry",  # crawllog_sources.RetryEventsMiddleware
    "scrapy.downloadermiddlewares.redirect",  # crawllog_sources.RedirectEventsMiddleware, MetaRefreshEvents…
    "scrapy.downloadermiddlewares.httpcompression",  # crawllog_sources.CompressionEventsMiddleware
    "scrapy.downloadermiddlewares.robotstxt",  # RobotsEventsMiddleware; robots.txt's own failure: CrawlLogMiddleware
    "scrapy.core.downloader.handlers",  # size limits: CompressionEventsMiddleware, CrawlLogMiddleware
    "scrapy.core.scraper",  # download errors: EventLogFormatter; spider_error, item_error, item_dropped signals
    "crawler.crawllog",
)
_PLAYWRIGHT_LOGGER = "scrapy-playwright"


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _peak_rss_mb() -> float | None:
    """The process's peak resident memory so far (MiB), for run_start / run_end."""
    if resource is None:
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def declared_charset_problem(body: bytes, content_type: str | None) -> str | None:
    """One line saying how ``body`` contradicts its declared charset (header, else ``<meta>``), or None. The
    declarations are read by the text layer's parser (:mod:`crawler.textfix.charsets`), the one the decoder uses."""
    where = "Content-Type"
    raw, name = header_charset({"Content-Type": content_type}) if content_type else (None, None)
    if raw is None:
        where = "<meta>"
        raw, name = meta_charset(body)
    if raw is None:
        return None
    declared = raw.strip("\"'").lower()
    if name is None:
        return f"{where} declares an unknown charset {declared!r}"
    probe = body[:_CHARSET_PROBE]
    final = len(body) <= _CHARSET_PROBE
    if name != "utf-8" and not probe.isascii() and _decodes(probe, "utf-8", final):
        # UTF-8 multi-byte text is the usual mislabel; gb18030 would even accept it without an error.
        return f"{where} declares {declared} but the bytes are UTF-8"
    try:
        codecs.getincrementaldecoder(name)("strict").decode(probe, final=final)
    except UnicodeDecodeError as e:
        return f"{where} declares {declared} but byte {e.start} ({probe[e.start:e.start + 2].hex()}) is not {declared}"
    return None


def _decodes(data: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(data, final=final)
    except UnicodeDecodeError:
        return False
    return True


class CrawlLog:
    """Extension: append JSON lines to ``NIANBAO_CRAWL_LOG`` (relative to ``ARCHIVE_DIR``)."""

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path
        self.run_id = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}"
        self._fh: IO[str] | None = None
        self._tap: _LogTap | None = None
        self._counts: dict[str, int] = {}
        self._started = time.monotonic()
        self._lock = threading.Lock()  # log records also arrive from worker threads (WARC writer, catalog)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        name = crawler.settings.get("NIANBAO_CRAWL_LOG", "crawl.log")
        if not name:
            raise NotConfigured("NIANBAO_CRAWL_LOG is empty: no crawl.log is written")
        path = Path(crawler.settings.get("ARCHIVE_DIR", "data")) / name
        ext = cls(crawler, path)
        sig = crawler.signals
        sig.connect(ext.spider_opened, signal=signals.spider_opened)
        sig.connect(ext.spider_closed, signal=signals.spider_closed)
        sig.connect(ext.on_event, signal=crawl_event)
        sig.connect(ext.response_downloaded, signal=signals.response_downloaded)
        sig.connect(ext.response_received, signal=signals.response_received)
        sig.connect(ext.spider_error, signal=signals.spider_error)
        sig.connect(ext.item_error, signal=signals.item_error)
        sig.connect(ext.item_dropped, signal=signals.item_dropped)
        return ext

    # --- file -----------------------------------------------------------------------------------------
    def write(self, event: str, url: str | None = None, reason: str = "", **fields: Any) -> None:
        """Append one event line (and count it in stats)."""
        line = {"time": _utc_now(), "run": self.run_id, "event": event, "url": url, "reason": reason}
        line.update({k: v for k, v in fields.items() if v is not None})
        text = json.dumps(line, ensure_ascii=False, default=str) + "\n"
        failed: OSError | None = None
        with self._lock:
            self._counts[event] = self._counts.get(event, 0) + 1
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(f"nianbao/crawl_log/{event}")
            if self._fh is not None:
                try:
                    self._fh.write(text)
                    self._fh.flush()
                except OSError as e:  # a full disk: no more lines (each one would fail the same way)
                    failed, fh, self._fh = e, self._fh, None
                    try:
                        fh.close()
                    except OSError:
                        pass
        if failed is not None:  # outside the lock: stopping logs a line, which comes back here
            stop_crawl(self.crawler, "crawl.log", failed)

    def spider_opened(self, spider: Any) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in spider_closed
        except OSError as e:
            stop_crawl(self.crawler, "crawl.log", e)
        # WARNING and up, so the flood of DEBUG records (pdfminer…) skips the handler cheaply
        self._tap = _LogTap(self)
        logging.getLogger().addHandler(self._tap)
        self.write("run_start", reason=f"spider {spider.name}", spider=spider.name, pid=os.getpid(),
                   jobdir=self.crawler.settings.get("JOBDIR") or None, peak_rss_mb=_peak_rss_mb())

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._tap is not None:
            logging.getLogger().removeHandler(self._tap)
            self._tap = None
        counts = dict(sorted(self._counts.items()))
        self.write("run_end", reason=reason, spider=spider.name, events=counts,
                   seconds=round(time.monotonic() - self._started, 1), peak_rss_mb=_peak_rss_mb())
        with self._lock:
            if self._fh is not None:
                try:
                    self._fh.close()
                except OSError:
                    pass  # the run_end line could not be written either: the crawl stopped for it, and said so
                self._fh = None

    # --- signals ----------------------------------------------------------------------------------------
    def on_event(self, event: str, url: str | None = None, reason: str = "", **fields: Any) -> None:
        fields.pop("signal", None)
        fields.pop("sender", None)
        self.write(event, url, reason, **fields)

    def response_downloaded(self, response: Response, request: Request, **_: Any) -> None:
        status = response.status
        if status >= 400:
            self.write("http_error", request.url, f"HTTP {status}", status=status,
                       attempt=request.meta.get("retry_times", 0))

    def response_received(self, response: Response, request: Request, **_: Any) -> None:
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if response.status != 200 or not ctype.lower().startswith(_TEXT_TYPES):
            return
        problem = declared_charset_problem(response.body, ctype)
        if problem:
            self.write("charset_mismatch", request.url, problem)

    def spider_error(self, failure: Any, response: Response, **_: Any) -> None:
        self.write("error", response.url, describe(failure.value), where="spider callback")

    def item_error(self, item: Any, response: Response | None, failure: Any, **_: Any) -> None:
        url = getattr(item, "url", None) or (response.url if response is not None else None)
        self.write("item_error", url, describe(failure.value))

    def item_dropped(self, item: Any, response: Response | None, exception: BaseException, **_: Any) -> None:
        url = getattr(item, "url", None) or (response.url if response is not None else None)
        self.write("item_dropped", url, describe(exception))


class _LogTap(logging.Handler):
    """Copy WARNING and ERROR records that no event covers as ``warning``/``error`` lines (the level decides; the
    text is the reason, never read for meaning)."""

    def __init__(self, log: CrawlLog) -> None:
        super().__init__(level=logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name
        if name.startswith(_EVENT_SOURCED_LOGGERS) or getattr(record, LOGGED_AS_EVENT, False):
            return
        if name == _PLAYWRIGHT_LOGGER and isinstance(record.args, tuple) and any(
                isinstance(a, Request) for a in record.args):
            return  # a record about a request the browser failed: its exception reaches CrawlLogMiddleware
        message = record.getMessage()
        kind = "error" if record.levelno >= logging.ERROR else "warning"
        reason = message.splitlines()[0][:500] if message else record.levelname
        if record.exc_info and record.exc_info[1] is not None and str(record.exc_info[1]) not in reason:
            reason = f"{reason}: {describe(record.exc_info[1])}"[:800]
        self.log.write(kind, self._url(record, message), reason, logger=name)

    @staticmethod
    def _url(record: logging.LogRecord, message: str) -> str | None:
        args = record.args
        if isinstance(args, dict):
            for key in ("request", "response", "url"):
                value = args.get(key)
                if isinstance(value, (Request, Response)):
                    return value.url
                if isinstance(value, str):
                    return value
        m = _URL_RE.search(message)
        return m.group(0).rstrip(".,;:") if m else None


class CrawlLogMiddleware:
    """Downloader middleware (just above ``RetryMiddleware``): one event per failed download attempt, named by the
    exception's type; for a browser page, also one per failed request the browser made while rendering it
    (:mod:`crawler.crawllog_browser`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.get("NIANBAO_CRAWL_LOG", "crawl.log"):
            raise NotConfigured("NIANBAO_CRAWL_LOG is empty: no crawl.log is written")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if request.meta.get("playwright"):
            crawllog_browser.attach(self.crawler, request)
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        crawllog_browser.detach(request)  # before RetryMiddleware copies the request for another attempt
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        watch = crawllog_browser.detach(request)
        if getattr(exception, "nianbao_logged", False):
            return None  # written by the component that raised it (address guard), or not a fault (fresh skip)
        kind = classify_exception(exception)
        request.meta[META_LOGGED] = True
        if watch is not None and (kind, request.url) in watch.written:
            return None  # the browser's own line for the page says it (e.g. net::ERR_CONNECTION_RESET)
        waiting = watch.waiting_for() if watch is not None and kind == "timeout" else None
        send_event(self.crawler, kind, request.url, describe(exception), attempt=request.meta.get("retry_times", 0),
                   waiting_for=waiting or None)
        return None


class RedirectLoopError(IgnoreRequest):
    """A redirect that leads back to a URL already visited in the same chain."""

    nianbao_logged = True


class RedirectLoopMiddleware:
    """Downloader middleware just above ``RedirectMiddleware``: a 3xx whose ``Location`` was already visited in this
    chain is refused at once (one ``redirect_loop`` line), instead of being followed until ``REDIRECT_MAX_TIMES`` —
    retried requests are ``dont_filter``, so the duplicate filter would not stop the loop either."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        status = response.status
        if not (300 <= status < 400) or b"Location" not in response.headers:
            return response
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = urljoin(request.url, location)
        seen = [*request.meta.get("redirect_urls", []), request.url]
        if target not in seen:
            return response
        reason = f"{status} to {target}, already visited in this chain"
        send_event(self.crawler, "redirect_loop", request.url, reason, status=status, chain=seen)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("nianbao/redirect_loops")
        raise RedirectLoopError(f"redirect loop at {request.url}: {reason}")
