"""Every request the spider makes survives ``Request.to_dict`` → pickle → ``request_from_dict`` (JOBDIR, Redis).

(``Request.to_dict`` is Scrapy 2.19's spelling of the former ``scrapy.utils.request.request_to_dict``; the disk
queues, ``crawler.resume`` and scrapy-redis serialise through it.)

A small crawl is driven in-process, without a network or a browser: each request the spider yields is
serialised and read back, the copy (not the original) is "downloaded" from a table of pages, and the copy's
callback gets the response. The browser request of a JS column is answered the way scrapy-playwright answers it:
the page-init callback named in its meta is loaded by import path and run on a stand-in page, which then makes
the XHR the real column makes.
"""

from __future__ import annotations

import asyncio
import json
import pickle
from collections import deque
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import FormRequest, HtmlResponse, Response, TextResponse
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler
from scrapy_playwright.page import PageMethod

from crawler.families import jsapi
from crawler.items import ReportItem
from spiders.annual_reports import AnnualReportsSpider
from tests.spider_support import write_sources

SITE = "http://js.example.gov.cn"
HW = "http://hw.example.gov.cn"
API = f"{SITE}/api/nb/list?channel=7&page=1&pageSize=2"
REPORT_TEXT = "".join(
    f"<p>{h}</p><p>{'本机关依法公开政府信息，' * 12}</p>"
    for h in ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
              "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"))


def _html(body: str) -> bytes:
    return f"<html><head><meta charset='utf-8'></head><body>{body}</body></html>".encode()


def _api(page: int) -> bytes:
    rows = {1: [("2023年度政府信息公开工作年度报告", "/nb/23.html"), ("2024年政务公开工作要点", "/nb/n.html")],
            2: [("2022年度政府信息公开工作年度报告", "/nb/22.html")]}[page]
    data = {"data": {"totalPage": 2, "list": [{"title": t, "url": u, "pubDate": "2024-01-02"} for t, u in rows]}}
    return json.dumps(data, ensure_ascii=False).encode()


PAGES: dict[str, tuple[str, bytes]] = {
    f"{SITE}/nb/index.html": ("text/html", _html("<ul id='l'></ul><script>fetch('/api/nb/list?page=1')</script>")),
    API: ("application/json", _api(1)),
    API.replace("page=1", "page=2"): ("application/json", _api(2)),
    # the report printed on the page, and a PDF copy of it linked as 附件
    f"{SITE}/nb/23.html": ("text/html", _html(f"<div class='TRS_Editor'>{REPORT_TEXT}"
                                              "<p>附件：<a href='/files/nb2023.pdf'>2023年报.pdf</a></p></div>")),
    f"{SITE}/files/nb2023.pdf": ("application/pdf", b"%PDF-1.4 copy"),
    # a note pointing to the report, which is the attachment alone
    f"{SITE}/nb/22.html": ("text/html", _html("<div class='TRS_Editor'><p>现将2022年度报告予以公布，详见附件。</p>"
                                              "<p>附件：<a href='/files/nb2022.docx'>2022年报</a></p></div>")),
    f"{SITE}/files/nb2022.docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                                  b"PK\x03\x04docx"),
    f"{HW}/col/col9/index.html": ("text/html", _html(
        '<div id="4242"><script type="text/xml"><datastore><recordset>'
        '<record><![CDATA[<li><a href="/art/2024/3/1/art_9_1.html" title="2023年度政府信息公开工作年度报告">x</a>'
        "</li>]]></record></recordset></datastore></script></div>"
        "<script>$('#4242').jpage({perPage: 1, totalRecord: 2, groupSize: 1, columnid: 9, unitid: 4242});</script>")),
    f"{HW}/art/2024/3/1/art_9_1.html": ("text/html", _html(f"<div id='zoom'>{REPORT_TEXT}</div>")),
    f"{HW}/art/2024/3/2/art_9_2.html": ("text/html", _html(f"<div id='zoom'>{REPORT_TEXT}</div>")),
}


class StandInPage:
    """What the page-init callback is given: ``on(event, handler)``; ``emit`` plays the page's own traffic."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Any]] = {}

    def on(self, event: str, handler: Any) -> None:
        self.handlers.setdefault(event, []).append(handler)

    def emit(self, event: str, payload: Any) -> None:
        for handler in self.handlers.get(event, []):
            handler(payload)


class StandInBrowserRequest:
    def __init__(self, url: str, resource_type: str) -> None:
        self.url, self.resource_type = url, resource_type


def _plain(value: Any) -> Any:
    """``meta`` with PageMethods (no ``__eq__``) spelled out, for comparison."""
    if isinstance(value, PageMethod):
        return ("PageMethod", value.method, value.args, value.kwargs)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def roundtrip(request: Request, spider: AnnualReportsSpider) -> Request:
    back = request_from_dict(pickle.loads(pickle.dumps(request.to_dict(spider=spider), protocol=4)),
                             spider=spider)
    assert type(back) is type(request)
    assert (back.url, back.method, back.body, back.dont_filter, back.priority) == (
        request.url, request.method, request.body, request.dont_filter, request.priority)
    assert back.callback == request.callback and back.errback == request.errback
    assert dict(back.headers) == dict(request.headers)
    assert _plain(back.meta) == _plain(request.meta)
    return back


def download(request: Request) -> Response:
    meta = request.meta
    if meta.get("playwright"):
        assert not any(callable(v) for v in meta.get("playwright_page_event_handlers", {}).values())
        page = StandInPage()
        callback = load_object(meta["playwright_page_init_callback"])
        asyncio.run(callback(page, request))
        page.emit("request", StandInBrowserRequest(request.url, "document"))
        page.emit("request", StandInBrowserRequest(f"{SITE}/static/app.css", "stylesheet"))
        page.emit("request", StandInBrowserRequest(API, "fetch"))
    if isinstance(request, FormRequest) or request.method == "POST":
        start = int(request.url.split("startrecord=")[1].split("&")[0])
        xml = (f"<datastore><totalrecord>2</totalrecord><recordset><record><![CDATA[<li><a href="
               f"'/art/2024/3/2/art_9_{start}.html' title='2022年度政府信息公开工作年度报告'>x</a></li>]]>"
               "</record></recordset></datastore>")
        return TextResponse(request.url, body=xml.encode(), encoding="utf-8", request=request,
                            headers={"Content-Type": "text/xml; charset=utf-8"})
    ctype, body = PAGES[request.url]
    if ctype == "text/html":
        return HtmlResponse(request.url, body=body, encoding="utf-8", request=request,
                            headers={"Content-Type": "text/html; charset=utf-8"})
    cls = TextResponse if "json" in ctype else Response
    kwargs: dict[str, Any] = {"encoding": "utf-8"} if cls is TextResponse else {}
    return cls(request.url, body=body, request=request, headers={"Content-Type": ctype}, **kwargs)


def _outputs(result: Any) -> Any:
    """What a callback yields, whether it is a generator or an async one (a detail page's callback awaits the
    pictures of a report page; these pages show none)."""
    if hasattr(result, "__aiter__"):
        async def collect() -> list[Any]:
            return [o async for o in result]
        return asyncio.run(collect())
    return result or ()


def test_every_request_of_a_small_crawl_round_trips(tmp_path: Path) -> None:
    sources = write_sources(tmp_path / "s.toml", [
        {"name": "js", "agency": "脚本市", "urls": [f"{SITE}/nb/index.html"]},  # no family: detected as jsapi
        {"name": "hw", "agency": "大汉市", "family": "hanweb", "urls": [f"{HW}/col/col9/index.html"]},
    ])
    crawler = get_crawler(AnnualReportsSpider, {"NIANBAO_SOURCES": str(sources)})
    spider = AnnualReportsSpider.from_crawler(crawler)

    async def starts() -> list[Request]:
        return [r async for r in spider.start()]

    queue = deque(roundtrip(r, spider) for r in asyncio.run(starts()))
    seen: list[Request] = []
    items: list[ReportItem] = []
    while queue:
        request = queue.popleft()
        seen.append(request)
        assert request.callback is not None
        for out in _outputs(request.callback(download(request))):
            if isinstance(out, Request):
                queue.append(roundtrip(out, spider))
            else:
                items.append(out)

    browser = [r for r in seen if r.meta.get("playwright")]
    assert [r.url for r in browser] == [f"{SITE}/nb/index.html"]
    assert browser[0].meta["playwright_page_init_callback"] == jsapi.WATCH_CALLBACK
    assert any(isinstance(r, FormRequest) for r in seen), "no Hanweb dataproxy POST was made"
    assert sorted((i.url, i.routing.attachment_of) for i in items) == sorted([
        (f"{SITE}/nb/23.html", None),
        (f"{SITE}/files/nb2023.pdf", f"{SITE}/nb/23.html"),
        (f"{SITE}/files/nb2022.docx", f"{SITE}/nb/22.html"),
        (f"{HW}/art/2024/3/1/art_9_1.html", None),
        (f"{HW}/art/2024/3/2/art_9_2.html", None),
    ])
    assert len(seen) == 12  # 2 columns, browser, 2 API pages, 4 details, 1 POST, 2 attachments


def test_watch_callback_notes_what_the_page_requests_in_meta() -> None:
    request = Request("http://h/c/index.html", meta={"playwright": True})
    page = StandInPage()
    asyncio.run(load_object(jsapi.WATCH_CALLBACK)(page, request))
    page.emit("request", StandInBrowserRequest("http://h/api/list?page=1", "xhr"))
    assert request.meta[jsapi.BROWSER_REQUESTS_META] == [["http://h/api/list?page=1", "", "xhr"]]
    pickle.dumps(request.to_dict())  # still plain data once the page has been watched
