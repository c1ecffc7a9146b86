"""The demo portal: every listed URL answers, the ground truth is consistent, same seed -> same bytes."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.portal import Portal, check_identities, start_portal
from crawler.portal.samples import PINGTAN_2024_TABLES
from tests.shared import require_shared

ROOT = Path(__file__).resolve().parent.parent


def fetch(url: str, method: str = "GET", headers: dict[str, str] | None = None,
          body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    p = start_portal(seed=1)
    yield p
    p.stop()


def test_every_url_of_a_complete_crawl_answers(portal: Portal) -> None:
    special = portal.special
    gone = {v for k, v in special.items() if k.endswith("not_found")}
    moved = {v[0]: v[1] for k, v in special.items() if k.endswith("redirect")}
    assert portal.special["not_found"] in gone and len(moved) >= 2  # the trs site's keys are unprefixed
    for url in portal.all_urls() + portal.notices:
        status, headers, body = fetch(url)
        if url in gone:
            assert status == 404
        elif url in moved:
            assert status == 301 and portal.url + urlsplit(headers["location"]).path == moved[url]
        else:
            assert status == 200, url
            assert body, url


def test_ground_truth_is_consistent(portal: Portal) -> None:
    truth = portal.ground_truth
    urls = [e["url"] for e in truth]
    assert len(urls) == len(set(urls))
    crawl = set(portal.all_urls())
    assert set(urls) <= crawl
    assert not set(urls) & set(portal.notices)
    # a PDF copy linked from a page that prints the same report shares its agency-year, and so do the copies
    # crawler/portal/copies.py plants (each names the entry it copies)
    assert {e["copy_reason"] for e in truth} >= {"attachment_of", "corrected_reissue", "mirror", "reposted"}
    assert all(e["copy_of"] in urls for e in truth if e["copy_of"])
    keys = [(e["agency"], e["year"]) for e in truth if e["attachment_of"] not in urls and e["copy_of"] is None]
    assert len(keys) == len(set(keys)), "an agency-year appears twice"
    for site in portal.sites:
        if site.name not in ("govcn", "endless"):
            assert site.notices, f"{site.name} lists no notices"
    kinds = {e["kind"] for e in truth}
    assert {"html", "pdf", "docx", "image"} <= kinds
    assert {e["broken"] for e in truth} >= {"balance", "missing_cell", "row_total", None}
    for entry in truth:
        assert entry["format"] in ("2021", "2019", "legacy", "unknown")
        if entry["kind"] in ("pdf", "docx"):
            assert entry["attachment_of"] in crawl
        if entry["tables"] is None:
            assert entry["kind"] == "image" or entry["pictures"] is not None or entry["origin"] != "generated"
            if entry["pictures"] is not None:  # tables published as pictures: their truth, as printed
                printed = {k: v for k, v in entry["pictures"]["tables"].items() if v is not None}
                assert set(entry["pictures"]["in_pictures"]) <= set(printed)
                if len(printed) == 3:
                    assert check_identities(printed, entry["format"]) == [], entry["url"]
            continue
        violations = check_identities(entry["tables"], entry["format"])
        if entry["broken"] in (None, "missing_cell"):
            assert violations == [], entry["url"]
        else:
            assert violations and entry["issues_expected"] == ["identity_violated"]


def test_real_sample_is_served_with_its_transcribed_tables(portal: Portal) -> None:
    assert check_identities(PINGTAN_2024_TABLES, "2021") == []
    entry = next((e for e in portal.ground_truth if e["origin"] == "sample:pingtan_2024_page.html"), None)
    if entry is None:
        require_shared()  # skips without ../shared; with it, the sample must be served
    assert entry is not None
    status, _, body = fetch(entry["url"])
    assert status == 200 and "div class=TRS_Editor" in body.decode()
    assert entry["url"].endswith("/202503/t20250310_97791.htm")


def test_column_paginates_with_create_page_html(portal: Portal) -> None:
    listings = [u for u in portal.all_urls() if re.search(r"/trs/.*/index(_\d+)?\.html$", u)]
    assert len(listings) >= 3
    assert listings[0].endswith("/trs/zwgk/zfxxgk/zfxxgknb/index.html")
    for n, url in enumerate(listings):
        _, _, body = fetch(url, headers={"Accept-Encoding": "identity"})
        html = body.decode("utf-8")
        assert f'createPageHTML({len(listings)}, {n}, "index", "html")' in html
        assert re.findall(r'href="\./(\d{6})/t\1\d{2}_\d+\.htm"', html)


def test_charsets_gzip_and_conditional_requests(portal: Portal) -> None:
    by_encoding = {e["encoding"]: e for e in portal.ground_truth if e["origin"] == "generated" and e["kind"] == "html"}
    status, headers, body = fetch(by_encoding["gbk-nodecl"]["url"], headers={"Accept-Encoding": "identity"})
    assert headers["content-type"] == "text/html" and b"charset" not in body[:600].lower()
    body.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    _, _, body = fetch(by_encoding["gbk-wrongdecl"]["url"], headers={"Accept-Encoding": "identity"})
    assert b"charset=utf-8" in body[:600]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    gz = next(e for e in portal.ground_truth if e["origin"] == "generated" and e["kind"] == "html"
              and e["encoding"] == "utf-8" and fetch(e["url"], headers={"Accept-Encoding": "gzip"})[1]
              .get("content-encoding") == "gzip")
    status, headers, body = fetch(gz["url"], headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(body).decode("utf-8").count("TRS_Editor") == 1
    status, headers, _ = fetch(gz["url"])
    assert "content-encoding" not in headers
    status, _, body = fetch(gz["url"], headers={"If-None-Match": headers["etag"]})
    assert status == 304 and body == b""


def test_robots_txt_disallows_the_hidden_report(portal: Portal) -> None:
    status, _, body = fetch(portal.url + "/robots.txt")
    hidden = urlsplit(portal.special["robots_disallowed"]).path
    assert status == 200
    assert any(hidden.startswith(line.split(": ", 1)[1]) for line in body.decode().splitlines()
               if line.startswith("Disallow: "))
    assert portal.special["robots_disallowed"] not in portal.all_urls()


def test_same_seed_same_bytes_other_seed_other_pages() -> None:
    a, b, c = start_portal(seed=5), start_portal(seed=5), start_portal(seed=6)
    try:
        paths_a = [urlsplit(u).path for u in a.all_urls()]
        assert paths_a == [urlsplit(u).path for u in b.all_urls()]
        assert paths_a != [urlsplit(u).path for u in c.all_urls()]
        for path in paths_a:
            assert fetch(a.url + path)[2] == fetch(b.url + path)[2], path
    finally:
        for p in (a, b, c):
            p.stop()


def test_write_sources_points_at_the_portal(portal: Portal, tmp_path: Path) -> None:
    from crawler.sources import load_sources

    truth_path = portal.write_sources(tmp_path / "sources.toml")
    sources = load_sources(tmp_path / "sources.toml")
    assert {s.family for s in sources} >= {"trs"}
    for source in sources:
        assert source.allow_private is True and source.allowed_domains == ("127.0.0.1",)
        assert all(url.startswith(portal.url + "/") for url in source.urls)
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    assert [r["url"] for r in truth["reports"]] == [r["url"] for r in portal.ground_truth]


def test_start_up_is_fast_and_large_portals_work() -> None:
    import time

    started = time.perf_counter()
    small = start_portal(seed=2)
    assert time.perf_counter() - started < 1.0
    small.stop()
    warm = start_portal(seed=2, sites=["trs"])
    try:
        assert warm.warm() == len(warm.all_urls()) and not warm.hits
    finally:
        warm.stop()
    big = start_portal(seed=2, sites=["trs"], reports_per_site=300)
    try:
        generated = [e for e in big.ground_truth if e["origin"] == "generated"]
        # a page's PDF copy and a corrected re-issue's original aside (its 更正版 stands in for it)
        assert len([e for e in generated if e["copy_of"] is None]) == 300
        listing = next(u for u in big.all_urls() if u.endswith("index_7.html"))
        assert fetch(listing)[0] == 200
    finally:
        big.stop()


def test_unknown_site_and_fault_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown portal site"):
        start_portal(sites=["nope"])
    with pytest.raises(ValueError, match="unknown portal fault"):
        start_portal(faults=["nope"])


def test_scrapy_portal_serves_in_the_foreground_and_writes_sources(tmp_path: Path) -> None:
    import signal

    out = tmp_path / "sources.toml"
    # Ctrl-C is SIGINT at its default in the child even when the test runner ignores it (a shell starts background
    # jobs with SIGINT ignored, the child inherits that, and Python then installs no KeyboardInterrupt handler)
    proc = subprocess.Popen([sys.executable, "-m", "scrapy", "portal", "--port", "0", "--sources-out", str(out),
                             "--sites", "trs"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"demo portal at (http://127\.0\.0\.1:\d+)", first)
        assert url, first + (proc.stderr.read() if proc.stderr else "")
        while "Ctrl-C" not in proc.stdout.readline():
            pass
        assert fetch(url.group(1) + "/robots.txt")[0] == 200
        assert url.group(1) in out.read_text(encoding="utf-8")
        assert (tmp_path / "ground_truth.json").is_file()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_scrapy_portal_refuses_bad_input_in_one_line() -> None:
    import argparse

    from scrapy.exceptions import UsageError

    from crawler.commands.portal import Command

    def opts(**kw: object) -> argparse.Namespace:
        base = {"port": 0, "sources_out": None, "seed": "1", "faults": "", "sites": "", "reports_per_site": None,
                "slow_seconds": 3.0}
        return argparse.Namespace(**{**base, **kw})

    with pytest.raises(UsageError, match="unknown portal fault"):
        Command().run([], opts(faults="bogus"))
    with pytest.raises(UsageError, match="not a TCP port"):
        Command().run([], opts(port=70000))
    with pytest.raises(UsageError, match="unknown portal site"):
        Command().run([], opts(sites="nope"))
    with pytest.raises(UsageError, match="--slow-seconds -1.0 must be 0 or more"):
        Command().run([], opts(slow_seconds=-1.0))
    with pytest.raises(UsageError, match="no positional arguments"):
        Command().run(["x"], opts())


def test_advance_publishes_new_reports_and_corrects_one() -> None:
    p = start_portal(seed=8, sites=["trs"])
    try:
        before = {u: fetch(u, headers={"Accept-Encoding": "identity"}) for u in p.all_urls()}
        truth_before = {e["url"] for e in p.ground_truth}
        change = p.advance(new_reports=2)
        assert len(change["new"]) == 2 and len(change["changed"]) == 1
        truth_after = {e["url"]: e for e in p.ground_truth}
        assert set(truth_after) == truth_before | set(change["new"])
        assert all(truth_after[u]["edition"] == 1 for u in change["new"])
        assert truth_after[change["changed"][0]]["revision"] == 1
        first = fetch(p.url + "/trs/zwgk/zfxxgk/zfxxgknb/index.html", headers={"Accept-Encoding": "identity"})[2]
        assert all(f"./{urlsplit(u).path.split('/zfxxgknb/')[1]}" in first.decode() for u in change["new"])
        changed = change["changed"][0]
        status, headers, body = fetch(changed, headers={"Accept-Encoding": "identity"})
        assert body != before[changed][2] and "更正" in body.decode("utf-8", "replace")
        old_etag = before[changed][1]["etag"]
        assert fetch(changed, headers={"If-None-Match": old_etag})[0] == 200
        details = [e["url"] for e in p.ground_truth
                   if e["kind"] == "html" and e["url"] not in change["changed"] and e["url"] in before]
        for url in details:
            assert fetch(url, headers={"If-None-Match": before[url][1]["etag"]})[0] == 304, url
    finally:
        p.stop()


_DIGEST_SNIPPET = """
import hashlib
from urllib.parse import parse_qs, urlsplit
from crawler.portal.portal import Portal
from crawler.portal.site import Request
p = Portal("http://127.0.0.1:1", seed=11, faults="503,wrong_charset,redirect_loop,endless_pagination,billion_laughs")
h = hashlib.sha256()
for path in p._crawl_paths() + [n.path for s in p.sites for n in s.notices]:
    u = urlsplit(path)
    r = p.respond(Request("GET", u.path, parse_qs(u.query), {}, {}))
    h.update(path.encode() + b"\\0" + r.body)
print(h.hexdigest())
"""


def test_same_seed_same_bytes_across_processes() -> None:
    import os

    runs = [subprocess.Popen([sys.executable, "-c", _DIGEST_SNIPPET], cwd=ROOT,
                             env={**os.environ, "PYTHONHASHSEED": hash_seed}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for hash_seed in ("1", "2")]  # side by side: each is a process of its own
    digests = set()
    for run in runs:
        out, err = run.communicate(timeout=240)
        assert run.returncode == 0, err[-2000:]
        digests.add(out.strip())
    assert len(digests) == 1
