"""`scrapy rebuild [--warc-dir D] [--workers N]`: the catalog (and CDXJ index) again from the WARCs, offline."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archive.cdxj import build_index
from archive.lock import ArchiveBusy, ArchiveLock
from pipelines.config import CatalogConfig

MAX_WORKERS = 64  # parser processes: more only costs memory (each holds the parser and the text models)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--warc-dir D] [--workers N] [--catalog FILE] [--no-index]"

    def short_desc(self) -> str:
        return "Rebuild the catalog and the CDXJ index from WARC files, offline"

    def long_desc(self) -> str:
        return ("Read every WARC under --warc-dir (default <ARCHIVE_DIR>/warc; ours or another tool's), recognise "
                "the report captures (metadata records, else the title rules), parse them with N worker processes "
                "through the same code as the crawl's pipelines, and replace the catalog (default CATALOG_PATH). "
                "Damaged records (file, offset, why) are listed at the end and make the exit status 1. Progress "
                "(captures/s, ETA) goes to stderr. The new catalog is written beside the old one and replaces it "
                "when complete. Refused while a crawl, an export or another rebuild holds ARCHIVE_DIR.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--warc-dir", metavar="D", help="folder of WARC files (default: <ARCHIVE_DIR>/warc)")
        parser.add_argument("--workers", type=int, default=1, metavar="N", help="parser processes (default: 1)")
        parser.add_argument("--catalog", metavar="FILE", help="catalog to write (default: CATALOG_PATH)")
        parser.add_argument("--no-index", action="store_true", help="do not refresh <ARCHIVE_DIR>/index")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # here, not at the top: Scrapy imports every command module for any `scrapy` command, and this one loads
        # the report parser and the text-repair models (~0.7 s, ~70 MB)
        from pipelines.catalog.rebuild import rebuild

        if args:
            raise UsageError(f"scrapy rebuild takes no positional arguments, got {' '.join(args)!r}")
        if not 1 <= opts.workers <= MAX_WORKERS:
            raise UsageError(f"--workers {opts.workers}: must be from 1 to {MAX_WORKERS}")
        assert self.settings is not None
        config = CatalogConfig.from_settings(self.settings)
        warc_dir = Path(opts.warc_dir) if opts.warc_dir else config.warc_dir
        catalog = Path(opts.catalog) if opts.catalog else config.path
        if not warc_dir.is_dir():
            self._fail(f"scrapy rebuild: --warc-dir {warc_dir}: no such directory")
            return
        archive_dir = Path(self.settings.get("ARCHIVE_DIR") or "data")
        try:
            lock = ArchiveLock.acquire(archive_dir, "scrapy rebuild")
        except ArchiveBusy as e:
            self._fail(f"scrapy rebuild: {e}")
            return
        with lock:
            try:
                result = rebuild(warc_dir, catalog, workers=opts.workers, progress=sys.stderr,
                                 seconds=config.parse_seconds)
            except ValueError as e:
                self._fail(f"scrapy rebuild: {e}")
                return
            except (OSError, sqlite3.Error) as e:
                self._fail(f"scrapy rebuild: {e} (the old catalog {catalog} is left as it was)")
                return
            for line in result.summary_lines():
                print(line)
            if not opts.no_index:
                self._index(warc_dir, archive_dir / "index")
        if result.damaged:
            print(f"scrapy rebuild: {len(result.damaged)} damaged records skipped (listed above); what they held is "
                  "not in the catalog", file=sys.stderr)
            self.exitcode = 1

    def _index(self, warc_dir: Path, index_dir: Path) -> None:
        report = build_index(warc_dir, index_dir)
        print(f"index: {len(report.indexed)} WARC files indexed, {len(report.skipped)} up to date -> {index_dir}")

    def _fail(self, message: str) -> None:
        print(message, file=sys.stderr)
        self.exitcode = 1
