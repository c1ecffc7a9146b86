"""Spider routing on hand-written pages: the page cap, Hanweb jpage paging, attachments, allowed domains."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.spider_support import LocalSite, run_crawl, write_sources


def _li(href: str, title: str, date: str) -> str:
    return f'<li><a href="{href}" title="{title}">{title}</a><span>{date}</span></li>'


def _detail(title: str, body: str) -> str:
    return (f"<html><head><title>{title}</title></head><body><div class='nav'>"
            f"<a href='/forms/apply.doc'>申请表下载</a></div><div class='TRS_Editor'>{body}</div></body></html>")


@pytest.fixture
def site() -> LocalSite:
    s = LocalSite().start()
    yield s
    s.stop()


def test_endless_next_page_stops_at_the_cap_with_a_warning(site: LocalSite, tmp_path: Path) -> None:
    def endless(path: str, _args: dict[str, list[str]]) -> tuple[int, str, bytes] | None:
        if not path.startswith("/endless/list_"):
            return None
        n = int(path.rsplit("_", 1)[1].split(".")[0])
        body = (f"<html><body><ul>{_li(f'/endless/d{n}.html', f'{2010 + n % 15}年度政府信息公开工作年度报告（第{n}页）', '2024-01-02')}"
                f"{_li(f'/endless/n{n}.html', '关于印发2024年政务公开工作要点的通知', '2024-01-03')}</ul>"
                f"<div class='page'><a href='/endless/list_{n + 1}.html'>下一页</a></div></body></html>")
        return 200, "text/html; charset=utf-8", body.encode()

    def detail(path: str, _args: dict[str, list[str]]) -> tuple[int, str, bytes] | None:
        if path.startswith("/endless/d"):
            return 200, "text/html; charset=utf-8", _detail("报告", "<p>正文</p>").encode()
        return None

    site.handlers += [endless, detail]
    sources = write_sources(tmp_path / "s.toml", [{
        "name": "endless", "agency": "无尽县", "urls": [f"{site.url}/endless/list_0.html"],
        "allow_private": True, "obey_robots": False,
    }])
    res = run_crawl(sources, tmp_path, "NIANBAO_MAX_LIST_PAGES=7")
    assert res.returncode == 0, res.log[-3000:]
    listings = [p for m, p in site.log if p.startswith("/endless/list_")]
    assert sorted(listings) == sorted(f"/endless/list_{i}.html" for i in range(7))
    assert "NIANBAO_MAX_LIST_PAGES=7 reached" in res.log
    assert "robots.txt is NOT obeyed" in res.log
    assert len(res.items) == 7
    assert not any(p.startswith("/endless/n") for _, p in site.log), "a notice was opened"
    assert "'nianbao/list_page_cap_reached': 1" in res.log
    crawl_log = [json.loads(line) for line in (tmp_path / "data" / "crawl.log").read_text(encoding="utf-8").splitlines()]
    capped = [e for e in crawl_log if e["event"] == "pagination_capped"]
    assert len(capped) == 1 and capped[0]["url"].startswith(f"{site.url}/endless/list_"), capped
    assert not [e for e in crawl_log if e["event"] == "warning" and "NIANBAO_MAX_LIST_PAGES" in e["reason"]]


def test_hanweb_jpage_embedded_records_then_dataproxy_posts(site: LocalSite, tmp_path: Path) -> None:
    total, per_page = 50, 5
    titles = {i: (f"{2008 + i % 17}年度政府信息公开工作年度报告" if i % 3 else f"{2010 + i % 10}年政务公开工作要点")
              for i in range(1, total + 1)}

    def record(i: int) -> str:
        return f"<record><![CDATA[{_li(f'/art/2024/3/{i % 28 + 1}/art_77_{i}.html', titles[i], '2024-03-01')}]]></record>"

    embedded = "".join(record(i) for i in range(1, 16))
    site.html("/col/col77/index.html", f"""<html><body><div id="4242"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&appid=1&webid=9&path=/&columnid=77&unitid=4242&webname=%E6%B5%8B&permissiontype=0"></a>]]></nextgroup>
<recordset>{embedded}</recordset></datastore></script></div>
<script>$('#4242').jpage({{dataStore: null, perPage: {per_page}, totalRecord: {total}, groupSize: 3, proxyUrl: '/module/web/jpage/dataproxy.jsp'}});</script>
</body></html>""")

    def proxy(path: str, args: dict[str, list[str]]) -> tuple[int, str, bytes] | None:
        if path != "/module/web/jpage/dataproxy.jsp":
            return None
        assert args["columnid"] == ["77"] and args["unitid"] == ["4242"] and args["webid"] == ["9"]
        start, end = int(args["startrecord"][0]), int(args["endrecord"][0])
        recs = "".join(record(i) for i in range(start, min(end, total) + 1))
        xml = f'<?xml version="1.0" encoding="utf-8"?><datastore><totalrecord>{total}</totalrecord><recordset>{recs}</recordset></datastore>'
        return 200, "text/xml; charset=utf-8", xml.encode()

    def art(path: str, _args: dict[str, list[str]]) -> tuple[int, str, bytes] | None:
        if path.startswith("/art/"):
            return 200, "text/html; charset=utf-8", _detail("x", "<p>正文</p>").encode()
        return None

    site.handlers += [proxy, art]
    sources = write_sources(tmp_path / "s.toml", [{
        "name": "hw", "agency": "大汉市", "urls": [f"{site.url}/col/col77/index.html"], "allow_private": True,
    }])
    res = run_crawl(sources, tmp_path)
    assert res.returncode == 0, res.log[-3000:]
    posts = sorted(p for m, p in site.log if m == "POST")
    assert posts == sorted(f"/module/web/jpage/dataproxy.jsp?startrecord={s}&endrecord={min(s + 14, total)}&perpage=5"
                           for s in (16, 31, 46))
    urls = Counter(i["url"] for i in res.items)
    expected = {f"{site.url}/art/2024/3/{i % 28 + 1}/art_77_{i}.html" for i in titles if i % 3}
    assert set(urls) == expected and max(urls.values()) == 1
    assert {i["family"] for i in res.items} == {"hanweb"}


def test_hostile_datastore_is_refused_not_expanded(site: LocalSite, tmp_path: Path) -> None:
    bomb = ('<html><body><script type="text/xml"><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            "<datastore><recordset><record>&b;</record></recordset></datastore></script></body></html>")
    site.html("/col/col1/index.html", bomb)
    sources = write_sources(tmp_path / "s.toml", [{
        "name": "bomb", "agency": "x", "family": "hanweb", "urls": [f"{site.url}/col/col1/index.html"],
        "allow_private": True,
    }])
    res = run_crawl(sources, tmp_path)
    assert res.returncode == 0
    assert "datastore XML refused" in res.log and res.items == []


def test_attachments_offsite_hosts_and_listing_context(site: LocalSite, tmp_path: Path) -> None:
    other = LocalSite().start()  # a second host name for the same machine: "localhost"
    try:
        other_url = other.url.replace("127.0.0.1", "localhost")
        other.pages["/files/r2023.pdf"] = (200, "application/pdf", b"%PDF-1.4 report")
        other.pages["/files/evil.pdf"] = (200, "application/pdf", b"%PDF-1.4 nope")
        site.html("/gk/nb/index.html", "<html><body><ul>"
                  + _li("./a.html", "关于发布2023年度政府信息公开工作年度报告的公告", "2024-03-30")
                  + _li("./b.html", "二〇二二年政府信息公开年报", "2023-03-30")
                  + _li("./direct.pdf", "2021年政府信息公开工作年度报告", "2022-01-15")
                  + _li("http://elsewhere.invalid/c.html", "2020年政府信息公开工作年度报告", "2021-01-15")
                  + "</ul></body></html>")
        site.html("/gk/nb/a.html", _detail("a", f"<p>详见附件：</p><p><a href='{other_url}/files/r2023.pdf'>"
                                                 "2023年报.pdf</a></p>"))
        site.html("/gk/nb/b.html", _detail("b", "<p><img src='t.png'/></p>"))
        site.pages["/gk/nb/direct.pdf"] = (200, "application/pdf", b"%PDF-1.4 direct")
        sources = write_sources(tmp_path / "s.toml", [{
            "name": "att", "agency": "附件局", "urls": [f"{site.url}/gk/nb/index.html"],
            "allowed_domains": ["127.0.0.1", "localhost"], "allow_private": True,
        }])
        res = run_crawl(sources, tmp_path)
        assert res.returncode == 0, res.log[-3000:]
        by_url = {i["url"]: i for i in res.items}
        col = f"{site.url}/gk/nb/index.html"
        assert set(by_url) == {f"{other_url}/files/r2023.pdf", f"{site.url}/gk/nb/b.html", f"{site.url}/gk/nb/direct.pdf"}
        att = by_url[f"{other_url}/files/r2023.pdf"]
        assert att["attachment_of"] == f"{site.url}/gk/nb/a.html"
        assert att["discovery"] == [col, f"{site.url}/gk/nb/a.html", f"{other_url}/files/r2023.pdf"]
        assert att["list_title"] == "关于发布2023年度政府信息公开工作年度报告的公告"
        assert att["list_date"] == "2024-03-30" and att["content_type"] == "application/pdf"
        assert att["agency"] == "附件局" and att["source"] == "att"
        page = by_url[f"{site.url}/gk/nb/b.html"]
        assert page["attachment_of"] is None and page["list_year"] == 2022
        assert ("GET", "/forms/apply.doc") not in site.log, "page-chrome download taken for an attachment"
        assert "'nianbao/offsite_skipped': 1" in res.log
    finally:
        other.stop()


def test_source_argument_crawls_one_source_and_unknown_names_fail(site: LocalSite, tmp_path: Path) -> None:
    for col in ("a", "b"):
        site.html(f"/{col}/index.html", "<html><body><a href='r.html'>2022年度政府信息公开工作年度报告</a></body></html>")
        site.html(f"/{col}/r.html", "<html><body><div class='TRS_Editor'>正文</div></body></html>")
    sources = write_sources(tmp_path / "s.toml", [
        {"name": "one", "agency": "甲", "urls": [f"{site.url}/a/index.html"], "allow_private": True},
        {"name": "two", "agency": "乙", "urls": [f"{site.url}/b/index.html"], "allow_private": True},
    ])
    res = run_crawl(sources, tmp_path, source="two")
    assert res.returncode == 0, res.log[-3000:]
    assert [i["url"] for i in res.items] == [f"{site.url}/b/r.html"]
    assert not any(p.startswith("/a/") for _, p in site.log)
    bad = run_crawl(sources, tmp_path, source="three")
    assert bad.returncode != 0
    assert "no source named 'three' (known: one, two)" in bad.log


def test_govcn_page_opens_other_agencies_columns_in_allowed_domains(site: LocalSite, tmp_path: Path) -> None:
    other = LocalSite().start()
    try:
        other_url = other.url.replace("127.0.0.1", "localhost")
        site.html("/zhengce/gknb/index.htm", "<html><body><div class='list'><h3>2023年度</h3><ul>"
                  + _li("./202403/content_1.htm", "国务院办公厅2023年政府信息公开工作年度报告", "2024-03-29")
                  + "</ul></div><div class='others'><ul>"
                  + f"<li><a href='{other_url}/col/nb/index.html'>江城市政府信息公开年报</a></li>"
                  + "<li><a href='http://elsewhere.invalid/nb/'>远方市政府信息公开年报</a></li>"
                  + "<li><a href='/zhengce/tz.htm'>关于做好年度报告工作的通知</a></li>"
                  + "</ul></div></body></html>")
        site.html("/zhengce/gknb/202403/content_1.htm", _detail("x", "<p>正文</p>"))
        other.html("/col/nb/index.html", "<html><body><ul>"
                   + _li("./r1.html", "江城市2023年度政府信息公开工作年度报告", "2024-01-20") + "</ul></body></html>")
        other.html("/col/nb/r1.html", _detail("y", "<p>正文</p>"))
        sources = write_sources(tmp_path / "s.toml", [{
            "name": "govcn", "agency": "国务院办公厅", "family": "govcn",
            "urls": [f"{site.url}/zhengce/gknb/index.htm"], "allowed_domains": ["127.0.0.1", "localhost"],
            "allow_private": True,
        }])
        res = run_crawl(sources, tmp_path)
    finally:
        other.stop()
    assert res.returncode == 0, res.log[-3000:]
    by_url = {i["url"]: i for i in res.items}
    assert set(by_url) == {f"{site.url}/zhengce/gknb/202403/content_1.htm", f"{other_url}/col/nb/r1.html"}
    followed = by_url[f"{other_url}/col/nb/r1.html"]
    assert followed["agency"] == "江城市" and followed["source"] == "govcn"
    assert followed["discovery"] == [f"{site.url}/zhengce/gknb/index.htm", f"{other_url}/col/nb/index.html",
                                     f"{other_url}/col/nb/r1.html"]
    assert ("GET", "/zhengce/tz.htm") not in site.log
    assert "'nianbao/offsite_skipped': 1" in res.log


def test_listing_with_a_wrong_charset_declaration_is_still_read(site: LocalSite, tmp_path: Path) -> None:
    listing = ("<html><head><meta charset='utf-8'></head><body><ul>"
               + _li("./r.html", "江城市2021年度政府信息公开工作年度报告", "2022-01-30") + "</ul></body></html>")
    # GBK bytes, declared UTF-8 in the header and the page (as real portals do)
    site.pages["/gbk/index.html"] = (200, "text/html; charset=utf-8", listing.encode("gbk"))
    site.html("/gbk/r.html", _detail("r", "<p>正文</p>"))
    sources = write_sources(tmp_path / "s.toml", [{
        "name": "gbk", "agency": "江城市", "urls": [f"{site.url}/gbk/index.html"], "allow_private": True,
    }])
    res = run_crawl(sources, tmp_path)
    assert res.returncode == 0, res.log[-3000:]
    assert [(i["url"], i["list_title"], i["list_date"]) for i in res.items] == [
        (f"{site.url}/gbk/r.html", "江城市2021年度政府信息公开工作年度报告", "2022-01-30")]
