"""Capture overhead: the crawl rate with the WARC capture on divided by the rate with it off, on the same demo
portal in one run, and the WARC writer's throughput.

    python bench/capture.py [--rounds N] [--seed S]

Each round crawls the demo portal (every source but the browser one) twice into fresh folders, capture off then
on, with the real `annual_reports` spider and the project's pipelines (parse, catalog), AutoThrottle off. Rates are pages/s from Scrapy's own stats
(`downloader/response_count` / `elapsed_time_seconds`); the median of the rounds is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _sources_without_browser(portal, path: Path) -> None:  # type: ignore[no-untyped-def]
    portal.write_sources(path)
    blocks = path.read_text(encoding="utf-8").split("[[source]]")
    keep = [blocks[0]] + [b for b in blocks[1:] if 'family = "jsapi"' not in b]
    path.write_text("[[source]]".join(keep), encoding="utf-8")


def crawl(sources: Path, archive: Path, capture: bool) -> dict[str, float]:
    from archive.testing import crawl_command

    settings = {"NIANBAO_SOURCES": sources, "ARCHIVE_ENABLED": capture, "NIANBAO_INCREMENTAL": False,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "CATALOG_SUMMARY_ENABLED": False}
    cmd = crawl_command(archive, [], settings=settings) + ["--spider", "annual_reports", "--keep-pipelines"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"bench crawl failed: {proc.stderr[-2000:]}")
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    return stats


def writer_throughput(warc_dir: Path, out_dir: Path, repeat: int = 20,
                      with_metadata: bool = True) -> tuple[float, float, int]:
    """Write the captures of a crawl again, `repeat` times, through the rotating writer alone (build, gzip,
    write, index, as in a crawl; metadata records — charset detection, outlinks — when asked):
    (MB/s of records in, MB/s gzip out, groups)."""
    import time

    from archive.metadata import warm_up
    from archive.reader import iter_captures
    from archive.recorder import build_group
    from archive.records import Exchange
    from archive.writer import RotatingWarcWriter

    warm_up()
    exchanges = [Exchange(url=c.url, method=c.method, request_headers=c.request_headers or [],
                          request_body=c.request_body, status=c.status or 200, response_headers=c.headers,
                          body=c.raw_payload, date=c.captured_at)
                 for c in iter_captures(warc_dir) if c.record_type == "response"]
    writer = RotatingWarcWriter(out_dir / "warc", out_dir / "index", 100_000_000)
    t0 = time.perf_counter()
    for _ in range(repeat):
        for ex in exchanges:
            meta = {"role": "report"} if with_metadata else None
            writer.submit(lambda ex=ex, meta=meta: build_group(ex, meta), len(ex.body))  # type: ignore[misc]
    writer.close()
    elapsed = time.perf_counter() - t0
    return writer.raw_bytes / 1e6 / elapsed, writer.bytes_written / 1e6 / elapsed, repeat * len(exchanges)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    from crawler.portal import start_portal

    portal = start_portal(host="127.0.0.1", port=0, seed=args.seed)
    rates: dict[bool, list[float]] = {False: [], True: []}
    try:
        with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
            sources = Path(tmp) / "sources.toml"
            _sources_without_browser(portal, sources)
            for r in range(args.rounds):
                for capture in (False, True):
                    stats = crawl(sources, Path(tmp) / f"r{r}-{int(capture)}", capture)
                    pages = stats.get("downloader/response_count", 0)
                    rate = pages / stats["elapsed_time_seconds"]
                    rates[capture].append(rate)
                    line = f"round {r + 1} capture {'on ' if capture else 'off'}: {pages} pages, {rate:.1f} pages/s"
                    if capture:
                        on_disk = stats.get("archive/warc_bytes", 0) / 1e6
                        line += f", WARC {on_disk:.2f} MB"
                    print(line, flush=True)
            last = Path(tmp) / f"r{args.rounds - 1}-1" / "warc"
            raw_rate, gz_rate, groups = writer_throughput(last, Path(tmp) / "writer")
            bare_raw, bare_gz, _ = writer_throughput(last, Path(tmp) / "writer-bare", with_metadata=False)
    finally:
        portal.stop()
    off, on = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"crawl rate: capture off {off:.1f} pages/s, on {on:.1f} pages/s (median of {args.rounds}); "
          f"on/off = {on / off:.2f} (target >= 0.9)")
    print(f"WARC writer alone: {raw_rate:.1f} MB/s of records in, {gz_rate:.1f} MB/s gzip out "
          f"({groups} response/request/metadata groups, one thread)")
    print(f"WARC writer alone without metadata records: {bare_raw:.1f} MB/s of records in, "
          f"{bare_gz:.1f} MB/s gzip out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
