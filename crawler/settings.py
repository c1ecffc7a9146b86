"""Scrapy settings for nianbao.

Every setting here is documented in docs/settings.md. Sections are per subsystem, one prefix each:
NIANBAO_* (crawl/spiders), ARCHIVE_* (WARC layer), CATALOG_* (dataset pipelines).
"""

from __future__ import annotations

import os

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
}

# --- engine ---------------------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("NIANBAO_LOG_LEVEL", "INFO")

# --- crawl (spiders) ------------------------------------------------------------------------------
NIANBAO_SOURCES = "sources.toml"
USER_AGENT = "nianbao/0.1 (+https://github.com/nianbao/nianbao; annual-report archiver)"
ROBOTSTXT_OBEY = True

# --- archive --------------------------------------------------------------------------------------
ARCHIVE_DIR = os.environ.get("ARCHIVE_DIR", "data")

# --- catalog / pipelines --------------------------------------------------------------------------
ITEM_PIPELINES: dict[str, int] = {}

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
