"""What every portal site is made of: requests, responses, report plans and ground-truth entries.

A site answers requests under its path prefix (``/trs/``, ``/hanweb/`` …). It is planned at start-up
(titles, dates, URLs, numbers: cheap) and renders pages on first request (bytes: cached by the portal).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from html import escape as html_escape
from typing import Any

from crawler.portal.generator import GeneratedReport, generate_report
from crawler.portal.identities import check_identities
from crawler.portal.titles import NO_AGENCY_VARIANT
from crawler.portal.years import DELIBERATE_BREAKS, year_links

_COLUMNS = ("natural_person", "commercial", "research", "social_welfare", "legal_services", "other_org")
# kinds whose report is a file linked from its detail page (jpg: a report attached as one scanned page)
FILE_KINDS = ("pdf", "docx", "jpg")

# How a page's bytes and charset declarations relate (wrong or missing declarations are real and common).
ENCODINGS: dict[str, tuple[str, str, str | None]] = {
    # name: (python codec, Content-Type header, <meta> declaration or None)
    "utf-8": ("utf-8", "text/html; charset=utf-8", "utf-8"),
    "gbk-nodecl": ("gb18030", "text/html", None),
    "gbk-wrongdecl": ("gb18030", "text/html", "utf-8"),
    "gb2312-decl": ("gb18030", "text/html", "gb2312"),
    "utf-8-header-gbk": ("utf-8", "text/html; charset=gbk", "utf-8"),  # fault: header lies
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, list[str]]
    form: Mapping[str, list[str]]
    headers: Mapping[str, str]

    def arg(self, name: str, default: str = "") -> str:
        values = self.form.get(name) or self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    gzip: bool = False  # sent gzip-encoded when the client accepts it
    last_modified: str | None = None  # YYYY-MM-DD, also enables If-Modified-Since
    cacheable: bool = True


def html_response(page: str, encoding: str = "utf-8", gzip: bool = False,
                  last_modified: str | None = None) -> Response:
    """Encode an HTML page whose head holds ``{meta_charset}``, the way the encoding variant says."""
    codec, content_type, declared = ENCODINGS[encoding]
    meta = f'<meta http-equiv="Content-Type" content="text/html; charset={declared}" />' if declared else ""
    body = page.replace("{meta_charset}", meta, 1).encode(codec)
    return Response(body=body, content_type=content_type, gzip=gzip, last_modified=last_modified)


def redirect(location: str, status: int = 301) -> Response:
    return Response(status=status, body=b"", content_type="text/html", headers=(("Location", location),),
                    cacheable=False)


def not_found() -> Response:
    body = "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
    return Response(status=404, body=body.encode(), content_type="text/html; charset=utf-8")


@dataclass
class Sample:
    """A real report from ../shared served as a page: its text or page and what we know about it."""

    origin: str  # "sample:pingtan_2024_page.html", "seed:003"
    agency: str
    year: int
    fmt: str  # "2021" | "2019" | "legacy" | "unknown"
    title: str
    published: str
    body_html: str | None  # the TRS_Editor content, or None when ``page`` is the whole page
    page: bytes | None = None
    tables: dict[str, Any] | None = None
    issues_expected: tuple[str, ...] = ()


@dataclass
class ReportPlan:
    """One report of a site: where it lives, how it is printed, and (lazily) its content."""

    key: str  # seed key, unique in the portal
    site: str
    family: str
    agency: str
    year: int
    fmt: str
    kind: str  # html | pdf | docx | jpg (a scanned page attached) | image (a page whose tables are pictures)
    layout: str = "trs"
    broken: str | None = None
    title_variant: int = 0
    encoding: str = "utf-8"
    gzip: bool = False
    detail_path: str = ""
    file_path: str | None = None  # the attachment (pdf/docx/jpg) or the table picture (image)
    sample: Sample | None = None
    transform: str | None = None  # mirror: "pinyin" | "traditional" | "byteshift"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a file has no page around it that names the agency: its title must (variant 4 has none)
        if self.kind in FILE_KINDS and self.title_variant == NO_AGENCY_VARIANT:
            self.title_variant = 0

    @cached_property
    def report(self) -> GeneratedReport:
        return generate_report(f"report:{self.key}", self.fmt, self.agency, self.year, broken=self.broken,
                               title_variant=self.title_variant, links=year_links(self.agency, self.year, self.fmt))

    @property
    def title(self) -> str:
        return self.sample.title if self.sample else self.report.title

    @property
    def published(self) -> str:
        return self.sample.published if self.sample else self.report.published

    @property
    def shown_title(self) -> str:
        """The title as the site prints it (a mirror transforms it)."""
        title_fn = self.extra.get("title_fn")
        return str(title_fn(self)) if title_fn is not None else self.title

    @property
    def report_path(self) -> str:
        """The URL path of the report itself (the attachment for pdf/docx/jpg)."""
        if self.kind in FILE_KINDS and self.file_path:
            return self.file_path
        return self.detail_path

    def ground_truth(self, base: str, source: str) -> dict[str, Any]:
        if self.sample is not None:
            tables, issues, fmt = self.sample.tables, list(self.sample.issues_expected), self.sample.fmt
            agency, year, origin = self.sample.agency, self.sample.year, self.sample.origin
        else:
            report = self.report
            # a report printed (partly) as pictures: what OCR must read is under "pictures"
            tables = None if self.kind == "image" or self.pictured else report.tables
            issues = ["table_missing"] if self.kind == "image" else list(report.issues_expected)
            issues = list(self.extra.get("issues_expected", issues))
            fmt, agency, year, origin = report.fmt, report.agency, report.year, "generated"
        issues = issues + [code for code in self.extra.get("issues", []) if code not in issues]
        attachment_of = base + self.detail_path if self.kind in FILE_KINDS else None
        pictures = self.extra.get("pictures_fn")
        return {
            "url": base + self.report_path,
            "site": self.site,
            "family": self.family,
            "source": source,
            "agency": agency,
            "year": year,
            "format": fmt,
            "title": self.shown_title,
            "published": self.published,
            "kind": self.kind,
            "attachment_of": attachment_of,
            "tables": tables,
            "issues_expected": issues,
            "broken": self.broken,
            "origin": origin,
            "layout": self.layout if self.kind == "html" else None,
            "encoding": self.encoding,
            "transform": self.transform,
            "edition": self.extra.get("edition", 0),  # the Portal.advance() that published it (0: at start)
            "revision": self.extra.get("revision", 0),  # the Portal.advance() that corrected its page
            # a copy of another entry's report (the same agency and year): its URL and why (report_members.reason)
            "copy_of": self.extra.get("copy_of"),
            "copy_reason": self.extra.get("copy_reason"),
            # the demo's deliberate carry-over mismatch: the applicant column whose 上年结转 breaks the chain
            "carryover_break": (_COLUMNS[DELIBERATE_BREAKS[(agency, year)][0]]
                                if origin == "generated" and (agency, year) in DELIBERATE_BREAKS else None),
            # tables published as pictures (crawler.portal.image_reports.pictures_truth): their URLs, the report's
            # tables as printed, which are pictures, and the cells a signature makes illegible
            "pictures": pictures(self, base) if pictures is not None else None,
        }

    @property
    def pictured(self) -> bool:
        """Some of the report's tables are pictures (read by OCR)."""
        return "pictures_fn" in self.extra

    def identities_hold(self) -> bool:
        if self.sample is not None or self.kind == "image" or self.pictured:
            return True
        return not check_identities(self.report.tables, self.fmt)


@dataclass
class Notice:
    """A column item that is not a report (close-looking titles on purpose)."""

    title: str
    published: str
    path: str
    agency: str

    @property
    def detail_path(self) -> str:
        return self.path

    @property
    def shown_title(self) -> str:
        return self.title


def notice_page(notice: Notice) -> Response:
    """A plain article page for a notice (every family's notices look alike inside)."""
    title = html_escape(notice.title)
    page = (f"<!DOCTYPE html><html><head>{{meta_charset}}<title>{title}</title></head><body>"
            f'<div class="article"><h1>{title}</h1><p class="info">发布日期：{notice.published} '
            f"来源：{html_escape(notice.agency)}</p><div class=\"content\"><p>各有关单位：</p>"
            f"<p>现将《{title}》有关事项通知如下，请认真抓好落实。</p></div></div></body></html>")
    return html_response(page, last_modified=notice.published)


def _notice_handler(notice: Notice) -> Callable[[Request], Response]:
    return lambda _request: notice_page(notice)


@dataclass
class SourceEntry:
    name: str
    agency: str
    family: str
    columns: list[str]  # paths
    notes: str = ""


Handler = Callable[[Request], Response]

DEPARTMENTS = ("", "发展和改革委员会", "财政局", "统计局", "市场监督管理局", "自然资源和规划局", "生态环境局",
               "交通运输局", "教育局", "卫生健康委员会", "人力资源和社会保障局", "住房和城乡建设局", "行政审批局",
               "应急管理局", "农业农村局", "民政局")


def plan_slot(base_agency: str, i: int, skip_bare: bool = False,
              units: tuple[str, ...] = DEPARTMENTS) -> tuple[str, int]:
    """The i-th report's (agency, year): six years per unit, units never repeat, so (agency, year) is
    unique in a site however many reports it holds."""
    unit = i // 6 + (1 if skip_bare else 0)
    dept = units[unit % len(units)]
    round_ = unit // len(units)
    agency = base_agency + dept + (f"第{round_}分局" if round_ else "")
    return agency, 2024 - i % 6


class Site:
    """Base of the families: a static page table plus optional dynamic handlers."""

    family = ""

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.faults = faults
        self.fault_entries: list[dict[str, Any]] = []  # structural faults: {"fault", "url" (a path), ...}
        self.prefix = prefix.rstrip("/")
        self.agency = agency
        self.seed = seed
        self.size = size
        self.rng = random.Random(f"site:{seed}:{name}")
        self.reports: list[ReportPlan] = []
        self.notices: list[Notice] = []
        self.pages: dict[str, Handler] = {}
        self.listing_paths: list[str] = []
        self.extra_urls: list[str] = []  # other paths a complete crawl fetches (redirects, 404 …)
        self.special: dict[str, Any] = {}
        self.robots_disallow: list[str] = []
        self.global_paths: set[str] = set()  # paths outside the prefix this site answers (Hanweb's dataproxy.jsp)

    def plan_notices(self, count: int, path_for: Callable[[int, str], str]) -> list[Notice]:
        """``count`` notices with close-looking titles; ``path_for(k, published)`` places each."""
        from crawler.portal.titles import notice_title

        out = []
        for k in range(count):
            year = 2024 - k % 5
            published = f"{year}-{self.rng.randint(1, 12):02d}-{self.rng.randint(1, 28):02d}"
            notice = Notice(notice_title(self.rng, self.agency, year - 1), published, path_for(k, published),
                            self.agency)
            self.pages[notice.path] = _notice_handler(notice)
            out.append(notice)
        self.notices.extend(out)
        return out

    def handle(self, request: Request) -> Response | None:
        handler = self.pages.get(request.path)
        return handler(request) if handler else None

    def sources(self) -> list[SourceEntry]:
        raise NotImplementedError

    def column_titles(self) -> list[tuple[str, str]]:
        """(link title, path) of this site's columns, as other sites link to them (gov.cn style)."""
        entry = self.sources()[0]
        return [(f"{entry.agency}政府信息公开年报", path) for path in entry.columns]

    def crawl_paths(self) -> list[str]:
        """Every path a complete crawl of this site fetches."""
        paths = list(self.listing_paths)
        details: set[str] = set()
        for plan in self.reports:
            if plan.detail_path not in details:  # a report page and the attachment copying it share one page
                details.add(plan.detail_path)
                paths.append(plan.detail_path)
            if plan.file_path and plan.kind in (*FILE_KINDS, "image"):  # an image's table picture is fetched too
                paths.append(plan.file_path)
            paths.extend(plan.extra.get("picture_paths", ()))  # the pictures a report page's article shows
        paths.extend(self.extra_urls)
        return paths
