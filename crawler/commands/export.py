"""`scrapy export [--format csv|jsonl|parquet|xlsx] [--table NAME] [--labels zh|en] [-o DIR] [--plots]`: the dataset
out of the catalog (pipelines/export.py)."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from archive.lock import ArchiveBusy, ArchiveLock
from pipelines.config import CatalogConfig

# said here as well as in pipelines/export.py, which loads pandas: Scrapy imports every command module for any
# `scrapy` command (tests/test_export*.py hold the two lists equal)
FORMATS = ("csv", "jsonl", "parquet", "xlsx")
LABEL_LANGS = ("en", "zh")
TABLES = ("key_figures", "reports", "copies", "table_cells", "applications_wide", "issues", "crossyear_checks",
          "agencies", "agency_aliases")


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return ("[--format csv|jsonl|parquet|xlsx] [--table NAME ...] [--labels zh|en] [--no-excel] [-o DIR] "
                "[--plots] [--catalog FILE]")

    def short_desc(self) -> str:
        return "Export the dataset (key figures, reports, copies, cells, issues, cross-year checks) and charts"

    def long_desc(self) -> str:
        return ("Write the catalog's tables to DIR (default <ARCHIVE_DIR>/export) as CSV (UTF-8 with a byte-order "
                "mark, so Excel reads the Chinese), JSON lines, Parquet or XLSX, with labels (the codebook of keys) "
                "and codebook (every column written) beside them. Tables: " + ", ".join(TABLES) + " (default: "
                "all). Every table counts canonical reports only, one per agency and year; the copies set aside "
                "are in `copies`. --labels zh heads key_figures with the official Chinese row and column "
                "headings. --plots adds coverage and applications charts (PNG and SVG), per administrative level. "
                "Columns: docs/schema.md.")

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--format", default="csv", help=f"one of {', '.join(FORMATS)} (default: csv)")
        parser.add_argument("--table", action="append", metavar="NAME",
                            help="a table to export (repeat, or comma-separate; default: all)")
        parser.add_argument("--labels", default="en", help="key_figures headings: en (keys, default) or zh")
        parser.add_argument("--excel", action=argparse.BooleanOptionalAction, default=True,
                            help="CSV with a UTF-8 byte-order mark for Excel (default: on)")
        parser.add_argument("-o", "--output-dir", metavar="DIR", help="output folder (default: <ARCHIVE_DIR>/export)")
        parser.add_argument("--plots", action="store_true", help="also write the charts (PNG and SVG)")
        parser.add_argument("--catalog", metavar="FILE", help="catalog to read (default: CATALOG_PATH)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        # here, not at the top: this loads pandas (~0.6 s, ~80 MB), which no other scrapy command needs
        from pipelines.export import export

        if args:
            raise UsageError(f"scrapy export takes no positional arguments, got {' '.join(args)!r}")
        if opts.format not in FORMATS:
            raise UsageError(f"--format {opts.format!r}: expected one of {', '.join(FORMATS)}")
        if opts.labels not in LABEL_LANGS:
            raise UsageError(f"--labels {opts.labels!r}: expected zh or en")
        tables = [t.strip() for value in opts.table or [] for t in value.split(",") if t.strip()]
        unknown = [t for t in tables if t not in TABLES]
        if unknown:
            raise UsageError(f"--table {unknown[0]!r}: expected one of {', '.join(TABLES)}")
        assert self.settings is not None
        config = CatalogConfig.from_settings(self.settings)
        catalog = Path(opts.catalog) if opts.catalog else config.path
        out_dir = Path(opts.output_dir) if opts.output_dir else Path(self.settings.get("ARCHIVE_DIR") or "data") / "export"
        problem = _unusable(catalog, out_dir)
        if problem is not None:
            print(f"scrapy export: {problem}", file=sys.stderr)
            self.exitcode = 1
            return
        try:
            # one writer at a time on ARCHIVE_DIR: not while a crawl or a rebuild changes the catalog under it
            with ArchiveLock.acquire(Path(self.settings.get("ARCHIVE_DIR") or "data"), "scrapy export"):
                result = export(catalog, out_dir, opts.format, plots=opts.plots, tables=tables or None,
                                labels=opts.labels, excel=opts.excel)
        except (ArchiveBusy, FileNotFoundError, ValueError) as e:
            print(f"scrapy export: {e}", file=sys.stderr)
            self.exitcode = 1
            return
        except sqlite3.DatabaseError as e:
            print(f"scrapy export: {catalog} is not a readable catalog ({e}); `scrapy rebuild` makes it again from "
                  "the WARCs", file=sys.stderr)
            self.exitcode = 1
            return
        except OSError as e:
            print(f"scrapy export: cannot write {out_dir}: {e.strerror or e}", file=sys.stderr)
            self.exitcode = 1
            return
        print(f"canonical reports: {result.canonical} (one per agency and year); copies set aside: {result.copies}"
              " (see copies)")
        for name, path in result.files.items():
            print(f"{name}: {result.rows[name]} rows -> {path}")
        for name, path in result.plots.items():
            print(f"plot {name} -> {path} (+ .svg)")


def _unusable(catalog: Path, out_dir: Path) -> str | None:
    """One line saying why the export cannot start (an output path that is a file, an empty catalog), or None."""
    if out_dir.exists() and not out_dir.is_dir():
        return f"-o {out_dir}: exists and is not a directory (the export writes several files into a folder)"
    if not catalog.exists():
        return None  # export() says there is no catalog
    if not catalog.is_file():  # a pipe would block the read for ever
        return f"{catalog} is not a regular file, not a catalog"
    if catalog.stat().st_size == 0:
        return f"{catalog} is empty, not a catalog (crawl first, or `scrapy rebuild` from the WARCs)"
    try:
        con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
        try:
            tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        return f"{catalog} is not a readable catalog ({e}); `scrapy rebuild` makes it again from the WARCs"
    if "reports" not in tables:
        return f"{catalog} is not a catalog (no reports table); `scrapy rebuild` makes one from the WARCs"
    return None
