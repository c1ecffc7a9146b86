"""Resume after a crash: a crawl with JOBDIR is SIGKILLed mid-run and started again with the same command. The
WARCs are mended and valid, nothing fetched before the kill is fetched again (beyond the requests in flight), and
the catalog ends with exactly the ground truth."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.verify import verify_warc
from crawler.portal import start_portal
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
IN_FLIGHT = 2  # CONCURRENT_REQUESTS below: at most this many requests were on the wire at the kill


def _crawl_cmd(sources: Path, archive: Path) -> list[str]:
    return [sys.executable, "-m", "scrapy", "crawl", "annual_reports",
            "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}",
            "-s", f"JOBDIR={archive / 'state' / 'job'}", "-s", "LOG_LEVEL=INFO",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", f"CONCURRENT_REQUESTS={IN_FLIGHT}",
            "-s", "DOWNLOAD_DELAY=0.15", "-s", "RANDOMIZE_DOWNLOAD_DELAY=False"]


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("resume")
    portal = start_portal(host="127.0.0.1", port=0, seed=23, sites=["trs", "hanweb"])
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        archive = tmp / "data"
        total = len(portal.all_urls())
        first = subprocess.Popen(_crawl_cmd(sources, archive), cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while sum(n for p, n in portal.hits.items() if not p.startswith("fault:")) < total // 2:
            assert first.poll() is None, "the first crawl ended before it could be killed: " + first.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "the first crawl made no progress"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        first.stderr.close()
        hits_at_kill = Counter(portal.hits)
        open_files = sorted(p.name for p in (archive / "warc").glob("*.open"))
        second = subprocess.run(_crawl_cmd(sources, archive), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-4000:]
        yield portal, archive, hits_at_kill, open_files, second
    finally:
        portal.stop()


def test_killed_run_left_an_open_warc_that_was_mended(resumed) -> None:
    _, archive, _, open_files, second = resumed
    assert open_files, "the kill came before any WARC was opened"
    assert not list((archive / "warc").glob("*.open"))
    for name in open_files:
        assert (archive / "warc" / name.removesuffix(".open")).exists()
    assert "archive: mended" in second.stderr and "resume: catalog rebuilt from the WARCs" in second.stderr


def test_every_warc_is_valid(resumed) -> None:
    _, archive, _, _, _ = resumed
    files = sorted((archive / "warc").glob("*.warc.gz"))
    assert len(files) >= 2
    for f in files:
        assert verify_warc(f) == [], f.name


def test_nothing_fetched_twice_beyond_the_requests_in_flight(resumed) -> None:
    portal, _, hits_at_kill, _, _ = resumed
    expected = Counter(urlsplit(u).path for u in portal.all_urls())
    extra = {p: n - expected.get(p, 1) for p, n in portal.hits.items()
             if not p.startswith("fault:") and p != "/robots.txt" and n > expected.get(p, 1)}
    assert sum(extra.values()) <= IN_FLIGHT, extra
    assert set(expected) <= set(portal.hits), "the resumed crawl did not finish the job"
    refetched = {p for p in hits_at_kill if portal.hits[p] > hits_at_kill[p] and p != "/robots.txt"}
    assert len(refetched) <= IN_FLIGHT + sum(1 for p in expected if expected[p] > 1)


def test_catalog_is_exactly_the_ground_truth(resumed) -> None:
    portal, archive, _, _, _ = resumed
    con = sqlite3.connect(archive / "catalog.sqlite")
    rows = con.execute("SELECT url, agency, year FROM reports").fetchall()
    con.close()
    truth = {r["url"]: r for r in portal.ground_truth}
    counts = Counter(url for url, _, _ in rows)
    assert [u for u, n in counts.items() if n > 1] == []
    assert set(truth) - set(counts) == set(), "reports lost to the kill"
    assert set(counts) - set(truth) == set()
    for url, agency, year in rows:
        assert (agency, year) == (truth[url]["agency"], truth[url]["year"]), url


def test_crawl_log_shows_both_runs(resumed) -> None:
    _, archive, _, _, _ = resumed
    events = [json.loads(line) for line in (archive / "crawl.log").read_text(encoding="utf-8").splitlines()]
    starts = [e for e in events if e["event"] == "run_start"]
    ends = [e for e in events if e["event"] == "run_end"]
    assert len(starts) == 2 and len(ends) == 1, "the killed run has a start and no end"
    assert ends[0]["run"] == starts[1]["run"] and ends[0]["reason"] == "finished"
    assert starts[1]["jobdir"].endswith("job")
