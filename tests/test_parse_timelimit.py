"""A time limit per capture's parse (CATALOG_PARSE_TIME_LIMIT, issue 16): a parse past it is a failed capture with the
reason, the worker goes on; a worker stuck in C code ends itself; a worker that dies in a rebuild costs that capture,
not the rebuild."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from crawler.items import ReportItem
from crawler.routing import Routing
from pipelines.catalog import rebuild as rebuild_module
from pipelines.catalog import timelimit
from pipelines.catalog.capture_info import CaptureInfo
from pipelines.catalog.processing import process_capture
from pipelines.catalog.store import StoreEntry
from pipelines.catalog.timelimit import EXIT_TIME_LIMIT, parse_time_limit, time_limit
from pipelines.parse_pipeline import ParseReportPipeline
from tests.test_parse_workers import Stats, asyncio_runner

ROUTING = Routing("report", source="t", family="trs")


def _slow_page() -> bytes:
    """A report page with a ~2 MB table: about a second of parsing, far past a 0.05 s limit on any machine."""
    row = "<tr><td>（一）某某类别的名称很长的一行</td>" + "<td>1</td>" * 7 + "</tr>"
    return ("<html><head><title>2023年政府信息公开工作年度报告</title></head><body><h1>2023年政府信息公开工作"
            "年度报告</h1><p>一、总体情况</p><table>" + row * 12000 + "</table></body></html>").encode()


def _quick_page() -> bytes:
    from crawler.portal.generator import generate_report
    from crawler.portal.render import render_html

    return render_html(generate_report(3)).encode()


def _info(url: str, body: bytes) -> CaptureInfo:
    return CaptureInfo.of_capture(url, f"urn:test:{url}", body, ROUTING, captured_at=None, warc_file=None,
                                  warc_offset=None, status=200, content_type="text/html")


def test_setting_is_seconds_zero_is_none_and_garbage_is_refused() -> None:
    assert parse_time_limit(None) == timelimit.DEFAULT_PARSE_TIME_LIMIT
    assert parse_time_limit("") == timelimit.DEFAULT_PARSE_TIME_LIMIT
    assert parse_time_limit("2.5") == 2.5 and parse_time_limit(0) is None
    for bad in ("soon", -1, "nan"):
        with pytest.raises(ValueError, match="CATALOG_PARSE_TIME_LIMIT"):
            parse_time_limit(bad)


def test_a_parse_past_the_limit_is_a_failed_capture_naming_it_and_leaves_no_timer() -> None:
    body = _slow_page()
    before = signal.getsignal(signal.SIGALRM)
    timer = signal.getitimer(signal.ITIMER_REAL)[0]  # pytest-timeout's, when it runs
    started = time.monotonic()
    entry = process_capture(body, _info("http://127.0.0.1/slow.html", body), "text/html; charset=utf-8",
                            seconds=0.05)
    assert time.monotonic() - started < 0.9, "stopped near the limit, not at the end of the parse"
    assert entry.report is None
    assert entry.error is not None and entry.error.startswith("parse stopped: parse time limit of 0.05 s ran out")
    assert f"{len(body)} bytes" in entry.error
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    assert (left == 0.0) if timer == 0.0 else (0.0 < left <= timer), "a caller's timer is put back, no other"
    assert signal.getsignal(signal.SIGALRM) is before
    quick = _quick_page()  # the next capture is parsed as usual
    assert process_capture(quick, _info("http://127.0.0.1/q.html", quick), "text/html", seconds=30).report


def test_a_caller_timer_is_put_back() -> None:
    rang: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: rang.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        with time_limit(5.0) as enforced:
            assert enforced
        time.sleep(1.0)
        assert rang == [signal.SIGALRM], "the caller's own alarm still rings"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_outside_the_main_thread_the_limit_says_it_is_not_enforced() -> None:
    seen: list[bool] = []

    def run() -> None:
        with time_limit(0.01) as enforced:
            seen.append(enforced)
            time.sleep(0.05)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [False]


def test_worker_pool_stores_a_timed_out_capture_as_failed_and_goes_on() -> None:
    slow, quick = _slow_page(), _quick_page()
    items = [ReportItem(url=f"http://127.0.0.1/{name}.html", body=body, status=200,
                        headers={"Content-Type": ["text/html; charset=utf-8"]}, routing=ROUTING)
             for name, body in (("slow", slow), ("quick", quick))]

    async def run() -> tuple[list[Any], Stats]:
        stats = Stats()
        pipe = ParseReportPipeline(stats, workers=1, seconds=0.3)  # type: ignore[arg-type]
        pipe.runner = asyncio_runner
        try:
            done = [await pipe.process_item(item) for item in items]
        finally:
            pipe.close_spider()
        return [item.catalog_entry for item in done], stats

    (slow_entry, quick_entry), stats = asyncio.run(run())
    assert slow_entry.report is None and "parse time limit of 0.3 s ran out" in slow_entry.error
    assert quick_entry.report is not None and quick_entry.error is None
    assert stats.values == {"catalog/parse_failed": 1, "catalog/parsed": 1} | {
        key: value for key, value in stats.values.items() if key.startswith("catalog/issues/")}


def _stuck_in_c() -> None:
    """A parse that never runs Python again (SIGALRM blocked stands for a C loop): only the hard stage ends it."""
    timelimit.HARD_GRACE = 0.5
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    with time_limit(0.2, hard=True):
        time.sleep(30)


def test_a_worker_stuck_past_the_limit_and_the_grace_ends_itself() -> None:
    process = multiprocessing.get_context("spawn").Process(target=_stuck_in_c)
    started = time.monotonic()
    process.start()
    process.join(20)
    assert process.exitcode == EXIT_TIME_LIMIT
    assert time.monotonic() - started < 15


def _parse_or_die(c: Any, seconds: float | None = None, hard: bool = False) -> Any:
    if "die" in c.capture:
        os.kill(os.getpid(), signal.SIGKILL)
    return StoreEntry(c.capture, {"ok": True}, "test")  # type: ignore[arg-type]


def test_a_worker_that_dies_in_a_rebuild_costs_its_capture_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rebuild_module, "parse_candidate", _parse_or_die)
    candidates = [SimpleNamespace(capture=f"http://127.0.0.1/{i}{'-die' if i == 7 else ''}") for i in range(30)]
    results = list(rebuild_module._parse_all(candidates, 2, 10.0))  # type: ignore[arg-type]
    assert sorted(r.capture for r in results) == sorted(c.capture for c in candidates), "each once, none lost"
    failed = [r for r in results if r.error]
    assert [r.capture for r in failed] == ["http://127.0.0.1/7-die"]
    assert failed[0].error.startswith("parse worker died on this document")

