"""Family ``trs``: a TRS WCM static column, as on www.pingtan.gov.cn and most provincial portals.

Column ``<prefix>/zwgk/zfxxgk/zfxxgknb/index.html``, further pages ``index_1.html`` … announced only by
``createPageHTML(pages, current, "index", "html")``; details at ``YYYYMM/tYYYYMMDD_ID.htm`` with the
report in ``div.TRS_Editor``; attachments beside them (``P0…pdf`` / ``P0…docx``), image tables ``W0….png``.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from crawler.portal.content import detail_body, file_href, file_response, kind_for
from crawler.portal.faults import gzip_bomb
from crawler.portal.generator import generate_report
from crawler.portal.image_reports import table_picture_truth
from crawler.portal.site import (
    Notice,
    ReportPlan,
    Request,
    Response,
    Sample,
    Site,
    SourceEntry,
    html_response,
    not_found,
    plan_slot,
    redirect,
)
from crawler.portal.titles import NO_AGENCY_VARIANT, notice_title
from crawler.portal.years import year_links

COLUMN = "/zwgk/zfxxgk/zfxxgknb/"
GZIP_BOMB_BYTES = 512 << 20

_PAGE_JS = """<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
  if(_nPageCount == null || _nPageCount<=1){ return; }
  var nCurrIndex = _nCurrIndex || 0;
  if(nCurrIndex == 0) document.write("<span>首页</span>&nbsp;");
  else document.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">首页</a>&nbsp;");
  if(nCurrIndex > 0){
    if(nCurrIndex == 1) document.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">上一页</a>&nbsp;");
    else document.write("<a href=\\""+_sPageName+"_"+(nCurrIndex-1)+"."+_sPageExt+"\\">上一页</a>&nbsp;");
  }
  if(nCurrIndex < _nPageCount-1)
    document.write("<a href=\\""+_sPageName+"_"+(nCurrIndex+1)+"."+_sPageExt+"\\">下一页</a>&nbsp;");
  document.write("<a href=\\""+_sPageName+"_"+(_nPageCount-1)+"."+_sPageExt+"\\">尾页</a>");
}
</script>"""


def _head(title: str, site_name: str, column: str, extra_meta: str = "") -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<meta name="viewport" content="width=device-width, initial-scale=1.0" />
<meta name="SiteName" content="{html.escape(site_name)}" />
<meta name="ColumnName" content="{column}" />
{extra_meta}<title>{html.escape(title)}</title>
<link rel="stylesheet" type="text/css" href="/images/trt_ui_v2.css" />
{_PAGE_JS}
</head>"""


def _header(site_name: str) -> str:
    return f"""<div class="header"><div class="logo"><a href="../../../../"><img src="/images/site_logo.png" alt="{html.escape(site_name)}" /></a></div>
<div class="header_link"><a href="https://www.gov.cn/" target="_blank">国务院</a> <a href="javascript:;">移动版</a> <span>网站支持IPV6</span></div>
<ul class="menu"><li><a href="../../../../">首页</a></li><li><a href="../../../">政务公开</a></li><li><a href="javascript:;">办事服务</a></li><li><a href="javascript:;">互动交流</a></li></ul>
<form method="get" action="/ssp/main/index.html" target="_blank"><input type="text" name="key" placeholder="请输入搜索内容" /><button>搜索</button></form></div>"""


def _footer(site_name: str) -> str:
    return f"""<div class="footer"><p>主办单位：{html.escape(site_name)}办公室 &nbsp; 网站标识码：3590000001 &nbsp; 闽ICP备13000000号-1</p>
<p><a href="javascript:;">网站地图</a> | <a href="javascript:;">联系我们</a> | <a href="javascript:;">隐私声明</a></p></div>"""


def _breadcrumb() -> str:
    return ('<div class="breadcrumb"><span>当前位置：</span><a href="../../../../" title="首页" class="CurrChnlCls">首页</a>'
            ' &gt; <a href="../../../" class="CurrChnlCls">政务公开</a> &gt; <a href="../../" class="CurrChnlCls">'
            '政府信息公开</a> &gt; <a href="../" class="CurrChnlCls">政府信息公开年报</a></div>')


class TrsSite(Site):
    family = "trs"
    per_page = 8

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 samples: list[Sample] | None = None, faults: frozenset[str] = frozenset(),
                 style: str = "classic") -> None:
        """``style``: ``classic`` (utf-8 mostly, ``<ul>`` list, ``createPageHTML(n, i, "index", "html")``,
        ``.htm`` details) or ``newer`` (a GB2312 county template: ``<table>`` list,
        ``createPageHTML('page_div', n, i, 'index', 'html', rows)``, ``.html`` details)."""
        if style not in ("classic", "newer"):
            raise ValueError(f"unknown TRS template style {style!r}: expected 'classic' or 'newer'")
        super().__init__(name, prefix, agency, seed, size, faults)
        self.style = style
        self.ext = "htm" if style == "classic" else "html"
        self.column = self.prefix + COLUMN
        self.edition = 0
        self._has_samples = bool(samples)
        self._items: list[tuple[str, Any]] = []
        self._doc_id = 90000
        self._plan(samples or [])

    # --- planning -------------------------------------------------------------------------------
    def _plan(self, samples: list[Sample]) -> None:
        rng = self.rng
        items: list[tuple[str, Any]] = []
        doc_id = 90000
        for i in range(self.size):
            agency, year = plan_slot(self.agency, i, skip_bare=bool(samples))
            fmt = "2021" if year >= 2021 else "2019"
            kind = kind_for(i, images=True)
            broken = {1: "balance", 4: "missing_cell", 7: "row_total", 11: "processed_sum",
                      13: "review_total"}.get(i % 15)
            if kind != "html" and broken == "missing_cell":
                broken = None
            if self.style == "classic":
                encoding = {2: "gbk-nodecl", 5: "gbk-wrongdecl", 9: "gb2312-decl"}.get(i % 12, "utf-8")
            else:
                encoding = "gbk-nodecl" if i % 5 == 2 else "gb2312-decl"
            plan = ReportPlan(
                key=f"{self.seed}:{self.name}:{i}", site=self.name, family=self.family, agency=agency, year=year,
                fmt=fmt, kind=kind, layout=("trs", "word", "plain")[i % 3], broken=broken,
                title_variant=rng.randrange(7), encoding=encoding, gzip=i % 4 == 1,
            )
            doc_id += rng.randint(3, 400)
            self._place(plan, doc_id)
            items.append(("report", plan))
        for j, sample in enumerate(samples):
            plan = ReportPlan(key=f"{self.seed}:{self.name}:{sample.origin}", site=self.name, family=self.family,
                              agency=sample.agency, year=sample.year, fmt=sample.fmt, kind="html", sample=sample,
                              gzip=j % 2 == 0)
            if sample.origin == "sample:pingtan_2024_page.html":
                self._place(plan, 97791)
            else:
                doc_id += rng.randint(3, 400)
                self._place(plan, doc_id)
            items.append(("report", plan))
        for k in range(max(4, self.size // 2)):
            year = 2024 - k % 5
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            doc_id += rng.randint(3, 400)
            published = f"{year}-{month:02d}-{day:02d}"
            path = f"{self.column}{year}{month:02d}/t{year}{month:02d}{day:02d}_{doc_id}.{self.ext}"
            notice = Notice(notice_title(rng, self.agency, year - 1), published, path, self.agency)
            self.notices.append(notice)
            items.append(("notice", notice))
            self.pages[path] = self._notice_page(notice)
        # a report link moved to a new address, and one whose page is gone
        moved = next(p for kind, p in items if kind == "report" and p.sample is None and p.kind == "html")
        old_path = f"{self.column}201912/t20191231_{doc_id + 1}.htm"
        target = moved.detail_path
        self.pages[old_path] = lambda _r: redirect(target)
        self.special["redirect"] = [old_path, moved.detail_path]
        moved.extra["listed_as"] = old_path
        self._add_pdf_copy(avoid=moved)
        gone = f"{self.column}201902/t20190215_{doc_id + 2}.htm"
        self.pages[gone] = lambda _r: not_found()
        self.special["not_found"] = gone
        items.append(("dead", Notice(f"{self.agency}2018年度政府信息公开工作年度报告", "2019-02-15", gone,
                                     self.agency)))
        # robots.txt forbids this folder: a polite crawler never fetches the report-looking link into it
        hidden = f"{self.prefix}/zwgk/nbk/202401/t20240105_{doc_id + 3}.htm"
        self.robots_disallow.append(f"{self.prefix}/zwgk/nbk/")
        self.pages[hidden] = lambda _r: html_response("<html><head>{meta_charset}<title>内部</title></head>"
                                                      "<body>robots.txt disallows this page</body></html>")
        self.special["robots_disallowed"] = hidden
        items.append(("dead", Notice(f"{self.agency}2023年度政府信息公开工作年度报告（内部稿）", "2024-01-05", hidden,
                                     self.agency)))
        self.extra_urls = [old_path, gone]
        items.extend(self._structural_faults(doc_id + 10))
        items.sort(key=lambda it: (it[1].published, it[1].title), reverse=True)
        self._items = items
        self._doc_id = doc_id + 100
        self._listings(items)

    def advance(self, new_reports: int = 2) -> dict[str, list[str]]:
        """The column's next edition (incremental-crawl tests): ``new_reports`` new reports are listed first,
        and one known report is corrected (its page changes; its numbers do not). Returns the paths
        ``{"new": [...], "changed": [...]}``; every other page keeps its bytes."""
        self.edition += 1
        new: list[str] = []
        start = self.size + (self.edition - 1) * new_reports
        for i in range(start, start + new_reports):
            agency, year = plan_slot(self.agency, i, skip_bare=self._has_samples)
            plan = ReportPlan(key=f"{self.seed}:{self.name}:{i}", site=self.name, family=self.family, agency=agency,
                              year=year, fmt="2021" if year >= 2021 else "2019", kind="html",
                              layout=("trs", "word", "plain")[i % 3], title_variant=self.rng.randrange(7))
            plan.extra["edition"] = self.edition
            self._doc_id += self.rng.randint(3, 400)
            self._place(plan, self._doc_id)
            new.append(plan.detail_path)
            self._items.insert(0, ("report", plan))  # a new edition lists its news first
        target = next(p for kind, p in self._items if kind == "report" and p.sample is None and p.kind == "html"
                      and "edition" not in p.extra and "revision" not in p.extra)
        target.extra["revision"] = self.edition
        self._listings(self._items)
        return {"new": new, "changed": [target.detail_path]}

    def add_corrected(self, original: ReportPlan) -> ReportPlan | None:
        """A corrected re-issue (更正版) of ``original``, a report printed with a broken identity: the same report
        with the numbers it should have had, published two months later under the title with （更正版）, listed in
        the column beside the original (which stays). Returns the new plan (None for a file or a sample)."""
        if original.sample is not None or original.kind != "html":
            return None
        fixed = generate_report(f"report:{original.key}", original.fmt, original.agency, original.year,
                                title_variant=original.title_variant,
                                links=year_links(original.agency, original.year, original.fmt))
        year, month, day = (int(x) for x in original.published.split("-"))
        month += 2
        year, month = (year + 1, month - 12) if month > 12 else (year, month)
        plan = ReportPlan(key=f"{original.key}:corrected", site=self.name, family=self.family,
                          agency=original.agency, year=original.year, fmt=original.fmt, kind="html",
                          layout=original.layout, title_variant=original.title_variant, encoding="utf-8")
        plan.report = replace(fixed, title=original.title + "（更正版）", published=f"{year}-{month:02d}-{day:02d}")
        self._doc_id += 7
        self._place(plan, self._doc_id)
        self._items.append(("report", plan))
        self._items.sort(key=lambda it: (it[1].published, it[1].title), reverse=True)
        self._listings(self._items)
        return plan

    def _structural_faults(self, doc_id: int) -> list[tuple[str, Any]]:
        """Pages added by the structural faults: report-looking links that a careful crawler refuses."""
        items: list[tuple[str, Any]] = []
        if "wrong_charset" in self.faults:
            for plan in self.reports:
                if plan.sample is None and plan.kind == "html" and plan.encoding == "utf-8" and not plan.gzip:
                    plan.encoding = "utf-8-header-gbk"
                    self.fault_entries.append({"fault": "wrong_charset", "url": plan.detail_path,
                                               "detail": "utf-8 bytes sent with Content-Type charset=gbk"})
                    break
        if "redirect_loop" in self.faults:
            loop_a = f"{self.column}202402/t20240201_{doc_id}.htm"
            loop_b = f"{self.column}202402/t20240201_{doc_id}_1.htm"
            self.pages[loop_a] = lambda _r: redirect(loop_b, 302)
            self.pages[loop_b] = lambda _r: redirect(loop_a, 302)
            self.fault_entries.append({"fault": "redirect_loop", "url": loop_a, "detail": f"302 to {loop_b} and back"})
            items.append(("dead", Notice(f"{self.agency}2023年度政府信息公开工作年度报告（更正）", "2024-02-01", loop_a,
                                         self.agency)))
        if "gzip_bomb" in self.faults:
            bomb = f"{self.column}202402/t20240202_{doc_id + 1}.htm"
            self.pages[bomb] = lambda _r: Response(body=gzip_bomb(GZIP_BOMB_BYTES), content_type="text/html",
                                                   headers=(("Content-Encoding", "gzip"),))
            self.fault_entries.append({"fault": "gzip_bomb", "url": bomb,
                                       "detail": f"gzip body inflating to {GZIP_BOMB_BYTES} bytes"})
            items.append(("dead", Notice(f"{self.agency}2022年度政府信息公开工作年度报告（全文）", "2024-02-02", bomb,
                                         self.agency)))
        return items

    def _place(self, plan: ReportPlan, doc_id: int) -> None:
        ymd = plan.published.replace("-", "")
        folder = f"{self.column}{ymd[:6]}/"
        plan.detail_path = f"{folder}t{ymd}_{doc_id}.{self.ext}"
        if plan.kind in ("pdf", "docx"):
            plan.file_path = f"{folder}P0{ymd}{doc_id:09d}.{plan.kind}"
        elif plan.kind == "image":
            plan.file_path = f"{folder}W0{ymd}{doc_id:09d}.png"
            plan.extra["pictures_fn"] = table_picture_truth  # Table 3 is that picture (OCR reads it)
        self.reports.append(plan)
        self.pages[plan.detail_path] = self._detail_page(plan)
        if plan.file_path:
            self.pages[plan.file_path] = self._file(plan)

    def _add_pdf_copy(self, avoid: ReportPlan) -> None:
        """One page that carries its report as HTML *and* links a PDF copy of it as 附件 (classic style only).

        Both are captures of the report: the copy is a ground-truth entry of its own (kind ``pdf``, same report,
        ``attachment_of`` the page, which stays an ``html`` entry). Planned without the site's random stream,
        so every other page keeps its bytes."""
        if self.style != "classic":
            return
        page = next((p for p in reversed(self.reports) if p is not avoid and p.sample is None and p.kind == "html"
                     and p.broken is None and p.title_variant != NO_AGENCY_VARIANT), None)
        if page is None:
            return
        folder, name = page.detail_path.rsplit("/", 1)
        ymd, doc_id = name.split(".", 1)[0].removeprefix("t").split("_", 1)
        copy = ReportPlan(key=f"{page.key}:pdf", site=self.name, family=self.family, agency=page.agency,
                          year=page.year, fmt=page.fmt, kind="pdf", title_variant=page.title_variant)
        copy.report = page.report  # the same report, printed to PDF
        copy.detail_path = page.detail_path
        copy.file_path = f"{folder}/P0{ymd}{int(doc_id):09d}.pdf"
        page.extra["pdf_copy"] = copy
        self.reports.append(copy)
        self.pages[copy.file_path] = self._file(copy)

    def _listings(self, items: list[tuple[str, Any]]) -> None:
        self.listing_paths = []
        pages = max(3, -(-len(items) // self.per_page))
        per_page = -(-len(items) // pages)
        for n in range(pages):
            chunk = items[n * per_page:(n + 1) * per_page]
            path = self.column + ("index.html" if n == 0 else f"index_{n}.html")
            self.listing_paths.append(path)
            self.pages[path] = self._listing_page(chunk, n, pages)
        self.pages[self.prefix + "/"] = lambda _r: redirect(self.column + "index.html", 302)

    # --- pages ----------------------------------------------------------------------------------
    def _listing_page(self, chunk: list[tuple[str, Any]], n: int, pages: int):  # type: ignore[no-untyped-def]
        if self.style == "classic":
            list_open, list_close = '<ul class="list">', "</ul>"
            paging = f'createPageHTML({pages}, {n}, "index", "html");'
        else:
            list_open, list_close = '<table class="list" width="100%">', "</table>"
            paging = f"createPageHTML('page_div', {pages}, {n}, 'index', 'html', {len(self._items)});"
        lis = []
        for kind, item in chunk:
            path = item.extra.get("listed_as", item.detail_path) if kind == "report" else item.path
            href = "./" + path[len(self.column):] if path.startswith(self.column) else path
            title = html.escape(item.title)
            if self.style == "classic":
                lis.append(f'<li><a href="{href}" target="_blank" title="{title}">{title}</a>'
                           f'<span class="date">{item.published}</span></li>')
            else:
                lis.append(f'<tr><td class="bt"><a href="{href}" target="_blank" title="{title}">{title}</a></td>'
                           f'<td class="rq">{item.published}</td></tr>')
        body = f"""{_head("政府信息公开年报_" + self.agency, self.agency, "政府信息公开年报")}
<body>
{_header(self.agency)}
<div class="main">{_breadcrumb()}
<div class="list_tit">政府信息公开年报</div>
{list_open}
{chr(10).join(lis)}
{list_close}
<div class="page" id="page_div"><script type="text/javascript">{paging}</script></div>
</div>
{_footer(self.agency)}
</body>
</html>"""
        encoding = "utf-8" if self.style == "classic" else "gb2312-decl"
        return lambda _r: html_response(body, encoding, gzip=n % 2 == 1)

    def _detail_html(self, raw_title: str, published: str, source: str, content: str) -> str:
        title = html.escape(raw_title)
        meta = (f'<meta name="ArticleTitle" content="{title}" />\n<meta name="PubDate" content="{published} 09:30" />\n'
                f'<meta name="ContentSource" content="{html.escape(source)}" />\n')
        return f"""{_head(raw_title + "_政府信息公开年报_" + self.agency, self.agency, "政府信息公开年报", meta)}
<body>
{_header(self.agency)}
<div class="main">
{_breadcrumb()}
<div class="article_component">
<div class="article_title text_align_center">{title}</div>
<div class="article_extend"><span class="article_source">来源：{html.escape(source)}</span>
<span class="article_time">时间：{published} 09:30</span>
<span class="font_size">【字体：<a href="javascript:;">大</a> <a href="javascript:;">中</a> <a href="javascript:;">小</a>】</span></div>
<div class="article_area"><div class="article_content">
<div class="TRS_Editor">{content}</div>
</div></div>
<div class="ewm"><img src="/images/ewm.png" alt="" /><p>扫一扫在手机上查看当前页面</p></div>
<div class="article_btn"><a href="javascript:window.print()">【打印本页】</a> <a href="javascript:window.close()">【关闭窗口】</a></div>
</div>
</div>
{_footer(self.agency)}
</body>
</html>"""

    def _detail_page(self, plan: ReportPlan):  # type: ignore[no-untyped-def]
        def render(_request: Request) -> Response:
            if plan.sample is not None and plan.sample.page is not None:
                return Response(body=plan.sample.page, content_type="text/html; charset=utf-8", gzip=plan.gzip,
                                last_modified=plan.published)
            content = detail_body(plan)
            copy = plan.extra.get("pdf_copy")
            if copy is not None:
                title = html.escape(copy.title)
                content += f'\n<p>附件：<a href="{html.escape(file_href(copy))}" target="_blank">{title}.pdf</a></p>'
            modified = plan.published
            revision = plan.extra.get("revision")
            if revision:
                modified = f"2025-06-{int(revision):02d}"
                content += f'\n<p style="text-indent: 2em;">（{modified}更正：本报告第一部分个别文字表述有误，现予更正。）</p>'
            page = self._detail_html(plan.title, plan.published, plan.agency, content)
            return html_response(page, plan.encoding, gzip=plan.gzip, last_modified=modified)
        return render

    def _file(self, plan: ReportPlan):  # type: ignore[no-untyped-def]
        return lambda _r: file_response(plan)

    def _notice_page(self, notice: Notice):  # type: ignore[no-untyped-def]
        text = (f'<p style="text-indent: 2em;">各有关单位：</p><p style="text-indent: 2em;">现将《{html.escape(notice.title)}》'
                "有关事项通知如下，请认真抓好落实。</p>")

        def render(_request: Request) -> Response:
            page = self._detail_html(notice.title, notice.published, notice.agency, text)
            return html_response(page, last_modified=notice.published)
        return render

    def sources(self) -> list[SourceEntry]:
        return [SourceEntry(self.name, self.agency, self.family, [self.column + "index.html"])]
