"""Hostile input, each refused: a source on a private address that does not allow it, a billion-laughs XML list,
a DOCX zip bomb and a zip-slip DOCX, a WARC name that would zip-slip a WACZ, `pull -o` over an existing file or
through a symlink, and no telnet / remote-control port open while a crawl runs. (Redirects to 169.254.169.254 and
DNS names of private addresses: tests/test_security.py.)"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from crawler.portal import start_portal
from crawler.portal.faults import billion_laughs
from tests.conftest import ROOT

SCRAPY = [sys.executable, "-m", "scrapy"]


# --- private address, through the real spider ------------------------------------------------------------------

def test_source_on_a_private_address_is_refused_unless_allowed(tmp_path: Path) -> None:
    portal = start_portal(host="127.0.0.1", port=0, seed=3, sites=["trs"])
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        text = sources.read_text(encoding="utf-8")
        assert "allow_private = true" in text
        sources.write_text(text.replace("allow_private = true", "allow_private = false"), encoding="utf-8")
        archive = tmp_path / "data"
        proc = subprocess.run([*SCRAPY, "crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}",
                               "-s", f"ARCHIVE_DIR={archive}"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert sum(portal.hits.values()) == 0, f"the portal was contacted: {dict(portal.hits)}"
    finally:
        portal.stop()
    events = [json.loads(line) for line in (archive / "crawl.log").read_text(encoding="utf-8").splitlines()]
    refused = [e for e in events if e["event"] == "refused"]
    assert refused and all(e["category"] == "loopback" for e in refused)
    assert "set allow_private = true on its source" in refused[0]["reason"]


# --- billion laughs ----------------------------------------------------------------------------------------------

def test_billion_laughs_is_not_expanded() -> None:
    from crawler.families.hanweb import HanwebError, parse_datastore

    bomb = billion_laughs(10)  # 10^9 "lol"s if expanded: ~3 GB
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(HanwebError, match="not expanded"):
        parse_datastore(bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert time.monotonic() - started < 2
    assert peak < 5 * 1024 * 1024


# --- DOCX: zip bomb and zip-slip -----------------------------------------------------------------------------------

def _docx(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"/>')
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_docx_zip_bomb_is_refused_without_inflating() -> None:
    from crawler.report import parse_report

    bomb = _docx({"word/document.xml": b"<" + b" " * (300 * 1024 * 1024) + b">"})  # 300 MB of spaces
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    report = parse_report(bomb, url="http://example.gov.cn/a.docx", content_type=DOCX).to_dict()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"
    details = " ".join(str(i.get("detail")) for i in report["issues"])
    assert "refused" in details and "inflates" in details


def test_docx_zip_slip_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.report import parse_report

    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    evil = _docx({"../../pwned.txt": b"owned", "/tmp/nianbao-pwned-abs.txt": b"owned",
                  "word/document.xml": b"<w:document/>"})
    before = set(tmp_path.rglob("*"))
    report = parse_report(evil, url="http://example.gov.cn/b.docx", content_type=DOCX).to_dict()
    assert set(tmp_path.rglob("*")) == before
    assert not Path("/tmp/nianbao-pwned-abs.txt").exists()
    assert report["issues"], "a broken DOCX is an issue, not silence"


# --- WACZ: no member outside its folder -------------------------------------------------------------------------------

def test_wacz_refuses_a_warc_name_that_is_not_a_plain_file_name(tmp_path: Path) -> None:
    from archive.wacz import write_wacz

    warcs = tmp_path / "warc"
    warcs.mkdir()
    (warcs / "ok..x.warc.gz").write_bytes(b"")
    with pytest.raises(ValueError, match="not a plain file name"):
        write_wacz(io.BytesIO(), warcs)


def test_wacz_members_stay_inside_the_package(tmp_path: Path) -> None:
    from archive.testing import run_crawl, start_site
    from archive.wacz import write_wacz

    site = start_site()
    try:
        archive = tmp_path / "data"
        run_crawl(archive, [site.u("/")])
    finally:
        site.stop()
    buf = io.BytesIO()
    write_wacz(buf, archive / "warc", index_dir=archive / "index")
    with zipfile.ZipFile(buf) as zf:
        names = zf.namelist()
    assert names and all(not n.startswith("/") and ".." not in n.split("/") for n in names)
    assert {n.split("/")[0] for n in names} <= {"archive", "indexes", "pages", "datapackage.json",
                                                "datapackage-digest.json"}


# --- pull -o -----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pulled_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    from archive.testing import run_crawl, start_site

    tmp = tmp_path_factory.mktemp("pull")
    site = start_site()
    try:
        archive = tmp / "data"
        run_crawl(archive, [site.u("/")])
        return archive, site.u("/")
    finally:
        site.stop()


def _pull(archive: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SCRAPY, "pull", url, "-s", f"ARCHIVE_DIR={archive}", *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_pull_never_overwrites_nor_writes_through_a_symlink(pulled_archive, tmp_path: Path) -> None:
    archive, url = pulled_archive
    mine = tmp_path / "page.html"
    mine.write_bytes(b"mine")
    refused = _pull(archive, url, "-o", str(mine))
    assert refused.returncode != 0
    assert "exists; use --force" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert mine.read_bytes() == b"mine"

    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_bytes(b"do not touch")
    link = tmp_path / "out.html"
    link.symlink_to(victim)
    forced = _pull(archive, url, "-o", str(link), "--force")
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert victim.read_bytes() == b"do not touch", "wrote outside the path it was given"
    assert not link.is_symlink() and link.stat().st_size > 0


# --- no control ports ------------------------------------------------------------------------------------------------

def _listening_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_no_telnet_or_remote_control_port_while_crawling(tmp_path: Path) -> None:
    portal = start_portal(host="127.0.0.1", port=0, seed=3, sites=["trs"])
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        proc = subprocess.Popen([*SCRAPY, "crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}",
                                 "-s", f"ARCHIVE_DIR={tmp_path / 'data'}", "-s", "DOWNLOAD_DELAY=0.3",
                                 "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "CONCURRENT_REQUESTS=1"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while sum(portal.hits.values()) < 3:  # the engine is running
                assert proc.poll() is None and time.monotonic() < deadline, "crawl ended early"
                time.sleep(0.05)
            listening = _socket_inodes(proc.pid) & _listening_inodes()
        finally:
            proc.kill()
            _, err = proc.communicate(timeout=30)
    finally:
        portal.stop()
    assert listening == set(), "the crawler listens on a port"
    assert "Telnet console listening" not in err and "RemoteControl" not in err
