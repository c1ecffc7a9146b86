"""Crawl events: what a component says when something went wrong (or was refused), as a Scrapy signal.

Any component sends :data:`crawl_event` (through :func:`send_event`) with an event name, the URL and a reason;
:class:`crawler.crawllog.CrawlLog` writes each one as a line of ``crawl.log``. Events come from Scrapy's own signals
and exceptions, and from Scrapy's middlewares subclassed to report their outcomes (:mod:`crawler.crawllog_sources`),
never from the wording of a log message.

Event names: ``run_start``, ``run_end``, ``retry``, ``gave_up``, ``timeout``, ``reset``, ``short_body``,
``connection_refused``, ``dns_error``, ``oversize``, ``oversize_warning``, ``redirect_loop``, ``redirect_limit``,
``http_error``, ``refused``, ``robots_forbidden``, ``ignored``, ``charset_mismatch``, ``pagination_capped``,
``item_dropped``, ``item_error``, ``error``, ``warning``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from twisted.internet import error as txerror

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

#: Signal: ``send_event(crawler, "pagination_capped", url, reason)`` sends it; arguments ``event``, ``url``,
#: ``reason`` and any extra fields, which become keys of the crawl.log line.
crawl_event = object()

#: A log record made with ``extra={LOGGED_AS_EVENT: True}`` says what an event already says: crawl.log skips it.
LOGGED_AS_EVENT = "nianbao_crawl_event"


def send_event(crawler: Crawler, event: str, url: str | None, reason: str = "", **fields: Any) -> None:
    crawler.signals.send_catch_log(crawl_event, event=event, url=url, reason=reason, **fields)


class ForbiddenByRobots(IgnoreRequest):
    """robots.txt forbids the request (raised by :class:`crawler.crawllog_sources.RobotsEventsMiddleware`)."""


# Chromium's net error names (``net::ERR_…``) → crawl.log events. ERR_ABORTED is left out: it is what every request
# still pending gets when the page is closed (after a timeout the page-level line already says so).
_NET_ERRORS: dict[str, str] = {
    "ERR_CONNECTION_RESET": "reset",
    "ERR_CONNECTION_CLOSED": "reset",
    "ERR_CONNECTION_ABORTED": "reset",
    "ERR_EMPTY_RESPONSE": "reset",
    "ERR_SOCKET_NOT_CONNECTED": "reset",
    "ERR_CONTENT_LENGTH_MISMATCH": "short_body",
    "ERR_INCOMPLETE_CHUNKED_ENCODING": "short_body",
    "ERR_CONTENT_DECODING_FAILED": "short_body",
    "ERR_TIMED_OUT": "timeout",
    "ERR_CONNECTION_TIMED_OUT": "timeout",
    "ERR_CONNECTION_REFUSED": "connection_refused",
    "ERR_NAME_NOT_RESOLVED": "dns_error",
    "ERR_NAME_RESOLUTION_FAILED": "dns_error",
    "ERR_TOO_MANY_REDIRECTS": "redirect_limit",
}
_NET_ERROR_RE = re.compile(r"net::(ERR_[A-Z_]+)")
_SKIPPED_NET_ERRORS = frozenset({"ERR_ABORTED", "ERR_BLOCKED_BY_CLIENT"})


def net_error_event(text: str) -> str | None:
    """The event for a Chromium failure (its ``net::ERR_…`` code, the browser's API for a network error), ``None``
    for an abort or when no net error is named."""
    m = _NET_ERROR_RE.search(text or "")
    if m is None:
        return None
    name = m.group(1)
    if name in _SKIPPED_NET_ERRORS:
        return None
    return _NET_ERRORS.get(name, "error")


def classify_exception(exc: BaseException) -> str:
    """The event name for a download exception (a browser page's too: Playwright errors), by its type."""
    if isinstance(exc, (DownloadTimeoutError, txerror.TimeoutError)):
        return "timeout"
    if type(exc).__module__.startswith("playwright."):
        if type(exc).__name__ == "TimeoutError":
            return "timeout"  # navigation or a page method waited past DOWNLOAD_TIMEOUT (crawler.browser_timeout)
        return net_error_event(str(exc)) or "error"
    if isinstance(exc, ResponseDataLossError):
        return "short_body"
    if isinstance(exc, DownloadCancelledError):
        return "oversize"  # Scrapy cancels a download only when it passes DOWNLOAD_MAXSIZE (announced or received)
    if isinstance(exc, (DownloadConnectionRefusedError, txerror.ConnectionRefusedError, ConnectionRefusedError)):
        return "connection_refused"
    if isinstance(exc, (CannotResolveHostError, txerror.DNSLookupError)):
        return "dns_error"
    if isinstance(exc, (DownloadFailedError, txerror.ConnectionLost, txerror.ConnectionDone, ConnectionError)):
        return "reset"
    if isinstance(exc, ForbiddenByRobots):
        return "robots_forbidden"
    if isinstance(exc, IgnoreRequest):
        return "ignored"
    return "error"


def describe(exc: BaseException | str | type[BaseException]) -> str:
    """``Name: message`` of an exception (the reason of an event line); a string as it is."""
    if isinstance(exc, type):
        return exc.__name__
    if isinstance(exc, BaseException):
        text = str(exc).strip()
        name = type(exc).__name__
        return f"{name}: {text}" if text else name
    return str(exc)


__all__ = ["LOGGED_AS_EVENT", "ForbiddenByRobots", "classify_exception", "crawl_event", "describe",
           "net_error_event", "send_event"]
