"""A request's routing record: what the spider knows about a page when it asks for it.

The spider makes one :class:`Routing` per request and puts it in ``request.meta[META_KEY]``; the capture layer
writes its :meth:`Routing.metadata_fields` into the WARC ``metadata`` record of the response; the spider's
:class:`crawler.items.ReportItem` carries the same object, and the catalog row is written from it
(:class:`pipelines.catalog.capture_info.CaptureInfo`). ``scrapy rebuild`` reads it back from the metadata record
(:meth:`Routing.from_metadata`), so a live crawl and a rebuild start from the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

#: The request meta key (the capture layer's ``archive_metadata``: it writes any mapping, or any object with
#: ``metadata_fields()``, into the metadata record).
META_KEY = "archive_metadata"

#: Roles whose capture is a report by itself; a ``detail`` page is one when :func:`crawler.families.links.
#: is_report_page` says so; a ``listing`` never is, nor a ``resource`` (a picture a report page shows, fetched with
#: it for OCR: :func:`crawler.families.links.article_pictures`).
REPORT_ROLES = frozenset({"report", "attachment"})
PAGE_ROLES = frozenset({"report", "attachment", "detail"})


@dataclass(frozen=True)
class Routing:
    role: str  # "listing", "detail", "report" (a document linked from a listing), "attachment" or "resource"
    source: str | None = None  # the sources.toml entry
    agency: str | None = None
    family: str | None = None  # the portal family the column was read as
    discovery: tuple[str, ...] = ()  # column → list page → … → this URL
    list_title: str | None = None  # the title the listing gave the link
    list_date: str | None = None
    list_year: int | None = None  # the year in that title
    attachment_of: str | None = None  # the detail page that links this attachment
    domains: tuple[str, ...] = ()  # the source's allowed domains (empty: any): the attachments the crawl follows
    # a resource: the WARC-Record-ID of the report page capture it was fetched for (the page's parse reads it)
    resource_of: str | None = None

    @property
    def url(self) -> str | None:
        return self.discovery[-1] if self.discovery else None

    def allows(self, url: str) -> bool:
        """Whether ``url`` is in the source's allowed domains (a subdomain of one; ``host:port`` pins the port)."""
        return not self.domains or host_allowed(self.domains, url)

    def reached(self, url: str) -> Routing:
        """This record for the URL the request finally reached (after redirects): the last step of the
        discovery path is that URL."""
        if not self.discovery:
            return replace(self, discovery=(url,))
        if self.discovery[-1] == url:
            return self
        return replace(self, discovery=(*self.discovery[:-1], url))

    def metadata_fields(self) -> dict[str, Any]:
        """The record as the WARC metadata record holds it (JSON values)."""
        fields = {"role": self.role, "source": self.source, "agency": self.agency, "family": self.family,
                  "discovery": list(self.discovery), "list_title": self.list_title, "list_date": self.list_date,
                  "list_year": self.list_year, "attachment_of": self.attachment_of, "domains": list(self.domains)}
        if self.resource_of is not None:  # only resources carry it: every other metadata record is as it was
            fields["resource_of"] = self.resource_of
        return fields

    @classmethod
    def from_metadata(cls, fields: Mapping[str, Any]) -> Routing:
        """The record a metadata record (or an older crawl's, or a tool's ``archive_metadata`` dict) describes;
        keys it lacks are ``None``/empty."""
        year = fields.get("list_year")
        return cls(
            role=str(fields.get("role") or ""), source=_text(fields.get("source")), agency=_text(fields.get("agency")),
            family=_text(fields.get("family")), discovery=tuple(str(u) for u in fields.get("discovery") or ()),
            list_title=_text(fields.get("list_title")), list_date=_text(fields.get("list_date")),
            list_year=year if isinstance(year, int) else None, attachment_of=_text(fields.get("attachment_of")),
            domains=tuple(str(d) for d in fields.get("domains") or ()), resource_of=_text(fields.get("resource_of")),
        )


def routing_of(meta: Mapping[str, Any]) -> Routing | None:
    """The routing record of a request's meta: the spider's :class:`Routing`, or a plain ``archive_metadata``
    dict another spider or tool set."""
    value = meta.get(META_KEY)
    if isinstance(value, Routing):
        return value
    if isinstance(value, Mapping):
        return Routing.from_metadata(value)
    return None


def host_allowed(domains: tuple[str, ...], url: str) -> bool:
    """True when ``url``'s host is one of ``domains`` or a subdomain of one (``host:port`` also pins the port)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port
    for dom in domains:
        dhost, _, dport = dom.lower().partition(":")
        if dport and (port is None or str(port) != dport):
            continue
        if host == dhost or host.endswith("." + dhost):
            return True
    return False


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = ["META_KEY", "PAGE_ROLES", "REPORT_ROLES", "Routing", "host_allowed", "routing_of"]
