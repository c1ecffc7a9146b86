"""crawl.log for browser-rendered pages: what the browser met on the network while it drew the page.

A JS column is fetched by Chromium (scrapy-playwright). Its own requests (the document, then the XHR/fetch calls
that bring the list) never pass Scrapy's downloader middlewares, so a 503 to the list API, a reset or a short
body would leave no line in crawl.log — and a fault a browser met is spent: the spider's own later call of the same
API succeeds. :class:`PageWatch` listens to the page's ``requestfinished`` / ``requestfailed`` events and writes
one line per failure (``http_error``, ``reset``, ``short_body``, ``timeout``, ``connection_refused``,
``dns_error``, ``error``) with ``page`` naming the rendered page; when the page itself then fails, the failure
line lists the requests it was still ``waiting_for`` (a slow API answer times the page out).

:class:`crawler.crawllog.CrawlLogMiddleware` attaches a watch to every request with ``meta["playwright"]`` and
takes it off again when the page answered or failed, before a retry copies the request. The event handlers hold
a key only, so a request carrying them can still be pickled (disk queues, JOBDIR).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crawler.crawl_events import net_error_event, send_event

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request

logger = logging.getLogger(__name__)

META_KEY = "nianbao_browser_watch"
HANDLERS = "playwright_page_event_handlers"
_EVENTS = ("request", "requestfinished", "requestfailed")
_keys = itertools.count()
_WATCHES: dict[str, PageWatch] = {}


@dataclass
class PageWatch:
    """What one browser page load (one download attempt) did on the network, for crawl.log."""

    crawler: Crawler
    page_url: str
    pending: dict[str, int] = field(default_factory=dict)  # URL -> requests of it not finished yet
    written: set[tuple[str, str]] = field(default_factory=set)  # (event, url) lines already written

    def write(self, event: str, url: str, reason: str, **fields: Any) -> None:
        self.written.add((event, url))
        send_event(self.crawler, event, url, reason, page=self.page_url, **fields)

    def started(self, url: str) -> None:
        self.pending[url] = self.pending.get(url, 0) + 1

    def ended(self, url: str) -> None:
        left = self.pending.get(url, 0) - 1
        if left > 0:
            self.pending[url] = left
        else:
            self.pending.pop(url, None)

    def waiting_for(self) -> list[str]:
        """Requests of the page (not the page itself) still without an answer."""
        return sorted(u for u in self.pending if u != self.page_url)


class _Listener:
    """A Playwright page event handler holding only its watch's key (picklable); ``then`` is a handler the
    request already had for the same event (the spider notes the browser's requests), called first."""

    def __init__(self, key: str, event: str, then: Any = None) -> None:
        self.key = key
        self.event = event
        self.then = then

    async def __call__(self, pw_request: Any) -> None:
        if self.then is not None:
            result = self.then(pw_request)
            if hasattr(result, "__await__"):
                await result
        watch = _WATCHES.get(self.key)
        if watch is None:
            return
        url = str(getattr(pw_request, "url", ""))
        if self.event == "request":
            watch.started(url)
            return
        watch.ended(url)
        kind = str(getattr(pw_request, "resource_type", "") or "request")
        if self.event == "requestfailed":
            failure = str(getattr(pw_request, "failure", None) or "")
            event = net_error_event(failure)
            if event is not None:
                watch.write(event, url, f"{failure} (browser {kind} while rendering {watch.page_url})",
                            resource_type=kind)
            return
        if url == watch.page_url:
            return  # the page's own answer reaches Scrapy as the response (http_error is written there)
        try:
            response = await pw_request.response()
        except Exception:  # noqa: BLE001 - the page may be closing; the answer is gone with it
            return
        status = getattr(response, "status", None)
        if isinstance(status, int) and status >= 400:
            watch.write("http_error", url, f"HTTP {status} to the browser ({kind}) while rendering {watch.page_url}",
                        status=status, resource_type=kind)


def attach(crawler: Crawler, request: Request) -> None:
    """Watch the page load ``request`` asks the browser for (replaces a watch left from an earlier attempt)."""
    detach(request)
    key = f"{id(crawler)}-{next(_keys)}"
    _WATCHES[key] = PageWatch(crawler, request.url)
    handlers = dict(request.meta.get(HANDLERS) or {})
    for event in _EVENTS:
        earlier = handlers.get(event)
        if isinstance(earlier, str):
            continue  # a spider method named by string: scrapy-playwright resolves it; leave it alone
        handlers[event] = _Listener(key, event, then=earlier)
    request.meta[HANDLERS] = handlers
    request.meta[META_KEY] = key


def detach(request: Request) -> PageWatch | None:
    """Take the watch off ``request`` (its earlier handlers back in place); returns it, if there was one."""
    key = request.meta.pop(META_KEY, None)
    if key is None:
        return None
    handlers = dict(request.meta.get(HANDLERS) or {})
    for event in _EVENTS:
        handler = handlers.get(event)
        if isinstance(handler, _Listener):
            del handlers[event]
            if handler.then is not None:
                handlers[event] = handler.then
    request.meta[HANDLERS] = handlers
    return _WATCHES.pop(key, None)


__all__ = ["PageWatch", "attach", "detach"]
