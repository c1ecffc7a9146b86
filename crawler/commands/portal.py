"""`scrapy portal`: serve the demo portal on 127.0.0.1 in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import threading

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.portal import start_portal
from crawler.portal.faults import parse_faults
from crawler.portal.portal import SITE_TABLE


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return ("[--port N] [--sources-out FILE] [--seed S] [--faults LIST] [--sites LIST] [--reports-per-site N] "
                "[--slow-seconds S]")

    def short_desc(self) -> str:
        return "Serve the offline demo portal (stand-in for real government sites) on 127.0.0.1"

    def long_desc(self) -> str:
        return ("Serve the demo portal on 127.0.0.1 until Ctrl-C and print its URL. --sources-out writes a "
                "sources.toml pointing at it (and ground_truth.json beside it), so "
                "`scrapy crawl annual_reports -s NIANBAO_SOURCES=FILE` crawls it. Same seed, same bytes.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: 0, any free port)")
        parser.add_argument("--sources-out", metavar="FILE", help="write a sources.toml for the portal to FILE")
        parser.add_argument("--seed", default="1", help="seed of every generated page (default: 1)")
        parser.add_argument("--faults", default="",
                            help="comma list of faults to switch on, or 'all' (503,slow,reset,short_body,"
                                 "wrong_charset,redirect_loop,gzip_bomb,endless_pagination,billion_laughs)")
        parser.add_argument("--sites", default="", help=f"comma list of sites (default: all of {','.join(SITE_TABLE)})")
        parser.add_argument("--reports-per-site", type=int, default=None, metavar="N",
                            help="generated reports per site (default: a small demo size)")
        parser.add_argument("--slow-seconds", type=float, default=3.0, metavar="S",
                            help="how long the 'slow' fault holds a request (default: 3; set it past DOWNLOAD_TIMEOUT)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"scrapy portal takes no positional arguments, got {' '.join(args)!r}")
        if not 0 <= opts.port <= 65535:
            raise UsageError(f"--port {opts.port} is not a TCP port (0-65535)")
        if opts.slow_seconds < 0:
            raise UsageError(f"--slow-seconds {opts.slow_seconds} must be 0 or more")
        if opts.reports_per_site is not None and opts.reports_per_site < 0:
            raise UsageError(f"--reports-per-site {opts.reports_per_site} must be 0 or more")
        try:
            faults = parse_faults(opts.faults)
        except ValueError as e:
            raise UsageError(f"--faults: {e}") from e
        sites = [s.strip() for s in opts.sites.split(",") if s.strip()] or None
        seed: int | str = int(opts.seed) if opts.seed.lstrip("-").isdigit() else opts.seed
        try:
            portal = start_portal(port=opts.port, seed=seed, sites=sites, faults=faults,
                                  reports_per_site=opts.reports_per_site, slow_seconds=opts.slow_seconds)
        except ValueError as e:
            raise UsageError(str(e)) from e
        except OSError as e:
            raise UsageError(f"cannot serve on 127.0.0.1:{opts.port}: {e.strerror or e}") from e
        try:
            print(f"demo portal at {portal.url}  ({len(portal.ground_truth)} reports, seed {seed})", flush=True)
            for site in portal.sites:
                for entry in site.sources():
                    print(f"  {entry.name:10} {entry.family:8} {portal.url}{entry.columns[0]}", flush=True)
            if opts.sources_out:
                truth = portal.write_sources(opts.sources_out)
                print(f"sources written to {opts.sources_out} (ground truth: {truth})", flush=True)
            print("Ctrl-C to stop", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            portal.stop()
