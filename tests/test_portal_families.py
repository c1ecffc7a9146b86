"""Each portal family is faithful to its CMS, and every ground-truth report is reachable from its source."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from defusedxml import ElementTree as SafeET

from crawler.portal import Portal, start_portal
from crawler.portal.hanweb import PROXY
from tests.test_portal import fetch

_HREF = re.compile(r'href="([^"#]+)"')


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    p = start_portal(seed=3)
    yield p
    p.stop()


def _site(portal: Portal, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in portal.sites if s.name == name)


def _text(url: str) -> str:
    status, _, body = fetch(url, headers={"Accept-Encoding": "identity"})
    assert status == 200, url
    return body.decode("utf-8")


def _truth(portal: Portal, site: str) -> set[str]:
    return {e["url"] for e in portal.ground_truth if e["site"] == site}


def _reach(portal: Portal, start: list[str], prefix: str, extra=None,  # type: ignore[no-untyped-def]
           encoding: str = "utf-8") -> set[str]:
    """Every URL reachable from ``start`` by plain href links inside ``prefix`` (plus ``extra(url, html)``)."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        if not url.endswith((".htm", ".html", ".shtml")) and "?" not in url:
            continue
        status, headers, body = fetch(url, headers={"Accept-Encoding": "identity"})
        if status in (301, 302):
            todo.append(urljoin(url, headers["location"]))
            continue
        if status != 200 or "html" not in headers.get("content-type", ""):
            continue
        html = body.decode(encoding, "replace")
        links = [urljoin(url, unescape(h)) for h in _HREF.findall(html)]
        if extra is not None:
            links += extra(url, html)
        todo.extend(u for u in links if urlsplit(u).path.startswith(prefix) and u.startswith(portal.url))
    return seen


def test_trs_every_report_reachable_through_create_page_html(portal: Portal) -> None:
    def pages(url: str, html: str) -> list[str]:
        m = re.search(r'createPageHTML\((\d+), (\d+), "index", "html"\)', html)
        return [urljoin(url, "index.html" if i == 0 else f"index_{i}.html") for i in range(int(m.group(1)))] if m else []

    column = portal.url + "/trs/zwgk/zfxxgk/zfxxgknb/index.html"
    assert _truth(portal, "trs") <= _reach(portal, [column], "/trs/zwgk/zfxxgk/", pages)


def test_trs_newer_template_is_gb2312_with_the_six_argument_paging(portal: Portal) -> None:
    column = portal.url + "/trs2/zwgk/zfxxgk/zfxxgknb/index.html"
    status, headers, body = fetch(column, headers={"Accept-Encoding": "identity"})
    html = body.decode("gb18030")
    assert headers["content-type"] == "text/html" and "charset=gb2312" in html
    m = re.search(r"createPageHTML\('page_div', (\d+), 0, 'index', 'html', \d+\)", html)
    assert m and int(m.group(1)) >= 3 and '<table class="list"' in html

    def pages(url: str, page: str) -> list[str]:
        found = re.search(r"createPageHTML\('page_div', (\d+), (\d+), 'index', 'html'", page)
        return [urljoin(url, "index.html" if i == 0 else f"index_{i}.html")
                for i in range(int(found.group(1)))] if found else []

    assert _truth(portal, "trs2") <= _reach(portal, [column], "/trs2/zwgk/zfxxgk/", pages, "gb18030")


def test_hanweb_embeds_a_datastore_and_answers_the_proxy_with_the_form(portal: Portal) -> None:
    site = _site(portal, "hanweb")
    column = site.columns[0]
    html = _text(portal.url + f"/hanweb/col/col{column.col}/index.html")
    store = re.search(r'<script type="text/xml">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    records = SafeET.fromstring(store).findall(".//record")
    assert len(records) == 10
    assert f"totalRecord: {len(column.items)}" in html and "perPage: 5" in html and "groupSize: 2" in html
    form = {"col": "1", "appid": "1", "webid": "27", "path": "/", "columnid": str(column.col),
            "sourceContentType": "1", "unitid": str(column.unit), "webname": site.agency, "permissiontype": "0"}
    query = urlencode({"startrecord": 11, "endrecord": 20, "perpage": 5})
    status, headers, body = fetch(f"{portal.url}{PROXY}?{query}", "POST", body=urlencode(form).encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and headers["content-type"].startswith("text/xml")
    more = SafeET.fromstring(body).findall(".//record")
    assert len(more) == len(column.items) - 10
    links = set()
    for rec in records + more:
        links.add(portal.url + re.search(r'href="([^"]+)"', rec.text or "").group(1))  # type: ignore[union-attr]
    details = {portal.url + p.detail_path for p in column.plans}
    assert links == details | {portal.url + n.path for n in column.items if n not in column.plans}
    assert re.fullmatch(r".*/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html", sorted(links)[0])
    wrong = fetch(f"{portal.url}{PROXY}?{query}", "POST", body=urlencode({**form, "columnid": "1"}).encode())[2]
    assert SafeET.fromstring(wrong).findall(".//record") == []
    reachable = _reach(portal, sorted(details), "/hanweb/")
    assert _truth(portal, "hanweb") <= reachable


def test_jsapp_lists_nothing_in_html_and_everything_through_the_api(portal: Portal) -> None:
    site = _site(portal, "jsapp")
    shell = _text(portal.url + site.column)
    assert "fetch(" in shell and "/art" not in shell and "年度报告" not in shell
    found: set[str] = set()
    page, total = 1, 1
    while page <= total:
        status, headers, body = fetch(f"{portal.url}{site.api}?page={page}&size=5", headers={"Accept-Encoding": "gzip"})
        assert status == 200 and headers["content-type"].startswith("application/json")
        import gzip

        data = json.loads(gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body)["data"]
        total = data["totalPage"]
        found |= {portal.url + item["url"] for item in data["list"]}
        page += 1
    assert total >= 2
    assert _truth(portal, "jsapp") <= _reach(portal, sorted(found), "/jsapp/")


def test_ucap_details_have_the_index_table_above_zoomcon(portal: Portal) -> None:
    site = _site(portal, "ucap")
    reachable = _reach(portal, [portal.url + c for c in site.columns], "/ucap/")
    assert _truth(portal, "ucap") <= reachable
    detail = next(portal.url + p.detail_path for p in site.reports if p.kind == "html" and p.encoding == "utf-8")
    assert re.search(r"/ucap/\w+/gknb/\d{6}/[0-9a-f]{32}\.shtml$", detail)
    html = _text(detail)
    assert html.index("索引号：") < html.index('<div id="zoomcon">')


def test_govcn_lists_by_year_and_links_the_other_columns(portal: Portal) -> None:
    site = _site(portal, "govcn")
    html = _text(portal.url + site.page_path)
    years = re.findall(r"<h3>(\d{4})年度</h3>", html)
    assert years == sorted(set(years), reverse=True) and len(years) >= 2
    for other in ("/trs/zwgk/zfxxgk/zfxxgknb/index.html", "/hanweb/col/col", "/jsapp/xxgk/gknb/index.html",
                  "/ucap/tjj/gknb/index.shtml", "/mirror/news/list_1.html"):
        assert f'href="{other}' in html
    assert _truth(portal, "govcn") <= _reach(portal, [portal.url + site.page_path], "/govcn/")


def test_mirror_copies_are_damaged_but_keep_their_numbers(portal: Portal) -> None:
    site = _site(portal, "mirror")
    assert _truth(portal, "mirror") <= _reach(portal, [portal.url + site.listing_paths[0]], "/mirror/")
    seen = set()
    for entry in (e for e in portal.ground_truth if e["site"] == "mirror"):
        html = _text(entry["url"])
        seen.add(entry["transform"])
        if entry["transform"].startswith("traditional"):
            assert "政府信息公開" in html
        if entry["transform"].endswith("pinyin"):
            assert re.search(r"[\u4e00-\u9fff]\([a-zāáǎàēéěèīíǐìōóǒòūúǔù]+\)", html)
        if entry["transform"] == "byteshift":
            assert "?" in html and entry["issues_expected"] == ["mojibake"]
        total = entry["tables"]["applications"]["total_processed"][6]
        assert f"\n{total} |" in html.replace("<br/>", "")
    assert seen == {"traditional+pinyin", "traditional", "pinyin", "byteshift"}
