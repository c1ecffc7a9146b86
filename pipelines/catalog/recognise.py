"""Which captures of a WARC are reports, and parsing one: the steps ``scrapy rebuild`` and catch-up share.

Report captures are recognised from the ``metadata`` records written at crawl time (role ``report``/``attachment``,
or a ``detail`` page that is a report by the spider's own rule, :func:`crawler.families.links.is_report_page`);
WARCs without them (other tools') fall back to the same title rules the spider uses on listings
(:mod:`crawler.titles`). Each report goes through :func:`pipelines.catalog.processing.process_capture`, the very
function the live item pipeline calls, so the rebuilt catalog equals the live one.

A report page whose article shows pictures (:func:`crawler.families.links.article_pictures`, the spider's rule) is
parsed with the pictures the crawl archived for it (:mod:`pipelines.catalog.pictures`): those come after the page
in the WARCs, so its first parse answers :class:`Awaiting` and the page is parsed again once they are gathered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parsel import Selector

from archive.payload import PayloadTooLarge
from archive.reader import Capture, DamagedRecord, read_capture_at
from crawler.families.links import (
    article_pictures,
    followed_attachments,
    is_document_url,
    is_report_page,
    may_show_pictures,
    report_links,
)
from crawler.routing import PAGE_ROLES, Routing
from crawler.textfix import decode
from crawler.titles import match_report_title
from pipelines.catalog.capture_info import CaptureInfo, content_type_of
from pipelines.catalog.processing import process_capture
from pipelines.catalog.store import StoreEntry

NOT_MODIFIED = "server-not-modified"


@dataclass(frozen=True)
class Damaged:
    warc_file: str
    offset: int | None
    reason: str

    @classmethod
    def of(cls, record: DamagedRecord) -> Damaged:
        """The reader's report of a damaged record, with the file's name only."""
        return cls(Path(record.warc_file).name, record.offset, record.reason)

    def __str__(self) -> str:
        where = f"{self.warc_file}@{self.offset}" if self.offset is not None else self.warc_file
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class Candidate:
    """A capture that may be a report: what a worker process needs to decide and parse it."""

    body: bytes
    capture: CaptureInfo
    content_type_header: str | None
    check_page: bool  # a detail page: a report only by crawler.families.links.is_report_page (the spider's rule)
    charset: str | None = None  # detected at crawl time (metadata record), so the check need not detect again
    doc_links: bool | None = None  # the metadata's outlinks include a PDF/DOCX/DOC (None: no outlinks recorded)
    # a page's pictures (URL, bytes) as archived for it; None: not gathered yet (a page that shows some awaits them)
    resources: tuple[tuple[str, bytes], ...] | None = None


@dataclass(frozen=True)
class Awaiting:
    """The answer for a report page whose article shows pictures, parsed before they were gathered: parse it again
    with them (:class:`pipelines.catalog.pictures.PagePictures`)."""

    record_id: str
    warc_file: str  # basename, as the capture's CaptureInfo names it
    offset: int | None
    pictures: tuple[str, ...]  # what the spider's rule picks (the crawl fetched those it could)


class Unresolved(Exception):
    """A report's revisit record whose original is not in the WARCs read, or cannot be read."""


@dataclass(frozen=True)
class Described:
    """What a capture's metadata record says: the spider's routing record and what the archive added."""

    routing: Routing
    charset: str | None
    doc_links: bool | None

    @classmethod
    def of(cls, metadata: Mapping[str, Any] | None) -> Described | None:
        if not metadata:
            return None
        charset = metadata.get("charset")
        return cls(Routing.from_metadata(metadata), charset if isinstance(charset, str) else None,
                   _doc_links(metadata))


@dataclass(frozen=True)
class Seen:
    """Where a capture is, and (for report-like ones) what its metadata record said: a revisit of the same URL
    carries no metadata record of its own, it repeats its original's."""

    warc_file: str
    offset: int
    described: Described | None


def remember(cap: Capture, seen: dict[str, Seen], described: Described | None = None) -> None:
    """Note where ``cap`` is, so a later revisit can find its original."""
    if described is None:
        described = Described.of(cap.metadata)
    if described is not None and described.routing.role not in PAGE_ROLES:
        described = None
    entry = Seen(cap.warc_file, cap.offset, described)
    seen[cap.record_id] = entry
    if described is not None:
        seen[f"{cap.url} {cap.captured_at}"] = entry


def recognise(cap: Capture, linked: dict[str, str], seen: dict[str, Seen], by_title: bool) -> Candidate | None:
    original: Seen | None = None
    described = Described.of(cap.metadata)
    if cap.record_type == "revisit":
        original = seen.get(cap.refers_to or "") or seen.get(f"{cap.refers_to_uri} {cap.refers_to_date}")
        if described is None and original is not None and cap.refers_to_uri == cap.url:
            described = original.described
        if original is None and (described is None or described.routing.role in PAGE_ROLES):
            raise Unresolved(f"{Path(cap.warc_file).name}@{cap.offset} {cap.url} (refers to {cap.refers_to})")
    if cap.record_type != "revisit":
        remember(cap, seen, described)
    role = described.routing.role or None if described is not None else None
    if (role is None and not by_title) or (role is not None and role not in PAGE_ROLES):
        return None
    source: Capture = cap
    try:
        body = cap.payload
    except PayloadTooLarge as e:
        raise Unresolved(f"{Path(cap.warc_file).name}@{cap.offset} {cap.url}: {e}") from e
    if cap.record_type == "revisit":
        assert original is not None
        where = f"{Path(cap.warc_file).name}@{cap.offset} {cap.url} (refers to {cap.refers_to})"
        try:
            prior = read_capture_at(original.warc_file, original.offset)
        except (LookupError, OSError) as e:
            raise Unresolved(f"{where}: {e}") from e
        try:
            body = prior.payload
        except PayloadTooLarge as e:
            raise Unresolved(f"{where}: {e}") from e
        if (cap.profile or "").endswith(NOT_MODIFIED):
            source = prior  # the crawl handed the spider the earlier response in place of the 304
    if source.status is None or not 200 <= source.status < 300:
        return None
    ctype_header = source.header("Content-Type") or source.mime
    if described is None or role is None:
        return _recognise_by_title(cap, body, ctype_header, linked)
    return Candidate(body, _capture_info(cap, described.routing, body, ctype_header, source.status), ctype_header,
                     role == "detail", described.charset, described.doc_links)


def _doc_links(meta: Mapping[str, Any]) -> bool | None:
    """Whether the page links any document, from the outlinks its metadata record lists (``None``: not listed).
    A page without one cannot have attachments, so the HTML need not be parsed to find out."""
    outlinks = meta.get("outlinks")
    if not isinstance(outlinks, list):
        return None
    return any(is_document_url(str(u)) for u in outlinks)


def _capture_info(cap: Capture, routing: Routing, body: bytes, ctype_header: str | None,
                  status: int | None = None) -> CaptureInfo:
    # the routing record named the URL asked for; after a redirect the spider's item names the final one
    return CaptureInfo.of_capture(
        cap.url, cap.record_id, body, routing.reached(cap.url),
        captured_at=cap.captured_at, warc_file=Path(cap.warc_file).name, warc_offset=cap.offset,
        status=status if status is not None else cap.status,
        content_type=content_type_of({"content-type": ctype_header} if ctype_header else None),
    )


def _recognise_by_title(cap: Capture, body: bytes, ctype_header: str | None,
                        linked: dict[str, str]) -> Candidate | None:
    """No metadata record (another tool's WARC): a report is a page or document that a listing links with a
    report title, or an HTML page whose own title is one (the spider's title rules, :mod:`crawler.titles`)."""
    url = cap.url
    ctype = content_type_of({"content-type": ctype_header} if ctype_header else None) or ""
    is_html = "html" in ctype or "xml" in ctype
    if url in linked:
        document = is_document_url(url)
        routing = Routing(role="report" if document else "detail", list_title=linked[url], discovery=(url,))
        return Candidate(body, _capture_info(cap, routing, body, ctype_header), ctype_header, not document)
    if not is_html:
        return None
    text = _html_text(body, ctype_header)
    sel = Selector(text=text)
    for link in report_links(sel, url):
        linked.setdefault(link.url, link.title)
    own = " ".join(sel.xpath("//title//text()").getall()).strip()
    if own and match_report_title(own) is not None:
        routing = Routing(role="detail", discovery=(url,))
        return Candidate(body, _capture_info(cap, routing, body, ctype_header), ctype_header, True)
    return None


def _html_text(body: bytes, ctype_header: str | None, charset: str | None = None) -> str:
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass  # a name Python does not know: detect again
    return decode(body, {"Content-Type": ctype_header} if ctype_header else None).text


# --- parsing, in worker processes -------------------------------------------------------------------------


def parse_candidate(c: Candidate, seconds: float | None = None, hard: bool = False) -> StoreEntry | Awaiting | None:
    """Parse one candidate (in a worker process); ``None`` when it is a detail page whose report is its
    attachments (the spider yields those instead of the page); :class:`Awaiting` when it is a report page whose
    pictures have not been gathered yet."""
    if c.check_page and not _is_report_page(c):
        return None
    if c.resources is None and c.check_page:
        pictures = _shown_pictures(c)
        if pictures:
            return Awaiting(c.capture.record_id, c.capture.warc_file or "", c.capture.warc_offset, pictures)
    return process_capture(c.body, c.capture, c.content_type_header, dict(c.resources or ()), seconds=seconds,
                           hard=hard)


def _shown_pictures(c: Candidate) -> tuple[str, ...]:
    """The pictures the spider fetched with this page, by its rule (:func:`crawler.families.links.
    article_pictures`): only for a page it read as HTML (not a document) whose bytes hold an ``<img>``."""
    ctype = c.capture.content_type or ""
    if is_document_url(c.capture.url) or not ("html" in ctype or "xml" in ctype or ctype.startswith("text/")):
        return ()
    if not may_show_pictures(c.body):
        return ()
    sel = Selector(text=_html_text(c.body, c.content_type_header, c.charset))
    return tuple(article_pictures(sel, c.capture.url, c.capture.routing.allows))


def _is_report_page(c: Candidate) -> bool:
    """The spider's rule (:func:`crawler.families.links.is_report_page`) on the archived page, with the routing
    record the spider made for it (the source's domains decide which attachments the crawl followed)."""
    ctype = c.capture.content_type or ""
    if c.doc_links is False:
        return True  # it links no document at all: nothing to have been followed (the spider's shortcut too)
    if is_document_url(c.capture.url) or not ("html" in ctype or "xml" in ctype or ctype.startswith("text/")):
        return True
    sel = Selector(text=_html_text(c.body, c.content_type_header, c.charset))
    return is_report_page(sel, followed_attachments(sel, c.capture.url, c.capture.routing.allows))
