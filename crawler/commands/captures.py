"""`scrapy captures URL [--warc-dir D] [--json]`: every capture of a URL (time, status, mime, digest, length, file,
offset), from the archive's CDXJ index or from any folder of WARCs."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archive.lookup import list_captures


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "URL [--warc-dir D] [--json]"

    def short_desc(self) -> str:
        return "List every archived capture of a URL"

    def long_desc(self) -> str:
        return ("List the captures of URL (GET and POST), oldest first: time, status, mime, payload digest, record "
                "length, WARC file and offset. Without --warc-dir the CDXJ index under <ARCHIVE_DIR>/index is "
                "searched (WARCs without an index are read); --warc-dir reads any folder of WARCs, ours or "
                "another tool's (wget, warcio).")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--warc-dir", metavar="D", help="read this folder of WARC files instead of the index")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("scrapy captures takes exactly one URL")
        assert self.settings is not None
        if opts.warc_dir and not Path(opts.warc_dir).is_dir():
            print(f"scrapy captures: --warc-dir {opts.warc_dir}: no such directory", file=sys.stderr)
            self.exitcode = 1
            return
        archive_dir = Path(self.settings.get("ARCHIVE_DIR") or "data")
        try:
            entries = list_captures(args[0], archive_dir=archive_dir, warc_dir=opts.warc_dir)
        except ValueError as bad:  # a malformed URL (archive.urls.BadUrl)
            print(f"scrapy captures: {bad}", file=sys.stderr)
            self.exitcode = 1
            return
        if not entries:
            print(f"scrapy captures: no capture of {args[0]}", file=sys.stderr)
            self.exitcode = 1
            return
        for e in entries:
            if opts.json:
                print(json.dumps(asdict(e), ensure_ascii=False))
            else:
                print(f"{e.timestamp}  {e.method:4}  {e.status or '-':>3}  {e.mime or '-':24}  {e.digest or '-':37}  "
                      f"{e.length or '-':>8}  {Path(e.warc_file).name}  {e.offset}")
