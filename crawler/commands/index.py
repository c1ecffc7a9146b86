"""`scrapy index [--warc-dir D] [--force] [--merge-to FILE]`: (re)build the sorted CDXJ index of the WARCs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archive.cdxj import build_index
from archive.lock import ArchiveBusy, ArchiveLock


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--warc-dir D] [--force] [--merge-to FILE]"

    def short_desc(self) -> str:
        return "Rebuild the CDXJ index of the archived WARCs"

    def long_desc(self) -> str:
        return ("Write <ARCHIVE_DIR>/index/<warc>.cdxj (pywb-compatible, SURT keys, sorted with an external merge "
                "sort) for every WARC whose index is missing or older than the WARC (all with --force); "
                "--merge-to also merges them into one sorted file. Damaged records are skipped and listed.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--warc-dir", metavar="D", help="folder of WARCs (default <ARCHIVE_DIR>/warc)")
        parser.add_argument("--force", action="store_true", help="re-index every WARC")
        parser.add_argument("--merge-to", metavar="FILE", help="also write one merged, sorted CDXJ file")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"scrapy index takes no positional arguments, got {' '.join(args)!r}")
        assert self.settings is not None
        root = Path(self.settings.get("ARCHIVE_DIR") or "data")
        warc_dir = Path(opts.warc_dir) if opts.warc_dir else root / "warc"
        if not warc_dir.is_dir():
            print(f"scrapy index: {warc_dir}: no such directory", file=sys.stderr)
            self.exitcode = 1
            return
        try:
            with ArchiveLock.acquire(root, "scrapy index"):
                report = build_index(warc_dir, root / "index", force=opts.force,
                                     merge_to=Path(opts.merge_to) if opts.merge_to else None)
        except (ArchiveBusy, ValueError, OSError) as e:
            print(f"scrapy index: {e}", file=sys.stderr)
            self.exitcode = 1
            return
        print(f"index: {len(report.indexed)} WARC files indexed, {len(report.skipped)} up to date -> {root / 'index'}")
        if report.merged is not None:
            print(f"index: merged {report.lines} lines into {report.merged}")
        for d in report.damaged:
            print(f"damaged: {d}", file=sys.stderr)
