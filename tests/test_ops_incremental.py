"""Incremental runs (crawler/incremental.py) and their ``crawl_runs`` rows (pipelines/runs.py).

Probe runs check the middleware's rules on single pages: listings every run, known report pages only when due. Three
real crawls of the demo portal check the counts end to end: the first finds every report new; the second, within the
refresh interval, requests none of them again (all ``not_rechecked``, ``fresh_skipped``); the third, after the TRS
column published its next edition and with ``NIANBAO_REFRESH_DAYS=0``, counts the new, the corrected and the
unchanged reports. Each run's stats equal its ``crawl_runs`` row, the five counts add up to the reports known after
the run, and a rebuild from the WARCs gives the same rows."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.incremental import STATS, count_stats
from crawler.portal import start_portal
from pipelines.catalog.rebuild import rebuild
from tests.conftest import ROOT
from tests.test_ops_probe import FaultServer, run_probe


def _case(name: str, url: str, role: str) -> dict[str, Any]:
    return {"name": name, "url": url,
            "meta": {"nianbao_allow_private": True, "archive_metadata": {"role": role, "source": "probe"},
                     "probe_item": role != "listing"}}


def _counts(new: int = 0, changed: int = 0, unchanged: int = 0, failed: int = 0,
            not_rechecked: int = 0) -> dict[str, int]:
    return {"new": new, "changed": changed, "unchanged": unchanged, "failed": failed, "not_rechecked": not_rechecked}


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    archive = tmp_path_factory.mktemp("incremental")
    out: dict[str, Any] = {}
    with FaultServer() as srv:
        cases = [_case("same", srv.base + "/page", "report"), _case("changing", srv.base + "/changing", "attachment"),
                 _case("listing", srv.base + "/page?list=1", "listing"), _case("gone", srv.base + "/missing", "detail")]
        # (changed pages and conditional re-checks with the real spider: tests/test_ops_weekly.py)
        for run, days in (("first", 28), ("second", 28), ("third", 0)):
            before = len(srv.hits)
            data = run_probe(cases, archive, NIANBAO_REFRESH_DAYS=days, RETRY_ENABLED=False)
            data["hits"] = [h for h in srv.hits[before:] if h != "/robots.txt"]
            out[run] = data
    out["archive"] = archive
    return out


def test_first_run_everything_new(three_runs) -> None:
    run = three_runs["first"]
    assert count_stats(run["stats"]) == _counts(new=2)
    assert run["stats"]["nianbao/reports_unreachable"] == 1, "the 404 is no report yet, but it is counted"
    assert sorted(run["hits"]) == sorted(["/page", "/changing", "/page?list=1", "/missing"])


def test_second_run_skips_fresh_reports_but_reads_listings(three_runs) -> None:
    run = three_runs["second"]
    assert count_stats(run["stats"]) == _counts(not_rechecked=2)
    assert run["stats"]["nianbao/reports_fresh_skipped"] == 2
    assert run["stats"]["nianbao/reports_unreachable"] == 1
    assert sorted(run["hits"]) == sorted(["/page?list=1", "/missing"]), "fresh reports fetched again"
    assert run["results"]["same"]["error"] == "FreshSkip"
    assert "NIANBAO_REFRESH_DAYS=28" in run["results"]["changing"]["reason"]
    assert run["results"]["listing"]["status"] == 200
    assert not [e for e in run["log"] if e["event"] == "ignored"], "a fresh skip is not a fault"


def test_due_reports_are_rechecked_and_changes_counted(three_runs) -> None:
    run = three_runs["third"]
    assert count_stats(run["stats"]) == _counts(changed=1, unchanged=1)
    assert run["stats"]["nianbao/reports_fresh_skipped"] == 0
    assert "/page" in run["hits"] and "/changing" in run["hits"]


def test_state_lives_in_archive_dir(three_runs) -> None:
    con = sqlite3.connect(three_runs["archive"] / "state" / "incremental.sqlite")
    rows = {url.rsplit("/", 1)[1]: (first, checked, changed)
            for url, first, checked, changed in con.execute(
                "SELECT url, first_seen, last_checked, last_changed FROM pages")}
    con.close()
    assert set(rows) == {"page", "changing"}, "only report pages that answered are remembered"
    first, checked, changed = rows["changing"]
    assert first < checked and changed == checked
    first, checked, changed = rows["page"]
    assert first < checked and changed == first


# --- three crawls of the demo portal -----------------------------------------------------------------------------


def _crawl(sources: Path, archive: Path, *extra: str) -> dict[str, int]:
    proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "annual_reports",
                           "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}", "-s", "LOG_LEVEL=INFO",
                           "-s", "AUTOTHROTTLE_ENABLED=False", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {k: int(v) for k, v in re.findall(r"'(nianbao/reports_\w+)': (\d+)", proc.stderr)}


def _runs(catalog: Path) -> list[dict[str, Any]]:
    con = sqlite3.connect(catalog)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM crawl_runs ORDER BY started_at, run_id")]
    con.close()
    return rows


def _reports(catalog: Path) -> set[str]:
    con = sqlite3.connect(catalog)
    urls = {u for (u,) in con.execute("SELECT url FROM reports")}
    con.close()
    return urls


@pytest.fixture(scope="module")
def portal_runs(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("incremental-portal")
    # TRS: reports as pages and as PDF/DOCX attachments of a detail page, a redirect, a 404, a robots.txt refusal
    portal = start_portal(host="127.0.0.1", port=0, seed=17, sites=["trs"])
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        archive = tmp / "data"
        catalog = archive / "catalog.sqlite"
        truth = [{r["url"] for r in portal.ground_truth}]
        stats = [_crawl(sources, archive)]
        known = [_reports(catalog)]
        hits = dict(portal.hits)
        portal.hits.clear()
        stats.append(_crawl(sources, archive))  # within NIANBAO_REFRESH_DAYS (28): nothing due
        known.append(_reports(catalog))
        hits_second = dict(portal.hits)
        edition = portal.advance(2)
        truth.append({r["url"] for r in portal.ground_truth})
        stats.append(_crawl(sources, archive, "-s", "NIANBAO_REFRESH_DAYS=0"))
        known.append(_reports(catalog))
        yield {"portal": portal, "archive": archive, "truth": truth, "stats": stats, "known": known,
               "runs": _runs(catalog), "edition": edition, "hits": [hits, hits_second]}
    finally:
        portal.stop()


@pytest.mark.slow
def test_portal_first_run_all_new(portal_runs) -> None:
    stats, truth = portal_runs["stats"][0], portal_runs["truth"][0]
    assert portal_runs["known"][0] == truth
    assert count_stats(stats) == _counts(new=len(truth))
    assert stats["nianbao/reports_unreachable"] == 1, "the column's dead report link"


@pytest.mark.slow
def test_portal_second_run_within_refresh_interval_skips_every_report(portal_runs) -> None:
    stats, truth = portal_runs["stats"][1], portal_runs["truth"][0]
    assert count_stats(stats) == _counts(not_rechecked=len(truth))
    assert stats["nianbao/reports_fresh_skipped"] == len(truth)
    _, second = portal_runs["hits"]
    portal = portal_runs["portal"]
    report_pages = truth | {r["attachment_of"] for r in portal.ground_truth if r["attachment_of"]}
    report_pages |= set(portal.special["redirect"][:1])  # the link that redirects to a report
    asked = {portal.url + p for p in second}
    assert asked & report_pages == set(), "a report page was requested again"
    assert portal.special["not_found"] in asked, "the dead link is asked for every run"


@pytest.mark.slow
def test_portal_third_run_counts_new_changed_unchanged(portal_runs) -> None:
    stats, edition = portal_runs["stats"][2], portal_runs["edition"]
    before, after = portal_runs["truth"]
    assert portal_runs["known"][2] == after == before | set(edition["new"])
    assert count_stats(stats) == _counts(new=len(edition["new"]), changed=len(edition["changed"]),
                                         unchanged=len(before) - len(edition["changed"]))
    assert stats["nianbao/reports_fresh_skipped"] == 0


@pytest.mark.slow
def test_portal_crawl_runs_rows_equal_the_stats_and_add_up(portal_runs) -> None:
    runs = portal_runs["runs"]
    assert len(runs) == 3, "one row per run, the run that captured no report included"
    for row, stats, known in zip(runs, portal_runs["stats"], portal_runs["known"], strict=True):
        assert {k: row[k] for k in STATS} == count_stats(stats), row
        assert sum(row[k] for k in STATS) == len(known)
    assert runs[1]["captures"] == 0 and runs[1]["started_at"] is not None


@pytest.mark.slow
def test_portal_crawl_runs_rebuild_the_same(portal_runs, tmp_path: Path) -> None:
    archive = portal_runs["archive"]
    rebuilt = tmp_path / "rebuilt.sqlite"
    rebuild(archive / "warc", rebuilt)
    assert _runs(rebuilt) == portal_runs["runs"]
