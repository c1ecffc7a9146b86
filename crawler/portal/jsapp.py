"""Family ``jsapi``: a column rendered in the browser from a JSON API (nothing listed in the HTML).

``<prefix>/xxgk/gknb/index.html`` is an empty shell whose inline script calls
``<prefix>/api/gknb/list?page=N&size=10`` (``{"code":0,"data":{"page","pageSize","total","totalPage",
"list":[{"title","url","publishDate"}]}}``) and draws the list and a 下一页 link (``index.html?page=N+1``).
Details at ``<prefix>/xxgk/gknb/content/<id>.html``, rendered on the server.
"""

from __future__ import annotations

import html
import json

from crawler.portal.content import detail_body, file_response, kind_for
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

PAGE_SIZE = 5


class JsAppSite(Site):
    family = "jsapi"

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset()) -> None:
        super().__init__(name, prefix, agency, seed, size, faults)
        self.column = f"{self.prefix}/xxgk/gknb/index.html"
        self.api = f"{self.prefix}/api/gknb/list"
        for i in range(size):
            agency_i, year = plan_slot(self.agency, i)
            kind = kind_for(i + 1)
            plan = ReportPlan(key=f"{seed}:{name}:{i}", site=name, family=self.family, agency=agency_i, year=year,
                              fmt="2021" if year >= 2021 else "2019", kind=kind, layout=("plain", "trs")[i % 2],
                              broken="row_total" if i % 11 == 5 else None, title_variant=self.rng.randrange(7))
            doc = 5000 + i * 7 + self.rng.randint(0, 6)
            plan.detail_path = f"{self.prefix}/xxgk/gknb/content/{doc}.html"
            if kind in ("pdf", "docx"):
                plan.file_path = f"{self.prefix}/xxgk/gknb/content/{doc}_fj.{kind}"
                self.pages[plan.file_path] = self._file(plan)
            self.pages[plan.detail_path] = self._detail(plan)
            self.reports.append(plan)
        notices = self.plan_notices(max(2, size // 4), lambda k, _day: f"{self.prefix}/xxgk/gknb/content/{9000 + k}.html")
        self.ordered: list[ReportPlan | Notice] = sorted([*self.reports, *notices],
                                                         key=lambda p: (p.published, p.title), reverse=True)
        self.total_pages = max(1, -(-len(self.ordered) // PAGE_SIZE))
        self.listing_paths = [self.column] + [f"{self.api}?page={n}&size={PAGE_SIZE}"
                                              for n in range(1, self.total_pages + 1)]
        self.pages[self.column] = self._shell

    @staticmethod
    def _file(plan: ReportPlan):  # type: ignore[no-untyped-def]
        return lambda _r: file_response(plan)

    def handle(self, request: Request) -> Response | None:
        if request.path == self.api:
            return self._list(request)
        return super().handle(request)

    def _list(self, request: Request) -> Response:
        try:
            page = int(request.arg("page", "1"))
            size = int(request.arg("size", str(PAGE_SIZE)))
        except ValueError:
            return Response(status=400, body=b'{"code":400,"msg":"page and size must be numbers"}',
                            content_type="application/json;charset=UTF-8")
        size = max(1, min(size, 50))
        chunk = self.ordered[(page - 1) * size: page * size] if page >= 1 else []
        data = {
            "code": 0,
            "msg": "success",
            "data": {
                "page": page,
                "pageSize": size,
                "total": len(self.ordered),
                "totalPage": -(-len(self.ordered) // size),
                "list": [{"id": p.detail_path.rsplit("/", 1)[1].split(".")[0], "title": p.title,
                          "url": p.detail_path, "publishDate": p.published + " 09:00:00",
                          "source": p.agency} for p in chunk],
            },
        }
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return Response(body=body, content_type="application/json;charset=UTF-8", gzip=True)

    def _shell(self, _request: Request) -> Response:
        page = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
{{meta_charset}}
<title>政府信息公开年报 - {html.escape(self.agency)}</title>
</head>
<body>
<div id="app">
<div class="crumb">当前位置：首页 &gt; 信息公开 &gt; 政府信息公开年报</div>
<ul id="list" class="news-list"></ul>
<div id="pager" class="pager"></div>
<noscript>请开启浏览器的JavaScript功能后浏览本栏目。</noscript>
</div>
<script>
(function () {{
  var m = /[?&]page=(\\d+)/.exec(window.location.search);
  var page = m ? parseInt(m[1], 10) : 1;
  fetch("{self.api}?page=" + page + "&size={PAGE_SIZE}", {{headers: {{"Accept": "application/json"}}}})
    .then(function (r) {{ return r.json(); }})
    .then(function (res) {{
      var list = document.getElementById("list");
      res.data.list.forEach(function (item) {{
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = item.url; a.title = item.title; a.textContent = item.title;
        var span = document.createElement("span");
        span.className = "date"; span.textContent = item.publishDate.substring(0, 10);
        li.appendChild(a); li.appendChild(span); list.appendChild(li);
      }});
      var pager = document.getElementById("pager");
      if (page < res.data.totalPage) {{
        var next = document.createElement("a");
        next.href = "?page=" + (page + 1); next.textContent = "下一页";
        pager.appendChild(next);
      }}
      document.body.setAttribute("data-loaded", "1");
    }});
}})();
</script>
</body>
</html>"""
        return html_response(page)

    def _detail(self, plan: ReportPlan):  # type: ignore[no-untyped-def]
        def render(_request: Request) -> Response:
            title = html.escape(plan.title)
            page = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
{{meta_charset}}
<title>{title}</title>
</head>
<body>
<div class="crumb">当前位置：<a href="{self.column}">政府信息公开年报</a></div>
<div class="article">
<h1>{title}</h1>
<p class="meta">发布机构：{html.escape(plan.agency)} 发布日期：{plan.published}</p>
<div class="article-content">{detail_body(plan)}</div>
</div>
</body>
</html>"""
            return html_response(page, last_modified=plan.published)
        return render

    def sources(self) -> list[SourceEntry]:
        return [SourceEntry(self.name, self.agency, self.family, [self.column])]
