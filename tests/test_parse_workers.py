"""The parse pipeline's worker processes: same entries as the in-process thread, and a worker killed in the middle
of a document costs nothing but a retry."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from crawler.items import ReportItem
from crawler.routing import Routing
from pipelines.parse_pipeline import ParseReportPipeline, parse_workers

T = TypeVar("T")


async def asyncio_runner(executor: Executor, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.wrap_future(executor.submit(fn, *args))

ROUTING = Routing("report", source="t", family="trs")


class Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def _items() -> list[ReportItem]:
    from crawler.portal.generator import generate_report
    from crawler.portal.render import render_html, render_text
    from crawler.portal.render_files import render_pdf

    items = []
    for name, body, ctype in (("report_2021.html", render_html(generate_report(3)), "text/html; charset=utf-8"),
                              ("report_2019.txt", render_text(generate_report(5, "2019", year=2020)),
                               "text/plain; charset=utf-8")):
        items.append(ReportItem(url=f"http://127.0.0.1/{name}", body=body.encode("utf-8"),
                                status=200, headers={"Content-Type": [ctype]}, routing=ROUTING))
    pdf = render_pdf(generate_report(7))
    items.append(ReportItem(url="http://127.0.0.1/report.pdf", body=pdf, status=200,
                            headers={"Content-Type": ["application/pdf"]}, routing=ROUTING))
    return items


def _slow_item() -> ReportItem:
    """A report page with a ~2 MB table: about a second of parsing, so that a worker is surely busy with it."""
    row = "<tr><td>（一）某某类别的名称很长的一行</td>" + "<td>1</td>" * 7 + "</tr>"
    body = ("<html><head><title>2023年政府信息公开工作年度报告</title></head><body><p>一、总体情况</p><table>"
            + row * 12000 + "</table></body></html>").encode()
    return ReportItem(url="http://127.0.0.1/slow.html", body=body, status=200,
                      headers={"Content-Type": ["text/html; charset=utf-8"]}, routing=ROUTING)


def _pipeline(workers: int) -> tuple[ParseReportPipeline, Stats]:
    stats = Stats()
    pipe = ParseReportPipeline(stats, workers)  # type: ignore[arg-type]
    pipe.runner = asyncio_runner
    return pipe, stats


def _reports(items: list[Any]) -> list[Any]:
    return [item.catalog_entry.report for item in items]


def test_auto_worker_count_is_one_per_core_up_to_four() -> None:
    assert parse_workers("auto", cpu_count=1) == 1
    assert parse_workers(None, cpu_count=2) == 2
    assert parse_workers("", cpu_count=16) == 4
    assert parse_workers(3) == 3 and parse_workers("0") == 0
    for bad in (-1, "many"):
        with pytest.raises(ValueError, match="CATALOG_PARSE_WORKERS"):
            parse_workers(bad)


def test_worker_processes_give_the_entries_the_thread_gives() -> None:
    async def run(workers: int) -> list[Any]:
        pipe, stats = _pipeline(workers)
        try:
            done = await asyncio.gather(*(pipe.process_item(item) for item in _items()))
        finally:
            pipe.close_spider()
        assert stats.values["catalog/parsed"] == 3
        return _reports(done)

    in_thread = asyncio.run(run(0))
    in_processes = asyncio.run(run(1))
    assert in_processes == in_thread
    assert all(r is not None and r["tables"] for r in in_processes)


def _kill_workers(executor: Executor) -> int:
    assert isinstance(executor, ProcessPoolExecutor)
    pids = list((executor._processes or {}).keys())
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return len(pids)


async def _wait_for_workers(pipe: ParseReportPipeline, other_than: Executor | None = None) -> Executor:
    for _ in range(400):
        ex = pipe.executor
        if ex is not other_than and isinstance(ex, ProcessPoolExecutor) and ex._processes:
            return ex
        await asyncio.sleep(0.025)
    raise AssertionError("the parse pool never started a worker")


def test_a_killed_worker_costs_a_retry_not_the_document() -> None:
    async def run() -> tuple[list[Any], Stats]:
        pipe, stats = _pipeline(1)
        try:
            warm = _items()[:1]
            await pipe.process_item(warm[0])  # the worker is up and has imported the parser
            items = [_slow_item(), *_items()]  # the first keeps the worker busy for about a second
            pending = [asyncio.ensure_future(pipe.process_item(item)) for item in items]
            await asyncio.sleep(0.3)
            assert _kill_workers(pipe.executor) == 1
            done = await asyncio.gather(*pending)
        finally:
            pipe.close_spider()
        return _reports(done), stats

    reports, stats = asyncio.run(run())
    assert all(r is not None for r in reports), "every document parsed on its second try"
    assert stats.values["catalog/parse_worker_died"] >= 1
    assert "catalog/parse_failed" not in stats.values


def test_a_document_whose_worker_dies_twice_is_stored_as_failed() -> None:
    async def run() -> tuple[Any, Stats]:
        pipe, stats = _pipeline(1)
        try:
            item = _items()[2]  # the PDF: ~100 ms in pdfminer
            task = asyncio.ensure_future(pipe.process_item(item))
            first = await _wait_for_workers(pipe)
            _kill_workers(first)
            second = await _wait_for_workers(pipe, other_than=first)
            _kill_workers(second)
            done = await task
        finally:
            pipe.close_spider()
        return done.catalog_entry, stats

    entry, stats = asyncio.run(run())
    assert entry.report is None
    assert entry.error.startswith("parse worker died on this document")
    assert stats.values["catalog/parse_failed"] == 1
    assert stats.values["catalog/parse_worker_died"] == 2


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_crawl_leaves_no_worker_process_behind(tmp_path: Path) -> None:
    """SIGKILL the crawl while its parse workers and catalog writer run: they die with it (none is left holding
    the catalog, the crawl's stderr and its memory)."""
    import subprocess
    import sys
    import time

    from crawler.portal import start_portal

    portal = start_portal(host="127.0.0.1", port=0, seed=4, sites=["trs"], reports_per_site=60)
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        proc = subprocess.Popen([sys.executable, "-m", "scrapy", "crawl", "annual_reports", "-s",
                                 f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={tmp_path / 'data'}",
                                 "-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=False",
                                 "-s", "CATALOG_PARSE_WORKERS=2"],
                                cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 4:  # the resource tracker, the catalog writer and two parse workers
            assert proc.poll() is None and time.monotonic() < deadline, f"crawl ended or stalled: {workers}"
            workers = _children(proc.pid)
            time.sleep(0.1)
        proc.kill()
        proc.communicate(timeout=30)  # returns once no child holds the stderr pipe
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        portal.stop()
