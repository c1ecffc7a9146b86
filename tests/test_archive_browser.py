"""Browser capture (issue 5): a scrapy-playwright page's network traffic becomes response records (the XHR JSON
included) and its rendered DOM a `resource` record under `urn:dom:`, never a fake HTTP response."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive import iter_captures, list_captures, load_capture
from archive.browser import dom_urn
from archive.testing import run_crawl, start_site
from archive.verify import verify_warc

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian chromium not installed")]


def test_browser_traffic_and_rendered_dom(tmp_path: Path) -> None:
    site = start_site()
    meta_out = tmp_path / "meta.jsonl"
    try:
        run_crawl(tmp_path / "data", [], browser=[site.u("/js.html")], follow=False, meta_out=meta_out,
                  timeout=180)
    finally:
        site.stop()
    warcs = sorted((tmp_path / "data" / "warc").glob("*.warc.gz"))
    for f in warcs:
        assert verify_warc(f) == []
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
    listed = list_captures(site.u("/js.html"), archive_dir=tmp_path / "data")
    assert sorted(e.record_type for e in listed) == ["resource", "response"]
    assert load_capture(site.u("/js.html"), archive_dir=tmp_path / "data").record_type == "response"
    assert load_capture(dom.url, archive_dir=tmp_path / "data").payload == dom.payload
    seen = [json.loads(line) for line in meta_out.read_text().splitlines()]
    assert seen[0]["archive_record_id"] == dom.record_id
    assert seen[0]["archive_document_record_id"] == page.record_id


def test_browser_recrawl_writes_revisits_for_unchanged_traffic(tmp_path: Path) -> None:
    site = start_site()
    try:
        for _ in range(2):
            run_crawl(tmp_path / "data", [], browser=[site.u("/js.html")], follow=False, timeout=180)
    finally:
        site.stop()
    warcs = sorted((tmp_path / "data" / "warc").glob("*.warc.gz"))
    assert len(warcs) == 2
    for f in warcs:
        assert verify_warc(f) == []
    second = {c.url: c for c in iter_captures(warcs[1])}
    assert second[site.u("/js.html")].record_type == "revisit"
    assert second[site.u("/api/data.json")].record_type == "revisit"
    assert second[dom_urn(site.u("/js.html"))].record_type == "resource"
    assert load_capture(site.u("/api/data.json"), archive_dir=tmp_path / "data").payload.startswith(b'{"items"')
