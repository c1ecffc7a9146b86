"""`scrapy wacz -o FILE [--url-prefix P] [--warc-dir D] [--force]`: package the archive as a WACZ file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archive.output import open_output
from archive.wacz import write_wacz


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "-o FILE [--url-prefix P] [--warc-dir D] [--force]"

    def short_desc(self) -> str:
        return "Package the archived captures as a WACZ file"

    def long_desc(self) -> str:
        return ("Write a WACZ 1.1.1 package (datapackage.json, datapackage-digest.json, pages/pages.jsonl with the "
                "report pages, indexes/index.cdxj, archive/*.warc.gz), streamed to FILE. --url-prefix keeps only "
                "the index and pages entries of URLs starting with P. Never overwrites FILE without --force.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", help="the .wacz file to write (required)")
        parser.add_argument("--url-prefix", metavar="P", help="index and list only URLs starting with P")
        parser.add_argument("--warc-dir", metavar="D", help="package this folder of WARCs (default <ARCHIVE_DIR>/warc)")
        parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"scrapy wacz takes no positional arguments, got {' '.join(args)!r}")
        if not opts.output or opts.output == "-":
            raise UsageError("scrapy wacz needs -o FILE (a zip is not written to a terminal)")
        assert self.settings is not None
        root = Path(self.settings.get("ARCHIVE_DIR") or "data")
        warc_dir = Path(opts.warc_dir) if opts.warc_dir else root / "warc"
        if not warc_dir.is_dir():
            print(f"scrapy wacz: {warc_dir}: no such directory", file=sys.stderr)
            self.exitcode = 1
            return
        try:
            with open_output(opts.output, force=opts.force) as out:
                report = write_wacz(out, warc_dir, index_dir=None if opts.warc_dir else root / "index",
                                    url_prefix=opts.url_prefix, path_for_report=Path(opts.output))
        except (OSError, ValueError) as exc:
            print(f"scrapy wacz: {exc}", file=sys.stderr)
            self.exitcode = 1
            return
        print(f"scrapy wacz: {opts.output}: {report.warcs} WARC files, {report.index_lines} index lines, "
              f"{report.pages} pages", file=sys.stderr)
