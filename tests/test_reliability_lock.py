"""Issue 16, items 5 and 6: one writer at a time on an ARCHIVE_DIR. While a crawl runs, a second crawl (same folder, or
the same JOBDIR), ``scrapy rebuild`` and ``scrapy export`` refuse with one line naming the crawl's pid; the crawl
ends with every report once. A killed holder leaves no stale lock."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.lock import ArchiveBusy, ArchiveLock
from crawler.portal import start_portal
from tests.conftest import ROOT

HOLD = ("import sys, time; from archive.lock import ArchiveLock; "
        "ArchiveLock.acquire(sys.argv[1], 'scrapy crawl annual_reports'); print('held', flush=True); time.sleep(120)")


def _holder(archive: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(archive)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


def _finished(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _refusal(proc: subprocess.CompletedProcess[str], pid: int) -> str:
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert f"is in use by scrapy crawl annual_reports (pid {pid} on " in line, line
    return line


def test_lock_names_its_holder_and_a_killed_holder_lets_go(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    try:
        with pytest.raises(ArchiveBusy, match=rf"in use by scrapy crawl annual_reports \(pid {holder.pid} on "):
            ArchiveLock.acquire(tmp_path, "scrapy rebuild")
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with ArchiveLock.acquire(tmp_path, "scrapy rebuild"), ArchiveLock.acquire(tmp_path, "the same process again"):
        pass  # shared within one process: the crawl command and its components


def test_commands_refuse_while_the_archive_is_held(tmp_path: Path) -> None:
    archive = tmp_path / "data"
    (archive / "warc").mkdir(parents=True)
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "a"\nagency = "甲"\nurls = ["http://127.0.0.1:9/"]\n', encoding="utf-8")
    holder = _holder(archive)
    try:
        _refusal(_scrapy("crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}",
                         "-s", f"ARCHIVE_DIR={archive}"), holder.pid)
        line = _refusal(_scrapy("rebuild", "-s", f"ARCHIVE_DIR={archive}"), holder.pid)
        assert line.startswith("scrapy rebuild: ")
        line = _refusal(_scrapy("export", "-s", f"ARCHIVE_DIR={archive}", "-o", str(tmp_path / "out")), holder.pid)
        assert line.startswith("scrapy export: ")
        assert not (archive / "catalog.sqlite").exists() and not (tmp_path / "out").exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()


def test_a_second_crawl_and_a_rebuild_during_a_crawl_are_refused(tmp_path: Path) -> None:
    portal = start_portal(host="127.0.0.1", port=0, seed=7, sites=["trs"], reports_per_site=5)
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        archive = tmp_path / "data"

        def crawl(archive_dir: Path, jobdir: Path) -> list[str]:
            return [sys.executable, "-m", "scrapy", "crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}",
                    "-s", f"ARCHIVE_DIR={archive_dir}", "-s", f"JOBDIR={jobdir}", "-s", "LOG_LEVEL=INFO",
                    "-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=1.0", "-s", "AUTOTHROTTLE_ENABLED=False"]

        first = subprocess.Popen(crawl(archive, archive / "state" / "job"), cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while sum(portal.hits.values()) < 3:
            assert first.poll() is None and time.monotonic() < deadline, "the first crawl did not get going"
            time.sleep(0.05)
        tries = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for cmd in (crawl(archive, archive / "state" / "job"),
                             crawl(tmp_path / "other", archive / "state" / "job"),
                             [sys.executable, "-m", "scrapy", "rebuild", "-s", f"ARCHIVE_DIR={archive}"])]
        second, same_jobdir, rebuilt = (_finished(p) for p in tries)
        assert first.poll() is None, "the first crawl ended before the others were tried: make it slower"
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-3000:]
        for proc in (second, rebuilt):
            _refusal(proc, first.pid)
        line = same_jobdir.stderr.strip().splitlines()[-1]
        assert same_jobdir.returncode == 2 and f"(pid {first.pid} on " in line and "job" in line, line
        truth = {str(r["url"]) for r in portal.ground_truth}
        con = sqlite3.connect(archive / "catalog.sqlite")
        rows = Counter(url for (url,) in con.execute("SELECT url FROM reports"))
        con.close()
        assert set(rows) == truth and set(rows.values()) == {1}
        fetched = Counter(urlsplit(u).path for u in portal.all_urls())
        assert all(portal.hits[p] == n for p, n in fetched.items()), "something was fetched twice"
        assert not (tmp_path / "other" / "warc").exists()
    finally:
        portal.stop()
