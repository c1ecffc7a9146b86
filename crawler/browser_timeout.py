"""Add-on: a browser page is bounded by ``DOWNLOAD_TIMEOUT``, like every other download.

scrapy-playwright waits for a navigation and for each page method (our ``wait_for_load_state("networkidle")``) up
to ``PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT``, and when that is unset, Playwright's own 30 s — whatever the crawl's
``DOWNLOAD_TIMEOUT`` says. A JS column whose document arrives short (Chromium then waits for the rest of the body)
or whose list API answers slowly held the crawl that long, and the page failed with an error no one retried. With
this add-on the browser gives up when an HTTP download would (``DOWNLOAD_TIMEOUT`` seconds, given in ms), the
Playwright ``TimeoutError`` is retried (``RETRY_EXCEPTIONS``) and written to crawl.log as ``timeout``. An
explicit ``PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT`` is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


class BrowserTimeout:
    def update_settings(self, settings: BaseSettings) -> None:
        if settings.get("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT") is not None:
            return
        seconds = settings.getfloat("DOWNLOAD_TIMEOUT", 180.0)
        if seconds > 0:
            settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", seconds * 1000, priority="addon")
