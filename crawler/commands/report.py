"""`scrapy report FILE_OR_URL [--json]`: run the shared parser on a local file or an archived URL."""

from __future__ import annotations

import argparse
import json
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "FILE_OR_URL [--json] [--at YYYYMMDDhhmmss] [--archive-dir DIR]"

    def short_desc(self) -> str:
        return "Parse one report (local HTML/text/PDF/DOCX file or archived URL) and print the result"

    def long_desc(self) -> str:
        return ("Run the shared report parser on a local file, or on the archived capture of a URL (looked up "
                "in ARCHIVE_DIR's index, closest to --at, else the latest). --json prints the canonical "
                "report JSON (docs/schema.md); without it a short summary.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--json", action="store_true", help="print the canonical report JSON")
        parser.add_argument("--at", metavar="YYYYMMDDhhmmss", help="for a URL: the capture closest to this time")
        parser.add_argument("--archive-dir", metavar="DIR", help="for a URL: archive to look in (default ARCHIVE_DIR)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # here, not at the top: Scrapy imports every command module for any `scrapy` command, and this one loads
        # the report parser and the text-repair models (~0.7 s, ~70 MB)
        from crawler.report_input import (
            ReportInputError,
            is_url,
            report_from_archive,
            report_from_file,
            summary_lines,
            unreadable,
        )

        if len(args) != 1:
            raise UsageError("scrapy report takes exactly one FILE_OR_URL")
        target = args[0]
        try:
            if is_url(target):
                assert self.settings is not None
                archive_dir = opts.archive_dir or self.settings.get("ARCHIVE_DIR") or "data"
                report = report_from_archive(target, archive_dir, opts.at)
            else:
                if opts.at:
                    raise UsageError("--at applies to an archived URL, not to a local file")
                report = report_from_file(target)
        except ReportInputError as e:
            print(f"scrapy report: {e}", file=sys.stderr)
            self.exitcode = 1
            return
        if opts.json:
            print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        else:
            print("\n".join(summary_lines(report)))
        why = unreadable(report)
        if why is not None:
            print(f"scrapy report: {target}: not read as a report: {why}", file=sys.stderr)
            self.exitcode = 1
