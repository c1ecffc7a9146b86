"""The ``annual_reports`` spider: from each source's column to every report, attachments included.

Routing only. Per source (``sources.toml``, see :mod:`crawler.sources`) it opens the column, decides the portal
family (declared, or detected from the page), follows that family's pagination to the end (capped by
``NIANBAO_MAX_LIST_PAGES``), picks report links by their listed title and year (:mod:`crawler.titles`), opens
each detail page and, when the report is published as attachments (PDF/DOCX/DOC, or pictures, linked as 附件),
fetches those. One :class:`crawler.items.ReportItem` per report capture: the detail page itself, each attachment,
or both when the page prints the report and links a copy (the attachment's item has ``attachment_of`` = the page).
A report page's article pictures (:func:`crawler.families.links.article_pictures`: tables published as images)
are fetched with it, archived like every other response (routing role ``resource``, ``resource_of`` = the page's
WARC record), and ride on the page's item (``resources``) to the parser; a page without pictures costs nothing.

Every request carries one :class:`crawler.routing.Routing` record under ``archive_metadata`` (role, source, agency,
family, discovery path, listing title/date/year, attachment_of, the source's domains): the capture layer writes it
into the WARC metadata record, and the item carries it on to the catalog. A listing request also carries the
spider's own paging state (:class:`Listing`, ``nianbao_listing``), and every request ``nianbao_allow_private`` from
the source.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import FormRequest, Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy_playwright.page import PageMethod

from archive.capture import META_RECORD_ID, META_REVISIT_METADATA
from archive.recorder import META_STAMP
from crawler.crawl_events import LOGGED_AS_EVENT, send_event
from crawler.families import detect_family, hanweb, jsapi, trs
from crawler.families.links import (
    MAX_PICTURE_BYTES,
    ListedLink,
    article_pictures,
    followed_attachments,
    is_document_url,
    is_report_page,
    may_link_document,
    may_show_pictures,
    next_page_link,
    report_links,
)
from crawler.items import ReportItem
from crawler.routing import META_KEY, Routing
from crawler.sources import Source, load_sources, select_sources
from crawler.textfix import decode
from crawler.titles import match_report_title

logger = logging.getLogger(__name__)

META_LISTING = "nianbao_listing"


@dataclass(frozen=True)
class Listing:
    """Where a listing request stands in its column (the spider's paging state, not a routing fact)."""

    column: str  # the column being paged
    trail: tuple[str, ...]  # the discovery path to the column (the column itself last)
    page: int = 0
    paged: bool = False  # every page of the column was asked for at once (TRS, JSON API)
    jpage: dict[str, Any] | None = None  # Hanweb jpage settings of the column
    start: int | None = None  # the first Hanweb record this request asks for
    api: str | None = None


@dataclass(frozen=True)
class CrawlConfig:
    sources_path: str
    max_list_pages: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> CrawlConfig:
        cap = settings.getint("NIANBAO_MAX_LIST_PAGES", 200)
        if cap < 1:
            raise ValueError(f"NIANBAO_MAX_LIST_PAGES must be >= 1, got {cap}")
        return cls(sources_path=settings.get("NIANBAO_SOURCES", "sources.toml"), max_list_pages=cap)


class AnnualReportsSpider(Spider):
    name = "annual_reports"
    allowed_domains: list[str] | None = None

    def __init__(self, source: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source_name = source
        self.sources: dict[str, Source] = {}
        self.config: CrawlConfig
        self._capped: set[tuple[str, str]] = set()  # (source, column) whose page cap was reported

    @classmethod
    def preflight(cls, settings: BaseSettings, source: str | None = None, **_kwargs: Any) -> None:
        """What :meth:`from_crawler` will read, checked before the crawl starts: the settings, ``sources.toml``
        and ``-a source``. Raises :class:`crawler.sources.SourceError` or ``ValueError`` with one line
        (file, line, field), which ``scrapy crawl`` prints instead of a traceback (``crawler/commands/crawl.py``)."""
        config = CrawlConfig.from_settings(settings)
        select_sources(load_sources(config.sources_path), source, config.sources_path)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> AnnualReportsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = CrawlConfig.from_settings(crawler.settings)
        chosen = select_sources(load_sources(spider.config.sources_path), spider.source_name,
                                spider.config.sources_path)
        spider.sources = {s.name: s for s in chosen}
        # Scrapy's offsite filter gets the union (host names only); each request is also checked against its
        # own source's domains before it is made.
        spider.allowed_domains = sorted({d.partition(":")[0] for s in chosen for d in s.allowed_domains})
        return spider

    # --- start ----------------------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for src in self.sources.values():
            if not src.obey_robots:
                logger.warning("source %s: robots.txt is NOT obeyed (obey_robots = false in sources.toml)", src.name)
            for url in src.urls:
                routing = Routing("listing", src.name, src.agency, src.family, (url,), domains=src.allowed_domains)
                req = self._request(url, self.parse_column, routing, Listing(column=url, trail=(url,)),
                                    playwright=src.family == "jsapi")
                if req is not None:
                    yield req

    # --- columns and listing pages --------------------------------------------------------------------------

    def parse_column(self, response: Response) -> Iterator[Request | ReportItem]:
        routing, listing = self._state(response)
        if not isinstance(response, TextResponse):
            logger.warning("source %s: column %s is not a text page (%s)", routing.source, response.url,
                           (response.headers.get("Content-Type") or b"").decode("latin-1"))
            return
        page = _decoded(response)
        family = routing.family or detect_family(page.text, page.sel, response.url)
        routing = replace(routing, family=family)
        if family == "jsapi" and not response.meta.get("playwright"):
            req = self._request(response.url, self.parse_column, routing, listing, playwright=True, dont_filter=True)
            if req is not None:
                yield req
            return
        self._stat(f"family/{family}")
        if family == "jsapi":
            yield from self._parse_js_column(response, routing, listing, page)
        elif family == "hanweb":
            yield from self._parse_hanweb_column(response, routing, listing, page)
        else:
            yield from self._listing(response, routing, listing, page)

    def parse_listing(self, response: Response) -> Iterator[Request | ReportItem]:
        """A static listing page after the first: its report links, and the next page when not yet planned."""
        if isinstance(response, TextResponse):
            routing, listing = self._state(response)
            yield from self._listing(response, routing, listing, _decoded(response))

    def _listing(self, response: TextResponse, routing: Routing, listing: Listing,
                 page_text: _Page) -> Iterator[Request | ReportItem]:
        """A static listing page: its report links, then the rest of the column (TRS paging or "next")."""
        sel = page_text.sel
        yield from self._follow_reports(report_links(sel, response.url), routing, _path(listing.trail, response.url))
        if routing.family == "govcn":
            yield from self._follow_columns(sel, response.url, routing, listing)
        if listing.paged:
            return
        page = listing.page
        paging = trs.find_paging(page_text.text) if page == 0 else None
        if paging is not None and paging.pages > 1:
            last = paging.pages
            if last > self.config.max_list_pages:
                self._cap_hit(routing, listing, response.url, f"createPageHTML announces {paging.pages} pages")
                last = self.config.max_list_pages
            for i in range(1, last):
                url = paging.page_url(response.url, i)
                req = self._request(url, self.parse_listing, routing, replace(listing, page=i, paged=True))
                if req is not None:
                    yield req
            return
        nxt = next_page_link(sel, response.url)
        if nxt is None or nxt == response.url:
            return
        if page + 1 >= self.config.max_list_pages:
            self._cap_hit(routing, listing, response.url, "the column still has a next page")
            return
        req = self._request(nxt, self.parse_listing, routing, replace(listing, page=page + 1))
        if req is not None:
            yield req

    def _follow_columns(self, sel: Selector, base_url: str, routing: Routing, listing: Listing) -> Iterator[Request]:
        """gov.cn-style pages link to other agencies' annual-report columns: open those in allowed domains."""
        for a in sel.xpath("//a[@href]"):
            text = " ".join(t.strip() for t in a.xpath(".//text()").getall() if t.strip())
            title = (a.attrib.get("title") or text).strip()
            if not title or match_report_title(title) is not None:
                continue
            if not any(k in title for k in ("年报", "年度报告")) or any(k in title for k in ("通知", "要点", "指南")):
                continue
            url = _join(base_url, a.attrib["href"])
            if url is None or url == listing.column or is_document_url(url):
                continue
            agency = _agency_from_column_title(title) or routing.agency
            sub = replace(routing, agency=agency, family=None)
            req = self._request(url, self.parse_column, sub, Listing(column=url, trail=(*listing.trail, url)))
            if req is not None:
                yield req

    # --- Hanweb jpage -----------------------------------------------------------------------------------------

    def _parse_hanweb_column(self, response: TextResponse, routing: Routing, listing: Listing,
                             page: _Page) -> Iterator[Request | ReportItem]:
        try:
            store = hanweb.embedded_datastore(page.text)
        except hanweb.HanwebError as e:
            self._stat("hanweb/bad_datastore")
            logger.warning("source %s: %s: %s", routing.source, response.url, e)
            store = None
        if store is None:
            yield from self._listing(response, routing, listing, page)
            return
        base = _path(listing.trail, response.url)
        yield from self._follow_reports(self._record_links(store.records, listing.column), routing, base)
        cfg = hanweb.jpage_config(page.text, store)
        first = len(store.records) + 1
        if (cfg.total is None and not store.records) or (cfg.total is not None and first > cfg.total):
            return
        step = cfg.per_page * cfg.group
        # The page announces its total: ask for every group at once. Each answer may still ask for the group
        # after it (the announced total can be stale); the dupefilter drops groups already asked for.
        starts = list(range(first, (cfg.total or first) + 1, step))
        if len(starts) + 1 > self.config.max_list_pages:
            self._cap_hit(routing, listing, response.url, f"jpage announces {cfg.total} records")
            starts = starts[: self.config.max_list_pages - 1]
        for i, start in enumerate(starts, 1):
            yield from self._hanweb_request(response.url, cfg, start, routing,
                                            replace(listing, page=i, jpage=vars(cfg)))

    def _hanweb_request(self, page_url: str, cfg: hanweb.JpageConfig, start: int, routing: Routing,
                        listing: Listing) -> Iterator[Request]:
        url, form = cfg.request(page_url, start)
        req = self._request(url, self.parse_hanweb_proxy, routing, replace(listing, start=start), formdata=form)
        if req is not None:
            yield req

    def parse_hanweb_proxy(self, response: Response) -> Iterator[Request | ReportItem]:
        routing, listing = self._state(response)
        try:
            store = hanweb.parse_datastore(response.body)
        except hanweb.HanwebError as e:
            self._stat("hanweb/bad_datastore")
            logger.warning("source %s: %s: %s", routing.source, response.url, e)
            return
        base = _path(listing.trail, response.url)
        yield from self._follow_reports(self._record_links(store.records, listing.column), routing, base)
        if not store.records:
            return
        cfg = hanweb.JpageConfig(**(listing.jpage or {}))
        nxt = int(listing.start or 0) + cfg.per_page * cfg.group
        total = store.total if store.total is not None else cfg.total
        if total is not None and nxt > total:
            return
        if listing.page + 1 >= self.config.max_list_pages:
            self._cap_hit(routing, listing, response.url, "dataproxy.jsp keeps answering records")
            return
        yield from self._hanweb_request(listing.column, cfg, nxt, routing, replace(listing, page=listing.page + 1))

    @staticmethod
    def _record_links(records: Iterable[str], base_url: str) -> list[ListedLink]:
        out: dict[str, ListedLink] = {}
        for record in records:
            for link in report_links(Selector(text=record or "<p></p>"), base_url):
                out.setdefault(link.url, link)
        return list(out.values())

    # --- JS-rendered columns (browser once, then the JSON API directly) --------------------------------------

    def _parse_js_column(self, response: TextResponse, routing: Routing, listing: Listing,
                         page: _Page) -> Iterator[Request | ReportItem]:
        seen: list[list[str]] = response.meta.get(jsapi.BROWSER_REQUESTS_META) or []
        apis = list(dict.fromkeys(u for u, ctype, rtype in seen if jsapi.looks_like_api(u, ctype, rtype)))
        apis = [u for u in apis if self._source(routing).allows(u)]
        self._stat("jsapi/api_recognised", len(apis))
        if not apis:
            logger.info("source %s: no JSON API seen on %s; reading the rendered page", routing.source, response.url)
            yield from self._listing(response, routing, listing, page)
            return
        for api in apis:
            req = self._request(api, self.parse_api, routing, replace(listing, page=0, api=api))
            if req is not None:
                yield req

    def parse_api(self, response: Response) -> Iterator[Request | ReportItem]:
        routing, listing = self._state(response)
        try:
            data = json.loads(response.body)
        except ValueError:
            self._stat("jsapi/not_json")
            return
        recs = jsapi.records(data)
        if not recs:
            return
        links = []
        for rec in recs:
            m = match_report_title(rec.title)
            url = _join(listing.column, rec.url)
            if m is not None and url is not None:
                links.append(ListedLink(url=url, title=m.title, year=m.year, date=rec.date))
        yield from self._follow_reports(links, routing, _path(listing.trail, response.url))
        if listing.paged:
            return
        param = jsapi.page_param(response.url)
        if param is None:
            return
        key, current = param
        total = jsapi.total_pages(data)
        page = listing.page
        if total is not None:
            # ``current`` is the first page's number (0- or 1-based); the column has ``total`` pages.
            count = total
            if total > self.config.max_list_pages:
                self._cap_hit(routing, listing, response.url, f"the API announces {total} pages")
                count = self.config.max_list_pages
            for i in range(1, count):
                req = self._request(jsapi.with_page(response.url, key, current + i), self.parse_api, routing,
                                    replace(listing, page=i, paged=True))
                if req is not None:
                    yield req
            return
        if page + 1 >= self.config.max_list_pages:
            self._cap_hit(routing, listing, response.url, "the API keeps answering records")
            return
        req = self._request(jsapi.with_page(response.url, key, current + 1), self.parse_api, routing,
                            replace(listing, page=page + 1))
        if req is not None:
            yield req

    # --- details, attachments, items ---------------------------------------------------------------------------

    def _follow_reports(self, links: Iterable[ListedLink], listing_routing: Routing,
                        base: list[str]) -> Iterator[Request]:
        """Ask for each report link of a listing page; ``base`` is the discovery path to that page."""
        for link in links:
            document = is_document_url(link.url)
            routing = replace(listing_routing, role="report" if document else "detail",
                              discovery=tuple(_path(base, link.url)), list_title=link.title, list_date=link.date,
                              list_year=link.year)
            req = self._request(link.url, self.parse_report if document else self.parse_detail, routing)
            if req is not None:
                self._stat("report_links")
                yield req

    async def parse_detail(self, response: Response) -> AsyncIterator[Request | ReportItem]:
        routing = self._routing(response)
        if not isinstance(response, TextResponse) or is_document_url(response.url):
            yield self._item(response, routing)
            return
        links, shows = may_link_document(response.body), may_show_pictures(response.body)
        if not links and not shows:  # most detail pages are the report, without pictures: skip the DOM walk
            yield self._item(response, routing)
            return
        sel = _decoded(response).sel
        attachments = followed_attachments(sel, response.url, routing.allows) if links else []
        if is_report_page(sel, attachments):
            # The page is the report (and any attachment a copy of it, captured as well); its article's pictures
            # are fetched first, so that the parser can read tables published as pictures.
            pictures = article_pictures(sel, response.url, routing.allows) if shows else []
            resources = await self._fetch_pictures(response, routing, pictures) if pictures else {}
            yield self._item(response, routing, resources)
        page = routing.reached(response.url)
        for url, _text in attachments:
            attachment = replace(page, role="attachment", discovery=tuple(_path(list(page.discovery), url)),
                                 attachment_of=response.url)
            req = self._request(url, self.parse_report, attachment)
            if req is not None:
                yield req

    def parse_report(self, response: Response) -> Iterator[ReportItem]:
        yield self._item(response, self._routing(response))

    async def _fetch_pictures(self, page: TextResponse, routing: Routing, urls: list[str]) -> dict[str, bytes]:
        """The pictures of a report page, fetched one after the other through the downloader (robots.txt, the
        address guard, retries and the archive apply; the scheduler does not: they belong to this page's item).
        Each is archived with routing role ``resource`` naming the page's capture; one that fails is left out."""
        assert self.crawler.engine is not None
        base = routing.reached(page.url)
        out: dict[str, bytes] = {}
        for url in urls:
            record = replace(base, role="resource", discovery=tuple(_path(list(base.discovery), url)),
                             resource_of=page.meta.get(META_RECORD_ID))
            request = self._request(url, self.parse_report, record)
            if request is None:
                continue
            # its own metadata record even when the bytes are those of an earlier capture (a revisit): it names
            # this page's capture, which the earlier one does not
            request.meta.update({META_REVISIT_METADATA: True, "download_maxsize": MAX_PICTURE_BYTES})
            try:
                response = await self.crawler.engine.download_async(request)
            except Exception as e:  # noqa: BLE001 - any download failure (refused, timeout, too large) skips it
                self._stat("pictures/failed")
                logger.info("source %s: picture %s of %s not fetched: %s", routing.source, url, page.url,
                            f"{type(e).__name__}: {e}")
                continue
            if not 200 <= response.status < 300:
                self._stat("pictures/failed")
                continue
            self._stat("pictures/fetched")
            out[url] = response.body
        return out

    def _item(self, response: Response, routing: Routing, resources: dict[str, bytes] | None = None) -> ReportItem:
        self._stat("reports/attachment" if routing.attachment_of else "reports/page")
        ctype = response.headers.get("Content-Type")
        return ReportItem(
            url=response.url,
            body=response.body,
            routing=routing.reached(response.url),
            headers={
                k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()
            },
            status=response.status,
            content_type=ctype.decode("latin-1") if ctype else None,
            archived=response.meta.get(META_STAMP),
            resources=resources or {},
        )

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _request(
        self,
        url: str,
        callback: Callable[..., Any],
        routing: Routing,
        listing: Listing | None = None,
        *,
        formdata: dict[str, str] | None = None,
        playwright: bool = False,
        dont_filter: bool = False,
    ) -> Request | None:
        """A request for ``url`` carrying ``routing``; with ``listing``, a listing page of that column (its routing
        record made from the column's)."""
        src = self._source(routing)
        if not src.allows(url):
            self._stat("offsite_skipped")
            logger.debug("source %s: not following %s (outside %s)", src.name, url, list(src.allowed_domains))
            return None
        meta: dict[str, Any] = {"nianbao_allow_private": src.allow_private}
        if listing is not None:
            routing = replace(routing, role="listing", discovery=tuple(_path(list(listing.trail), url)),
                              list_title=None, list_date=None, list_year=None, attachment_of=None)
            meta[META_LISTING] = listing
        meta[META_KEY] = routing
        if not src.obey_robots:
            meta["dont_obey_robotstxt"] = True
        if playwright:
            # Nothing callable in meta: the page's XHR/fetch calls are noted by a page-init callback named by its
            # import path, so this request can go to a disk or Redis queue like any other.
            meta.update(
                playwright=True,
                playwright_page_init_callback=jsapi.WATCH_CALLBACK,
                playwright_page_methods=[PageMethod("wait_for_load_state", "networkidle")],
            )
        if formdata is not None:
            return FormRequest(url, formdata=formdata, callback=callback, meta=meta, dont_filter=dont_filter)
        return Request(url, callback=callback, meta=meta, dont_filter=dont_filter)

    def _source(self, routing: Routing) -> Source:
        return self.sources[str(routing.source)]

    @staticmethod
    def _routing(response: Response) -> Routing:
        routing: Routing = response.meta[META_KEY]
        return routing

    @classmethod
    def _state(cls, response: Response) -> tuple[Routing, Listing]:
        listing: Listing = response.meta[META_LISTING]
        return cls._routing(response), listing

    def _cap_hit(self, routing: Routing, listing: Listing, url: str, why: str) -> None:
        key = (str(routing.source), listing.column)
        if key in self._capped:
            return
        self._capped.add(key)
        self._stat("list_page_cap_reached")
        reason = f"NIANBAO_MAX_LIST_PAGES={self.config.max_list_pages} reached ({why}); not following further pages"
        send_event(self.crawler, "pagination_capped", url, reason, source=routing.source)
        logger.warning("source %s: %s at %s", routing.source, reason, url, extra={LOGGED_AS_EVENT: True})

    def _stat(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"nianbao/{key}", count)


@dataclass(frozen=True)
class _Page:
    text: str
    sel: Selector


def _decoded(response: TextResponse) -> _Page:
    """The page's text decoded the way the parser decodes it (BOM, header, <meta>, then the bytes themselves):
    sites that declare the wrong charset still show readable titles and 附件 labels."""
    ctype = (response.headers.get("Content-Type") or b"").decode("latin-1")
    text = decode(response.body, {"Content-Type": ctype} if ctype else None, response.url).text
    return _Page(text=text, sel=Selector(text=text))


def _path(discovery: Iterable[str], url: str) -> list[str]:
    """``discovery`` extended by ``url`` (not repeated when it is already the last step)."""
    steps = list(discovery)
    return steps if steps and steps[-1] == url else [*steps, url]


def _join(base: str, href: str) -> str | None:
    href = href.strip()
    if not href or href.lower().startswith(("javascript:", "mailto:", "#")):
        return None
    url = urljoin(base, href)
    return url if urlsplit(url).scheme in ("http", "https") else None


def _agency_from_column_title(title: str) -> str | None:
    for marker in ("政府信息公开", "政务公开", "信息公开", "年度报告", "年报"):
        head = title.split(marker, 1)[0].strip(" ·-—|:：")
        if head != title and head:
            return head
    return None
