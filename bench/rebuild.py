"""Rebuild throughput and memory: ``scrapy rebuild`` against parsing alone, in one run.

Serves a demo portal, crawls it once with the real ``annual_reports`` spider and archive (WARC files capped small
so the archive is split into several files), then measures:

1. in one process, warm, alternating (best of two each): parse-only, :func:`pipelines.catalog.processing.process_capture`
   over the payloads of exactly the report captures the rebuild stores, held in memory (no WARC reading, no
   SQLite), against the 1-worker rebuild over the crawl's WARC files → the ratio of reports/s (target >= 0.85);
2. (fresh process each) rebuild with 1 worker and with 2;
3. the speed-up of 2 workers over 1 (target >= 1.6x; needs two idle cores);
4. peak memory (VmHWM of the rebuild process) for the crawl's WARCs ("1x") and for ten copies of them with
   their own record ids and hosts ("10x", the same mix of documents ten times) (target: 10x the data in < 1.5x
   the memory).

Wall-clock rates suffer when other work shares the CPUs, so CPU seconds (user + system, workers included) are
printed too; the parse-only/rebuild ratio per CPU second is the one that holds on a shared machine.

Each rebuild runs in its own process, so its peak memory is its own.

    .venv/bin/python bench/rebuild.py [--reports-per-site 40] [--seed 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def run_rebuild(warc_dir: str, catalog: str, workers: int) -> dict[str, Any]:
    from pipelines.catalog.rebuild import rebuild

    started, cpu_started, busy_started = time.perf_counter(), _cpu_seconds(), _machine_busy_seconds()
    result = rebuild(Path(warc_dir), Path(catalog), workers=workers)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    others = max(0.0, _machine_busy_seconds() - busy_started - cpu)
    return {"seconds": seconds, "cpu": cpu, "others_cpus": others / seconds, "reports": result.reports,
            "records": result.records, "damaged": len(result.damaged), "maxrss_kb": _peak_rss_kb()}


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all processes, all CPUs), from /proc/stat."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0.0
    fields = [int(x) for x in stat.read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the parser workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_rss_kb() -> int:
    """This process's peak RSS. ``ru_maxrss`` would carry the parent's peak over fork+exec; VmHWM does not."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _child(*args: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"bench worker failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def crawl(archive: Path, reports_per_site: int, seed: str, max_size: int) -> tuple[int, float]:
    from crawler.portal import start_portal

    portal = start_portal(host="127.0.0.1", port=0, seed=seed, sites=["trs", "mirror", "hanweb"],
                          reports_per_site=reports_per_site)
    try:
        sources = archive / "sources.toml"
        archive.mkdir(parents=True, exist_ok=True)
        portal.write_sources(sources)
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}",
             "-s", f"ARCHIVE_DIR={archive}", "-s", "LOG_LEVEL=WARNING", "-s", "AUTOTHROTTLE_ENABLED=False",
             "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", f"ARCHIVE_WARC_MAX_SIZE={max_size}",
             "-s", "CATALOG_SUMMARY_ENABLED=False"],
            cwd=ROOT, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"crawl failed: {proc.stderr[-3000:]}")
        return len(portal.ground_truth), time.perf_counter() - started
    finally:
        portal.stop()


def run_ratio(warc_dir: str, catalog: str, rounds: int = 2) -> dict[str, Any]:
    """In one process, alternately: parse-only over the report captures a rebuild stores, and the rebuild itself;
    best of ``rounds`` each (both warm: imports and models loaded, page cache full)."""
    from pipelines.catalog.rebuild import rebuild

    rebuild(Path(warc_dir), Path(catalog))  # warm-up, and the list of report captures
    parse_best: tuple[float, float] = (float("inf"), float("inf"))
    rebuild_best: tuple[float, float] = (float("inf"), float("inf"))
    reports = n_parse = 0
    for _ in range(rounds):
        n_parse, seconds, cpu = parse_only(Path(catalog), Path(warc_dir))
        parse_best = min(parse_best, (seconds, cpu))
        started, cpu_started = time.perf_counter(), time.process_time()
        result = rebuild(Path(warc_dir), Path(catalog))
        rebuild_best = min(rebuild_best, (time.perf_counter() - started, time.process_time() - cpu_started))
        reports = result.reports
    return {"parsed": n_parse, "parse_seconds": parse_best[0], "parse_cpu": parse_best[1], "reports": reports,
            "rebuild_seconds": rebuild_best[0], "rebuild_cpu": rebuild_best[1]}


def parse_only(catalog: Path, warc_dir: Path) -> tuple[int, float, float]:
    """process_capture over the stored report captures' payloads, preloaded: reports, seconds, CPU seconds."""
    from archive.reader import read_capture_at
    from pipelines.catalog.capture_info import CaptureInfo
    from pipelines.catalog.processing import process_capture

    conn = sqlite3.connect(catalog)
    rows = conn.execute("SELECT url, record_id, warc_file, warc_offset FROM captures ORDER BY record_id").fetchall()
    conn.close()
    inputs = []
    for url, record_id, warc_file, offset in rows:
        cap = read_capture_at(warc_dir / warc_file, offset)
        if cap.record_type == "revisit":
            continue  # the rebuild reads those through the record they refer to; not part of this timing
        inputs.append((cap.payload, CaptureInfo(url=url, record_id=record_id), cap.header("Content-Type")))
    started, cpu_started = time.perf_counter(), time.process_time()
    for body, info, ctype in inputs:
        process_capture(body, info, ctype)
    return len(inputs), time.perf_counter() - started, time.process_time() - cpu_started


def replicate(files: list[Path], out_dir: Path, copies: int) -> None:
    """``copies`` copies of a crawl's WARCs as if ``copies`` crawls of ``copies`` different sites had written them:
    fresh record ids, another host in every URL (target URIs and metadata), another writer pid in the names.
    Payloads are left byte for byte, so every copy costs the rebuild what the original costs."""
    import io
    import uuid

    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    from archive.naming import parse_warc_name

    out_dir.mkdir(parents=True, exist_ok=True)
    for k in range(copies):
        def new_id(old: str, k: int = k) -> str:
            return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{k}:{old}')}>"

        for path in files:
            name = parse_warc_name(path.name)
            assert name is not None, path
            host_of: dict[str, str] = {}
            target = out_dir / f"NIANBAO-{name.timestamp}-{name.serial:05d}-bench-{900000 + k}.warc.gz"
            with open(path, "rb") as inp, open(target, "wb") as out:
                writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
                for rec in ArchiveIterator(inp):
                    h = rec.rec_headers
                    for field in ("WARC-Record-ID", "WARC-Concurrent-To", "WARC-Refers-To"):
                        if h.get_header(field):
                            h.replace_header(field, new_id(h.get_header(field)))
                    uri = h.get_header("WARC-Target-URI") or ""
                    netloc = uri.split("/")[2] if uri.startswith("http") else ""
                    if netloc:
                        host_of.setdefault(netloc, f"copy{k}.bench.test")
                        h.replace_header("WARC-Target-URI", uri.replace(netloc, host_of[netloc], 1))
                    if rec.rec_type == "metadata":
                        text = rec.content_stream().read().decode("utf-8")  # warc-fields (or JSON)
                        for old, new in host_of.items():
                            text = text.replace(old, new)
                        data = text.encode("utf-8")
                        headers = {k2: v for k2, v in h.headers if k2 not in ("Content-Length", "WARC-Block-Digest")}
                        writer.write_record(writer.create_warc_record(
                            h.get_header("WARC-Target-URI"), "metadata", payload=io.BytesIO(data),
                            length=len(data), warc_headers_dict=headers,
                            warc_content_type=h.get_header("Content-Type") or "application/warc-fields"))
                    else:
                        writer.write_record(rec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports-per-site", type=int, default=40, help="generated reports per portal site")
    ap.add_argument("--seed", default="5", help="portal seed")
    ap.add_argument("--warc-max-size", type=int, default=400_000, help="ARCHIVE_WARC_MAX_SIZE for the crawl")
    ap.add_argument("--keep", type=Path, help="crawl into DIR, or reuse the WARCs already there")
    ap.add_argument("--worker", nargs=3, metavar=("WARC_DIR", "CATALOG", "WORKERS"), help=argparse.SUPPRESS)
    ap.add_argument("--ratio", nargs=2, metavar=("WARC_DIR", "CATALOG"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(run_rebuild(args.worker[0], args.worker[1], int(args.worker[2]))))
        return 0
    if args.ratio:
        print(json.dumps(run_ratio(args.ratio[0], args.ratio[1])))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="nianbao-bench-rebuild-"))
    archive = args.keep or tmp / "data"
    try:
        warc_1x = archive / "warc"
        if not (warc_1x.is_dir() and any(warc_1x.iterdir())):
            reports, seconds = crawl(archive, args.reports_per_site, args.seed, args.warc_max_size)
            print(f"crawl: portal with {reports} reports archived in {seconds:.1f}s", flush=True)
        files = sorted(p for p in warc_1x.iterdir() if p.name.endswith(".warc.gz"))
        warc_10x = tmp / "warc-10x"
        replicate(files, warc_10x, 10)
        size_1x = sum(p.stat().st_size for p in files)
        size_10x = sum(p.stat().st_size for p in warc_10x.iterdir())
        print(f"WARCs: 1x = the crawl, {len(files)} files, {size_1x / 1e6:.1f} MB; 10x = ten copies with their own "
              f"record ids and hosts, {size_10x / 1e6:.1f} MB", flush=True)

        ratio = _child("--ratio", str(warc_1x), str(tmp / "ratio.sqlite"))
        one = _child("--worker", str(warc_1x), str(tmp / "one.sqlite"), "1")
        two = _child("--worker", str(warc_1x), str(tmp / "two.sqlite"), "2")
        big = _child("--worker", str(warc_10x), str(tmp / "big.sqlite"), "1")
    finally:
        if not args.keep:
            shutil.rmtree(archive, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)

    one_rate = one["reports"] / one["seconds"]
    two_rate = two["reports"] / two["seconds"]
    parse_rate = ratio["parsed"] / ratio["parse_seconds"]
    warm_rate = ratio["reports"] / ratio["rebuild_seconds"]
    print(f"same process, warm, best of 2: parse-only {ratio['parsed']} reports in {ratio['parse_seconds']:.2f}s "
          f"({parse_rate:.1f}/s, {ratio['parse_cpu']:.2f} CPU s); rebuild {ratio['reports']} reports in "
          f"{ratio['rebuild_seconds']:.2f}s ({warm_rate:.1f}/s, {ratio['rebuild_cpu']:.2f} CPU s)")
    print(f"ratio rebuild / parse-only reports/s: {warm_rate / parse_rate:.2f} wall clock, "
          f"{(ratio['reports'] / ratio['rebuild_cpu']) / (ratio['parsed'] / ratio['parse_cpu']):.2f} per CPU second"
          f"  (target >= 0.85)")
    print(f"{'fresh process':<26}{'reports':>8}{'captures':>9}{'seconds':>9}{'CPU s':>8}{'reports/s':>10}"
          f"{'peak RSS MB':>12}")
    for name, run in (("rebuild 1x, 1 worker", one), ("rebuild 1x, 2 workers", two), ("rebuild 10x, 1 worker", big)):
        print(f"{name:<26}{run['reports']:>8}{run['records']:>9}{run['seconds']:>9.2f}{run['cpu']:>8.2f}"
              f"{run['reports'] / run['seconds']:>10.1f}{run['maxrss_kb'] / 1024:>12.1f}")
    print(f"speed-up with 2 workers: {two_rate / one_rate:.2f}x wall clock  (target >= 1.6x; {os.cpu_count()} CPUs; "
          f"other processes kept {one['others_cpus']:.1f} CPUs busy during the 1-worker run, "
          f"{two['others_cpus']:.1f} during the 2-worker run)")
    print(f"peak memory 10x / 1x: {big['maxrss_kb'] / one['maxrss_kb']:.2f}  (target < 1.5; "
          f"{big['maxrss_kb'] / 1024:.0f} MB for {size_10x / 1e6:.1f} MB of WARC vs {one['maxrss_kb'] / 1024:.0f} MB "
          f"for {size_1x / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
