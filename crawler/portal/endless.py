"""An endless column (fault ``endless_pagination``): every listing page links 下一页 to one more.

``<prefix>/xxgk/nb/index.html``, ``index_1.html``, … for every N; the reports sit on the first two
pages, every later page lists only notices. A crawler must stop at its page cap, warn, and still
finish: the ground truth holds the reports of pages 0 and 1 only.
"""

from __future__ import annotations

import html
import re

from crawler.portal.content import detail_body
from crawler.portal.site import ReportPlan, Request, Response, Site, SourceEntry, html_response, plan_slot

REPORT_PAGES = 2
_PAGE = re.compile(r"index(?:_(\d{1,9}))?\.html$")


class EndlessSite(Site):
    family = ""  # no family marker on purpose: only a 下一页 link, detected as a generic column

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset()) -> None:
        super().__init__(name, prefix, agency, seed, size, faults)
        self.folder = f"{self.prefix}/xxgk/nb/"
        for i in range(max(2, min(size, 6))):
            agency_i, year = plan_slot(self.agency, i)
            plan = ReportPlan(key=f"{seed}:{name}:{i}", site=name, family="generic", agency=agency_i, year=year,
                              fmt="2021" if year >= 2021 else "2019", kind="html", layout="plain",
                              title_variant=0)
            plan.detail_path = f"{self.folder}art/{7000 + i}.html"
            self.pages[plan.detail_path] = self._detail(plan)
            self.reports.append(plan)
        self.listing_paths = [self.folder + "index.html", self.folder + "index_1.html"]
        self.special["endless_column"] = self.folder + "index.html"
        self.fault_entries.append({"fault": "endless_pagination", "url": self.folder + "index.html",
                                   "detail": "every page links 下一页 to another; reports only on pages 0-1"})

    def handle(self, request: Request) -> Response | None:
        if request.path.startswith(self.folder):
            m = _PAGE.fullmatch(request.path[len(self.folder):])
            if m:
                return self._listing(int(m.group(1) or 0))
        return super().handle(request)

    def _listing(self, n: int) -> Response:
        per = -(-len(self.reports) // REPORT_PAGES)
        items = []
        if n < REPORT_PAGES:
            items = [f'<li><a href="art/{p.detail_path.rsplit("/", 1)[1]}">{html.escape(p.title)}</a>'
                     f"<span>{p.published}</span></li>" for p in self.reports[n * per:(n + 1) * per]]
        items += [f'<li><a href="javascript:;">{html.escape(self.agency)}工作动态（第{n * 3 + k + 1}期）</a>'
                  f"<span>2024-01-01</span></li>" for k in range(3)]
        page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>年报_{html.escape(self.agency)}</title>
</head>
<body>
<ul class="list">
{chr(10).join(items)}
</ul>
<div class="page"><a href="index_{n + 1}.html">下一页</a></div>
</body>
</html>"""
        return html_response(page)

    def _detail(self, plan: ReportPlan):  # type: ignore[no-untyped-def]
        def render(_request: Request) -> Response:
            page = (f"<!DOCTYPE html><html><head>{{meta_charset}}<title>{html.escape(plan.title)}</title></head>"
                    f'<body><h1>{html.escape(plan.title)}</h1><div class="content">{detail_body(plan)}</div></body></html>')
            return html_response(page, last_modified=plan.published)
        return render

    def column_titles(self) -> list[tuple[str, str]]:
        return []  # not part of the gov.cn page: the endless column is only crawled on purpose

    def sources(self) -> list[SourceEntry]:
        return [SourceEntry(self.name, self.agency, "", [self.folder + "index.html"],
                            notes="endless_pagination fault: the column never ends")]
