"""`make demo`: serve the bundled demo portal on 127.0.0.1, crawl it end to end, print a summary.

Usage: python -m crawler.demo [--archive-dir DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from crawler.portal import start_portal

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m crawler.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--archive-dir", default=os.path.join("data", "demo"), help="where WARCs and catalog go")
    ap.add_argument("--seed", type=int, default=1, help="demo portal seed (same seed, same bytes)")
    args = ap.parse_args(argv)
    portal = start_portal(host="127.0.0.1", port=0, seed=args.seed)
    try:
        with tempfile.TemporaryDirectory(prefix="nianbao-demo-") as tmp:
            sources = Path(tmp) / "demo-sources.toml"
            portal.write_sources(sources)
            print(f"nianbao demo: portal serving at {portal.url} "
                  f"({len(portal.ground_truth)} reports, {len(portal.notices)} notices)", flush=True)
            cmd = [sys.executable, "-m", "scrapy", "crawl", "annual_reports",
                   "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={args.archive_dir}",
                   "-s", "LOG_LEVEL=WARNING"]
            print("nianbao demo: " + " ".join(cmd[2:]), flush=True)
            rc = subprocess.call(cmd, cwd=ROOT)
    finally:
        portal.stop()
    if rc != 0:
        print(f"nianbao demo: crawl failed with exit code {rc}", file=sys.stderr)
        return rc
    print(f"nianbao demo: data in {args.archive_dir}/ (warc/, index/, catalog.sqlite, crawl.log)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
