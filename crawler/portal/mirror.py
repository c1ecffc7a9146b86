"""Family ``mirror``: an SEO copy site that republishes reports, damaged the way such copies are.

Listing ``<prefix>/news/list_1.html`` … chained by 下一页; details ``<prefix>/news/<id>.html`` whose text is a
generated report flattened to text (tables as ``|`` cell lines, as in seeds 003/004) and then transformed:
``traditional`` (Simplified -> Traditional), ``pinyin`` (``報(bào)告``: tone pinyin after some characters),
``traditional+pinyin`` (seed 000), ``byteshift`` (GBK bytes read one byte off: ``?。ǘ┩晟乒_制度``).
Numbers are untouched, so the ground-truth tables still hold.
"""

from __future__ import annotations

import html
import random
from functools import lru_cache

from crawler.portal.render import render_text
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

TRANSFORMS = ("traditional+pinyin", "traditional", "pinyin", "byteshift")
PER_PAGE = 6


@lru_cache(maxsize=1)
def _s2t():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return str(_s2t().convert(text))


def add_pinyin(text: str, rng: random.Random, only: str | None = None, rate: float = 0.6) -> str:
    """Tone pinyin in parentheses after Han characters (after those in ``only`` when given)."""
    from pypinyin import Style, pinyin

    out = []
    for ch in text:
        out.append(ch)
        if "\u4e00" <= ch <= "\u9fff" and (only is None or ch in only) and rng.random() < rate:
            out.append(f"({pinyin(ch, style=Style.TONE, heteronym=False)[0][0]})")
    return "".join(out)


def byte_shift(text: str) -> str:
    """GBK bytes decoded one byte off, unmappable pairs as ``?`` (seed 000's garbage)."""
    raw = text.encode("gb18030")
    return raw[1:].decode("gbk", errors="replace").replace("\ufffd", "?")


def transform(text: str, how: str, rng: random.Random) -> str:
    if how == "byteshift":
        return text
    if how.startswith("traditional"):
        trad = to_traditional(text)
        if how.endswith("+pinyin"):
            changed = {t for s, t in zip(text, trad, strict=False) if s != t}
            return add_pinyin(trad, rng, only="".join(changed), rate=0.8)
        return trad
    return add_pinyin(text, rng, rate=0.12)


class MirrorSite(Site):
    family = "mirror"

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset()) -> None:
        super().__init__(name, prefix, agency, seed, size, faults)
        for i in range(size):
            agency_i, year = plan_slot(self.agency, i)
            plan = ReportPlan(key=f"{seed}:{name}:{i}", site=name, family=self.family, agency=agency_i, year=year,
                              fmt="2021" if year >= 2021 else "2019", kind="html", layout="pipe",
                              title_variant=(0, 3, 1)[i % 3], transform=TRANSFORMS[i % len(TRANSFORMS)])
            plan.detail_path = f"{self.prefix}/news/{880000 + i * 31 + self.rng.randint(0, 30)}.html"
            self.pages[plan.detail_path] = self._detail(plan)
            plan.extra["title_fn"] = self.shown_title
            if plan.transform == "byteshift":
                plan.extra["issues"] = ["mojibake"]
            self.reports.append(plan)
        self.plan_notices(max(2, size // 4), lambda k, _day: f"{self.prefix}/news/{990000 + k}.html")
        self._listings()

    def _listings(self) -> None:
        ordered: list[ReportPlan | Notice] = sorted([*self.reports, *self.notices],
                                                    key=lambda p: (p.published, p.title), reverse=True)
        pages = max(1, -(-len(ordered) // PER_PAGE))
        self.listing_paths = []
        for n in range(pages):
            path = f"{self.prefix}/news/list_{n + 1}.html"
            self.listing_paths.append(path)
            self.pages[path] = self._listing(ordered[n * PER_PAGE:(n + 1) * PER_PAGE], n, pages)

    def add_copy(self, source: ReportPlan, transform: str = "traditional") -> ReportPlan:
        """Republish another site's report here (a mirror copy: same report, this site's damage), listed among the
        others; the copy's ground truth names the original (``copy_of``)."""
        plan = ReportPlan(key=f"{source.key}:mirror", site=self.name, family=self.family, agency=source.agency,
                          year=source.year, fmt=source.fmt, kind="html", layout="pipe",
                          title_variant=source.title_variant, transform=transform)
        plan.report = source.report
        plan.detail_path = f"{self.prefix}/news/{870000 + len(self.reports)}.html"
        plan.extra["title_fn"] = self.shown_title
        self.pages[plan.detail_path] = self._detail(plan)
        self.reports.append(plan)
        self._listings()
        return plan

    def shown_title(self, plan: ReportPlan) -> str:
        how = plan.transform or ""
        return plan.title if how == "byteshift" else transform(plan.title, how, random.Random(f"t:{plan.key}"))

    def _listing(self, plans: list[ReportPlan | Notice], n: int, pages: int):  # type: ignore[no-untyped-def]
        items = "\n".join(f'<li><a href="{p.detail_path}">{html.escape(p.shown_title)}</a> <em>{p.published}</em></li>'
                          for p in plans)
        nxt = f'<a href="list_{n + 2}.html">下一页</a>' if n < pages - 1 else ""
        page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>政府信息公开年报大全 - 第{n + 1}页</title>
<meta name="keywords" content="政府信息公开,年度报告,年报,范文">
</head>
<body>
<div class="ad">【广告】专业代写各类工作报告，范文下载</div>
<ul class="list">
{items}
</ul>
<div class="pages">{nxt}</div>
<div class="copyright">本站内容来源于网络，如有侵权请联系删除。</div>
</body>
</html>"""
        return lambda _r: html_response(page)

    def _detail(self, plan: ReportPlan):  # type: ignore[no-untyped-def]
        def render(_request: Request) -> Response:
            rng = random.Random(f"mirror:{plan.key}")
            text = render_text(plan.report, "pipe", seed=plan.key)
            how = plan.transform or ""
            lines = text.splitlines()
            if how == "byteshift":
                # prose paragraphs lose their byte alignment; headings and table cells survive
                lines = [byte_shift(line) if len(line) > 40 and "|" not in line and rng.random() < 0.5 else line
                         for line in lines]
            else:
                lines = [transform(line, how, rng) for line in lines]
            body = "<br/>\n".join(html.escape(line, quote=False) for line in lines)
            title = html.escape(self.shown_title(plan))
            page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>{title}_政府信息公开年报大全</title>
</head>
<body>
<div class="ad">【广告】专业代写各类工作报告</div>
<h1>{title}</h1>
<div class="info">时间：{plan.published} 来源：网络整理</div>
<div class="content">{body}</div>
<div class="copyright">本站内容来源于网络，如有侵权请联系删除。</div>
</body>
</html>"""
            return html_response(page, last_modified=plan.published)
        return render

    def sources(self) -> list[SourceEntry]:
        return [SourceEntry(self.name, self.agency, self.family, [self.listing_paths[0]])]

