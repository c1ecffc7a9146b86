"""`scrapy crawl`: Scrapy's own command, plus a check of the spider's configuration before the crawl starts.

A spider class may define ``preflight(settings, **spider_arguments)``; it raises ``ValueError`` (``SourceError``
for ``sources.toml``) with a one-line reason. Raised from ``from_crawler`` inside the running crawl, the same
error would end the command with an asyncio traceback; checked here, the command prints that one line to stderr
and exits with status 2, before any engine, reactor or browser starts. An unknown spider name gets one line too.

It also takes the lock of ``ARCHIVE_DIR`` (and ``JOBDIR``) before the crawl starts (:mod:`crawler.archive_lock`):
when another crawl, a rebuild or an export holds it, one line names that process and the command exits with
status 2. A crawl stopped by a full disk (:mod:`crawler.diskfull`) ends with that one line and status 1.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand

from archive.lock import ArchiveBusy
from crawler import diskfull
from crawler.archive_lock import crawl_locks


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and self.crawler_process is not None and self.settings is not None:
            loader = self.crawler_process.spider_loader
            try:
                spidercls = loader.load(args[0])
            except KeyError:
                print(f"scrapy crawl: no spider named {args[0]!r} (known: {', '.join(loader.list()) or 'none'})",
                      file=sys.stderr)
                self.exitcode = 2
                return
            preflight = getattr(spidercls, "preflight", None)
            if preflight is not None:
                try:
                    preflight(self.settings, **opts.spargs)
                except ValueError as e:
                    print(f"scrapy crawl {args[0]}: {' '.join(str(e).split())}", file=sys.stderr)
                    self.exitcode = 2
                    return
        if self.settings is None or len(args) != 1:
            super().run(args, opts)
            return
        try:
            locks = crawl_locks(self.settings, f"scrapy crawl {args[0]}")
        except ArchiveBusy as e:
            print(f"scrapy crawl {args[0]}: {e}", file=sys.stderr)
            self.exitcode = 2
            return
        try:
            super().run(args, opts)
        finally:
            for lock in locks:
                lock.release()
        line = diskfull.stopped()
        if line is not None:  # the reason, again, as the last line (Scrapy's stats dump comes after the log's)
            print(f"scrapy crawl {args[0]}: {line}", file=sys.stderr)
            self.exitcode = 1
