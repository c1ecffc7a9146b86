"""Browser capture (issue 5): a scrapy-playwright page's network traffic becomes response records (the XHR JSON
included) and its rendered DOM a `resource` record under `urn:dom:`, never a fake HTTP response."""

from __future__ import annotations

import json
import shutil

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import iter_captures, list_captures, load_capture
from archive.testing import run_crawl, start_site
from archive.urls import dom_urn
from archive.verify import verify_warc

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory):
    """The same JS page crawled twice into one archive."""
    tmp = tmp_path_factory.mktemp("browser")
    site = start_site()
    try:
        run_crawl(tmp / "data", [], browser=[site.u("/js.html")], follow=False, meta_out=tmp / "meta.jsonl",
                  timeout=180)
        first = sorted((tmp / "data" / "warc").glob("*.warc.gz"))
        run_crawl(tmp / "data", [], browser=[site.u("/js.html")], follow=False, timeout=180)
        second = sorted(set((tmp / "data" / "warc").glob("*.warc.gz")) - set(first))
        for f in first + second:
            assert verify_warc(f) == []
        yield site, tmp, first, second
    finally:
        site.stop()


def test_browser_traffic_and_rendered_dom(crawled) -> None:
    site, tmp, warcs, _ = crawled
    caps = list(iter_captures(warcs))
    by_url = {c.url: c for c in caps}
    page, data = by_url[site.u("/js.html")], by_url[site.u("/api/data.json")]
    assert page.record_type == "response" and page.status == 200 and b"fetch('/api/data.json')" in page.payload
    assert data.record_type == "response" and json.loads(data.payload)["items"][0]["title"].startswith("2024")
    dom = by_url[dom_urn(site.u("/js.html"))]
    assert dom.record_type == "resource" and dom.mime == "text/html"
    assert "2024年政府信息公开工作年度报告".encode() in dom.payload and b'id="done"' in dom.payload
    assert dom.metadata is not None and dom.metadata["role"] == "listing"
    with open(warcs[0], "rb") as fh:
        recs = {r.rec_headers.get_header("WARC-Record-ID"): r for r in ArchiveIterator(fh)}
    assert recs[dom.record_id].http_headers is None  # the DOM is not dressed up as an HTTP response
    assert recs[dom.record_id].rec_headers.get_header("WARC-Concurrent-To") == page.record_id
    seen = [json.loads(line) for line in (tmp / "meta.jsonl").read_text().splitlines()]
    assert seen[0]["archive_record_id"] == dom.record_id
    assert seen[0]["archive_document_record_id"] == page.record_id


def test_captures_list_the_dom_too(crawled) -> None:
    site, tmp, _, _ = crawled
    listed = list_captures(site.u("/js.html"), archive_dir=tmp / "data")
    assert sorted(e.record_type for e in listed) == ["resource", "resource", "response", "revisit"]
    assert load_capture(site.u("/js.html"), archive_dir=tmp / "data").record_type == "revisit"
    dom = load_capture(dom_urn(site.u("/js.html")), archive_dir=tmp / "data")
    assert dom.record_type == "resource" and b'id="done"' in dom.payload


def test_browser_recrawl_writes_revisits_for_unchanged_traffic(crawled) -> None:
    site, tmp, _, second = crawled
    assert len(second) == 1
    caps = {c.url: c for c in iter_captures(second)}
    assert caps[site.u("/js.html")].record_type == "revisit"
    assert caps[site.u("/api/data.json")].record_type == "revisit"
    assert caps[dom_urn(site.u("/js.html"))].record_type == "resource"
    assert load_capture(site.u("/api/data.json"), archive_dir=tmp / "data").payload.startswith(b'{"items"')
