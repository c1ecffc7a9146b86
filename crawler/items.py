"""The item that carries one report from the spider to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field

from archive.recorder import CaptureStamp
from crawler.routing import Routing
from pipelines.catalog.store import StoreEntry


@dataclass
class ReportItem:
    """One report capture: raw bytes plus the routing record of its request. Spiders fill it; they never parse
    content."""

    url: str  # the URL the response came from (after redirects)
    body: bytes
    routing: Routing  # the record the spider made for the request, its discovery path ending at ``url``
    headers: dict[str, list[str]] = field(default_factory=dict)
    status: int = 200
    content_type: str | None = None
    archived: CaptureStamp | None = None  # where the archive put the response (None: not archived)
    catalog_entry: StoreEntry | None = None  # set by ParseReportPipeline for CatalogStorePipeline
    # the pictures a report page's article shows, fetched (and archived) with it: absolute URL -> bytes as decoded
    # from Content-Encoding (the parser reads tables published as pictures from them by OCR)
    resources: dict[str, bytes] = field(default_factory=dict)
