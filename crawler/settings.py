"""Scrapy settings for nianbao.

Every setting here is documented in docs/settings.md. Sections are per subsystem, one prefix each:
NIANBAO_* (crawl/spiders), ARCHIVE_* (WARC layer), CATALOG_* (dataset pipelines).
"""

from __future__ import annotations

import os

from scrapy.settings.default_settings import RETRY_EXCEPTIONS as _SCRAPY_RETRY_EXCEPTIONS

from crawler.offline import use_bundled_suffix_list

use_bundled_suffix_list()

BOT_NAME = "nianbao"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
COMMANDS_MODULE = "crawler.commands"

# --- safety: no local control ports -------------------------------------------------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS: dict[str, int | None] = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
    "crawler.crawllog.CrawlLog": 100,
    # one crawl, rebuild or export at a time on ARCHIVE_DIR (and JOBDIR): a second one refuses (crawler/archive_lock.py)
    "crawler.archive_lock.ArchiveDirLock": 0,
}
# Refuse private/metadata addresses before robots.txt is asked (crawler/security.py); log each failed attempt
# just above RetryMiddleware (crawler/crawllog.py). Scrapy's robots.txt, retry, redirect and decompression
# middlewares are replaced, at their own priorities, by subclasses that also send what they decide as crawl.log
# events (crawler/crawllog_sources.py).
DOWNLOADER_MIDDLEWARES: dict[str, int | None] = {
    "crawler.security.AddressGuardMiddleware": 60,
    "crawler.crawllog.CrawlLogMiddleware": 560,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.crawllog_sources.RobotsEventsMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.crawllog_sources.RetryEventsMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.crawllog_sources.MetaRefreshEventsMiddleware": 580,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.crawllog_sources.CompressionEventsMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.crawllog_sources.RedirectEventsMiddleware": 600,
}
LOG_FORMATTER = "crawler.crawllog_sources.EventLogFormatter"  # download errors no middleware saw, as events

# --- engine ---------------------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("NIANBAO_LOG_LEVEL", "INFO")

# --- crawl (spiders) ------------------------------------------------------------------------------
NIANBAO_SOURCES = "sources.toml"
NIANBAO_MAX_LIST_PAGES = 200  # listing pages per column; hitting it logs a warning
USER_AGENT = "nianbao/0.1 (+https://github.com/nianbao/nianbao; annual-report archiver)"
ROBOTSTXT_OBEY = True  # a source may say obey_robots = false; the spider logs it
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 4
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Scrapy's network errors, and a browser page's (a Playwright error: reset, short body, DOWNLOAD_TIMEOUT passed).
RETRY_EXCEPTIONS = [*_SCRAPY_RETRY_EXCEPTIONS, "playwright.async_api.Error"]
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
# Scrapy starts CONCURRENT_ITEMS asyncio workers for every callback's output; our callbacks yield at most one
# item (and a page's worth of requests) each, so 100 workers per response only cost time (about 2x per page).
CONCURRENT_ITEMS = 4
# Browser only for requests with meta["playwright"]; Playwright itself starts on the first such request.
DOWNLOAD_HANDLERS = {
    "http": "crawler.browser_handler.LazyPlaywrightDownloadHandler",
    "https": "crawler.browser_handler.LazyPlaywrightDownloadHandler",
}

# --- operations: address guard, crawl log, incremental runs, Redis (docs/operations.md) -------------
NIANBAO_ADDRESS_GUARD = True
NIANBAO_ALLOW_PRIVATE = False
NIANBAO_ALLOWED_NETWORKS: list[str] = []
NIANBAO_CRAWL_LOG = "crawl.log"
# Rendered pages' own requests (XHR, images, iframes) pass the same address guard.
PLAYWRIGHT_ABORT_REQUEST = "crawler.security.abort_browser_request"
# A browser page gives up after DOWNLOAD_TIMEOUT, as an HTTP download does (crawler/browser_timeout.py).
ADDONS: dict[str, int] = {"crawler.browser_timeout.BrowserTimeout": 0}
# Incremental runs (crawler/incremental.py): report pages checked less than this many days ago are skipped.
NIANBAO_INCREMENTAL = True
NIANBAO_REFRESH_DAYS = 28.0
NIANBAO_INCREMENTAL_STATE = "state/incremental.sqlite"
DOWNLOADER_MIDDLEWARES["crawler.incremental.IncrementalMiddleware"] = 70
DOWNLOADER_MIDDLEWARES["crawler.crawllog.RedirectLoopMiddleware"] = 610  # refuses a loop before Redirect (600)
# Redis frontier for several workers (crawler/distributed.py); empty = one process with the local scheduler.
NIANBAO_REDIS_URL = os.environ.get("NIANBAO_REDIS_URL", "")
NIANBAO_REDIS_BUSY_TTL = 10.0
NIANBAO_REDIS_POLL = 0.5
NIANBAO_REDIS_MIN_WORKERS = 1
NIANBAO_REDIS_WAIT = 60.0
ADDONS["crawler.distributed.RedisFrontier"] = 0
# With JOBDIR: a frontier that survives SIGKILL, and the catalog caught up from the WARCs (crawler/resume.py).
NIANBAO_DURABLE_JOBDIR = True
ADDONS["crawler.resume.DurableJobdir"] = 0

# --- archive --------------------------------------------------------------------------------------
ARCHIVE_DIR = os.environ.get("ARCHIVE_DIR", "data")
ARCHIVE_ENABLED = True
ARCHIVE_WARC_MAX_SIZE = 1_000_000_000
ARCHIVE_GZIP_LEVEL = 6
ARCHIVE_DEDUP = True
ARCHIVE_CONDITIONAL_REQUESTS = True
ARCHIVE_MEND_ON_START = True
ARCHIVE_BROWSER_CAPTURE = True
ARCHIVE_REVISIT_FULL = False  # a revisit alone; True: also its request and metadata records
ARCHIVE_OPERATOR = ""
# 950: on the response path it runs before HttpCompression (590) and Redirect (600), so bodies are archived
# still content-encoded and every redirect hop is seen; on the request path after them, so headers are final.
DOWNLOADER_MIDDLEWARES["archive.capture.WarcCaptureMiddleware"] = 950

# --- catalog / pipelines --------------------------------------------------------------------------
# parse → validate (worker processes) → store into <ARCHIVE_DIR>/catalog.sqlite (batched, one writer process)
ITEM_PIPELINES: dict[str, int] = {
    "pipelines.parse_pipeline.ParseReportPipeline": 300,
    "pipelines.store_pipeline.CatalogStorePipeline": 800,
}
EXTENSIONS["pipelines.summary.CrawlSummary"] = 900  # the end-of-crawl table
CATALOG_ENABLED = True
CATALOG_PATH = ""  # empty: <ARCHIVE_DIR>/catalog.sqlite
CATALOG_BATCH_SIZE = 50
CATALOG_STORE_PROCESS = True  # the catalog writer in its own process (False: a thread of the crawl process)
CATALOG_PARSE_WORKERS = "auto"  # parse processes: one per core (max 4); 0 = a thread in the crawl process
CATALOG_SUMMARY_ENABLED = True

# --- browser (scrapy-playwright, used only by requests that ask for it) ---------------------------
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": os.environ.get("NIANBAO_CHROMIUM", "/usr/bin/chromium"),
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ],
}
