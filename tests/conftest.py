from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.shared import DEFAULT, SHARED, SHARED_DIR, count_skipped  # noqa: E402  (needs ROOT on sys.path)

__all__ = ["ROOT", "SHARED", "DemoCrawl", "catalog_dump"]


def catalog_dump(path: Path) -> list[str]:
    """The catalog at ``path`` as ``pipelines.catalog.sorted_dump`` lines (for byte-for-byte comparisons)."""
    import sqlite3

    from pipelines.catalog import sorted_dump

    conn = sqlite3.connect(path)
    try:
        return sorted_dump(conn)
    finally:
        conn.close()


class DemoCrawl:
    """One crawl of the whole demo portal (seed 7) through `scrapy crawl`, shared by the test files that only read
    its results (tests/test_e2e_demo.py, tests/test_export_demo.py): ~30 s once instead of once per file."""

    def __init__(self, portal: Any, archive: Path, proc: Any) -> None:
        self.portal = portal
        self.archive = archive
        self.proc = proc


@pytest.fixture(scope="session")
def demo_crawl(tmp_path_factory: pytest.TempPathFactory) -> Any:
    import subprocess

    from crawler.portal import start_portal

    tmp = tmp_path_factory.mktemp("demo-crawl")
    portal = start_portal(host="127.0.0.1", port=0, seed=7)
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        archive = tmp / "data"
        proc = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "annual_reports",
             "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}", "-s", "LOG_LEVEL=INFO"],
            cwd=ROOT, capture_output=True, text=True, timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-4000:]
        yield DemoCrawl(portal, archive, proc)
    finally:
        portal.stop()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line: where the shared data folder is, and how many tests skipped for want of it."""
    where = f"at {SHARED_DIR}" if SHARED_DIR else f"absent ({DEFAULT} not found, $NIANBAO_SHARED not set)"
    skipped = count_skipped(terminalreporter.stats)
    terminalreporter.write_line(f"shared data folder {where}: {skipped} tests skipped for want of it")
