"""Family readers on their own: TRS paging calls, Hanweb datastores and jpage config, JSON API shapes, links."""

from __future__ import annotations

import pytest
from parsel import Selector

from crawler.families import detect_family, hanweb, jsapi, trs
from crawler.families.links import (
    attachment_links,
    carries_report_text,
    is_document_url,
    next_page_link,
    report_links,
)


@pytest.mark.parametrize(
    ("call", "pages", "current", "second"),
    [
        ('createPageHTML(10, 0, "index", "html");', 10, 0, "http://x/a/index_1.html"),
        ("createPageHTML('page_div', 7, 1, 'index', 'shtml', 143);", 7, 1, "http://x/a/index_1.shtml"),
        ("createPageHTML( 3 , 2 , 'list' , 'htm' )", 3, 2, "http://x/a/list_1.htm"),
    ],
)
def test_trs_paging_calls(call: str, pages: int, current: int, second: str) -> None:
    p = trs.find_paging(f"<script>{call}</script>")
    assert p is not None and (p.pages, p.current) == (pages, current)
    assert p.page_url("http://x/a/index.html", 1) == second
    assert p.page_url("http://x/a/", 0).endswith("/a/" + f"{p.prefix}.{p.ext}")


def test_trs_paging_absent_or_unusable() -> None:
    assert trs.find_paging("function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){}") is None
    assert trs.find_paging("<p>no paging</p>") is None


def test_hanweb_datastore_and_config() -> None:
    html = """<div id="4242"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="/module/web/jpage/dataproxy.jsp?page=1&amp;appid=1&amp;webid=9&amp;path=/&amp;columnid=77&amp;unitid=4242&amp;webname=%E6%B5%8B&amp;permissiontype=0"></a>]]></nextgroup>
<recordset><record><![CDATA[<li><a href="/art/2024/3/1/art_77_1.html" title="2023年度政府信息公开工作年度报告">x</a></li>]]></record></recordset>
</datastore></script></div><script>$('#4242').jpage({perPage: 5, totalRecord: 31, groupSize: 2});</script>"""
    store = hanweb.embedded_datastore(html)
    assert store is not None and len(store.records) == 1 and "art_77_1" in store.records[0]
    cfg = hanweb.jpage_config(html, store)
    assert (cfg.per_page, cfg.group, cfg.total) == (5, 2, 31)
    assert cfg.form["columnid"] == "77" and cfg.form["unitid"] == "4242" and cfg.form["webid"] == "9"
    assert cfg.form["sourceContentType"] == "1" and cfg.form["col"] == "1"
    url, form = cfg.request("http://h/col/col77/index.html", 2)
    assert url == "http://h/module/web/jpage/dataproxy.jsp?startrecord=2&endrecord=11&perpage=5"
    assert form == cfg.form


def test_hanweb_refuses_dtds_and_reports_malformed_xml() -> None:
    with pytest.raises(hanweb.HanwebError, match="refused"):
        hanweb.parse_datastore('<!DOCTYPE d [<!ENTITY a "x">]><datastore><recordset/></datastore>')
    with pytest.raises(hanweb.HanwebError, match="malformed"):
        hanweb.parse_datastore("<datastore><recordset>")
    total = hanweb.parse_datastore("<datastore><totalrecord>9</totalrecord><recordset/></datastore>").total
    assert total == 9


def test_json_api_records_pages_and_totals() -> None:
    data = {"code": 0, "data": {"page": 1, "pageSize": 5, "total": 12, "totalPage": 3, "list": [
        {"title": "2023年度政府信息公开工作年度报告", "url": "/c/1.html", "publishDate": "2024-03-01 10:00"},
        {"name": "no url here"},
    ]}}
    recs = jsapi.records(data)
    assert [(r.title, r.url, r.date) for r in recs] == [("2023年度政府信息公开工作年度报告", "/c/1.html", "2024-03-01")]
    assert jsapi.total_pages(data) == 3
    assert jsapi.total_pages({"rows": 10, "totalCount": 31}) == 4
    assert jsapi.page_param("http://h/api/list?size=5&pageNo=1") == ("pageNo", 1)
    assert jsapi.with_page("http://h/api/list?size=5&pageNo=1", "pageNo", 4) == "http://h/api/list?size=5&pageNo=4"
    assert jsapi.looks_like_api("http://h/api/list", "", "fetch")
    assert not jsapi.looks_like_api("http://h/a.css", "", "stylesheet")
    assert not jsapi.looks_like_api("http://h/x", "text/html", "xhr")


def test_links_reports_attachments_next_page() -> None:
    sel = Selector(text="""<html><body>
<div class="side"><a href="/forms/apply.doc">政府信息公开申请表</a></div>
<ul><li><a href="a.html" title="2022年政府信息公开工作年度报告">2022年…</a><span>2023-01-31</span></li>
<li><a href="n.html">关于做好2023年政府信息公开工作年度报告编制发布工作的通知</a><span>2023-12-01</span></li></ul>
<div class="TRS_Editor"><p><a href="r.pdf">全文下载</a></p></div>
<p>附件：<a href="/download.jsp?filename=nb2022.docx">2022年报</a></p>
<div class="page"><a href="index_1.html">下一页</a></div></body></html>""")
    links = report_links(sel, "http://h/c/index.html")
    assert [(x.url, x.year, x.date) for x in links] == [("http://h/c/a.html", 2022, "2023-01-31")]
    atts = [u for u, _ in attachment_links(sel, "http://h/c/index.html")]
    assert atts == ["http://h/c/r.pdf", "http://h/download.jsp?filename=nb2022.docx"]
    assert next_page_link(sel, "http://h/c/index.html") == "http://h/c/index_1.html"
    assert is_document_url("http://h/x/P020240101.PDF") and not is_document_url("http://h/x/a.html")


def test_family_detection() -> None:
    def fam(html: str) -> str:
        return detect_family(html, Selector(text=html), "http://h/c/index.html")

    assert fam('<script>createPageHTML(3, 0, "index", "html");</script>') == "trs"
    assert fam('<script type="text/xml"><datastore><recordset/></datastore></script>') == "hanweb"
    assert fam('<a href="202403/0123456789abcdef0123456789abcdef.shtml">x</a>') == "ucap"
    assert fam("<ul id='l'></ul><script>fetch('/api/list?page=1')</script>") == "jsapi"
    assert fam("<a href='a.html'>2023年度政府信息公开工作年度报告</a><a href='p2.html'>下一页</a>") == "generic"


def test_page_carrying_its_report_is_told_from_a_note_pointing_to_the_attachment() -> None:
    sections = ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
                "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项")
    report = "".join(f"<p>{h}</p><p>{'本机关严格落实条例要求。' * 10}</p>" for h in sections)
    chrome = ("<div class='nav'><a href='/zdgk/'>主动公开政府信息</a><a href='/ysq/'>依申请公开</a>"
              "<a href='/fy/'>行政复议</a></div>")
    link = "<p>附件：<a href='nb.pdf'>2023年度政府信息公开工作年度报告.pdf</a></p>"

    def page(body: str, container: bool = True) -> Selector:
        inner = f"<div class='TRS_Editor'>{body}</div>" if container else body
        return Selector(text=f"<html><body>{chrome}{inner}</body></html>")

    assert carries_report_text(page(report + link))
    assert carries_report_text(page(report + link, container=False))
    assert not carries_report_text(page("<p>现将2023年度政府信息公开工作年度报告予以公布，详见附件。</p>" + link))
    # the menu's 主动公开/依申请公开/行政复议 are links, and the note is short: still not a report
    assert not carries_report_text(page("<p>详见附件。</p>" * 3 + link, container=False))
    # a long note without the report's headings is not one either
    assert not carries_report_text(page("<p>" + "根据工作安排，现予公布。" * 80 + "</p>" + link))
    # Traditional text (mirror copies) is folded first
    assert carries_report_text(page(report.replace("总体情况", "總體情況").replace("主动公开", "主動公開") + link))
