"""Incremental runs (crawler/incremental.py): listings every run, known report pages only when due, and the run's
new / changed / unchanged / failed counts in stats."""

from __future__ import annotations

from typing import Any

import pytest

from crawler.incremental import count_stats
from tests.test_ops_probe import FaultServer, run_probe


def _case(name: str, url: str, role: str) -> dict[str, Any]:
    return {"name": name, "url": url,
            "meta": {"nianbao_allow_private": True, "archive_metadata": {"role": role, "source": "probe"}}}


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
    assert count_stats(run["stats"]) == {"new": 2, "changed": 0, "unchanged": 0, "failed": 1}
    assert sorted(run["hits"]) == sorted(["/page", "/changing", "/page?list=1", "/missing"])


def test_second_run_skips_fresh_reports_but_reads_listings(three_runs) -> None:
    run = three_runs["second"]
    assert count_stats(run["stats"]) == {"new": 0, "changed": 0, "unchanged": 2, "failed": 1}
    assert run["stats"]["nianbao/reports_fresh_skipped"] == 2
    assert sorted(run["hits"]) == sorted(["/page?list=1", "/missing"]), "fresh reports fetched again"
    assert run["results"]["same"]["error"] == "FreshSkip"
    assert "NIANBAO_REFRESH_DAYS=28" in run["results"]["changing"]["reason"]
    assert run["results"]["listing"]["status"] == 200
    assert not [e for e in run["log"] if e["event"] == "ignored"], "a fresh skip is not a fault"


def test_due_reports_are_rechecked_and_changes_counted(three_runs) -> None:
    run = three_runs["third"]
    assert count_stats(run["stats"]) == {"new": 0, "changed": 1, "unchanged": 1, "failed": 1}
    assert "/page" in run["hits"] and "/changing" in run["hits"]


def test_state_lives_in_archive_dir(three_runs) -> None:
    import sqlite3

    con = sqlite3.connect(three_runs["archive"] / "state" / "incremental.sqlite")
    rows = {url.rsplit("/", 1)[1]: (first, checked, changed)
            for url, _, first, checked, changed in con.execute("SELECT * FROM pages")}
    con.close()
    assert set(rows) == {"page", "changing"}, "only report pages that answered are remembered"
    first, checked, changed = rows["changing"]
    assert first < checked and changed == checked
    first, checked, changed = rows["page"]
    assert first < checked and changed == first
