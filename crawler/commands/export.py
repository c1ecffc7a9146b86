"""`scrapy export [--format csv|jsonl|parquet] [-o DIR] [--plots]`: the dataset out of the catalog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from pipelines.config import CatalogConfig


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--format csv|jsonl|parquet] [-o DIR] [--plots] [--catalog FILE]"

    def short_desc(self) -> str:
        return "Export the dataset (reports, table cells, applications wide, issues) and charts"

    def long_desc(self) -> str:
        return ("Write reports, table_cells (long form), applications_wide (Table 3 as columns) and issues from the "
                "catalog to DIR (default <ARCHIVE_DIR>/export) as CSV, JSON lines or Parquet; --plots adds "
                "coverage.png and applications.png.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--format", default="csv", help="csv, jsonl or parquet (default: csv)")
        parser.add_argument("-o", "--output-dir", metavar="DIR", help="output folder (default: <ARCHIVE_DIR>/export)")
        parser.add_argument("--plots", action="store_true", help="also write PNG charts")
        parser.add_argument("--catalog", metavar="FILE", help="catalog to read (default: CATALOG_PATH)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # here, not at the top: Scrapy imports every command module for any `scrapy` command, and this one loads
        # pandas (~0.6 s, ~80 MB); it also checks --format (a ValueError naming the formats)
        from pipelines.export import export

        if args:
            raise UsageError(f"scrapy export takes no positional arguments, got {' '.join(args)!r}")
        assert self.settings is not None
        config = CatalogConfig.from_settings(self.settings)
        catalog = Path(opts.catalog) if opts.catalog else config.path
        out_dir = Path(opts.output_dir) if opts.output_dir else Path(self.settings.get("ARCHIVE_DIR") or "data") / "export"
        try:
            result = export(catalog, out_dir, opts.format, plots=opts.plots)
        except (FileNotFoundError, ValueError) as e:
            print(f"scrapy export: {e}", file=sys.stderr)
            self.exitcode = 1
            return
        for name, path in result.files.items():
            print(f"{name}: {result.rows[name]} rows -> {path}")
        for name, path in result.plots.items():
            print(f"plot {name} -> {path}")
