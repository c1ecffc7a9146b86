"""Browser capture for scrapy-playwright requests (the Scrapy side of it; what it writes goes through the same
:class:`archive.recorder.Recorder` as every HTTP capture).

A rendered page is not an HTTP response. What the browser received on the network (the document, XHR/JSON
list data, scripts…) is written as response records; the rendered DOM the spider gets is written as a
`resource` record under `urn:dom:<url>`. Playwright hands over bodies already content-decoded, so the
Content-Encoding / Content-Length / Transfer-Encoding headers are kept renamed (`X-Archive-Orig-*`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.http import Response

from .cdxj import IndexInfo
from .metadata import metadata_content
from .recorder import META_STAMP, Recorder, index_info, metadata_of
from .records import (
    Exchange,
    metadata_record,
    new_record_id,
    request_record,
    resource_record,
    response_record,
    warc_date,
)
from .urls import dom_urn, target_uri
from .writer import BuiltRecord

logger = logging.getLogger("archive.browser")

META_LISTENER = "archive_browser_key"
_RENAMED = {"content-encoding", "content-length", "transfer-encoding"}
_COLLECT_TIMEOUT = 10.0
_keys = itertools.count()
_TRAFFIC: dict[str, list[asyncio.Future[Exchange | None]]] = {}


class NetworkListener:
    """A Playwright `response` event handler that is picklable (it holds only a key), so requests carrying it
    can still go to a disk queue."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, response: Any) -> None:
        tasks = _TRAFFIC.get(self.key)
        if tasks is not None:
            tasks.append(asyncio.ensure_future(_exchange(response)))


def _header_pairs(array: list[dict[str, str]], body_decoded: bool) -> list[tuple[str, str]]:
    out = []
    encoded = any(h["name"].lower() == "content-encoding" for h in array)
    for h in array:
        name = h["name"]
        if name.startswith(":"):
            continue  # HTTP/2 pseudo-headers
        if (body_decoded and encoded and name.lower() in _RENAMED) or name.lower() == "transfer-encoding":
            name = "X-Archive-Orig-" + name
        out.append((name, h["value"]))
    return out


async def _exchange(response: Any) -> Exchange | None:
    try:
        req = response.request
        try:
            body = await response.body()
        except Exception:  # redirects and aborted loads have no body in Playwright
            body = b""
        headers = await response.headers_array()
        req_headers = await req.headers_array()
        server = await response.server_addr()
    except Exception as exc:  # the page may be gone; the capture of the rest must go on
        logger.debug("archive: browser response not captured: %r", exc)
        return None
    return Exchange(url=response.url, method=req.method, request_headers=_header_pairs(req_headers, False),
                    request_body=req.post_data_buffer or b"", status=response.status,
                    response_headers=_header_pairs(headers, True), body=body,
                    date=warc_date(datetime.now(UTC)),
                    ip_address=(server or {}).get("ipAddress"))


def _network_records(ex: Exchange) -> list[BuiltRecord]:
    """Response (or revisit) and request records of one browser exchange; a same-URL revisit alone."""
    rec = response_record(ex)
    info = index_info(ex, rec)
    if ex.revisit is not None and ex.revisit.uri == target_uri(ex.url):
        return [(rec, info)]
    return [(rec, info), (request_record(ex), None)]


@dataclass
class BrowserCapture:
    recorder: Recorder

    def process_request(self, request: Request) -> None:
        key = f"{id(self)}-{next(_keys)}"
        _TRAFFIC[key] = []
        handlers = dict(request.meta.get("playwright_page_event_handlers") or {})
        handlers["response"] = NetworkListener(key)
        request.meta["playwright_page_event_handlers"] = handlers
        request.meta[META_LISTENER] = key

    async def _collect(self, request: Request) -> list[Exchange]:
        key = request.meta.pop(META_LISTENER, None)
        tasks = _TRAFFIC.pop(key, []) if key else []
        handlers = request.meta.get("playwright_page_event_handlers")
        if isinstance(handlers, dict):
            handlers.pop("response", None)
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=_COLLECT_TIMEOUT)
        for t in pending:
            t.cancel()
        return [ex for t in done if not t.cancelled() and t.exception() is None and (ex := t.result()) is not None]

    async def process_exception(self, request: Request) -> None:
        """The page failed (timeout, crash): what the browser did receive is archived all the same."""
        exchanges = await self._collect(request)
        if not exchanges or self.recorder.writer is None:
            return

        def build() -> list[BuiltRecord]:
            return [rec for ex in exchanges for rec in _network_records(ex)]

        self.recorder.submit(build, sum(len(ex.body) + 2048 for ex in exchanges))
        self.recorder.count("archive/browser_failed_pages", 1)
        self.recorder.count("archive/browser_responses", len(exchanges))

    async def process_response(self, request: Request, response: Response) -> Response:
        exchanges = await self._collect(request)
        recorder = self.recorder
        for ex in exchanges:
            recorder.dedup_exchange(ex)
        date = warc_date(datetime.now(UTC))
        dom_id = new_record_id()
        document = next((ex for ex in exchanges if ex.url == response.url), None)
        meta_fields = metadata_of(request.meta.get("archive_metadata"))
        body = response.body

        def build() -> list[BuiltRecord]:
            out: list[BuiltRecord] = [rec for ex in exchanges for rec in _network_records(ex)]
            dom = resource_record(dom_urn(response.url), date, "text/html; charset=utf-8", body, record_id=dom_id,
                                  concurrent_to=document.record_id if document else None,
                                  source_uri=response.url)
            out.append((dom, IndexInfo(url=dom_urn(response.url), date=date, record_type="resource", status=200,
                                       mime="text/html", digest=dom.rec_headers.get_header("WARC-Payload-Digest"))))
            if meta_fields is not None:
                content = metadata_content(meta_fields, body, [("Content-Type", "text/html; charset=utf-8")],
                                           response.url)
                out.append((metadata_record(dom_urn(response.url), date, dom_id, content), None))
            return out

        size = len(body) + sum(len(ex.body) + 2048 for ex in exchanges) + 2048
        name, stamp = recorder.submit(build, size, tuple(exchanges), stamp_of=(dom_id, date))
        for ex in exchanges:
            recorder.remember_payload(ex, name)
        request.meta["archive_record_id"] = dom_id
        request.meta["archive_captured_at"] = date
        request.meta["archive_warc_file"] = name
        request.meta[META_STAMP] = stamp
        if document is not None:
            request.meta["archive_document_record_id"] = document.record_id
        recorder.count("archive/browser_pages", 1)
        recorder.count("archive/browser_responses", len(exchanges))
        return response
