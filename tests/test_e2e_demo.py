"""End to end (issue 2): crawl the demo portal on port 0 through the real `scrapy crawl` command, then check the
catalog against the generator's ground truth and the WARCs against every URL the portal served."""

from __future__ import annotations

import gzip
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import DemoCrawl


@pytest.fixture(scope="module")
def crawled(demo_crawl: DemoCrawl) -> tuple[Any, Path, Any]:
    """The session's crawl of the demo portal (tests/conftest.py): read only."""
    return demo_crawl.portal, demo_crawl.archive, demo_crawl.proc


def _warc_records(archive: Path) -> list[tuple[str, str, int | None]]:
    out = []
    files = sorted((archive / "warc").glob("*.warc.gz"))
    assert files, "no WARC written"
    assert not list((archive / "warc").glob("*.open")), "a WARC was left open after a clean shutdown"
    for f in files:
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh):
                status = None
                if rec.rec_type == "response" and rec.http_headers is not None:
                    status = int(rec.http_headers.get_statuscode())
                out.append((rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"), status))
    return out


def test_catalog_matches_ground_truth(crawled) -> None:
    portal, archive, _ = crawled
    con = sqlite3.connect(archive / "catalog.sqlite")
    rows = con.execute("SELECT url, agency, year FROM reports").fetchall()
    counts = Counter(url for url, _, _ in rows)
    assert [u for u, n in counts.items() if n > 1] == [], "a report stored twice"
    truth = {r["url"]: r for r in portal.ground_truth}
    assert set(counts) - set(truth) == set(), "something that is not a report was stored as one"
    assert set(truth) - set(counts) == set(), "reports missed"
    assert not set(counts) & set(portal.notices)
    for url, agency, year in rows:
        assert year == truth[url]["year"], url
        assert agency == truth[url]["agency"], url


def test_every_fetched_url_has_a_response_record(crawled) -> None:
    portal, archive, _ = crawled
    records = _warc_records(archive)
    responses = {uri: status for kind, uri, status in records if kind == "response"}
    requests = {uri for kind, uri, _ in records if kind == "request"}
    expected = set(portal.all_urls())
    assert expected - set(responses) == set(), "URLs fetched without a response record"
    assert expected <= requests
    src, _dst = portal.special["redirect"]
    assert 300 <= responses[src] < 400, "the redirect hop itself is archived"
    assert responses[portal.special["not_found"]] == 404


def test_warc_members_are_gzip(crawled) -> None:
    _, archive, _ = crawled
    for f in (archive / "warc").glob("*.warc.gz"):
        with gzip.open(f, "rb") as fh:
            assert fh.read(8) == b"WARC/1.1"


def test_summary_printed(crawled) -> None:
    _, _, proc = crawled
    out = proc.stdout + proc.stderr
    assert "reports" in out and "WARC" in out
