"""``<ARCHIVE_DIR>/crawl.log``: one JSON line per thing that went wrong (or was refused) during a crawl.

Scrapy reports faults in several places: download exceptions reach the downloader middlewares, retries and
give-ups are log records of ``RetryMiddleware``, a gzip bomb is a warning of ``HttpCompressionMiddleware``, a
redirect loop is a 3xx whose ``Location`` was already visited. This module gathers them into one machine-readable
file an operator can grep after a weekly run::

    {"time": "2026-11-22T05:40:42.123Z", "run": "20261122T054042Z-4711", "event": "retry",
     "url": "http://…/index_3.html", "reason": "503 Service Unavailable", "attempt": 1}

Pieces:

* :data:`crawl_event` — a Scrapy signal any component may send (``event``, ``url``, ``reason``, extra fields);
  the security middleware and the spider's pagination cap use it;
* :class:`CrawlLog` — the extension that owns the file (append mode, one line per event, flushed, so a SIGKILL
  loses nothing written) and listens to Scrapy's signals and log records;
* :class:`CrawlLogMiddleware` — a downloader middleware that sees each failed attempt's exception before
  ``RetryMiddleware`` turns it into a retry, so a timeout, a reset and a short body are told apart; on a browser
  page it also watches the requests Chromium makes while rendering (:mod:`crawler.crawllog_browser`).

Event names: ``run_start``, ``run_end``, ``retry``, ``gave_up``, ``timeout``, ``reset``, ``short_body``,
``connection_refused``, ``dns_error``, ``oversize``, ``oversize_warning``, ``redirect_loop``, ``redirect_limit``,
``http_error``, ``refused``, ``robots_forbidden``, ``ignored``, ``charset_mismatch``, ``pagination_capped``,
``item_dropped``, ``item_error``, ``error``, ``warning``. Stats: ``nianbao/crawl_log/<event>``.
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
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    NotConfigured,
    ResponseDataLossError,
)
from scrapy.http import Request, Response
from twisted.internet import error as txerror

from crawler import crawllog_browser
from crawler.crawllog_browser import net_error_event

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

#: Signal: ``crawler.signals.send_catch_log(crawl_event, event="pagination_capped", url=…, reason=…)``.
crawl_event = object()

_URL_RE = re.compile(r"https?://[^\s<>\"')]+")
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
_TEXT_TYPES = ("text/", "application/xhtml", "application/xml", "application/json", "application/javascript")
_GB = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "gb18030": "gb18030"}
_CHARSET_PROBE = 65536
_DEBUG_LOGGERS = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.redirect")
# Request meta flag: CrawlLogMiddleware wrote this request's failure, the scraper's "Error downloading" need not.
_LOGGED = "nianbao_crawllog_logged"
# Loggers whose events are written explicitly (not again from their WARNING records).
_OWN_LOGGERS = ("crawler.security", "crawler.crawllog")
# scrapy-playwright's warning when a page failed: CrawlLogMiddleware writes that failure already.
_PLAYWRIGHT_PAGE_FAILED = ("scrapy-playwright", "Closing page due to failed request")


def _utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _peak_rss_mb() -> float | None:
    """The process's peak resident memory so far (MiB), for run_start / run_end."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def classify_exception(exc: BaseException) -> str:
    """The crawl.log event name for a download exception (a browser page's too: Playwright errors)."""
    if isinstance(exc, (DownloadTimeoutError, txerror.TimeoutError)):
        return "timeout"
    if type(exc).__module__.startswith("playwright."):
        if type(exc).__name__ == "TimeoutError":
            return "timeout"  # navigation or a page method waited past DOWNLOAD_TIMEOUT (crawler.browser_timeout)
        return net_error_event(str(exc)) or "error"
    if isinstance(exc, ResponseDataLossError):
        return "short_body"
    if isinstance(exc, DownloadCancelledError):
        return "oversize" if "max size" in str(exc) else "cancelled"
    if isinstance(exc, (DownloadConnectionRefusedError, txerror.ConnectionRefusedError, ConnectionRefusedError)):
        return "connection_refused"
    if isinstance(exc, (CannotResolveHostError, txerror.DNSLookupError)):
        return "dns_error"
    if isinstance(exc, (DownloadFailedError, txerror.ConnectionLost, txerror.ConnectionDone, ConnectionError)):
        return "reset"
    if isinstance(exc, IgnoreRequest):
        return "robots_forbidden" if "robots.txt" in str(exc) else "ignored"
    return "error"


def _describe(exc: BaseException | str) -> str:
    if isinstance(exc, BaseException):
        text = str(exc).strip()
        name = type(exc).__name__
        return f"{name}: {text}" if text else name
    return str(exc)


def declared_charset_problem(body: bytes, content_type: str | None) -> str | None:
    """One line saying how ``body`` contradicts its declared charset (header, else ``<meta>``), or None."""
    declared = None
    if content_type and "charset=" in content_type.lower():
        declared = content_type.lower().split("charset=", 1)[1].split(";")[0].strip(" \"'")
        where = "Content-Type"
    else:
        m = _CHARSET_RE.search(body[:4096])
        if m:
            declared = m.group(1).decode("ascii").lower()
            where = "<meta>"
    if not declared:
        return None
    name = _GB.get(declared, declared)
    try:
        codecs.lookup(name)
    except LookupError:
        return f"{where} declares an unknown charset {declared!r}"
    probe = body[:_CHARSET_PROBE]
    final = len(body) <= _CHARSET_PROBE
    if name not in ("utf-8", "utf8") and not probe.isascii() and _decodes(probe, "utf-8", final):
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
        self._debug_tap: _LogTap | None = None
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
        with self._lock:
            self._counts[event] = self._counts.get(event, 0) + 1
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value(f"nianbao/crawl_log/{event}")
            if self._fh is not None:
                self._fh.write(text)
                self._fh.flush()

    def spider_opened(self, spider: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in spider_closed
        # WARNING and up from everywhere; retries and redirects are DEBUG records of two loggers only, so the
        # root handler stays at WARNING and is skipped cheaply for the flood of DEBUG records (pdfminer…).
        self._tap = _LogTap(self, logging.WARNING)
        self._debug_tap = _LogTap(self, logging.DEBUG)
        logging.getLogger().addHandler(self._tap)
        for name in _DEBUG_LOGGERS:
            logging.getLogger(name).addHandler(self._debug_tap)
        self.write("run_start", reason=f"spider {spider.name}", spider=spider.name, pid=os.getpid(),
                   jobdir=self.crawler.settings.get("JOBDIR") or None, peak_rss_mb=_peak_rss_mb())

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._tap is not None:
            logging.getLogger().removeHandler(self._tap)
            self._tap = None
        if self._debug_tap is not None:
            for name in _DEBUG_LOGGERS:
                logging.getLogger(name).removeHandler(self._debug_tap)
            self._debug_tap = None
        counts = dict(sorted(self._counts.items()))
        self.write("run_end", reason=reason, spider=spider.name, events=counts,
                   seconds=round(time.monotonic() - self._started, 1), peak_rss_mb=_peak_rss_mb())
        with self._lock:
            if self._fh is not None:
                self._fh.close()
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
        self.write("error", response.url, _describe(failure.value), where="spider callback")

    def item_error(self, item: Any, response: Response | None, failure: Any, **_: Any) -> None:
        url = getattr(item, "url", None) or (response.url if response is not None else None)
        self.write("item_error", url, _describe(failure.value))

    def item_dropped(self, item: Any, response: Response | None, exception: BaseException, **_: Any) -> None:
        url = getattr(item, "url", None) or (response.url if response is not None else None)
        self.write("item_dropped", url, _describe(exception))


class _LogTap(logging.Handler):
    """Turn log records of other components into events (retries are DEBUG records, gzip bombs WARNINGs)."""

    def __init__(self, log: CrawlLog, level: int) -> None:
        super().__init__(level=level)
        self.log = log
        self.debug = level < logging.WARNING

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name
        if (name in _DEBUG_LOGGERS) != self.debug:
            return  # the other tap's record
        if name == "scrapy.downloadermiddlewares.retry":
            args = record.args if isinstance(record.args, dict) else {}
            request = args.get("request")
            if not isinstance(request, Request):
                return
            kind = "retry" if str(record.msg).startswith("Retrying") else "gave_up"
            self.log.write(kind, request.url, _describe(args.get("reason", "")), attempt=args.get("retry_times"))
            return
        if name == "scrapy.downloadermiddlewares.redirect":
            args = record.args if isinstance(record.args, dict) else {}
            request = args.get("request")
            if "max redirections" in str(record.msg) and isinstance(request, Request):
                self.log.write("redirect_limit", request.url, "max redirections reached (REDIRECT_MAX_TIMES)",
                               chain=request.meta.get("redirect_urls"))
            return
        if record.levelno < logging.WARNING or name.startswith(_OWN_LOGGERS):
            return
        if name == _PLAYWRIGHT_PAGE_FAILED[0] and str(record.msg).startswith(_PLAYWRIGHT_PAGE_FAILED[1]):
            return
        message = record.getMessage()
        url = self._url(record, message)
        if name == "scrapy.downloadermiddlewares.httpcompression":
            kind = "oversize" if "DOWNLOAD_MAXSIZE" in message else "oversize_warning"
            if "unknown" in message.lower() and "encoding" in message.lower():
                kind = "warning"
        elif name.startswith("scrapy.core.downloader.handlers"):
            if "warn size" in message:
                kind = "oversize_warning"
            else:
                return  # max size and data loss also raise; CrawlLogMiddleware writes those
        elif name == "scrapy.core.scraper" and "Error downloading" in message:
            request = record.args.get("request") if isinstance(record.args, dict) else None
            if isinstance(request, Request) and request.meta.get(_LOGGED):
                return  # CrawlLogMiddleware wrote this failure (and RetryMiddleware's give-up) already
            kind = "error"  # raised outside process_exception's reach, e.g. by a process_response
        elif "NIANBAO_MAX_LIST_PAGES" in message:
            kind = "pagination_capped"
        else:
            kind = "error" if record.levelno >= logging.ERROR else "warning"
        reason = message.splitlines()[0][:500] if message else record.levelname
        if record.exc_info and record.exc_info[1] is not None and str(record.exc_info[1]) not in reason:
            reason = f"{reason}: {_describe(record.exc_info[1])}"[:800]
        self.log.write(kind, url, reason, logger=name)

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
    """Downloader middleware (just above ``RetryMiddleware``): one event per failed download attempt; for a
    browser page, also one per failed request the browser made while rendering it (:mod:`crawler.crawllog_browser`).
    """

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
        request.meta[_LOGGED] = True
        if watch is not None and (kind, request.url) in watch.written:
            return None  # the browser's own line for the page says it (e.g. net::ERR_CONNECTION_RESET)
        waiting = watch.waiting_for() if watch is not None and kind == "timeout" else None
        self.crawler.signals.send_catch_log(
            crawl_event, event=kind, url=request.url, reason=_describe(exception),
            attempt=request.meta.get("retry_times", 0), waiting_for=waiting or None,
        )
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
        self.crawler.signals.send_catch_log(crawl_event, event="redirect_loop", url=request.url, reason=reason,
                                            status=status, chain=seen)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("nianbao/redirect_loops")
        raise RedirectLoopError(f"redirect loop at {request.url}: {reason}")
