"""Distributed crawl (crawler/distributed.py): two worker processes share one real redis-server's frontier.

Each portal URL is fetched once (robots.txt aside: each worker asks for it), both workers take part, each writes
into its own ARCHIVE_DIR, and together their catalogs hold exactly the ground truth."""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

from crawler.portal import start_portal
from tests.conftest import ROOT

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.skipif(shutil.which("redis-server") is None,
                                                      reason="redis-server (Debian package) not installed")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    work = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(work), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port}") from None
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _stat(stderr: str, key: str) -> int:
    m = re.search(rf"'{re.escape(key)}': (\d+)", stderr)
    return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def two_workers(redis_url: str, tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("workers")
    # two static families (TRS pages, Hanweb's POST proxy); the browser family is the spider tests' job
    portal = start_portal(host="127.0.0.1", port=0, seed=11, sites=["trs", "hanweb"])
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        procs = []
        for name in ("w1", "w2"):
            cmd = [sys.executable, "-m", "scrapy", "crawl", "annual_reports",
                   "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={tmp / name}",
                   "-s", f"NIANBAO_REDIS_URL={redis_url}", "-s", "LOG_LEVEL=INFO",
                   # A worker pulls up to CONCURRENT_REQUESTS from the shared queue into its own downloader;
                   # keep that small and the pace steady, so work is shared even on a busy machine (at 0.1 s a
                   # worker that stalled a few seconds after joining once found the other had done everything).
                   "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS=1",
                   "-s", "DOWNLOAD_DELAY=0.25", "-s", "RANDOMIZE_DOWNLOAD_DELAY=False",
                   "-s", "NIANBAO_REDIS_MIN_WORKERS=2", "-s", "NIANBAO_REDIS_WAIT=60"]
            procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0, err[-4000:]
            outs.append(err)
        yield portal, tmp, outs, redis_url
    finally:
        portal.stop()


def test_each_url_fetched_once(two_workers) -> None:
    portal, _, _, _ = two_workers
    # the portal counts hits by path; a POST proxy path serves several pages (startrecord=…) of one column
    expected = Counter(urlsplit(u).path for u in portal.all_urls())
    hits = Counter({path: n for path, n in portal.hits.items() if not path.startswith("fault:")})
    twice = {path: n for path, n in hits.items() if n > expected.get(path, 1) and path != "/robots.txt"}
    assert twice == {}, "fetched by both workers"
    assert hits["/robots.txt"] == 2, "each worker reads robots.txt for itself"
    assert set(expected) <= set(hits), "URLs nobody fetched"


def test_both_workers_took_part(two_workers) -> None:
    _, _, errs, _ = two_workers
    counts = [_stat(err, "downloader/response_count") for err in errs]
    lazy = "\n".join(f"--- worker {i + 1} ({n} responses), log tail:\n" + "\n".join(err.splitlines()[-40:])
                     for i, (n, err) in enumerate(zip(counts, errs, strict=True)) if n < 3)
    assert all(n >= 3 for n in counts), f"{counts}\n{lazy}"
    assert all(_stat(err, "scheduler/dequeued/redis") > 0 for err in errs)


def test_catalogs_together_hold_the_ground_truth(two_workers) -> None:
    portal, tmp, _, _ = two_workers
    rows: list[tuple[str, str, int]] = []
    for name in ("w1", "w2"):
        con = sqlite3.connect(tmp / name / "catalog.sqlite")
        rows += con.execute("SELECT url, agency, year FROM reports").fetchall()
        con.close()
    counts = Counter(url for url, _, _ in rows)
    assert [u for u, n in counts.items() if n > 1] == [], "a report stored by both workers"
    truth = {r["url"]: r for r in portal.ground_truth}
    assert set(counts) == set(truth)
    for url, agency, year in rows:
        assert (agency, year) == (truth[url]["agency"], truth[url]["year"]), url


def test_rebuild_over_all_workers_warcs_is_the_ground_truth(two_workers, tmp_path) -> None:
    portal, tmp, _, _ = two_workers
    merged = tmp_path / "all" / "warc"
    merged.mkdir(parents=True)
    names = []
    for name in ("w1", "w2"):
        for warc in (tmp / name / "warc").glob("*.warc.gz"):
            names.append(warc.name)
            shutil.copy(warc, merged / warc.name)
    assert len(names) == len(set(names)) >= 2, "each worker writes its own WARCs (host and pid in the name)"
    catalog = tmp_path / "all" / "catalog.sqlite"
    proc = subprocess.run([sys.executable, "-m", "scrapy", "rebuild", "--warc-dir", str(merged),
                           "--catalog", str(catalog), "--no-index", "-s", f"ARCHIVE_DIR={tmp_path / 'all'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    con = sqlite3.connect(catalog)
    rows = con.execute("SELECT url, agency, year FROM reports").fetchall()
    con.close()
    truth = {r["url"]: r for r in portal.ground_truth}
    assert sorted(u for u, _, _ in rows) == sorted(truth)
    for url, agency, year in rows:
        assert (agency, year) == (truth[url]["agency"], truth[url]["year"]), url


def test_last_worker_cleared_the_frontier(two_workers) -> None:
    import redis

    _, _, _, url = two_workers
    client = redis.Redis.from_url(url)
    assert sorted(k.decode() for k in client.keys("nianbao:*")) == []
