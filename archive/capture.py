"""The capture middleware: every response the crawl receives goes into the WARCs, as received.

Ordered at 950, after (on the response path: before) HttpCompressionMiddleware (590) and RedirectMiddleware
(600): the body is still content-encoded, each redirect hop and each retried response is seen, and the request
headers are final. The reactor thread only gathers values, hashes the body and queues the group; building,
gzip and disk I/O happen on the writer thread (`archive.writer`).
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Coroutine
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import scrapy
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from crawler.diskfull import stop_crawl

from .browser import BrowserCapture
from .config import ArchiveConfig
from .dedup import UrlRef
from .reader import Capture, read_capture_at
from .recorder import META_STAMP, Recorder, build_group, metadata_of
from .records import PROFILE_NOT_MODIFIED, Exchange, RevisitOf, cached_target_uri, sha1_digest, warc_date

logger = logging.getLogger("archive.capture")

META_RECORD_ID = "archive_record_id"
META_CAPTURED_AT = "archive_captured_at"
META_WARC_FILE = "archive_warc_file"
META_METADATA = "archive_metadata"
META_SKIP = "archive_skip"
META_CONDITIONAL = "archive_conditional"
# bool: a revisit of this request keeps its own metadata record (its archive_metadata is not the earlier capture's:
# a picture fetched again for another capture of the page that shows it)
META_REVISIT_METADATA = "archive_revisit_metadata"


def _pairs(headers: Any) -> list[tuple[str, str]]:
    out = []
    # Scrapy's Headers keep normalised names and lists of bytes: its own items() looks each name up again
    items = dict.items(headers) if type(headers) is Headers else headers.items()
    for name, values in items:
        n = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for v in values:
            out.append((n, v.decode("latin-1") if isinstance(v, bytes) else str(v)))
    return out


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def warcinfo_fields(crawler: Crawler, cfg: ArchiveConfig) -> list[tuple[str, str]]:
    s = crawler.settings
    spider = getattr(crawler, "spidercls", None)
    config = {
        "spider": getattr(spider, "name", None),
        "sources": s.get("NIANBAO_SOURCES"),
        "concurrent_requests": s.getint("CONCURRENT_REQUESTS"),
        "concurrent_requests_per_domain": s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
        "download_delay": s.getfloat("DOWNLOAD_DELAY"),
        "autothrottle": s.getbool("AUTOTHROTTLE_ENABLED"),
        "depth_limit": s.getint("DEPTH_LIMIT"),
        "warc_max_size": cfg.max_size,
        "dedup": cfg.dedup,
        "conditional_requests": cfg.conditional,
    }
    return [
        ("software", f"nianbao/{_version('nianbao')} (Scrapy {scrapy.__version__}, warcio {_version('warcio')})"),
        ("format", "WARC File Format 1.1"),
        ("conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"),
        ("hostname", socket.gethostname()),
        ("operator", cfg.operator),
        ("isPartOf", s.get("BOT_NAME") or "nianbao"),
        ("robots", "obey" if s.getbool("ROBOTSTXT_OBEY") else "ignore"),
        ("http-header-user-agent", s.get("USER_AGENT") or ""),
        ("crawl-configuration", json.dumps(config, sort_keys=True, ensure_ascii=False)),
    ]


class WarcCaptureMiddleware:
    """Downloader middleware writing every response (and its request) to rotating WARC files."""

    def __init__(self, crawler: Crawler, cfg: ArchiveConfig) -> None:
        self.crawler = crawler
        self.cfg = cfg
        self.stats = crawler.stats
        self.recorder = Recorder(cfg, self._inc, warcinfo_fields(crawler, cfg),
                                 on_failure=lambda exc: stop_crawl(crawler, "WARC records", exc))
        self.browser = BrowserCapture(self.recorder) if cfg.browser_capture else None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        cfg = ArchiveConfig.from_settings(crawler.settings)
        if not cfg.enabled:
            raise NotConfigured("ARCHIVE_ENABLED is False: responses are not archived")
        return cls(crawler, cfg)

    # --- lifecycle ------------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        self.recorder.open()

    async def spider_closed(self, spider: Spider) -> None:
        await maybe_deferred_to_future(threads.deferToThread(self.close))

    def close(self) -> list[Path]:
        files = self.recorder.close()
        writer = self.recorder.writer
        if writer is not None and self.stats is not None:
            self.stats.set_value("archive/writer_busy_seconds", round(writer.busy_seconds, 3))
        return files

    def _inc(self, key: str, n: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, n)

    # --- requests -------------------------------------------------------------------------------

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.meta.get("playwright") and self.browser is not None and not request.meta.get(META_SKIP):
            self.browser.process_request(request)
            return None
        if request.meta.pop(META_CONDITIONAL, None):
            # a redirect hop or a retry copies our validators; they belong to the URL they were made for
            for name in (b"If-None-Match", b"If-Modified-Since"):
                request.headers.pop(name, None)
        dedup = self.recorder.dedup
        if not self.cfg.conditional or dedup is None or request.method != "GET":
            return None
        if request.meta.get(META_SKIP) or request.meta.get("playwright"):
            return None
        ref = dedup.urls.get(request.url)
        if ref is None or ref.payload.offset is None:
            return None
        if b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return None
        if not (self.cfg.warc_dir / ref.payload.warc_file).exists():
            return None
        if ref.etag:
            request.headers[b"If-None-Match"] = ref.etag.encode("latin-1")
        if ref.last_modified:
            request.headers[b"If-Modified-Since"] = ref.last_modified.encode("latin-1")
        if ref.etag or ref.last_modified:
            request.meta[META_CONDITIONAL] = True
        return None

    def process_exception(self, request: Request, exception: BaseException,
                          spider: Spider | None = None) -> Coroutine[Any, Any, None] | None:
        if request.meta.get("playwright") and self.browser is not None and not request.meta.get(META_SKIP):
            return self.browser.process_exception(request)
        return None

    # --- responses ------------------------------------------------------------------------------

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response | Coroutine[Any, Any, Response]:
        if request.meta.get(META_SKIP) or "cached" in response.flags or "archive:replayed" in response.flags:
            return response
        self.recorder.open()
        if request.meta.get("playwright") and self.browser is not None:
            return self.browser.process_response(request, response)
        return self.archive_http(request, response)

    def archive_http(self, request: Request, response: Response) -> Response | Coroutine[Any, Any, Response]:
        now = datetime.now(UTC)
        date = warc_date(now)
        body = response.body
        protocol = response.protocol if (response.protocol or "").startswith("HTTP/") else "HTTP/1.1"
        ex = Exchange(
            url=response.url, method=request.method, request_headers=_pairs(request.headers),
            request_body=request.body or b"", status=response.status, response_headers=_pairs(response.headers),
            body=body, date=date, protocol=protocol or "HTTP/1.1",
            ip_address=str(response.ip_address) if response.ip_address is not None else None,
        )
        ex.payload_digest = sha1_digest(body)
        if "dataloss" in response.flags:  # DOWNLOAD_FAIL_ON_DATALOSS off: the body is what arrived before the cut
            ex.truncated = "disconnect"
            self._inc("archive/truncated")
        dedup = self.recorder.dedup
        if response.status == 304 and request.meta.get(META_CONDITIONAL) and dedup is not None:
            ref = dedup.urls.get(request.url)
            if ref is not None and ref.payload.offset is not None:
                return self._not_modified(request, response, ex, ref)
        self.recorder.dedup_exchange(ex)
        return self._submit(request, response, ex, None)

    def _submit(self, request: Request, response: Response, ex: Exchange, replay: Response | None) -> Response:
        """Queue the group and put the record id, date and file on the request's meta (synchronously)."""
        body, date = ex.body, ex.date
        meta_fields = metadata_of(request.meta.get(META_METADATA))
        # A revisit of the same URL repeats what its earlier capture's request and metadata said; one of another
        # URL (the same report posted twice) keeps them, so a rebuild still knows what that URL was.
        full = (ex.revisit is None or self.cfg.revisit_full or ex.revisit.uri != cached_target_uri(ex.url)
                or bool(request.meta.get(META_REVISIT_METADATA)))
        # metadata describes the payload: for a 304 that is the earlier capture's, handed on in `replay`
        meta_source = (replay.body, _pairs(replay.headers)) if replay is not None else (body, ex.response_headers)
        name, stamp = self.recorder.submit(
            lambda: build_group(ex, meta_fields if full else None, full, meta_source),
            len(body) + len(ex.request_body) + 2048, (ex,), stamp_of=(ex.record_id, date))
        etag = response.headers.get(b"ETag")
        lm = response.headers.get(b"Last-Modified")
        self.recorder.remember_url(ex, etag.decode("latin-1") if etag else None,
                                   lm.decode("latin-1") if lm else None, name)
        request.meta[META_RECORD_ID] = ex.record_id
        request.meta[META_CAPTURED_AT] = date
        request.meta[META_WARC_FILE] = name
        request.meta[META_STAMP] = stamp
        self._inc("archive/records_submitted")
        self._inc(f"archive/status/{response.status}")
        return replay if replay is not None else response

    async def _not_modified(self, request: Request, response: Response, ex: Exchange, ref: UrlRef) -> Response:
        """A 304 to our conditional request: a `server-not-modified` revisit, and the previous capture's
        response (read back from its WARC on a thread) handed on to the spider in place of the empty 304."""
        p = ref.payload
        assert p.offset is not None
        ex.revisit = RevisitOf(PROFILE_NOT_MODIFIED, p.uri, p.date, p.record_id, p.digest)
        ex.payload_digest = p.digest
        self._inc("archive/revisit_not_modified")
        try:
            prior = await maybe_deferred_to_future(
                threads.deferToThread(read_capture_at, self.cfg.warc_dir / p.warc_file, p.offset))
        except (LookupError, OSError) as exc:
            logger.warning("archive: 304 for %s but its previous capture cannot be read (%s); passing the 304 on",
                           request.url, exc)
            return self._submit(request, response, ex, None)
        return self._submit(request, response, ex, self._replayed(request, response, prior))

    @staticmethod
    def _replayed(request: Request, response: Response, prior: Capture) -> Response:
        headers = [(k, v) for k, v in prior.headers if k.lower() != "x-archive-orig-transfer-encoding"]
        cls = responsetypes.from_args(headers=None, url=response.url, body=prior.raw_payload)
        hdrs: dict[str, list[str]] = {}
        for k, v in headers:
            hdrs.setdefault(k, []).append(v)
        replay: Response = cls(url=response.url, status=prior.status or 200, headers=hdrs, body=prior.raw_payload,
                               request=request, flags=[*response.flags, "archive:replayed"],
                               ip_address=response.ip_address, protocol=response.protocol)
        return replay


__all__ = ["WarcCaptureMiddleware"]
