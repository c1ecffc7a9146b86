"""Family ``ucap``: Jiangsu "ucap" department columns.

One column per department, ``<prefix>/<dept>/gknb/index.shtml`` then ``index_1.shtml`` … linked by
下一页 (and 共N页); details at ``<prefix>/<dept>/gknb/YYYYMM/<32 hex>.shtml`` with a 索引号 metadata table
above ``div#zoomcon``.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable

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

DEPTS: tuple[tuple[str, str], ...] = (("tjj", "统计局"), ("sfj", "司法局"), ("swj", "商务局"))
PER_PAGE = 4


class UcapSite(Site):
    family = "ucap"

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset()) -> None:
        super().__init__(name, prefix, agency, seed, size, faults)
        self.columns: list[str] = []
        for d, (code, dept) in enumerate(DEPTS):
            plans = []
            for i in range(d, size, len(DEPTS)):
                unit_agency, year = plan_slot(self.agency + dept, i // len(DEPTS), units=("",))
                kind = kind_for(i + 2)
                plan = ReportPlan(key=f"{seed}:{name}:{i}", site=name, family=self.family, agency=unit_agency,
                                  year=year, fmt="2021" if year >= 2021 else "2019", kind=kind,
                                  layout=("word", "plain")[i % 2], broken="missing_cell" if i % 7 == 3 else None,
                                  title_variant=self.rng.randrange(7), encoding="gb2312-decl" if i % 5 == 2 else "utf-8")
                if kind != "html" and plan.broken == "missing_cell":
                    plan.broken = None
                digest = hashlib.md5(f"{seed}:{name}:{i}".encode()).hexdigest()
                folder = f"{self.prefix}/{code}/gknb/{plan.published[:4]}{plan.published[5:7]}/"
                plan.detail_path = f"{folder}{digest}.shtml"
                if kind in ("pdf", "docx"):
                    plan.file_path = f"{folder}{digest}/files/{digest[:8]}.{kind}"
                    self.pages[plan.file_path] = self._file(plan)
                self.pages[plan.detail_path] = self._detail(plan, dept, code)
                self.reports.append(plan)
                plans.append(plan)
            notices = self.plan_notices(max(1, size // 8), self._notice_path(code))
            items: list[ReportPlan | Notice] = sorted([*plans, *notices], key=lambda p: (p.published, p.title),
                                                      reverse=True)
            pages = max(1, -(-len(items) // PER_PAGE))
            for n in range(pages):
                path = f"{self.prefix}/{code}/gknb/" + ("index.shtml" if n == 0 else f"index_{n}.shtml")
                self.listing_paths.append(path)
                self.pages[path] = self._listing(items[n * PER_PAGE:(n + 1) * PER_PAGE], n, pages, dept)
            self.columns.append(f"{self.prefix}/{code}/gknb/index.shtml")

    def _notice_path(self, code: str) -> Callable[[int, str], str]:
        def path(k: int, day: str) -> str:
            digest = hashlib.md5(f"notice:{self.seed}:{code}:{k}".encode()).hexdigest()
            return f"{self.prefix}/{code}/gknb/{day[:4]}{day[5:7]}/{digest}.shtml"
        return path

    @staticmethod
    def _file(plan: ReportPlan):  # type: ignore[no-untyped-def]
        return lambda _r: file_response(plan)

    def _listing(self, plans: list[ReportPlan | Notice], n: int, pages: int, dept: str):  # type: ignore[no-untyped-def]
        rows = "\n".join(
            f'<li><a href="{p.detail_path[p.detail_path.index("/gknb/") + 6:]}" target="_blank" '
            f'title="{html.escape(p.title)}">{html.escape(p.title)}</a><span class="bt-data-time">[{p.published}]'
            f"</span></li>" for p in plans)
        nav = [f"<span>共{pages}页</span>"]
        if n > 0:
            nav.append(f'<a href="{"index.shtml" if n == 1 else f"index_{n - 1}.shtml"}">上一页</a>')
        if n < pages - 1:
            nav.append(f'<a href="index_{n + 1}.shtml">下一页</a>')
        page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>政府信息公开年报_{html.escape(self.agency + dept)}</title>
</head>
<body>
<div class="path">您当前的位置：<a href="{self.prefix}/">首页</a> &gt; {html.escape(dept)} &gt; 政府信息公开年报</div>
<div class="list"><ul>
{rows}
</ul></div>
<div class="page">{" ".join(nav)}</div>
</body>
</html>"""
        return lambda _r: html_response(page)

    def _detail(self, plan: ReportPlan, dept: str, code: str):  # type: ignore[no-untyped-def]
        prefix_no = int(hashlib.md5(code.encode()).hexdigest()[:6], 16) % 10**7
        index_no = f"01{prefix_no:07d}/{plan.published[:4]}-{int(plan.detail_path[-12:-6], 16) % 99999:05d}"

        def render(_request: Request) -> Response:
            title = html.escape(plan.title)
            page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>{title}</title>
</head>
<body>
<div class="path">您当前的位置：首页 &gt; {html.escape(dept)} &gt; 政府信息公开年报</div>
<table class="xxgk_table" width="100%" border="0" cellspacing="0" cellpadding="0">
<tr><td class="bt">索引号：</td><td>{index_no}</td><td class="bt">分类：</td><td>政府信息公开年报</td></tr>
<tr><td class="bt">发布机构：</td><td>{html.escape(plan.agency)}</td><td class="bt">发文日期：</td><td>{plan.published}</td></tr>
<tr><td class="bt">标题：</td><td colspan="3">{title}</td></tr>
<tr><td class="bt">文号：</td><td></td><td class="bt">主题词：</td><td>年报</td></tr>
</table>
<div class="article"><h1>{title}</h1>
<div id="zoomcon">{detail_body(plan)}</div></div>
</body>
</html>"""
            return html_response(page, plan.encoding, last_modified=plan.published)
        return render

    def column_titles(self) -> list[tuple[str, str]]:
        return [(f"{self.agency}{dept}政府信息公开年报", path) for (_, dept), path in zip(DEPTS, self.columns, strict=True)]

    def sources(self) -> list[SourceEntry]:
        return [SourceEntry(self.name, self.agency, self.family, list(self.columns))]
