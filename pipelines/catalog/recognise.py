"""Which captures of a WARC are reports, and parsing one: the steps ``scrapy rebuild`` and catch-up share.

Report captures are recognised from the ``metadata`` records written at crawl time (role ``report``/``attachment``,
or a ``detail`` page that is a report by the spider's own rule, :func:`crawler.families.links.is_report_page`);
WARCs without them (other tools') fall back to the same title rules the spider uses on listings
(:mod:`crawler.titles`). Each report goes through :func:`pipelines.catalog.processing.process_capture`, the very
function the live item pipeline calls, so the rebuilt catalog equals the live one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parsel import Selector

from archive.payload import PayloadTooLarge
from archive.reader import Capture, DamagedRecord, read_capture_at
from crawler.families.links import attachment_links, carries_report_text, is_document_url, report_links
from crawler.textfix import decode
from crawler.titles import match_report_title
from pipelines.catalog.capture_info import CaptureInfo, content_type_of
from pipelines.catalog.processing import process_capture
from pipelines.catalog.store import StoreEntry

REPORT_ROLES = ("report", "attachment")


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
    check_attachments: bool  # a detail page: a report only when it links no attachments (spider's rule)
    charset: str | None = None  # detected at crawl time (metadata record), so the check need not detect again
    doc_links: bool | None = None  # the metadata's outlinks include a PDF/DOCX/DOC (None: no outlinks recorded)


_ROUTING_KEYS = ("role", "source", "agency", "family", "discovery", "list_title", "list_date", "attachment_of",
                 "charset")
NOT_MODIFIED = "server-not-modified"


class Unresolved(Exception):
    """A report's revisit record whose original is not in the WARCs read, or cannot be read."""


@dataclass(frozen=True)
class Seen:
    """Where a capture is, and (for report-like ones) the routing part of its metadata: a revisit of the same URL
    carries no metadata record of its own, it repeats its original's."""

    warc_file: str
    offset: int
    meta: dict[str, Any] | None


def remember(cap: Capture, meta: dict[str, Any] | None, seen: dict[str, Seen]) -> None:
    routing = None
    if meta is not None and meta.get("role") in (*REPORT_ROLES, "detail"):
        routing = {k: meta.get(k) for k in _ROUTING_KEYS}
        routing["doc_links"] = _doc_links(meta)
    entry = Seen(cap.warc_file, cap.offset, routing)
    seen[cap.record_id] = entry
    if routing is not None:
        seen[f"{cap.url} {cap.captured_at}"] = entry


def recognise(cap: Capture, linked: dict[str, str], seen: dict[str, Seen], by_title: bool) -> Candidate | None:
    original: Seen | None = None
    meta: dict[str, Any] | None = dict(cap.metadata) if cap.metadata else None
    if cap.record_type == "revisit":
        original = seen.get(cap.refers_to or "") or seen.get(f"{cap.refers_to_uri} {cap.refers_to_date}")
        if meta is None and original is not None and original.meta is not None and cap.refers_to_uri == cap.url:
            meta = dict(original.meta)
        if original is None and (meta is None or meta.get("role") in (*REPORT_ROLES, "detail")):
            raise Unresolved(f"{Path(cap.warc_file).name}@{cap.offset} {cap.url} (refers to {cap.refers_to})")
    if cap.record_type != "revisit":
        remember(cap, meta, seen)
    role = (meta or {}).get("role")
    if (role is None and not by_title) or (role is not None and role not in (*REPORT_ROLES, "detail")):
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
    if role is None:
        return _recognise_by_title(cap, body, ctype_header, linked)
    assert meta is not None
    charset = meta.get("charset")
    doc_links = meta["doc_links"] if "doc_links" in meta else _doc_links(meta)
    return Candidate(body, _capture_info(cap, meta, body, ctype_header, source.status), ctype_header,
                     role == "detail", charset if isinstance(charset, str) else None, doc_links)


def _doc_links(meta: dict[str, Any]) -> bool | None:
    """Whether the page links any document, from the outlinks its metadata record lists (``None``: not listed).
    A page without one cannot have attachments, so the HTML need not be parsed to find out."""
    outlinks = meta.get("outlinks")
    if not isinstance(outlinks, list):
        return None
    return any(is_document_url(str(u)) for u in outlinks)


def _capture_info(cap: Capture, meta: dict[str, Any], body: bytes, ctype_header: str | None,
                  status: int | None = None) -> CaptureInfo:
    url = cap.url
    discovery = list(meta.get("discovery") or [])
    if discovery and discovery[-1] != url:
        discovery[-1] = url  # followed a redirect: the spider's item names the final URL, as the capture does
    elif not discovery:
        discovery = [url]
    return CaptureInfo.of_capture(
        url, cap.record_id, body, meta,
        captured_at=cap.captured_at, warc_file=Path(cap.warc_file).name, warc_offset=cap.offset,
        status=status if status is not None else cap.status,
        content_type=content_type_of({"content-type": ctype_header} if ctype_header else None),
        discovery=discovery,
    )


def _recognise_by_title(cap: Capture, body: bytes, ctype_header: str | None,
                        linked: dict[str, str]) -> Candidate | None:
    """No metadata record (another tool's WARC): a report is a page or document that a listing links with a
    report title, or an HTML page whose own title is one (the spider's title rules, :mod:`crawler.titles`)."""
    url = cap.url
    ctype = content_type_of({"content-type": ctype_header} if ctype_header else None) or ""
    is_html = "html" in ctype or "xml" in ctype
    if url in linked:
        meta = {"list_title": linked[url], "discovery": [url]}
        return Candidate(body, _capture_info(cap, meta, body, ctype_header), ctype_header, not is_document_url(url))
    if not is_html:
        return None
    text = _html_text(body, ctype_header)
    sel = Selector(text=text)
    for link in report_links(sel, url):
        linked.setdefault(link.url, link.title)
    own = " ".join(sel.xpath("//title//text()").getall()).strip()
    if own and match_report_title(own) is not None:
        return Candidate(body, _capture_info(cap, {"discovery": [url]}, body, ctype_header), ctype_header, True)
    return None


def _html_text(body: bytes, ctype_header: str | None, charset: str | None = None) -> str:
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass  # a name Python does not know: detect again
    return decode(body, {"Content-Type": ctype_header} if ctype_header else None).text


# --- parsing, in worker processes -------------------------------------------------------------------------


def parse_candidate(c: Candidate) -> StoreEntry | None:
    """Parse one candidate (in a worker process); ``None`` when it is a detail page whose report is its
    attachments (the spider yields those instead of the page)."""
    if c.check_attachments and _has_attachments(c):
        return None
    return process_capture(c.body, c.capture, c.content_type_header)


def _has_attachments(c: Candidate) -> bool:
    ctype = c.capture.content_type or ""
    if c.doc_links is False:
        return False
    if is_document_url(c.capture.url) or not ("html" in ctype or "xml" in ctype or ctype.startswith("text/")):
        return False
    sel = Selector(text=_html_text(c.body, c.content_type_header, c.charset))
    # a page that prints the report and links a copy is a report too (the spider yields both)
    return bool(attachment_links(sel, c.capture.url)) and not carries_report_text(sel)
