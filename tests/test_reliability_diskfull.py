"""Issue 16, item 7: a full disk. ``ARCHIVE_DIR`` (with its JOBDIR) on a 600 KB tmpfs: the crawl stops by itself,
soon, with one line saying why and status 1, no traceback; what it wrote is whole (a WARC left ``.open`` holds only
whole record groups); once the file system has room again, the same command resumes and ends with every report
exactly once, every WARC valid. (It used to hang at 0 pages/min with 116 tracebacks, and the resume lost 9 of 44
reports without a word.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from archive.mend import complete_prefix
from archive.verify import verify_warc
from crawler.portal import start_portal
from tests.conftest import ROOT
from tests.reliability_support import small_filesystem


def test_a_full_disk_stops_the_crawl_cleanly_and_the_resume_ends_with_every_report(tmp_path: Path) -> None:
    portal = start_portal(host="127.0.0.1", port=0, seed=4, sites=["trs", "hanweb"], reports_per_site=5)
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        with small_filesystem(tmp_path / "disk", "600k") as disk:
            archive = disk / "data"
            crawl = [sys.executable, "-m", "scrapy", "crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}",
                     "-s", f"ARCHIVE_DIR={archive}", "-s", f"JOBDIR={archive / 'state' / 'job'}",
                     "-s", "LOG_LEVEL=INFO"]
            started = time.monotonic()
            full = subprocess.run(crawl, cwd=ROOT, capture_output=True, text=True, timeout=240)
            seconds = time.monotonic() - started
            assert full.returncode == 1, full.stderr[-3000:]
            assert "Traceback" not in full.stderr, full.stderr[-5000:]
            last = full.stderr.strip().splitlines()[-1]
            assert last.startswith("scrapy crawl annual_reports: crawl stopped: no space left on the disk of "), last
            assert "run the same command again to resume" in last
            assert seconds < 120, f"took {seconds:.0f}s to stop"
            for path in (archive / "warc").glob("*.open"):
                assert complete_prefix(path)[0] == path.stat().st_size, f"{path.name}: a group cut in the middle"
            subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)  # space freed
            again = subprocess.run(crawl, cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert again.returncode == 0, again.stderr[-3000:]
            assert "Traceback" not in again.stderr, again.stderr[-5000:]
            con = sqlite3.connect(archive / "catalog.sqlite")
            rows = Counter(url for (url,) in con.execute("SELECT url FROM reports"))
            con.close()
            truth = {str(r["url"]) for r in portal.ground_truth}
            assert set(rows) == truth, f"lost: {sorted(truth - set(rows))}, extra: {sorted(set(rows) - truth)}"
            assert set(rows.values()) == {1}
            assert not list((archive / "warc").glob("*.open"))
            for warc in sorted((archive / "warc").glob("*.warc.gz")):
                assert verify_warc(warc) == [], warc.name
    finally:
        portal.stop()
