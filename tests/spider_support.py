"""Helpers for the spider tests: a tiny local site on 127.0.0.1:0 and a ``scrapy crawl`` runner.

The demo portal (``crawler.portal``) is the faithful stand-in for real families; this site serves hand-written
pages for edge cases the portal does not have (an endless "next page" column, a hostile datastore).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import ROOT

Page = tuple[int, str, bytes]  # status, content type, body
Handler = Callable[[str, dict[str, list[str]]], Page | None]  # (path, query+form) -> page


@dataclass
class LocalSite:
    pages: dict[str, Page] = field(default_factory=dict)
    handlers: list[Handler] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)  # (method, path with query)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def html(self, path: str, body: str, status: int = 200) -> None:
        self.pages[path] = (status, "text/html; charset=utf-8", body.encode("utf-8"))

    def start(self) -> LocalSite:
        site = self

        class H(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                args = parse_qs(parts.query, keep_blank_values=True)
                if method == "POST":
                    length = int(self.headers.get("Content-Length") or 0)
                    form = parse_qs(self.rfile.read(length).decode("utf-8"), keep_blank_values=True)
                    for k, v in form.items():
                        args.setdefault(k, []).extend(v)
                site.log.append((method, self.path))
                page = site.pages.get(parts.path)
                for handler in site.handlers:
                    page = page or handler(parts.path, args)
                if page is None:
                    page = (404, "text/html", b"<html><body>404</body></html>")
                status, ctype, body = page
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


ITEM_FIELDS = "url,status,content_type,routing"


@dataclass
class CrawlResult:
    items: list[dict[str, Any]]
    log: str
    returncode: int


def run_crawl(sources: Path, tmp: Path, *settings: str, source: str | None = None, timeout: int = 240) -> CrawlResult:
    """``scrapy crawl annual_reports`` in a subprocess, items collected with a JSON-lines feed (no body)."""
    out = tmp / "items.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "annual_reports",
           "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={tmp / 'data'}",
           "-s", "ITEM_PIPELINES={}", "-s", f"FEED_EXPORT_FIELDS={ITEM_FIELDS}",
           "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO", "-O", f"{out}:jsonlines",
           # routing is under test here, not the WARC layer (tests/test_e2e_demo.py covers both together)
           "-s", "ARCHIVE_ENABLED=False"]
    for s in settings:
        cmd += ["-s", s]
    if source:
        cmd += ["-a", f"source={source}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    # each item with its routing record's fields (source, agency, family, discovery, list_*, attachment_of) inline
    items = [_flat(json.loads(line)) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return CrawlResult(items=items, log=proc.stdout + proc.stderr, returncode=proc.returncode)


def _flat(item: dict[str, Any]) -> dict[str, Any]:
    routing = item.pop("routing")
    return {**item, **routing}


def write_sources(path: Path, entries: list[dict[str, Any]]) -> Path:
    lines = []
    for e in entries:
        lines.append("[[source]]")
        for k, v in e.items():
            lines.append(f"{k} = {json.dumps(v, ensure_ascii=False)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
