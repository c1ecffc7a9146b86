"""Scrapy's own components, subclassed so that what they decide becomes a crawl event.

Scrapy reports a retry, a give-up, a redirect limit, a decompression bomb or a robots.txt refusal only as log
records. Reading those records would tie crawl.log to their wording; instead each component here wraps the stock one
(same settings, same behaviour, same priority in ``DOWNLOADER_MIDDLEWARES``) and sends
:data:`crawler.crawl_events.crawl_event` from the outcome itself: the request it returned, the exception it raised,
the sizes it compared. :class:`EventLogFormatter` does the same for download errors no middleware saw (raised by a
``process_response``), through Scrapy's ``LOG_FORMATTER`` hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import (
    BaseRedirectMiddleware,
    MetaRefreshMiddleware,
    RedirectMiddleware,
)
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.logformatter import LogFormatter, LogFormatterResult
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import Deferred

from crawler.crawl_events import ForbiddenByRobots, describe, send_event

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser
    from twisted.python.failure import Failure

#: Request meta flag: CrawlLogMiddleware wrote this request's failure; a later report of it is not repeated.
META_LOGGED = "nianbao_crawllog_logged"


class RetryEventsMiddleware(RetryMiddleware):
    """``RetryMiddleware``; each retry it schedules is a ``retry`` event, each request it gives up on ``gave_up``."""

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if response.status in self.retry_http_codes and not request.meta.get("dont_retry", False):
            self._event(request, result, response_status_message(response.status))
        return result

    def process_exception(self, request: Request,  # type: ignore[override]
                          exception: Exception) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get("dont_retry", False):
            self._event(request, result, exception)
        return result

    def _event(self, request: Request, result: object, reason: str | Exception) -> None:
        kind = "retry" if isinstance(result, Request) else "gave_up"
        send_event(self.crawler, kind, request.url, describe(reason), attempt=request.meta.get("retry_times", 0) + 1)


def _redirect_limit_event(mw: BaseRedirectMiddleware, request: Request, response: Response) -> None:
    """After ``mw`` refused a redirect (``IgnoreRequest``): a ``redirect_limit`` event when the chain had reached
    ``REDIRECT_MAX_TIMES`` (or the request's ``redirect_ttl``), the one reason Scrapy's redirect middlewares refuse."""
    ttl = request.meta.get("redirect_ttl", mw.max_redirect_times)
    if ttl and request.meta.get("redirect_times", 0) + 1 <= mw.max_redirect_times:
        return
    send_event(mw.crawler, "redirect_limit", request.url,
               f"{response.status} after {request.meta.get('redirect_times', 0)} redirects "
               f"(REDIRECT_MAX_TIMES={mw.max_redirect_times})", chain=request.meta.get("redirect_urls"))


class RedirectEventsMiddleware(RedirectMiddleware):
    """``RedirectMiddleware`` with ``redirect_limit`` events."""

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            _redirect_limit_event(self, request, response)
            raise


class MetaRefreshEventsMiddleware(MetaRefreshMiddleware):
    """``MetaRefreshMiddleware`` with ``redirect_limit`` events."""

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        try:
            return super().process_response(request, response)
        except IgnoreRequest:
            _redirect_limit_event(self, request, response)
            raise


class CompressionEventsMiddleware(HttpCompressionMiddleware):
    """``HttpCompressionMiddleware``; a body that decompresses past ``DOWNLOAD_MAXSIZE`` is an ``oversize`` event,
    one received or decompressed past ``DOWNLOAD_WARNSIZE`` an ``oversize_warning``, an encoding it cannot undo a
    ``warning``."""

    crawler: Crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = super().from_crawler(crawler)
        mw.crawler = crawler
        return mw

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        settings = self.crawler.settings
        warn_size = request.meta.get("download_warnsize", settings.getint("DOWNLOAD_WARNSIZE"))
        received = len(response.body)
        if warn_size and received > warn_size:
            send_event(self.crawler, "oversize_warning", request.url,
                       f"received {received} bytes, more than DOWNLOAD_WARNSIZE ({warn_size} bytes)", size=received)
        try:
            result = super().process_response(request, response)
        except IgnoreRequest:
            max_size = request.meta.get("download_maxsize", settings.getint("DOWNLOAD_MAXSIZE"))
            send_event(self.crawler, "oversize", request.url,
                       f"{received} bytes decompress past DOWNLOAD_MAXSIZE ({max_size} bytes); response ignored",
                       size=received)
            raise
        if result is response or not isinstance(result, Response):
            return result
        decoded = len(result.body)
        if warn_size and received <= warn_size < decoded:
            send_event(self.crawler, "oversize_warning", request.url,
                       f"{received} bytes decompress to {decoded}, more than DOWNLOAD_WARNSIZE ({warn_size} bytes)",
                       size=decoded)
        left = result.headers.getlist("Content-Encoding")
        if left:
            send_event(self.crawler, "warning", request.url,
                       "Content-Encoding not decoded: " + b", ".join(left).decode("latin-1", "replace"))
        return result


class RobotsEventsMiddleware(RobotsTxtMiddleware):
    """``RobotsTxtMiddleware``; its refusal is a :class:`ForbiddenByRobots` (an ``IgnoreRequest``), which
    CrawlLogMiddleware writes as ``robots_forbidden``.

    It also mends a fault of Scrapy 2.19's: requests that wait for a host's robots.txt while it is being fetched all
    await the one Deferred it is fetched into, and ``asFuture`` hands the parser to the first of them and ``None``
    (no robots.txt: everything allowed) to the others. A crawl resumed from JOBDIR starts with many such requests
    for one host, so a page robots.txt forbids was fetched. Here each waiter gets its own Deferred."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            mine: Deferred[RobotParser | None] = Deferred()

            def hand_on(parser: RobotParser | None) -> RobotParser | None:
                mine.callback(parser)
                return parser  # the next waiter gets it too

            pending.addCallback(hand_on)
            return await maybe_deferred_to_future(mine)
        return await super().robot_parser(request)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        try:
            super().process_request_2(rp, request)
        except IgnoreRequest as exc:
            raise ForbiddenByRobots(str(exc)) from exc


class EventLogFormatter(LogFormatter):
    """``LOG_FORMATTER``: a download error that reached the engine without passing CrawlLogMiddleware (raised by a
    ``process_response``) is an ``error`` event; the log record stays Scrapy's."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def download_error(self, failure: Failure, request: Request, spider: Spider,
                       errmsg: str | None = None) -> LogFormatterResult:
        if not request.meta.get(META_LOGGED):
            send_event(self.crawler, "error", request.url, describe(failure.value or "download failed"), where="download")
        return super().download_error(failure, request, spider, errmsg)


__all__ = ["META_LOGGED", "CompressionEventsMiddleware", "EventLogFormatter", "MetaRefreshEventsMiddleware",
           "RedirectEventsMiddleware", "RetryEventsMiddleware", "RobotsEventsMiddleware"]
