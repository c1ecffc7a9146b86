"""Shared by the operations and security tests: a local HTTP server that misbehaves on request, and a probe crawl.

The probe runs ``scrapy`` in a subprocess with the project settings (so the address guard, the crawl log and every
other enabled component are the real ones), fetches a list of cases, and writes per-case outcomes and the final
stats as JSON. The test in this file checks the baseline: an ordinary page on an allowed host is fetched.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import ROOT

PAGE = "<html><head><title>2023年度政府信息公开工作年度报告</title></head><body><p>一、总体情况</p></body></html>"
BOMB = gzip.compress(b"\0" * (24 * 1024 * 1024), compresslevel=9)  # ≈ 24 KB on the wire, 24 MB unpacked


class _Handler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        self.server.hits.append(self.path)
        if path == "/page":
            self._send(200, PAGE.encode("utf-8"))
        elif path == "/redirect":
            self._send(302, b"", headers={"Location": query["to"][0]})
        elif path == "/loop/a":
            self._send(302, b"", headers={"Location": "/loop/b"})
        elif path == "/loop/b":
            self._send(302, b"", headers={"Location": "/loop/a"})
        elif path == "/flaky":
            with self.server.lock:
                n = self.server.counters.get(path, 0)
                self.server.counters[path] = n + 1
            if n < 1:
                self._send(503, b"busy")
            else:
                self._send(200, PAGE.encode("utf-8"))
        elif path == "/js":
            # a rendered page whose script reaches for the metadata service and for another local port
            other = query.get("other", [""])[0]
            script = (f'fetch("/page?xhr=1");'
                      f'fetch("http://169.254.169.254/latest/meta-data/iam/").catch(() => 0);'
                      f'fetch("{other}/page?from=js").catch(() => 0);'
                      f'document.body.insertAdjacentHTML("beforeend", "<img src=\\"{other}/pixel.png\\">");')
            self._send(200, f"<html><body><p>js</p><script>{script}</script></body></html>".encode())
        elif path == "/changing":
            with self.server.lock:
                n = self.server.counters.get(path, 0)
                self.server.counters[path] = n + 1
            self._send(200, PAGE.replace("总体情况", f"总体情况（第{n}版）").encode("utf-8"))
        elif path == "/slow":
            time.sleep(float(query.get("s", ["3"])[0]))
            self._send(200, PAGE.encode("utf-8"))
        elif path == "/reset":
            # RST instead of an answer: SO_LINGER 0 then close
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif path == "/short":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(PAGE.encode("utf-8"))
            self.wfile.flush()
            self.close_connection = True
        elif path == "/bomb":
            self._send(200, BOMB, headers={"Content-Encoding": "gzip"})
        elif path == "/big":
            self._send(200, b"x" * (2 * 1024 * 1024), ctype="application/octet-stream")
        elif path == "/warn":
            self._send(200, b"y" * (700 * 1024), ctype="application/octet-stream")
        elif path == "/charset":
            self._send(200, PAGE.encode("gbk"))  # declared utf-8
        elif path == "/xml-bomb":
            self._send(200, BILLION_LAUGHS, ctype="text/xml; charset=utf-8")
        else:
            self._send(404, b"not found")


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]>\n<datastore><recordset><record>&lol9;</record></recordset></datastore>"
)


class FaultServer(ThreadingHTTPServer):
    """127.0.0.1, port 0; records every path asked for."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: list[str] = []
        self.counters: dict[str, int] = {}
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the crawler hung up on purpose (oversize, timeout): not a server fault
        super().handle_error(request, client_address)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


PROBE = r"""
import codecs, json, logging, os, re, sys
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

from crawler.crawl_events import send_event

cases, out, overrides = json.loads(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
results = {}

if os.environ.get("NIANBAO_PROBE_REWORD_LOGS"):
    # every log message reworded (ROT13 outside its %-placeholders, arguments kept): what crawl.log says must not
    # depend on how Scrapy words its messages
    placeholder = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
    make_record = logging.getLogRecordFactory()

    def reworded(*args, **kwargs):
        record = make_record(*args, **kwargs)
        if isinstance(record.msg, str):
            parts = placeholder.split(record.msg)
            marks = placeholder.findall(record.msg)
            text = codecs.encode(parts[0], "rot13")
            for mark, part in zip(marks, parts[1:]):
                text += mark + codecs.encode(part, "rot13")
            record.msg = text
        return record

    logging.setLogRecordFactory(reworded)

class Probe(scrapy.Spider):
    name = "probe"

    async def start(self):
        for case in cases:
            if case.get("event"):  # what a component (the spider's page cap…) sends
                send_event(self.crawler, case["event"], case["url"], case["reason"])
                results[case["name"]] = {"sent": True}
                continue
            meta = dict(case.get("meta", {}), case=case["name"])
            if meta.get("playwright"):
                from scrapy_playwright.page import PageMethod
                meta["playwright_page_methods"] = [PageMethod("wait_for_timeout", 1500)]
            yield scrapy.Request(case["url"], meta=meta, callback=self.ok, errback=self.bad, dont_filter=True)

    def ok(self, response):
        results[response.meta["case"]] = {"status": response.status, "url": response.url,
                                          "size": len(response.body)}
        # a report page, as the spider would make an item of it (a list: a generator needs its source on disk)
        return [{"url": response.url}] if response.meta.get("probe_item") else []

    def bad(self, failure):
        results[failure.request.meta["case"]] = {"error": type(failure.value).__name__,
                                                 "reason": str(failure.value)}

settings = get_project_settings()
settings.setdict(overrides, priority="cmdline")
process = CrawlerProcess(settings)
crawler = process.create_crawler(Probe)
process.crawl(crawler)
process.start()
# the final stats: components that count at spider_closed (the incremental middleware) have run by now
stats = {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in crawler.stats.get_stats().items()}
with open(out, "w") as fh:
    json.dump({"results": results, "stats": stats}, fh)
"""


def run_probe(cases: list[dict[str, Any]], archive: Path, *, reword_logs: bool = False,
              **overrides: Any) -> dict[str, Any]:
    """Crawl ``cases`` (name, url, meta) with the project settings; return results, stats and crawl.log lines.
    ``reword_logs``: every log message of the crawl process is reworded (ROT13) before any handler sees it."""
    out = archive / "probe.json"
    settings = {"ARCHIVE_DIR": str(archive), "LOG_LEVEL": "INFO", "RETRY_TIMES": 1, "DOWNLOAD_TIMEOUT": 5,
                "ITEM_PIPELINES": {}}
    settings.update(overrides)
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.settings")
    if reword_logs:
        env["NIANBAO_PROBE_REWORD_LOGS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(cases), str(out), json.dumps(settings)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and out.exists(), proc.stderr[-3000:]
    data = json.loads(out.read_text())
    log = archive / "crawl.log"
    data["log"] = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    data["stderr"] = proc.stderr
    return data


def test_probe_fetches_an_allowed_page(tmp_path: Path) -> None:
    with FaultServer() as srv:
        data = run_probe([{"name": "ok", "url": srv.base + "/page", "meta": {"nianbao_allow_private": True}}],
                         tmp_path)
    assert data["results"]["ok"]["status"] == 200
    assert "/page" in srv.hits
    events = [e["event"] for e in data["log"]]
    assert events[0] == "run_start" and events[-1] == "run_end"
