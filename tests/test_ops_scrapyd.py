"""Scheduling through Scrapyd: a real Scrapyd on 127.0.0.1 (free port), the project deployed as an egg with
``scrapyd-deploy``, a crawl of the demo portal scheduled over the JSON API, and the catalog fills."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from crawler.portal import start_portal
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
SHIPPED = ("scrapy.cfg", "pyproject.toml", "README.md", "crawler", "spiders", "pipelines", "archive")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _api(base: str, action: str, data: dict[str, Any] | list[tuple[str, str]] | None = None) -> dict[str, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(base + action, data=body, timeout=10) as resp:  # noqa: S310 - loopback only
        answer: dict[str, Any] = json.loads(resp.read())
    assert answer.get("status") == "ok", answer
    return answer


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    (work / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {work / 'eggs'}\nlogs_dir = {work / 'logs'}\ndbs_dir = {work / 'dbs'}\n"
        "items_dir =\npoll_interval = 0.5\nmax_proc = 1\n"
    )
    proc = subprocess.Popen([str(BIN / "scrapyd")], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                _api(base, "daemonstatus.json")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("scrapyd did not start: " + proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        yield base, work
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_deploy_schedule_and_the_catalog_fills(scrapyd, tmp_path: Path) -> None:
    base, work = scrapyd
    # Deploy from a clean copy of the project: scrapyd-deploy writes setup.py and build/ where it runs.
    project = tmp_path / "project"
    project.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SHIPPED:
        src = ROOT / name
        (shutil.copytree(src, project / name, ignore=ignore) if src.is_dir() else shutil.copy(src, project / name))
    env = dict(os.environ, SCRAPYD_URL=base)
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    deployed = subprocess.run([str(BIN / "scrapyd-deploy"), "env", "-v", "1"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=120)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert '"status": "ok"' in deployed.stdout, deployed.stdout
    assert _api(base, "listprojects.json")["projects"] == ["nianbao"]
    assert "annual_reports" in _api(base, "listspiders.json?project=nianbao")["spiders"]

    portal = start_portal(host="127.0.0.1", port=0, seed=5, sites=["trs"])
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        archive = tmp_path / "data"
        job = _api(base, "schedule.json", [
            ("project", "nianbao"), ("spider", "annual_reports"),
            ("setting", f"NIANBAO_SOURCES={sources}"), ("setting", f"ARCHIVE_DIR={archive}"),
        ])["jobid"]
        deadline = time.monotonic() + 120
        while True:
            jobs = _api(base, "listjobs.json?project=nianbao")
            if any(j["id"] == job for j in jobs["finished"]):
                break
            assert time.monotonic() < deadline, f"job {job} did not finish: {jobs}"
            time.sleep(0.5)
    finally:
        portal.stop()

    log = next((work / "logs" / "nianbao" / "annual_reports").glob(f"{job}.log")).read_text(encoding="utf-8")
    assert "'finish_reason': 'finished'" in log, log[-3000:]
    con = sqlite3.connect(archive / "catalog.sqlite")
    urls = {u for (u,) in con.execute("SELECT url FROM reports")}
    con.close()
    assert urls == {r["url"] for r in portal.ground_truth}
    events = [json.loads(line)["event"] for line in (archive / "crawl.log").read_text().splitlines()]
    assert events[0] == "run_start" and events[-1] == "run_end"
