"""Family ``govcn``: a gov.cn-style disclosure page that lists reports by year on one page and links to
other agencies' annual-report columns (the other sites of the portal).

Page ``<prefix>/zhengce/xxgk/gknb/index.htm``; details at ``<prefix>/zhengce/xxgk/gknb/YYYYMM/content_<id>.htm``
with the text in ``div#UCAP-CONTENT``.
"""

from __future__ import annotations

import html
from itertools import groupby

from crawler.portal.content import detail_body, file_response, kind_for
from crawler.portal.site import ReportPlan, Request, Response, Site, SourceEntry, html_response, plan_slot

UNITS = ("国务院办公厅", "国家发展和改革委员会", "教育部", "科学技术部", "工业和信息化部", "民政部", "司法部", "财政部",
         "人力资源和社会保障部", "自然资源部", "生态环境部", "交通运输部", "水利部", "农业农村部", "商务部")


class GovcnSite(Site):
    family = "govcn"

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset(), other_columns: list[tuple[str, str]] | None = None) -> None:
        super().__init__(name, prefix, agency, seed, size, faults)
        self.page_path = f"{self.prefix}/zhengce/xxgk/gknb/index.htm"
        self.other_columns = other_columns or []
        for i in range(size):
            unit_agency, year = plan_slot("", i, units=UNITS)
            kind = kind_for(i + 4)
            plan = ReportPlan(key=f"{seed}:{name}:{i}", site=name, family=self.family, agency=unit_agency, year=year,
                              fmt="2021" if year >= 2021 else "2019", kind=kind, layout=("trs", "plain", "word")[i % 3],
                              broken="review_total" if i % 8 == 6 else None,
                              title_variant=(0, 3, 5)[i % 3])  # gov.cn titles always name the department
            doc = 5600000 + i * 13 + self.rng.randint(0, 12)
            folder = f"{self.prefix}/zhengce/xxgk/gknb/{plan.published[:4]}{plan.published[5:7]}/"
            plan.detail_path = f"{folder}content_{doc}.htm"
            if kind in ("pdf", "docx"):
                plan.file_path = f"{folder}{doc}/files/{doc:x}.{kind}"
                self.pages[plan.file_path] = self._file(plan)
            self.pages[plan.detail_path] = self._detail(plan)
            self.reports.append(plan)
        self.listing_paths = [self.page_path]
        self.pages[self.page_path] = self._page

    def add_repost(self, source: ReportPlan) -> ReportPlan:
        """Repost another agency's report on this page (gov.cn carries local reports too): same report, this site's
        page around it, listed under its year; the repost's ground truth names the original (``copy_of``)."""
        plan = ReportPlan(key=f"{source.key}:repost", site=self.name, family=self.family, agency=source.agency,
                          year=source.year, fmt=source.fmt, kind="html", layout="trs",
                          title_variant=source.title_variant)
        plan.report = source.report
        folder = f"{self.prefix}/zhengce/xxgk/gknb/{plan.published[:4]}{plan.published[5:7]}/"
        plan.detail_path = f"{folder}content_{5690000 + len(self.reports)}.htm"
        self.pages[plan.detail_path] = self._detail(plan)
        self.reports.append(plan)
        return plan

    @staticmethod
    def _file(plan: ReportPlan):  # type: ignore[no-untyped-def]
        return lambda _r: file_response(plan)

    def _page(self, _request: Request) -> Response:
        blocks = []
        ordered = sorted(self.reports, key=lambda p: (-p.year, p.agency))
        for year, plans in groupby(ordered, key=lambda p: p.year):
            items = "\n".join(
                f'<li><a href="./{p.detail_path.split("/gknb/", 1)[1]}" target="_blank">{html.escape(p.title)}</a>'
                f"<span>{p.published}</span></li>" for p in plans)
            blocks.append(f'<div class="year_list"><h3>{year}年度</h3><ul>\n{items}\n</ul></div>')
        others = "\n".join(f'<li><a href="{path}" target="_blank">{html.escape(title)}</a></li>'
                           for title, path in self.other_columns)
        page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>政府信息公开工作年度报告_中国政府网</title>
</head>
<body>
<div class="BreadcrumbNav"><a href="{self.prefix}/">首页</a> &gt; <a href="javascript:;">政策</a> &gt; 政府信息公开工作年度报告</div>
<div class="list">
<h2>国务院各部门政府信息公开工作年度报告</h2>
{chr(10).join(blocks)}
</div>
<div class="list others">
<h2>地方政府信息公开工作年度报告专栏</h2>
<ul>
{others}
</ul>
</div>
<div class="footer">主办单位：国务院办公厅 运行维护单位：中国政府网运行中心</div>
</body>
</html>"""
        return html_response(page)

    def _detail(self, plan: ReportPlan):  # type: ignore[no-untyped-def]
        def render(_request: Request) -> Response:
            title = html.escape(plan.title)
            page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<meta name="lanmu" content="政府信息公开工作年度报告">
<title>{title}_中国政府网</title>
</head>
<body>
<div class="BreadcrumbNav"><a href="{self.page_path}">政府信息公开工作年度报告</a></div>
<div class="article">
<h1 id="ti">{title}</h1>
<div class="pages-date">{plan.published} 10:30 来源：{html.escape(plan.agency)}网站</div>
<div class="pages_content" id="UCAP-CONTENT">{detail_body(plan)}</div>
<div class="editor">【我要纠错】 责任编辑：王某</div>
</div>
</body>
</html>"""
            return html_response(page, gzip=True, last_modified=plan.published)
        return render

    def sources(self) -> list[SourceEntry]:
        return [SourceEntry(self.name, self.agency, self.family, [self.page_path])]
