"""A scrapy-playwright download handler that starts Playwright only when a request asks for a browser.

The stock handler starts the Playwright driver (a Node process) when the engine starts, in every crawl. Most
columns are static: their requests go straight to Scrapy's HTTP/1.1 handler here, and a crawl that never meets a
JS-rendered column never starts Node or Chromium.
"""

from __future__ import annotations

import asyncio

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler


class LazyPlaywrightDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        for receiver in (self._maybe_launch_in_thread, self._engine_started):
            crawler.signals.disconnect(receiver, signals.engine_started)
        self._launch_lock = asyncio.Lock()
        self._launched = False

    async def _ensure_launched(self) -> None:
        async with self._launch_lock:
            if not self._launched:
                await self._maybe_future_from_coro(self._launch())
                self._launched = True

    async def download_request(self, request: Request) -> Response:  # type: ignore[override]
        if request.meta.get("playwright"):
            await self._ensure_launched()
        return await super().download_request(request)
