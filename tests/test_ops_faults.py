"""A crawl of the demo portal with every fault switched on (5 % 503s, slow answers past the timeout, resets,
short bodies, wrong charsets, a redirect loop, a gzip bomb, an endless column, a billion-laughs XML answer)
still finds 100 % of the reports, with memory bounded, and every fault is a line in crawl.log.

Two crawls: the static families (TRS, Hanweb, ucap, the mirror copies, the gov.cn page linking the other columns,
the endless column), and — marked ``browser``, real Chromium — the JS column, whose shell and first API call are
fetched by the browser: there faults are also placed on the browser's own requests (a short document that
Chromium would wait for, a slow API answer, a 503 to the browser's fetch)."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.portal import Portal, start_portal
from crawler.portal.faults import gzip_bomb
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
TIMEOUT = 3.0  # generous: on a loaded machine a shorter one times out pages that are not "slow"
STATIC_SITES = ["trs", "hanweb", "ucap", "mirror", "govcn", "endless"]
# fault → the crawl.log events that show it was met (the transient ones are then retried)
EXPECTED: dict[str, tuple[str, ...]] = {
    "503": ("http_error",),
    "slow": ("timeout",),
    "reset": ("reset",),
    "short_body": ("short_body",),
    "wrong_charset": ("charset_mismatch",),
    "redirect_loop": ("redirect_loop", "redirect_limit"),
    "gzip_bomb": ("oversize",),
    "endless_pagination": ("pagination_capped",),
    "billion_laughs": ("warning", "error"),
}


def _crawl(portal: Portal, tmp: Path) -> tuple[Path, str, list[dict[str, Any]]]:
    sources = tmp / "sources.toml"
    portal.write_sources(sources)
    archive = tmp / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "annual_reports",
         "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}", "-s", "LOG_LEVEL=INFO",
         "-s", f"DOWNLOAD_TIMEOUT={TIMEOUT}", "-s", "NIANBAO_MAX_LIST_PAGES=4",
         "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "MEMUSAGE_CHECK_INTERVAL_SECONDS=0.5"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    log = [json.loads(line) for line in (archive / "crawl.log").read_text(encoding="utf-8").splitlines()]
    return archive, proc.stderr, log


@pytest.fixture(scope="module")
def faulty_crawl(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("faults")
    # TRS (charset, loop, bomb), Hanweb (billion laughs), ucap, the mirror copies, gov.cn (one page, links to the
    # other columns), and the column that exists only with its fault
    portal = start_portal(host="127.0.0.1", port=0, seed=31, faults="all", sites=STATIC_SITES)
    portal.slow_seconds = TIMEOUT + 1.0
    try:
        for fault in portal.faults:
            if fault["fault"] == "gzip_bomb":  # built once and cached: the first answer is not slowed by it
                gzip_bomb(int(re.search(r"(\d+) bytes", fault["detail"]).group(1)))  # type: ignore[union-attr]
        yield portal, *_crawl(portal, tmp)
    finally:
        portal.stop()


def _stat(stderr: str, key: str) -> int:
    m = re.search(rf"'{re.escape(key)}': (\d+)", stderr)
    assert m, f"stat {key} missing"
    return int(m.group(1))


def _assert_every_report_found(portal: Portal, archive: Path) -> None:
    con = sqlite3.connect(archive / "catalog.sqlite")
    urls = [u for (u,) in con.execute("SELECT url FROM reports")]
    con.close()
    assert len(urls) == len(set(urls))
    truth = {r["url"]: r["site"] for r in portal.ground_truth}
    lost = sorted(f"{site} {url}" for url, site in truth.items() if url not in urls)
    assert lost == [], "reports lost to the faults"
    assert set(urls) == set(truth)


def test_every_report_found(faulty_crawl) -> None:
    portal, archive, _, _ = faulty_crawl
    _assert_every_report_found(portal, archive)


def test_every_family_met_transient_faults(faulty_crawl) -> None:
    """The seed's plan puts transient faults on every site crawled, the mirror copies and gov.cn included."""
    portal, _, _, _ = faulty_crawl
    prefix = {s.name: f"{portal.url}{s.prefix}/" for s in portal.sites}
    hit = {name for name, p in prefix.items() for f in portal.faults
           if f["fault"] in ("503", "slow", "reset", "short_body") and f["url"].startswith(p)}
    assert set(STATIC_SITES) - {"endless"} <= hit, hit


def test_memory_bounded(faulty_crawl) -> None:
    _, _, stderr, log = faulty_crawl
    start = next(e for e in log if e["event"] == "run_start")["peak_rss_mb"]
    end = next(e for e in log if e["event"] == "run_end")["peak_rss_mb"]
    assert 0 < start <= end
    assert end - start < 256, f"peak memory grew by {end - start:.0f} MiB (the gzip bomb inflates to 512 MiB)"
    assert _stat(stderr, "memusage/max") < (start + 256) * 2**20


def _met(log: list[dict[str, Any]], fault: dict[str, Any]) -> list[dict[str, Any]]:
    kinds = EXPECTED[fault["fault"]]
    url = fault["url"]
    column = url.rsplit("/", 1)[0] + "/"  # the cap is met on a later page of the same column
    hits = []
    for e in log:
        if e["event"] not in kinds or not e.get("url"):
            continue
        # a redirect's chain; for a browser page that timed out, the requests it was still waiting for
        chain = [e["url"], *(e.get("chain") or []), *(e.get("waiting_for") or [])]
        if any(u == url or u.startswith(url + "?") for u in chain) or (
                fault["fault"] == "endless_pagination" and e["url"].startswith(column)):
            hits.append(e)
    return hits


def _absorbed_reset(fault: dict[str, Any], archive: Path) -> bool:
    """A reset on a reused keep-alive connection is retried once by Twisted's connection pool, below Scrapy: no
    exception ever reaches a middleware, so there is nothing to log — the page must then be in the WARC."""
    from archive import list_captures

    return fault["fault"] == "reset" and any(c.status == 200 for c in list_captures(fault["url"], archive_dir=archive))


def test_every_fault_is_in_crawl_log(faulty_crawl) -> None:
    portal, archive, _, log = faulty_crawl
    kinds = {f["fault"] for f in portal.faults}
    assert kinds == set(EXPECTED), "the portal switched on a fault this test does not know"
    missing = [f"{f['fault']} {f['url']}" for f in portal.faults
               if not _met(log, f) and not _absorbed_reset(f, archive)]
    seen = [e for e in log for m in missing if e.get("url") and e["url"] in m]
    assert missing == [], f"not in crawl.log; lines about them: {seen}"
    assert any(_met(log, f) for f in portal.faults if f["fault"] == "reset"), "no reset reached Scrapy at all"


def test_transient_faults_were_retried(faulty_crawl) -> None:
    portal, archive, _, log = faulty_crawl
    retried = {e["url"] for e in log if e["event"] == "retry"}
    transient = [f for f in portal.faults if f["fault"] in ("503", "slow", "reset", "short_body")]
    assert transient
    assert [f["url"] for f in transient if f["url"] not in retried and not _absorbed_reset(f, archive)] == []


def test_the_bomb_and_the_loop_were_refused_not_followed(faulty_crawl) -> None:
    portal, _, _, log = faulty_crawl
    bomb = next(f for f in portal.faults if f["fault"] == "gzip_bomb")
    oversize = _met(log, bomb)
    assert oversize and "DOWNLOAD_MAXSIZE" in oversize[0]["reason"]
    loop = next(f for f in portal.faults if f["fault"] == "redirect_loop")
    assert portal.hits[loop["url"].split(str(portal.url), 1)[1]] <= 2
    laughs = next(f for f in portal.faults if f["fault"] == "billion_laughs")
    assert all("Entit" in e["reason"] or "entit" in e["reason"] for e in _met(log, laughs))


# --- the JS column, through real Chromium ----------------------------------------------------------------------

JS_SEED = 33  # its plan puts no fault on the two requests the browser makes; the placed ones below are the first
SHELL = "/jsapp/xxgk/gknb/index.html"
API_FIRST = "/jsapp/api/gknb/list?page=1&size=5"  # what the shell's script fetches


@pytest.fixture(scope="module")
def browser_crawl(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("faults-browser")
    portal = start_portal(host="127.0.0.1", port=0, seed=JS_SEED, faults="all", sites=["jsapp"])
    portal.slow_seconds = TIMEOUT + 1.0
    try:
        planned = {f["url"] for f in portal.faults}
        assert not {portal.url + SHELL, portal.url + API_FIRST} & planned, "pick a seed whose plan spares them"
        # the shell arrives short (Chromium then waits for the rest: only DOWNLOAD_TIMEOUT ends the wait); on the
        # next load the list API answers past the timeout (the page never gets idle); on the third it answers 503
        portal.place_fault(SHELL, "short_body")
        portal.place_fault(API_FIRST, "slow")
        portal.place_fault(API_FIRST, "503")
        started = time.monotonic()
        archive, stderr, log = _crawl(portal, tmp)
        yield portal, archive, stderr, log, time.monotonic() - started
    finally:
        portal.stop()


@pytest.mark.browser
def test_js_column_finds_every_report_under_faults(browser_crawl) -> None:
    portal, archive, stderr, _, seconds = browser_crawl
    _assert_every_report_found(portal, archive)
    assert _stat(stderr, "playwright/page_count") >= 3, "the shell was not rendered three times"
    assert seconds < 60, f"the browser crawl took {seconds:.0f} s"


@pytest.mark.browser
def test_js_column_faults_are_in_crawl_log(browser_crawl) -> None:
    portal, archive, _, log, _ = browser_crawl
    kinds = {f["fault"] for f in portal.faults}
    assert kinds == {"503", "slow", "reset", "short_body"}
    missing = [f"{f['fault']} {f['url']}" for f in portal.faults
               if not _met(log, f) and not _absorbed_reset(f, archive)]
    assert missing == [], [e for e in log if e["event"] not in ("run_start", "run_end")]
    shell, api = portal.url + SHELL, portal.url + API_FIRST
    short = [e for e in log if e["event"] == "short_body" and e["url"] == shell]
    assert short and "ERR_CONTENT_LENGTH_MISMATCH" in short[0]["reason"] and short[0]["page"] == shell
    # the browser gave up after DOWNLOAD_TIMEOUT, not after Playwright's 30 s, and the page was retried
    timeouts = [e for e in log if e["event"] == "timeout" and e["url"] == shell]
    assert len(timeouts) >= 2 and all(f"{int(TIMEOUT * 1000)}ms" in e["reason"] for e in timeouts), timeouts
    assert any(e.get("waiting_for") == [api] for e in timeouts), "the slow API answer is not named"
    assert len([e for e in log if e["event"] == "retry" and e["url"] == shell]) == len(timeouts)
    browser_503 = [e for e in log if e["event"] == "http_error" and e["url"] == api]
    assert browser_503 and browser_503[0]["page"] == shell and browser_503[0]["resource_type"] == "fetch"


@pytest.mark.browser
def test_js_column_data_arrived_after_each_fault(browser_crawl) -> None:
    """A fault the browser met is spent; the API page it hit is then read by the spider itself (a 200 in the
    WARC), and every other faulty URL was retried."""
    from archive import list_captures

    portal, archive, _, log, _ = browser_crawl
    retried = {e["url"] for e in log if e["event"] == "retry"}
    for fault in portal.faults:
        if fault["url"] == portal.url + API_FIRST:
            assert any(c.status == 200 for c in list_captures(fault["url"], archive_dir=archive)), fault
        elif not _absorbed_reset(fault, archive):
            assert fault["url"] in retried, fault
