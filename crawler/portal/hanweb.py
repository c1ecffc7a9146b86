"""Family ``hanweb``: a 大汉 (Hanweb) jpage column.

Column ``<prefix>/col/col<N>/index.html``; the first group of records is embedded as
``<script type="text/xml"><datastore>…<recordset><record><![CDATA[<li>…]]></record>…``; later groups come
from ``POST /module/web/jpage/dataproxy.jsp?startrecord=&endrecord=&perpage=`` (the real, host-root path)
with the form fields ``col, appid, webid, path, columnid, sourceContentType, unitid, webname,
permissiontype``; a request whose ``columnid``/``unitid`` do not match a column gets an empty recordset.
Details at ``<prefix>/art/YYYY/M/D/art_<col>_<id>.html`` with the text in ``div#zoom``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from urllib.parse import urlencode

from crawler.portal.content import detail_body, file_response, kind_for
from crawler.portal.faults import billion_laughs
from crawler.portal.site import (
    Notice,
    ReportPlan,
    Request,
    Response,
    Site,
    SourceEntry,
    html_response,
    plan_slot,
)

PROXY = "/module/web/jpage/dataproxy.jsp"
DOWNFILE = "/module/download/downfile.jsp"  # under the site prefix
PER_PAGE = 5
GROUP = 2
WEBID = "27"


@dataclass
class _Column:
    col: int
    unit: int
    name: str
    plans: list[ReportPlan] = field(default_factory=list)
    items: list[ReportPlan | Notice] = field(default_factory=list)  # what the column lists, newest first
    hostile: bool = False  # billion_laughs: the proxy answers an entity bomb
    announced: int = 0  # totalRecord printed on the page

    def record(self, plan: ReportPlan | Notice) -> str:
        title = html.escape(plan.title)
        return (f'<li><span class="bt-data-time">{plan.published}</span><a href="{plan.detail_path}" title="{title}" '
                f'target="_blank">{title}</a></li>')


class HanwebSite(Site):
    family = "hanweb"

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset()) -> None:
        super().__init__(name, prefix, agency, seed, size, faults)
        self.columns: list[_Column] = []
        self._downloads: dict[str, ReportPlan] = {}  # downfile.jsp?filename= -> its report
        self.global_paths.add(PROXY)
        main = _Column(col=80283, unit=345678, name="政府信息公开年报")
        self._fill(main, size, start=0)
        self.columns.append(main)
        if "billion_laughs" in faults:
            hostile = _Column(col=80666, unit=345999, name="部门年报", hostile=True)
            self._fill(hostile, PER_PAGE * GROUP - 2, start=size)
            for plan in hostile.plans:
                plan.extra["source"] = f"{name}-hostile"
            hostile.announced = len(hostile.items) + 25
            self.columns.append(hostile)
            self.fault_entries.append({"fault": "billion_laughs", "url": PROXY,
                                       "detail": f"columnid={hostile.col}: the proxy answers an entity-expansion bomb"})
        for column in self.columns:
            path = self._column_path(column)
            self.listing_paths.append(path)
            self.pages[path] = self._column_page(column)
            if not column.hostile:
                self.listing_paths.extend(self._proxy_paths(column))

    def _column_path(self, column: _Column) -> str:
        return f"{self.prefix}/col/col{column.col}/index.html"

    def _fill(self, column: _Column, count: int, start: int) -> None:
        for i in range(start, start + count):
            agency, year = plan_slot(self.agency, i)
            kind = kind_for(i)
            plan = ReportPlan(key=f"{self.seed}:{self.name}:{i}", site=self.name, family=self.family, agency=agency,
                              year=year, fmt="2021" if year >= 2021 else "2019", kind=kind,
                              layout=("word", "trs", "plain")[i % 3],
                              broken="balance" if i % 9 == 4 else None, title_variant=self.rng.randrange(7),
                              gzip=i % 3 == 0)
            y, m, d = (int(x) for x in plan.published.split("-"))
            art = 10000000 + self.rng.randint(1, 9999999)
            plan.detail_path = f"{self.prefix}/art/{y}/{m}/{d}/art_{column.col}_{art}.html"
            if kind == "pdf":
                plan.file_path = f"{self.prefix}/module/download/downfile/{y}{m:02d}/{art}_{plan.year}nb.pdf"
                self.pages[plan.file_path] = self._file(plan)
            elif kind == "docx":
                # the other Hanweb style: one download script, the file named in the query
                name = f"{y}{m:02d}{d:02d}{art}.docx"
                plan.file_path = f"{self.prefix}{DOWNFILE}?classid=0&filename={name}"
                self._downloads[name] = plan
            self.reports.append(plan)
            column.plans.append(plan)
            self.pages[plan.detail_path] = self._detail(plan)
        notices = self.plan_notices(max(2, count // 4), lambda k, day: (
            f"{self.prefix}/art/{int(day[:4])}/{int(day[5:7])}/{int(day[8:])}/art_{column.col}_{900000 + start + k}.html"))
        column.items = sorted([*column.plans, *notices], key=lambda p: (p.published, p.title), reverse=True)
        column.announced = len(column.items)

    @staticmethod
    def _file(plan: ReportPlan):  # type: ignore[no-untyped-def]
        return lambda _r: file_response(plan)

    def _proxy_paths(self, column: _Column) -> list[str]:
        """The dataproxy URLs the jpage script asks for, group by group after the embedded one."""
        step = PER_PAGE * GROUP
        out = []
        for start in range(step + 1, column.announced + 1, step):
            end = min(start + step - 1, column.announced)
            out.append(f"{PROXY}?{urlencode({'startrecord': start, 'endrecord': end, 'perpage': PER_PAGE})}")
        return out

    def _form(self, column: _Column) -> dict[str, str]:
        return {"col": "1", "appid": "1", "webid": WEBID, "path": "/", "columnid": str(column.col),
                "sourceContentType": "1", "unitid": str(column.unit), "webname": self.agency, "permissiontype": "0"}

    # --- pages ----------------------------------------------------------------------------------
    def _column_page(self, column: _Column):  # type: ignore[no-untyped-def]
        embedded = "".join(f"<record><![CDATA[{column.record(p)}]]></record>\n"
                           for p in column.items[:PER_PAGE * GROUP])
        form = self._form(column)
        nextgroup = html.escape(f"{PROXY}?page=1&{urlencode({k: v for k, v in form.items() if k != 'col'})}")
        ajax = ", ".join(f"{k}: '{v}'" for k, v in form.items())
        page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>{column.name}_{html.escape(self.agency)}</title>
<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>
<script type="text/javascript" src="/module/jslib/jquery/jpage/jquery.jpage.js"></script>
</head>
<body>
<div class="top"><a href="{self.prefix}/">首页</a> &gt; <a href="javascript:;">政务公开</a> &gt; <span>{column.name}</span></div>
<div class="main"><div class="bt-list">
<div id="{column.unit}"><script type="text/xml"><datastore>
<nextgroup><![CDATA[<a href="{nextgroup}"></a>]]></nextgroup>
<recordset>
{embedded}</recordset>
</datastore></script></div>
<script type="text/javascript">
$(document).ready(function(){{
  $('#{column.unit}').jpage({{
    dataStore: dataStore, perPage: {PER_PAGE}, totalRecord: {column.announced}, groupSize: {GROUP},
    proxyUrl: '{PROXY}', barPosition: 'bottom', showMode: 'full',
    ajaxParam: {{ {ajax} }}
  }});
}});
</script>
</div></div>
<div class="foot">主办单位：{html.escape(self.agency)} 网站标识码：3200000027 苏ICP备05000000号</div>
</body>
</html>"""
        return lambda _r: html_response(page)

    def handle(self, request: Request) -> Response | None:
        if request.path == PROXY:
            return self._proxy(request)
        if request.path == self.prefix + DOWNFILE:
            plan = self._downloads.get(request.arg("filename"))
            return file_response(plan) if plan is not None else None
        return super().handle(request)

    def _proxy(self, request: Request) -> Response:
        column = next((c for c in self.columns if request.arg("columnid") == str(c.col)
                       and request.arg("unitid") == str(c.unit)), None)
        if column is not None and column.hostile:
            return Response(body=billion_laughs(), content_type="text/xml;charset=UTF-8")
        records = ""
        if column is not None:
            try:
                start = max(1, int(request.arg("startrecord", "1")))
                end = int(request.arg("endrecord", str(start + PER_PAGE * GROUP - 1)))
            except ValueError:
                return Response(status=400, body=b"startrecord/endrecord must be numbers",
                                content_type="text/plain")
            end = min(end, start + 200)
            records = "".join(f"<record><![CDATA[{column.record(p)}]]></record>\n"
                              for p in column.items[start - 1:end])
        total = column.announced if column is not None else 0
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<datastore>\n<totalrecord>{total}</totalrecord>\n'
               f"<recordset>\n{records}</recordset>\n</datastore>\n")
        return Response(body=xml.encode("utf-8"), content_type="text/xml;charset=UTF-8")

    def _detail(self, plan: ReportPlan):  # type: ignore[no-untyped-def]
        def render(_request: Request) -> Response:
            title = html.escape(plan.title)
            page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{plan.published} 10:12">
<meta name="ContentSource" content="{html.escape(plan.agency)}">
<title>{title}</title>
</head>
<body>
<div class="top"><a href="{self.prefix}/">首页</a> &gt; <a href="{self.prefix}/col/col80283/index.html">政府信息公开年报</a></div>
<div class="main-txt">
<h1 class="title">{title}</h1>
<div class="info">发布日期：{plan.published} &nbsp; 信息来源：{html.escape(plan.agency)} &nbsp; 浏览次数：<span id="c">1024</span></div>
<div id="zoom">{detail_body(plan)}</div>
<div class="print">【<a href="javascript:window.print()">打印</a>】【<a href="javascript:window.close()">关闭</a>】</div>
</div>
</body>
</html>"""
            return html_response(page, gzip=plan.gzip, last_modified=plan.published)
        return render

    def sources(self) -> list[SourceEntry]:
        entries = [SourceEntry(self.name, self.agency, self.family, [self._column_path(self.columns[0])])]
        if len(self.columns) > 1:
            entries.append(SourceEntry(f"{self.name}-hostile", self.agency, self.family,
                                       [self._column_path(c) for c in self.columns[1:]],
                                       notes="billion_laughs fault: the dataproxy answer is an entity bomb"))
        return entries
