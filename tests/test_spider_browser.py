"""A JS-rendered column (list from a JSON API after page load) through real Chromium, then the API directly;
its requests, the browser one included, through a disk frontier (JOBDIR)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from crawler.portal import start_portal
from tests.spider_support import LocalSite, run_crawl, write_sources

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>政府信息公开年报</title></head>
<body><ul id="list"></ul><script>
fetch('/api/nb/list?channel=77&page=1&pageSize=4').then(r => r.json()).then(d => {
  const ul = document.getElementById('list');
  for (const x of d.data.list) {
    const li = document.createElement('li');
    li.innerHTML = '<a href="' + x.url + '">' + x.title + '</a><span>' + x.pubDate + '</span>';
    ul.appendChild(li);
  }
});
</script></body></html>"""


@pytest.mark.browser
def test_js_column_is_rendered_once_then_read_from_its_api(tmp_path: Path) -> None:
    rows = []
    for i in range(1, 11):
        title = f"{2014 + i}年度政府信息公开工作年度报告" if i % 4 else f"{2014 + i}年政务公开工作要点"
        rows.append({"title": title, "url": f"/nb/{i}.html", "pubDate": f"{2015 + i}-03-0{i % 9 + 1}"})

    site = LocalSite().start()
    try:
        site.html("/nb/index.html", PAGE)
        for i in range(1, 11):
            site.html(f"/nb/{i}.html", f"<html><body><div class='TRS_Editor'><p>报告{i}</p></div></body></html>")

        def api(path: str, args: dict[str, list[str]]) -> tuple[int, str, bytes] | None:
            if path != "/api/nb/list":
                return None
            page, size = int(args["page"][0]), int(args["pageSize"][0])
            chunk = rows[(page - 1) * size: page * size]
            body = {"code": 0, "data": {"total": len(rows), "pageSize": size, "list": chunk}}
            return 200, "application/json; charset=utf-8", json.dumps(body, ensure_ascii=False).encode()

        site.handlers.append(api)
        sources = write_sources(tmp_path / "s.toml", [{
            # no family: the empty page with a fetch() script is detected as a JS column
            "name": "js", "agency": "脚本市", "urls": [f"{site.url}/nb/index.html"],
            "allow_private": True,
        }])
        res = run_crawl(sources, tmp_path)
    finally:
        site.stop()
    assert res.returncode == 0, res.log[-4000:]
    got = sorted(i["url"] for i in res.items)
    assert got == sorted(f"{site.url}/nb/{i}.html" for i in range(1, 11) if i % 4)
    api_calls = sorted(int(parse_qs(p.split("?", 1)[1])["page"][0]) for m, p in site.log if p.startswith("/api/"))
    # page 1 once by the browser and once directly, then pages 2 and 3 directly
    assert api_calls == [1, 1, 2, 3], api_calls
    assert "'nianbao/jsapi/api_recognised': 1" in res.log and "'nianbao/family/jsapi': 1" in res.log
    assert [p for m, p in site.log].count("/nb/index.html") == 2, "static look, then the browser"
    assert all(i["discovery"][1].startswith(f"{site.url}/api/nb/list") for i in res.items)



@pytest.mark.browser
def test_js_portal_crawl_runs_on_requests_read_back_from_a_disk_frontier(tmp_path: Path) -> None:
    """With JOBDIR, every request the crawl schedules (the Chromium one included) is pickled into
    ``frontier.sqlite`` and the crawl runs on the copies read back: none may stay in memory as unserialisable."""
    portal = start_portal(host="127.0.0.1", port=0, seed=11, sites=["jsapp"])
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        res = run_crawl(sources, tmp_path, f"JOBDIR={tmp_path / 'job'}")
        truth = {r["url"]: r for r in portal.ground_truth}
    finally:
        portal.stop()
    assert res.returncode == 0, res.log[-4000:]
    assert "nianbao/resume/unserializable" not in res.log and "cannot be saved in JOBDIR" not in res.log
    enqueued = int(re.search(r"'scheduler/enqueued': (\d+)", res.log).group(1))  # type: ignore[union-attr]
    assert enqueued >= len(truth) + 3, "the column, its browser visit and the API pages were queued too"
    assert "'nianbao/jsapi/api_recognised': 1" in res.log
    assert "'playwright/page_count': 1" in res.log, "the column was rendered once"
    assert sorted(i["url"] for i in res.items) == sorted(truth)
    assert {i["url"]: i["attachment_of"] for i in res.items} == {u: t["attachment_of"] for u, t in truth.items()}
