"""Two weekly runs of the real spider over one ARCHIVE_DIR, with the TRS column publishing its next edition in
between (two new reports, one corrected): the second run reads the listings again, re-checks the known reports
with conditional requests (304s become revisits), and counts new / changed / unchanged; the catalog then holds
every report of the new edition and one crawl_runs row per run."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from archive import iter_captures
from crawler.portal import start_portal
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _run(sources: Path, archive: Path, *extra: str) -> dict[str, int]:
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "annual_reports",
                           "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}", "-s", "LOG_LEVEL=INFO",
                           "-s", "AUTOTHROTTLE_ENABLED=False", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {k: int(v) for k, v in re.findall(r"'(nianbao/reports_\w+|archive/revisit_\w+)': (\d+)", proc.stderr)}


@pytest.fixture(scope="module")
def two_weeks(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("weekly")
    portal = start_portal(host="127.0.0.1", port=0, seed=13, sites=["trs"])
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        archive = tmp / "data"
        first = _run(sources, archive)
        hits_first = dict(portal.hits)
        edition = portal.advance(2)
        portal.hits.clear()
        second = _run(sources, archive, "-s", "NIANBAO_REFRESH_DAYS=0")  # every known report is due
        yield portal, archive, first, second, edition, hits_first, dict(portal.hits)
    finally:
        portal.stop()


def test_first_run_everything_is_new(two_weeks) -> None:
    _, _, first, _, _, _, _ = two_weeks
    assert first.get("nianbao/reports_new", 0) > 0
    assert first.get("nianbao/reports_changed", 0) == first.get("nianbao/reports_unchanged", 0) == 0


def test_second_run_counts_new_changed_unchanged(two_weeks) -> None:
    _, _, first, second, edition, _, _ = two_weeks
    assert second.get("nianbao/reports_new") == len(edition["new"])
    assert second.get("nianbao/reports_changed") == len(edition["changed"])
    assert second.get("nianbao/reports_unchanged") == first["nianbao/reports_new"] - len(edition["changed"])
    assert second.get("nianbao/reports_failed", 0) == first.get("nianbao/reports_failed", 0)


def test_known_reports_rechecked_with_conditional_requests(two_weeks) -> None:
    portal, archive, _, second, _, _, _ = two_weeks
    assert second.get("archive/revisit_not_modified", 0) > 0, "no 304 came back as a revisit"
    revisits = [c for c in iter_captures(archive / "warc") if c.record_type == "revisit"]
    assert revisits


def test_listings_read_again_and_catalog_has_the_new_edition(two_weeks) -> None:
    portal, archive, _, _, edition, hits_first, hits_second = two_weeks
    listing = next(p for p in hits_first if p.endswith("/index.html"))
    assert hits_second.get(listing) == 1
    con = sqlite3.connect(archive / "catalog.sqlite")
    urls = {u for (u,) in con.execute("SELECT url FROM reports")}
    runs = con.execute("SELECT run_id, new FROM crawl_runs ORDER BY run_id").fetchall()
    con.close()
    assert set(edition["new"]) <= urls
    assert urls == {r["url"] for r in portal.ground_truth}
    assert len(runs) == 2 and runs[1][1] >= len(edition["new"])
