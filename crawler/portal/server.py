"""The portal's HTTP server: stdlib ``ThreadingHTTPServer`` in a daemon thread (never Twisted, so tests
can run Scrapy's reactor in the same process).

It speaks HTTP/1.1 with keep-alive, gzip when a page asks for it and the client accepts it, ETag and
Last-Modified with 304 answers to conditional requests, and plays the transient faults.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from crawler.portal.site import Request, Response

if TYPE_CHECKING:
    from crawler.portal.portal import Portal

MAX_FORM_BYTES = 1 << 16


class PortalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], portal: Portal | None = None) -> None:
        self.portal = portal
        super().__init__(address, PortalHandler)


class PortalHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection ends, so no handler thread waits forever
    server_version = "nginx"
    sys_version = ""
    server: PortalServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the portal keeps its own request log (``Portal.hits``)."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        portal = self.server.portal
        if portal is None:  # bound, not yet planned: answer like a starting server
            self._send(Response(status=503, body=b"starting"), method)
            return
        split = urlsplit(self.path)
        form: dict[str, list[str]] = {}
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_FORM_BYTES:
                self._send(Response(status=413, body=b"form too large"), method)
                return
            raw = self.rfile.read(length) if length else b""
            form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        request = Request(method=method, path=split.path, query=parse_qs(split.query, keep_blank_values=True),
                          form=form, headers={k.lower(): v for k, v in self.headers.items()})
        if portal.latency_seconds > 0:
            time.sleep(portal.latency_seconds)
        fault = portal.take_fault(split.path + (f"?{split.query}" if split.query else ""))
        if fault == "reset":
            self._reset()
            return
        if fault == "503":
            self._send(Response(status=503, body=b"<html><body>503 Service Unavailable</body></html>",
                                headers=(("Retry-After", "1"),)), method)
            return
        if fault == "slow":
            time.sleep(portal.slow_seconds)
        response = portal.respond(request)
        try:
            self._send(response, method, short=fault == "short_body")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send(self, response: Response, method: str, short: bool = False) -> None:
        body = response.body
        headers = list(response.headers)
        encoded = False
        if response.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, mtime=0)
            encoded = True
        status = response.status
        if status == 200 and response.cacheable:
            etag = '"' + hashlib.sha1(response.body).hexdigest()[:16] + '"'
            headers.append(("ETag", etag))
            if response.last_modified:
                headers.append(("Last-Modified", _http_date(response.last_modified)))
            if self._not_modified(etag, response.last_modified):
                status, body, encoded = 304, b"", False
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", response.content_type)
        if encoded:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        for name, value in headers:
            self.send_header(name, value)
        declared = len(body) + 4096 if short else len(body)
        self.send_header("Content-Length", str(declared))
        if short:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if method != "HEAD" and status != 304:
            self.wfile.write(body[: max(0, len(body) - 1024)] if short else body)
        self.wfile.flush()

    def _not_modified(self, etag: str, last_modified: str | None) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in [t.strip() for t in if_none_match.split(",")] or if_none_match.strip() == "*"
        since = self.headers.get("If-Modified-Since")
        if since and last_modified:
            try:
                return parsedate_to_datetime(since) >= parsedate_to_datetime(_http_date(last_modified))
            except (TypeError, ValueError):
                return False
        return False


def _http_date(day: str) -> str:
    return format_datetime(datetime.fromisoformat(day).replace(hour=1, tzinfo=UTC), usegmt=True)


def serve_in_thread(server: PortalServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name=f"nianbao-portal-{server.server_address[1]}", daemon=True)
    thread.start()
    return thread
