"""Resume after a crash: a crawl with JOBDIR is SIGKILLed mid-run and started again with the same command. The
WARCs are mended and valid, nothing fetched before the kill is fetched again (beyond the requests in flight), the
catalog ends with exactly the ground truth, and it got there by catching up: only the killed run's WARCs were read
and only the records the catalog lacked at the kill were parsed and stored."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.reader import iter_captures
from archive.verify import verify_warc
from crawler.portal import start_portal
from pipelines.catalog import sorted_dump
from pipelines.catalog.rebuild import rebuild
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
IN_FLIGHT = 2  # CONCURRENT_REQUESTS below: at most this many requests were on the wire at the kill


def _crawl_cmd(sources: Path, archive: Path) -> list[str]:
    return [sys.executable, "-m", "scrapy", "crawl", "annual_reports",
            "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}",
            "-s", f"JOBDIR={archive / 'state' / 'job'}", "-s", "LOG_LEVEL=INFO",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", f"CONCURRENT_REQUESTS={IN_FLIGHT}",
            "-s", "DOWNLOAD_DELAY=0.15", "-s", "RANDOMIZE_DOWNLOAD_DELAY=False",
            # small batches: at the kill the catalog holds most of what was stored, so what the catch-up adds is
            # visibly only the rest
            "-s", "CATALOG_BATCH_SIZE=2"]


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
        # half the portal fetched, and some rows stored: the parse workers start on the first item (spawned, each
        # loading the parser, the text models and OCR), so under load the catalog can still be empty half-way
        while (sum(n for p, n in portal.hits.items() if not p.startswith("fault:")) < total // 2
               or _stored_rows(archive) < 2):
            assert first.poll() is None, "the first crawl ended before it could be killed: " + first.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "the first crawl made no progress"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        first.stderr.close()
        hits_at_kill = Counter(portal.hits)
        open_files = sorted(p.name for p in (archive / "warc").glob("*.open"))
        at_kill = _catalog_ids(archive, tmp / "at-kill")
        second = subprocess.run(_crawl_cmd(sources, archive), cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr[-4000:]
        yield portal, archive, hits_at_kill, open_files, second, {"pid": first.pid, "at_kill": at_kill}
    finally:
        portal.stop()


def _stored_rows(archive: Path) -> int:
    """Capture rows the live crawl's catalog holds so far (0 while it is not there yet)."""
    path = archive / "catalog.sqlite"
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM captures").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _catalog_ids(archive: Path, into: Path) -> set[str]:
    """The capture record ids in the catalog the killed process left (copied with its WAL, read from the copy)."""
    into.mkdir()
    for suffix in ("", "-wal", "-shm"):
        src = archive / f"catalog.sqlite{suffix}"
        if src.exists():
            shutil.copy(src, into / src.name)
    if not (into / "catalog.sqlite").exists():
        return set()
    con = sqlite3.connect(into / "catalog.sqlite")
    try:
        return {rid for (rid,) in con.execute("SELECT record_id FROM captures")}
    finally:
        con.close()


def test_killed_run_left_an_open_warc_that_was_mended(resumed) -> None:
    _, archive, _, open_files, second, _ = resumed
    assert open_files, "the kill came before any WARC was opened"
    assert not list((archive / "warc").glob("*.open"))
    for name in open_files:
        assert (archive / "warc" / name.removesuffix(".open")).exists()
    assert "archive: mended" in second.stderr and "resume: catalog caught up" in second.stderr
    assert "resume: catalog rebuilt from the WARCs" not in second.stderr, "fell back to a full rebuild"


def test_catch_up_read_the_killed_run_and_parsed_only_what_the_catalog_lacked(resumed) -> None:
    _, archive, _, _, second, killed = resumed
    m = re.search(r"resume: catalog caught up: (\d+) WARC files, (\d+) captures read, (\d+) already in the catalog, "
                  r"(\d+) parsed, (\d+) stored, \d+ offsets filled, (\d+) stale rows removed", second.stderr)
    assert m, second.stderr[-3000:]
    files, read, known, _parsed, stored, stale = map(int, m.groups())
    own = sorted((archive / "warc").glob(f"NIANBAO-*-{killed['pid']}.warc.gz"))
    assert files == len(own) >= 1, "the catch-up read other runs' files"
    assert read == sum(1 for _ in iter_captures(own)), "the catch-up read other runs' captures"
    con = sqlite3.connect(archive / "catalog.sqlite")
    names = {p.name for p in own}
    in_killed_files = {rid for rid, f in con.execute("SELECT record_id, warc_file FROM captures") if f in names}
    con.close()
    at_kill = killed["at_kill"]
    assert at_kill, "the catalog held nothing at the kill: nothing shows the catch-up skipped work"
    assert known == len(at_kill & in_killed_files) > 0
    assert stored == len(in_killed_files - at_kill), "parsed and stored other records than the missing ones"
    assert stored < len(in_killed_files), "everything was stored again"
    assert stale == len(at_kill - in_killed_files)
    stats = {k: int(v) for k, v in re.findall(r"'nianbao/resume/catchup_(\w+)': (\d+)", second.stderr)}
    assert stats.get("known", 0) == known and stats.get("stored", 0) == stored


def test_every_warc_is_valid(resumed) -> None:
    _, archive, _, _, _, _ = resumed
    files = sorted((archive / "warc").glob("*.warc.gz"))
    assert len(files) >= 2
    for f in files:
        assert verify_warc(f) == [], f.name


def test_nothing_fetched_twice_beyond_the_requests_in_flight(resumed) -> None:
    portal, _, hits_at_kill, _, _, _ = resumed
    expected = Counter(urlsplit(u).path for u in portal.all_urls())
    extra = {p: n - expected.get(p, 1) for p, n in portal.hits.items()
             if not p.startswith("fault:") and p != "/robots.txt" and n > expected.get(p, 1)}
    assert sum(extra.values()) <= IN_FLIGHT, extra
    assert set(expected) <= set(portal.hits), "the resumed crawl did not finish the job"
    refetched = {p for p in hits_at_kill if portal.hits[p] > hits_at_kill[p] and p != "/robots.txt"}
    assert len(refetched) <= IN_FLIGHT + sum(1 for p in expected if expected[p] > 1)


def test_catalog_is_exactly_the_ground_truth(resumed) -> None:
    portal, archive, _, _, _, _ = resumed
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


def test_caught_up_catalog_equals_a_rebuild(resumed, tmp_path: Path) -> None:
    _, archive, _, _, _, _ = resumed
    rebuilt = tmp_path / "rebuilt.sqlite"
    rebuild(archive / "warc", rebuilt)
    dumps = []
    for path in (archive / "catalog.sqlite", rebuilt):
        con = sqlite3.connect(path)
        dumps.append(sorted_dump(con))
        con.close()
    assert dumps[0] == dumps[1]


def test_crawl_log_shows_both_runs(resumed) -> None:
    _, archive, _, _, _, _ = resumed
    events = [json.loads(line) for line in (archive / "crawl.log").read_text(encoding="utf-8").splitlines()]
    starts = [e for e in events if e["event"] == "run_start"]
    ends = [e for e in events if e["event"] == "run_end"]
    assert len(starts) == 2 and len(ends) == 1, "the killed run has a start and no end"
    assert ends[0]["run"] == starts[1]["run"] and ends[0]["reason"] == "finished"
    assert starts[1]["jobdir"].endswith("job")
