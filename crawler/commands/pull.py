"""`scrapy pull URL [--at T] [--as payload|http|warc] [-o FILE] [--force] [--warc-dir D]`: one raw snapshot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archive.lookup import CaptureNotFound
from archive.output import open_output
from archive.pull import snapshot


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "URL [--at YYYYMMDDhhmmss] [--as payload|http|warc] [-o FILE] [--force] [--warc-dir D]"

    def short_desc(self) -> str:
        return "Write the archived snapshot of a URL (closest capture to --at)"

    def long_desc(self) -> str:
        return ("Find the capture of URL closest to --at (the latest without it), resolve a revisit to the capture "
                "holding the payload, and write it: --as payload (the body, content-encoding undone), http (status "
                "line, headers and body as archived) or warc (the WARC record(s), byte for byte). Writes only to "
                "-o FILE (stdout without it) and never over an existing file unless --force.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--at", metavar="YYYYMMDDhhmmss", help="the capture closest to this time (UTC)")
        parser.add_argument("--as", dest="form", default="payload", choices=["payload", "http", "warc"],
                            help="what to write (default: payload)")
        parser.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
        parser.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
        parser.add_argument("--warc-dir", metavar="D", help="read this folder of WARC files instead of the index")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("scrapy pull takes exactly one URL")
        assert self.settings is not None
        if opts.warc_dir and not Path(opts.warc_dir).is_dir():
            return self._fail(f"--warc-dir {opts.warc_dir}: no such directory")
        archive_dir = Path(self.settings.get("ARCHIVE_DIR") or "data")
        try:
            data = snapshot(args[0], opts.form, at=opts.at, archive_dir=None if opts.warc_dir else archive_dir,
                            warc_dir=opts.warc_dir)
            with open_output(opts.output, force=opts.force) as out:
                out.write(data)
        except (CaptureNotFound, LookupError, ValueError, OSError) as exc:
            return self._fail(str(exc))
        if opts.output:
            print(f"scrapy pull: wrote {len(data)} bytes ({opts.form}) to {opts.output}", file=sys.stderr)

    def _fail(self, message: str) -> None:
        print(f"scrapy pull: {message}", file=sys.stderr)
        self.exitcode = 1
