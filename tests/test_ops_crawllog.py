"""crawl.log (crawler/crawllog.py): every fault a careful crawler meets is one JSON line with its URL and reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.crawllog import declared_charset_problem
from tests.test_ops_probe import PAGE, FaultServer, run_probe

ALLOW = {"nianbao_allow_private": True}


def _faulty_crawl(tmp: Path, *, reword_logs: bool = False, **settings: Any) -> dict[str, Any]:
    with FaultServer() as srv:
        names = ["flaky", "slow", "reset", "short", "bomb", "big", "warn", "charset", "missing", "loop"]
        paths = {"slow": "/slow?s=3", "loop": "/loop/a"}
        cases: list[dict[str, Any]] = [
            {"name": n, "url": srv.base + paths.get(n, "/" + n), "meta": ALLOW} for n in names
        ]
        cases.append({"name": "capped", "event": "pagination_capped", "url": f"{srv.base}/x/",
                      "reason": "NIANBAO_MAX_LIST_PAGES=3 reached"})
        data = run_probe(cases, tmp, reword_logs=reword_logs, DOWNLOAD_TIMEOUT=1, RETRY_TIMES=1,
                         DOWNLOAD_MAXSIZE=1024 * 1024, DOWNLOAD_WARNSIZE=512 * 1024, **settings)
        data["base"] = srv.base
    return data


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _faulty_crawl(tmp_path_factory.mktemp("crawllog"))


def _events(data: dict[str, Any], kind: str, path: str | None = None) -> list[dict[str, Any]]:
    return [e for e in data["log"] if e["event"] == kind
            and (path is None or (e.get("url") or "").startswith(data["base"] + path))]


def test_every_line_has_the_common_fields(faulty) -> None:
    runs = {e["run"] for e in faulty["log"]}
    assert len(runs) == 1
    for e in faulty["log"]:
        assert {"time", "run", "event", "url", "reason"} <= set(e)
        assert e["time"].endswith("Z")
    assert faulty["log"][0]["event"] == "run_start"
    end = faulty["log"][-1]
    assert end["event"] == "run_end" and end["reason"] == "finished"
    assert end["events"]["retry"] >= 1


def test_503_then_retry_then_success(faulty) -> None:
    assert faulty["results"]["flaky"]["status"] == 200
    assert [e["status"] for e in _events(faulty, "http_error", "/flaky")] == [503]
    retry = _events(faulty, "retry", "/flaky")
    assert len(retry) == 1 and "503" in retry[0]["reason"] and retry[0]["attempt"] == 1


def test_timeout_retried_then_given_up(faulty) -> None:
    assert faulty["results"]["slow"]["error"] == "DownloadTimeoutError"
    assert len(_events(faulty, "timeout", "/slow")) == 2  # first try and its one retry
    assert len(_events(faulty, "retry", "/slow")) == 1
    gave_up = _events(faulty, "gave_up", "/slow")
    assert len(gave_up) == 1 and "DownloadTimeoutError" in gave_up[0]["reason"]


def test_reset_and_short_body(faulty) -> None:
    assert faulty["results"]["reset"]["error"] in ("DownloadFailedError", "ConnectionLost", "ConnectionDone")
    assert len(_events(faulty, "reset", "/reset")) == 2
    assert faulty["results"]["short"]["error"] == "ResponseDataLossError"
    assert len(_events(faulty, "short_body", "/short")) == 2


def test_oversize_gzip_bomb_and_plain(faulty) -> None:
    bomb = _events(faulty, "oversize", "/bomb")
    assert faulty["results"]["bomb"]["error"] == "IgnoreRequest"
    assert len(bomb) == 1 and "decompress" in bomb[0]["reason"]
    assert faulty["results"]["big"]["error"] == "DownloadCancelledError"
    assert _events(faulty, "oversize", "/big")
    assert faulty["results"]["warn"]["status"] == 200
    assert _events(faulty, "oversize_warning", "/warn")


def test_redirect_loop_and_404(faulty) -> None:
    loops = _events(faulty, "redirect_loop")
    assert loops and loops[0]["reason"].endswith("already visited in this chain")
    assert any(e["url"].endswith("/loop/b") for e in loops)
    missing = _events(faulty, "http_error", "/missing")
    assert [e["status"] for e in missing] == [404]


def test_wrong_charset_and_capped_pagination(faulty) -> None:
    mism = _events(faulty, "charset_mismatch", "/charset")
    assert len(mism) == 1 and "utf-8" in mism[0]["reason"]
    assert not _events(faulty, "charset_mismatch", "/flaky")
    capped = _events(faulty, "pagination_capped", "/x/")
    assert len(capped) == 1 and capped[0]["reason"] == "NIANBAO_MAX_LIST_PAGES=3 reached"


def _outline(data: dict[str, Any]) -> list[tuple[str, str]]:
    base = data["base"]
    return sorted((e["event"], (e.get("url") or "").replace(base, "")) for e in data["log"]
                  if e["event"] not in ("run_start", "run_end"))


def test_events_do_not_depend_on_log_wording(faulty, tmp_path: Path) -> None:
    """The same crawl with every log message reworded (ROT13: "Retrying" reads "Ergelvat", "Error downloading"
    "Reebe qbjaybnqvat", "max redirections" "znk erqverpgvbaf") writes the same crawl.log events: none is
    recognised from what a log message says."""
    reworded = _faulty_crawl(tmp_path, reword_logs=True)
    assert "Fpencl" in reworded["stderr"], "the log was not reworded"  # "Scrapy 2.19.0 started"
    assert _outline(reworded) == _outline(faulty)
    kinds = {kind for kind, _ in _outline(faulty)}
    assert {"retry", "gave_up", "timeout", "oversize", "oversize_warning", "redirect_loop", "http_error",
            "charset_mismatch"} <= kinds


def test_events_counted_in_stats(faulty) -> None:
    stats = faulty["stats"]
    for kind in ("retry", "timeout", "reset", "short_body", "oversize", "redirect_loop", "http_error"):
        assert stats[f"nianbao/crawl_log/{kind}"] == len(_events(faulty, kind)), kind


@pytest.mark.parametrize(
    ("body", "ctype", "problem"),
    [
        (PAGE.encode("utf-8"), "text/html; charset=utf-8", None),
        (PAGE.encode("gbk"), "text/html; charset=GB2312", None),
        (PAGE.encode("gbk"), "text/html; charset=utf-8", "Content-Type declares utf-8 but byte"),
        (PAGE.encode("utf-8"), "text/html; charset=gbk", "declares gbk but the bytes are UTF-8"),
        (b'<meta charset="gbk">' + PAGE.encode("utf-8"), "text/html", "<meta> declares gbk but the bytes are UTF-8"),
        (PAGE.encode("utf-8"), "text/html; charset=x-klingon", "unknown charset"),
        (PAGE.encode("utf-8"), "text/html", None),
    ],
)
def test_declared_charset_problem(body: bytes, ctype: str, problem: str | None) -> None:
    got = declared_charset_problem(body, ctype)
    assert (got is None) if problem is None else (got is not None and problem in got)
