"""Issue 7's acceptance test: crawl the demo portal, twice (the second run meets dedup and conditional requests:
revisit records), giving catalog A; delete the catalog, `scrapy rebuild` it from the WARCs (B), and again with
`--workers 2` (C): the sorted SQL dumps of A, B and C are identical."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from archive.reader import read_capture_at
from crawler.portal import start_portal
from tests.conftest import ROOT, catalog_dump

pytestmark = pytest.mark.slow


def _scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], subprocess.CompletedProcess[str],
                                                                 list[dict[str, object]]]:
    tmp = tmp_path_factory.mktemp("rebuild-e2e")
    portal = start_portal(host="127.0.0.1", port=0, seed=11, sites=["trs", "mirror"])
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        archive = tmp / "data"
        crawl = ("crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}",
                 "-s", "LOG_LEVEL=WARNING")
        proc = _scrapy(*crawl)
        _scrapy(*crawl)
        truth = list(portal.ground_truth)
    finally:
        portal.stop()
    return archive, catalog_dump(archive / "catalog.sqlite"), proc, truth


def test_live_catalog_points_at_the_warc_records(crawled) -> None:
    archive, _, proc, truth = crawled
    conn = sqlite3.connect(archive / "catalog.sqlite")
    rows = conn.execute("SELECT url, warc_file, warc_offset, warc_record_id FROM reports").fetchall()
    truth_urls = {str(t["url"]) for t in truth}
    assert len(rows) >= 10
    assert {url for url, *_ in rows} <= truth_urls
    for url, warc_file, offset, record_id in rows:
        assert offset is not None, f"{url}: WARC offset not filled at the end of the crawl"
        cap = read_capture_at(archive / "warc" / warc_file, offset)
        assert (cap.record_id, cap.url) == (record_id, url)
    runs = conn.execute("SELECT captures, new, changed, unchanged, failed FROM crawl_runs ORDER BY run_id").fetchall()
    assert len(runs) == 2
    assert runs[0] == (len(rows), len(rows), 0, 0, 0), runs  # the first crawl: every report new
    assert runs[1][1:3] == (0, 0) and runs[1][3] == runs[1][0], runs  # the second: nothing new or changed
    out = proc.stdout
    assert "nianbao crawl summary" in out and f"reports stored: {len(rows)}" in out and "WARC files: " in out


def test_rebuild_is_identical_to_the_crawl(crawled) -> None:
    archive, live, _, _ = crawled
    catalog = archive / "catalog.sqlite"
    catalog.unlink()
    proc = _scrapy("rebuild", "-s", f"ARCHIVE_DIR={archive}", "--no-index")
    assert "0 damaged records" in proc.stdout and "captures/s" in proc.stderr
    assert catalog_dump(catalog) == live
    catalog.unlink()
    _scrapy("rebuild", "--warc-dir", str(archive / "warc"), "--workers", "2", "-s", f"ARCHIVE_DIR={archive}",
            "--no-index")
    assert catalog_dump(catalog) == live


def test_a_catalog_written_on_a_thread_equals_its_rebuild(tmp_path: Path) -> None:
    """CATALOG_STORE_PROCESS=False (the writer a thread of the crawl, not a process) stores the same catalog: it
    equals the rebuild from the crawl's own WARCs, like the default's (above)."""
    portal = start_portal(host="127.0.0.1", port=0, seed=12, sites=["trs"])
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        archive = tmp_path / "data"
        _scrapy("crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}",
                "-s", "LOG_LEVEL=WARNING", "-s", "CATALOG_STORE_PROCESS=False")
        reports = len(portal.ground_truth)
    finally:
        portal.stop()
    catalog = archive / "catalog.sqlite"
    live = catalog_dump(catalog)
    with sqlite3.connect(catalog) as conn:
        assert conn.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == reports
    catalog.unlink()
    _scrapy("rebuild", "-s", f"ARCHIVE_DIR={archive}", "--no-index")
    assert catalog_dump(catalog) == live
