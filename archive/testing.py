"""A small local site and a crawl runner, for the archive tests and `bench/capture.py` (test support, not a test).

`start_site()` serves, on 127.0.0.1 port 0, the cases a wire-faithful archive must get right: a gzip-encoded
page, a redirect chain, a GBK page without a charset, a POST listing, a chunked page, repeated headers, and
ETag / Last-Modified validators (a conditional GET gets a 304). `run_crawl()` runs `python -m archive.testing
crawl …` in a subprocess (a Twisted reactor runs once per process) with the project's settings.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings
from scrapy_playwright.page import PageMethod

ROOT = Path(__file__).resolve().parent.parent

GBK_TEXT = "政府信息公开工作年度报告：本年新收政府信息公开申请十二件。"
LAST_MODIFIED = "Tue, 10 Mar 2025 07:35:00 GMT"


def _html(title: str, body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"


def _pages() -> dict[str, tuple[str, list[tuple[str, str]], bytes]]:
    """path → (status line, headers, body as sent)."""
    index = _html("index", "".join(f'<a href="{p}">{p}</a> ' for p in (
        "/gzip.html", "/redirect/1", "/gbk.html", "/chunked.html", "/multi.html", "/etag.html", "/missing.html",
        "/年报/2024年度报告.html?年=2024", "/copy-of-final.html")))
    gz_body = gzip.compress(_html("gzip", "<p>" + "压缩页面 " * 200 + "</p>").encode("utf-8"), mtime=0)
    gbk = ("<html><head><title>年报</title></head><body><p>" + GBK_TEXT + "</p></body></html>").encode("gbk")
    return {
        "/": ("200 OK", [("Content-Type", "text/html; charset=utf-8")], index.encode()),
        "/gzip.html": ("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
                                  ("Vary", "Accept-Encoding")], gz_body),
        "/redirect/1": ("302 Found", [("Location", "/redirect/2")], b""),
        "/redirect/2": ("301 Moved Permanently", [("Location", "/final.html")], b""),
        "/final.html": ("200 OK", [("Content-Type", "text/html; charset=utf-8")], _html("final", "end").encode()),
        "/copy-of-final.html": ("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                _html("final", "end").encode()),
        "/gbk.html": ("200 OK", [("Content-Type", "text/html")], gbk),
        "/multi.html": ("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1; Path=/"),
                                   ("Set-Cookie", "b=2; Path=/"), ("X-Multi", "one"), ("X-Multi", "two")],
                        _html("multi", "cookies").encode()),
        "/etag.html": ("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("ETag", '"v1"'),
                                  ("Last-Modified", LAST_MODIFIED)], _html("etag", "stable " * 300).encode()),
        "/js.html": ("200 OK", [("Content-Type", "text/html; charset=utf-8")], (
            b"<!DOCTYPE html><html><head><title>js</title></head><body><ul id='list'></ul><script>"
            b"fetch('/api/data.json').then(r => r.json()).then(d => {"
            b" for (const it of d.items) { const li = document.createElement('li'); li.textContent = it.title;"
            b" document.getElementById('list').appendChild(li); }"
            b" const done = document.createElement('p'); done.id = 'done'; done.textContent = 'done';"
            b" document.body.appendChild(done); });"
            b"</script></body></html>")),
        "/api/data.json": ("200 OK", [("Content-Type", "application/json; charset=utf-8")],
                           json.dumps({"items": [{"title": "2024年政府信息公开工作年度报告"}]},
                                      ensure_ascii=False).encode()),
        "/%E5%B9%B4%E6%8A%A5/2024%E5%B9%B4%E5%BA%A6%E6%8A%A5%E5%91%8A.html": (
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], _html("年报", "非ASCII路径").encode()),
        "/robots.txt": ("200 OK", [("Content-Type", "text/plain")], b"User-agent: *\nDisallow: /private/\n"),
    }


@dataclass
class Site:
    server: ThreadingHTTPServer
    thread: threading.Thread
    hits: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def u(self, path: str) -> str:
        return urljoin(self.url + "/", path.lstrip("/"))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler(site: Site, pages: dict[str, tuple[str, list[tuple[str, str]], bytes]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: str, headers: list[tuple[str, str]], body: bytes, chunked: bool = False) -> None:
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for k, v in headers:
                self.send_header(k, v)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(body), 100):
                    part = body[i:i + 100]
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            site.hits.append(("GET", self.path, {k: v for k, v in self.headers.items()}))
            path = self.path.split("?", 1)[0]
            if path == "/chunked.html":
                self._send("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                           _html("chunked", "分块 " * 120).encode(), chunked=True)
                return
            if path.startswith("/page/"):  # a generated site for benchmarks: /page/N links to N*k+1..N*k+k
                n = int(path.rsplit("/", 1)[1].split(".")[0] or 0)
                links = "".join(f'<a href="/page/{m}.html">p{m}</a> ' for m in range(n * 5 + 1, n * 5 + 6)
                                if m < 400)
                # 6 KB of text that does not compress away, so WARC sizes are predictable in tests
                noise = "".join(hashlib.sha256(f"{n}-{i}".encode()).hexdigest() for i in range(96))
                self._send("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                           _html(f"p{n}", links + "<p>" + noise + ("正文 " * 2000) + "</p>").encode())
                return
            if path not in pages:
                self._send("404 Not Found", [("Content-Type", "text/html")], b"<html>not found</html>")
                return
            status, headers, body = pages[path]
            hdr = dict(headers)
            if "ETag" in hdr and (self.headers.get("If-None-Match") == hdr["ETag"]
                                  or self.headers.get("If-Modified-Since") == hdr.get("Last-Modified")):
                self.send_response(304, "Not Modified")
                self.send_header("ETag", hdr["ETag"])
                self.end_headers()
                return
            self._send(status, headers, body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            site.hits.append(("POST", self.path, {"body": data.decode("latin-1")}))
            form = parse_qs(data.decode("utf-8"))
            page = form.get("page", ["1"])[0]
            body = json.dumps({"page": int(page), "items": [{"title": f"第{page}页年报", "url": "/final.html"}]},
                              ensure_ascii=False).encode("utf-8")
            self._send("200 OK", [("Content-Type", "application/json; charset=utf-8")], body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a crawler killed mid-request (the crash test) resets its connections; that is expected here
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def start_site(host: str = "127.0.0.1", port: int = 0) -> Site:
    server = _QuietServer((host, port), BaseHTTPRequestHandler)
    site = Site(server, threading.Thread())
    server.RequestHandlerClass = _handler(site, _pages())
    server.daemon_threads = True
    site.thread = threading.Thread(target=server.serve_forever, name="archive-test-site", daemon=True)
    site.thread.start()
    return site


# --- the crawl ----------------------------------------------------------------------------------

def crawl_command(archive_dir: Path, urls: list[str], *, posts: list[tuple[str, str]] = (),  # type: ignore[assignment]
                  follow: bool = True, settings: dict[str, object] | None = None,
                  meta_out: Path | None = None, browser: list[str] = ()) -> list[str]:  # type: ignore[assignment]
    cmd = [sys.executable, "-m", "archive.testing", "crawl", "--archive-dir", str(archive_dir)]
    for u in browser:
        cmd += ["--browser", u]
    if meta_out is not None:
        cmd += ["--meta-out", str(meta_out)]
    for u in urls:
        cmd += ["--url", u]
    for u, body in posts:
        cmd += ["--post", u, body]
    if not follow:
        cmd.append("--no-follow")
    for k, v in (settings or {}).items():
        cmd += ["-s", f"{k}={v}"]
    return cmd


def run_crawl(archive_dir: Path, urls: list[str], *, posts: list[tuple[str, str]] = (),  # type: ignore[assignment]
              follow: bool = True, settings: dict[str, object] | None = None, meta_out: Path | None = None,
              browser: list[str] = (), timeout: float = 120) -> subprocess.CompletedProcess[str]:  # type: ignore[assignment]
    proc = subprocess.run(crawl_command(archive_dir, urls, posts=posts, follow=follow, settings=settings,
                                        meta_out=meta_out, browser=browser),
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"test crawl failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return proc


def _crawl_main(args: argparse.Namespace) -> int:
    settings = get_project_settings()
    settings.set("ARCHIVE_DIR", args.archive_dir, priority="cmdline")
    base = {"NIANBAO_ADDRESS_GUARD": False, "AUTOTHROTTLE_ENABLED": False,
            "LOG_LEVEL": "WARNING", "RETRY_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
            "NIANBAO_INCREMENTAL": False}
    if not args.keep_pipelines:
        base["ITEM_PIPELINES"] = {}
    for k, v in base.items():
        settings.set(k, v, priority="cmdline")
    for item in args.set or []:
        k, _, v = item.partition("=")
        settings.set(k, v, priority="cmdline")

    follow = not args.no_follow
    meta_out = args.meta_out

    class ArchiveTestSpider(scrapy.Spider):
        name = "archive_test"

        async def start(self):  # type: ignore[no-untyped-def]
            for u in args.url or []:
                yield scrapy.Request(u, meta={"archive_metadata": {"role": "listing", "discovery": [u]}})
            for u in args.browser or []:
                yield scrapy.Request(u, meta={"playwright": True, "archive_metadata": {"role": "listing"},
                                              "playwright_page_methods": [PageMethod("wait_for_selector", "#done")]})
            for u, body in args.post or []:
                yield scrapy.Request(u, method="POST", body=body.encode("utf-8"),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"},
                                     meta={"archive_metadata": {"role": "listing"}}, dont_filter=True)

        def parse(self, response):  # type: ignore[no-untyped-def]
            if meta_out is not None:
                with open(meta_out, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"url": response.url, "status": response.status,
                                         **{k: v for k, v in response.meta.items() if k.startswith("archive_")
                                            and isinstance(v, str | int | float | bool)}}) + "\n")
            if not follow or not isinstance(response, scrapy.http.HtmlResponse):
                return
            for href in response.css("a::attr(href)").getall():
                url = response.urljoin(href)
                yield scrapy.Request(url, meta={"archive_metadata": {"role": "report",
                                                                     "discovery": [response.url, url]}})

    process = CrawlerProcess(settings)
    spider_args = dict(a.partition("=")[::2] for a in args.arg or [])
    crawler = process.create_crawler(args.spider or ArchiveTestSpider)
    process.crawl(crawler, **spider_args)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    print(json.dumps({k: v for k, v in stats.items() if isinstance(v, int | float | str)}, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m archive.testing")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("crawl", help="crawl URLs with the project's settings")
    c.add_argument("--archive-dir", required=True)
    c.add_argument("--url", action="append")
    c.add_argument("--post", nargs=2, action="append", metavar=("URL", "BODY"))
    c.add_argument("--no-follow", action="store_true")
    c.add_argument("--browser", action="append", metavar="URL", help="fetch URL through scrapy-playwright")
    c.add_argument("--keep-pipelines", action="store_true", help="run the project's item pipelines too")
    c.add_argument("--meta-out", help="append each response's archive_* meta keys here (JSON lines)")
    c.add_argument("-s", "--set", action="append", metavar="NAME=VALUE")
    c.add_argument("--spider", help="a project spider to run instead of the test spider (e.g. annual_reports)")
    c.add_argument("-a", "--arg", action="append", metavar="NAME=VALUE", help="spider argument")
    s = sub.add_parser("serve", help="serve the test site until interrupted")
    s.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    if args.cmd == "crawl":
        return _crawl_main(args)
    site = start_site(port=args.port)
    print(site.url, flush=True)
    try:
        site.thread.join()
    except KeyboardInterrupt:
        site.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
