"""Crawl throughput: the full ``annual_reports`` crawl against a bare Scrapy spider, in one run.

Serves a demo portal with N reports (default 2,000) on 127.0.0.1, warms its render cache, then

1. crawls it with ``annual_reports`` and every project component on (archive, pipelines, catalog);
2. crawls it again with ``annual_reports`` alone (``ITEM_PIPELINES={}``, ``ARCHIVE_ENABLED=False``), which
   splits the cost between routing and what happens to the bytes afterwards;
3. fetches the very URLs the crawl fetched with a bare ``scrapy.Spider`` (no pipelines, no archive, no project
   middlewares) at the same concurrency;

and prints pages/s and reports/s for each and the ratios to the bare spider (target >= 0.8), plus the CPU time
each crawl used (its process and its parse workers), which the machine's other load does not change much, the CPU
the portal's server threads spent answering it, and how many cores the whole machine kept busy meanwhile (on
loopback the bare spider and the portal between them fill the cores: what the full stack adds then costs pages/s). Each
crawl runs in its own process (Twisted reactors are not restartable); times are the engine's own
``elapsed_time_seconds``. Besides the full stack and the spider alone, it runs the full stack with the parse on a
thread in the crawl process (``CATALOG_PARSE_WORKERS=0``) and the archive without the catalog pipelines.

``--latency MS[,MS…]`` makes the portal wait before each answer, as a server across a real network does, and every
crawl runs once per value (default ``0,100``). At 0 the bare spider is bound only by loopback and the comparison
is one of CPU per page (on two cores the full stack cannot keep up: see docs/benchmarks.md); at 100 ms, a fast
real portal, fetching is what bounds a crawl, which is what the >= 0.8 target is about.

    .venv/bin/python bench/crawl.py [--reports 2000] [--seed 5] [--concurrency 16] [--latency 0,100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _cpu_seconds(children: bool = True) -> float:
    """CPU time of this process and (unless told not to) of its finished children (the parse workers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ((kids.ru_utime + kids.ru_stime) if children else 0.0)


def _stats_out(crawler: Any, started: float, cpu0: float, own0: float) -> dict[str, Any]:
    stats = crawler.stats.get_stats()
    return {
        "cpu": _cpu_seconds() - cpu0,
        "cpu_crawl": _cpu_seconds(children=False) - own0,
        "elapsed": float(stats.get("elapsed_time_seconds") or (time.perf_counter() - started)),
        "wall": time.perf_counter() - started,
        "responses": int(stats.get("downloader/response_count", 0)),
        "items": int(stats.get("item_scraped_count", 0)),
        "errors": int(stats.get("log_count/ERROR", 0)),
    }


def run_ours(sources: str, archive_dir: str, concurrency: int, extra: dict[str, Any]) -> dict[str, Any]:
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    os.chdir(ROOT)
    settings = get_project_settings()
    settings.setdict({
        "NIANBAO_SOURCES": sources, "ARCHIVE_DIR": archive_dir, "AUTOTHROTTLE_ENABLED": False,
        "NIANBAO_MAX_LIST_PAGES": 100_000,  # a 2,000-report TRS column has ~350 listing pages
        "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "LOG_LEVEL": "WARNING", **extra,
    }, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("annual_reports")
    process.crawl(crawler)
    started, cpu0, own0 = time.perf_counter(), _cpu_seconds(), _cpu_seconds(children=False)
    process.start()
    return _stats_out(crawler, started, cpu0, own0)


def run_bare(urls_file: str, concurrency: int) -> dict[str, Any]:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = json.loads(Path(urls_file).read_text(encoding="utf-8"))

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self):  # type: ignore[no-untyped-def]
            for url in urls:
                yield scrapy.Request(url, callback=self.parse, dont_filter=True)

        def parse(self, response):  # type: ignore[no-untyped-def]
            return None

    process = CrawlerProcess({
        "LOG_LEVEL": "WARNING", "ROBOTSTXT_OBEY": False, "TELNETCONSOLE_ENABLED": False,
        "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "HTTPERROR_ALLOW_ALL": True, "REDIRECT_ENABLED": False, "RETRY_ENABLED": False,
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    })
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler)
    started, cpu0, own0 = time.perf_counter(), _cpu_seconds(), _cpu_seconds(children=False)
    process.start()
    return _stats_out(crawler, started, cpu0, own0)


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine so far, from /proc/stat ((0, 0) where there is none)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _child(*args: str) -> dict[str, Any]:
    """One crawl in its own process, with what the portal (this process's server threads) and the whole machine
    spent meanwhile: ``portal_cpu`` seconds, ``busy_cores`` (mean cores busy over the crawl, all processes)."""
    import resource

    own0 = resource.getrusage(resource.RUSAGE_SELF)
    busy0, total0 = _busy_jiffies()
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    busy1, total1 = _busy_jiffies()
    if proc.returncode != 0:
        raise SystemExit(f"bench worker {args[0]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    run: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    run["portal_cpu"] = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
    cores = os.cpu_count() or 1
    run["busy_cores"] = cores * (busy1 - busy0) / (total1 - total0) if total1 > total0 else float("nan")
    return run


def _warm(portal: Any, urls: list[str]) -> float:
    """Fetch every URL once so both crawls meet the portal's cache, not its PDF/DOCX renderer."""
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(url: str) -> None:
        try:
            opener.open(url, timeout=60).read()
        except urllib.error.HTTPError:
            pass

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(get, urls))
    return time.perf_counter() - started


VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    # name, settings over the project's: each is one crawl of the same portal, in its own process
    ("annual_reports", {}),
    ("  parse in-proc", {"CATALOG_PARSE_WORKERS": 0}),
    ("  archive only", {"ITEM_PIPELINES": {}}),
    ("  spider alone", {"ITEM_PIPELINES": {}, "ARCHIVE_ENABLED": False}),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=2000, help="reports in the demo portal (default 2000)")
    ap.add_argument("--seed", default="5", help="portal seed")
    ap.add_argument("--concurrency", type=int, default=16, help="concurrent requests for every crawl")
    ap.add_argument("--latency", default="0,100",
                    help="ms the portal waits before each answer, like a server across a network; a comma list "
                         "runs every crawl once per value (default 0,100: loopback, then a portal at 100 ms)")
    ap.add_argument("--worker", choices=("ours", "bare"), help=argparse.SUPPRESS)
    ap.add_argument("--arg", action="append", default=[], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker == "ours":
        extra = json.loads(args.arg[2]) if len(args.arg) > 2 else {}
        print(json.dumps(run_ours(args.arg[0], args.arg[1], args.concurrency, extra)))
        return 0
    if args.worker == "bare":
        print(json.dumps(run_bare(args.arg[0], args.concurrency)))
        return 0
    try:
        latencies = [float(v) for v in str(args.latency).split(",") if v.strip()]
    except ValueError:
        ap.error(f"--latency {args.latency!r}: expected milliseconds, comma-separated")
    if not latencies or any(v < 0 for v in latencies):
        ap.error(f"--latency {args.latency!r}: expected milliseconds >= 0")

    from crawler.portal import start_portal

    t0 = time.perf_counter()
    portal = start_portal(host="127.0.0.1", port=0, seed=args.seed, sites=["trs"], reports_per_site=args.reports)
    ratios: list[tuple[float, float]] = []
    try:
        urls = [u for u in portal.all_urls() if not u.endswith("/robots.txt")]
        print(f"portal: {len(portal.ground_truth)} reports, {len(urls)} URLs a complete crawl fetches "
              f"(planned in {time.perf_counter() - t0:.1f}s); {os.cpu_count()} cores; "
              f"concurrency {args.concurrency}", flush=True)
        print(f"warm-up: every URL fetched once in {_warm(portal, urls):.1f}s", flush=True)
        with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
            sources = Path(tmp) / "sources.toml"
            portal.write_sources(sources)
            urls_file = Path(tmp) / "urls.json"
            urls_file.write_text(json.dumps(urls), encoding="utf-8")
            for latency in latencies:
                portal.latency_seconds = latency / 1000.0
                runs = _crawls(args.concurrency, sources, urls_file, Path(tmp) / f"latency{latency:g}")
                ratios.append((latency, _report(runs, latency, len(portal.ground_truth))))
    finally:
        portal.stop()
    if len(ratios) > 1:
        print("ratios: " + ", ".join(f"{ratio:.2f} at {latency:g} ms" for latency, ratio in ratios)
              + "  (target >= 0.8)")
    return 0


def _crawls(concurrency: int, sources: Path, urls_file: Path, data: Path) -> dict[str, dict[str, Any]]:
    conc = ["--concurrency", str(concurrency)]
    runs: dict[str, dict[str, Any]] = {}
    for i, (name, extra) in enumerate(VARIANTS):
        runs[name] = _child("--worker", "ours", "--arg", str(sources), "--arg", str(data / f"data{i}"),
                            "--arg", json.dumps(extra), *conc)
    runs["bare spider"] = _child("--worker", "bare", "--arg", str(urls_file), *conc)
    return runs


def _report(runs: dict[str, dict[str, Any]], latency: float, reports: int) -> float:
    """Print one latency's table; return the full stack's ratio to the bare spider."""
    def rate(run: dict[str, Any], key: str) -> float:
        return run[key] / run["elapsed"] if run["elapsed"] else 0.0

    bare = runs["bare spider"]
    base = rate(bare, "responses")
    print(f"\n--- portal answering after {latency:g} ms")
    print(f"{'crawl':<16}{'responses':>10}{'reports':>9}{'seconds':>9}{'pages/s':>9}{'reports/s':>11}"
          f"{'ratio':>7}{'CPU s':>8}{'CPU ms/page':>13}{'crawl proc':>12}{'portal':>8}{'cores busy':>12}")
    for name, run in runs.items():
        ratio = rate(run, "responses") / base if base else 0.0
        pages = max(1, run["responses"])
        print(f"{name:<16}{run['responses']:>10}{run['items']:>9}{run['elapsed']:>9.1f}"
              f"{rate(run, 'responses'):>9.1f}{rate(run, 'items'):>11.1f}{ratio:>7.2f}{run['cpu']:>8.1f}"
              f"{1000 * run['cpu'] / pages:>13.2f}{1000 * run['cpu_crawl'] / pages:>12.2f}"
              f"{1000 * run['portal_cpu'] / pages:>8.2f}{run['busy_cores']:>12.2f}")
    print("CPU ms/page: the crawl process and its parse and catalog processes; crawl proc: the crawl process alone; "
          "portal: the demo portal's server threads answering it")
    ours = runs["annual_reports"]
    ratio = rate(ours, "responses") / base if base else 0.0
    print(f"ratio (annual_reports pages/s / bare pages/s) at {latency:g} ms: {ratio:.2f}  (target >= 0.8)")
    parse_cpu = ours["cpu"] - runs["  archive only"]["cpu"]
    print(f"parse + catalog CPU: {parse_cpu:.1f}s for {ours['items']} reports "
          f"({1000 * parse_cpu / max(1, ours['items']):.1f} ms per report)")
    if ours["items"] != reports:
        print(f"note: the crawl yielded {ours['items']} items for {reports} reports")
    return ratio


if __name__ == "__main__":
    raise SystemExit(main())
