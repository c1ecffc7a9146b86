"""Researcher access (issue 5): captures / pull (payload, http, warc) on our WARCs and on wget's and warcio's,
safe output, the CDXJ rebuild with an external sort, and the WACZ package."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

import pytest

from archive import CaptureNotFound, iter_captures, list_captures, load_capture
from archive.cdxj import build_index, index_path_for, sorted_lines
from archive.output import OutputExists, open_output
from archive.pull import http_message, snapshot
from archive.testing import ROOT, run_crawl, start_site
from archive.verify import verify_warc
from archive.wacz import _arcname, write_wacz


@pytest.fixture
def scrapy(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """`scrapy <command> …` run in this process (commands are thin; no reactor): (exit code, stdout, stderr)."""
    from scrapy.cmdline import execute

    monkeypatch.chdir(ROOT)

    def run(*args: str, archive: Path | None = None) -> subprocess.CompletedProcess[str]:
        extra = ["-s", f"ARCHIVE_DIR={archive}"] if archive is not None else []
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            execute(["scrapy", *args, *extra])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, int(exc.value.code or 0), out.out, out.err)
    return run


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("access")
    site = start_site()
    try:
        run_crawl(tmp / "data", [site.u("/")])
        run_crawl(tmp / "data", [site.u("/")])  # the second crawl writes revisits
        for f in (tmp / "data" / "warc").glob("*.warc.gz"):
            assert verify_warc(f) == []
        yield site, tmp / "data"
    finally:
        site.stop()


def test_pull_payload_http_and_warc(archive, tmp_path: Path) -> None:
    site, data = archive
    url = site.u("/gzip.html")
    payload = snapshot(url, "payload", archive_dir=data)
    assert "压缩页面".encode() in payload
    http = snapshot(url, "http", archive_dir=data)
    head, _, body = http.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Encoding: gzip" in head
    assert gzip.decompress(body) == payload
    warc = snapshot(url, "warc", archive_dir=data)  # latest capture is a revisit: it comes with its original
    out = tmp_path / "one.warc.gz"
    out.write_bytes(warc)
    assert verify_warc(out) == []
    assert [c.record_type for c in iter_captures(out)] == ["response", "revisit"]


def test_pull_at_picks_the_closest_capture(archive) -> None:
    site, data = archive
    entries = list_captures(site.u("/gzip.html"), archive_dir=data)
    assert [e.record_type for e in entries] == ["response", "revisit"]
    first = load_capture(site.u("/gzip.html"), archive_dir=data, at=entries[0].timestamp, resolve=False)
    assert first.record_type == "response"
    assert load_capture(site.u("/gzip.html"), archive_dir=data, at="2099").record_type == "revisit"
    with pytest.raises(ValueError, match="YYYYMMDDhhmmss"):
        load_capture(site.u("/gzip.html"), archive_dir=data, at="20")


def test_commands_captures_and_pull(archive, scrapy, tmp_path: Path) -> None:
    site, data = archive
    proc = scrapy("captures", site.u("/gbk.html"), "--json", archive=data)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["record_type"] for r in rows] == ["response", "revisit"] and rows[0]["status"] == 200
    out = tmp_path / "gbk.html"
    proc = scrapy("pull", site.u("/gbk.html"), "-o", str(out), archive=data)
    assert proc.returncode == 0, proc.stderr
    assert "年报".encode("gbk") in out.read_bytes()
    out.write_bytes(b"keep me")
    proc = scrapy("pull", site.u("/gbk.html"), "-o", str(out), archive=data)
    assert proc.returncode == 1 and "--force" in proc.stderr and out.read_bytes() == b"keep me"
    proc = scrapy("pull", site.u("/gbk.html"), "-o", str(out), "--force", "--as", "http", archive=data)
    assert proc.returncode == 0 and out.read_bytes().startswith(b"HTTP/1.1 200 OK")
    with pytest.raises(CaptureNotFound, match="no capture of"):
        load_capture(site.u("/nowhere"), archive_dir=data)


def test_output_never_follows_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"precious")
    link = tmp_path / "out.bin"
    link.symlink_to(target)
    with pytest.raises(OutputExists):
        with open_output(link) as fh:
            fh.write(b"x")
    with open_output(link, force=True) as fh:
        fh.write(b"new")
    assert target.read_bytes() == b"precious" and not link.is_symlink() and link.read_bytes() == b"new"
    with pytest.raises(IsADirectoryError):
        with open_output(tmp_path):
            pass


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget not installed")
def test_pull_on_a_warc_wget_wrote_from_the_demo_portal(scrapy, tmp_path: Path) -> None:
    from crawler.portal import start_portal

    portal = start_portal(host="127.0.0.1", port=0, seed=7)
    try:
        column = portal.url + "/trs/zwgk/zfxxgk/zfxxgknb/index.html"
        subprocess.run(["wget", "-q", f"--warc-file={tmp_path / 'wget'}", "--no-warc-keep-log", "-r", "-l", "1",
                        "-np", "-e", "robots=off", "-P", str(tmp_path / "mirror"), column],
                       timeout=120, check=False)
        report = portal.ground_truth[0]["url"]
        with urllib.request.urlopen(report, timeout=10) as resp:
            served = resp.read()
    finally:
        portal.stop()
    warcs = tmp_path / "warcs"
    warcs.mkdir()
    (tmp_path / "wget.warc.gz").rename(warcs / "wget.warc.gz")
    entries = list_captures(column, warc_dir=warcs)
    assert len(entries) == 1 and entries[0].status == 200 and entries[0].method == "GET"
    out = tmp_path / "report.html"
    proc = scrapy("pull", report, "--warc-dir", str(warcs), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == served


def test_reads_a_warc_warcio_wrote(tmp_path: Path) -> None:
    from warcio.capture_http import capture_http

    site = start_site()
    path = tmp_path / "warcs" / "warcio.warc.gz"
    path.parent.mkdir()
    try:
        with capture_http(str(path)):
            for p in ("/gzip.html", "/gbk.html"):
                urllib.request.urlopen(site.u(p), timeout=10).read()
    finally:
        site.stop()
    assert verify_warc(path) == []
    cap = load_capture(site.u("/gzip.html"), warc_dir=path.parent)
    assert cap.header("Content-Encoding") == "gzip" and "压缩页面".encode() in cap.payload
    assert http_message(cap).startswith(b"HTTP/1.")


def test_index_rebuild_with_external_sort_matches_index_written_at_close(archive, tmp_path: Path) -> None:
    _, data = archive
    lines = [f"k{random.Random(3).randrange(10**6) + i} x {{}}\n" for i in range(50)]
    random.Random(4).shuffle(lines)
    assert list(sorted_lines(lines, buffer_lines=7)) == sorted(lines)
    report = build_index(data / "warc", tmp_path / "index", buffer_lines=3, merge_to=tmp_path / "all.cdxj")
    assert len(report.indexed) == 2 and report.damaged == []
    for warc in (data / "warc").glob("*.warc.gz"):
        assert index_path_for(tmp_path / "index", warc.name).read_text() == \
            index_path_for(data / "index", warc.name).read_text()
    merged = (tmp_path / "all.cdxj").read_text().splitlines()
    assert merged == sorted(merged) and len(merged) == report.lines
    again = build_index(data / "warc", tmp_path / "index")
    assert again.indexed == [] and len(again.skipped) == 2


def test_wacz_package(archive, scrapy, tmp_path: Path) -> None:
    site, data = archive
    out = tmp_path / "a.wacz"
    proc = scrapy("wacz", "-o", str(out), archive=data)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert {"datapackage.json", "datapackage-digest.json", "pages/pages.jsonl", "indexes/index.cdxj"} <= set(names)
        warcs = [n for n in names if n.startswith("archive/")]
        assert len(warcs) == 2 and all(zf.getinfo(n).compress_type == zipfile.ZIP_STORED for n in warcs)
        package = json.loads(zf.read("datapackage.json"))
        assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
        for res in package["resources"]:
            body = zf.read(res["path"])
            assert res["hash"] == "sha256:" + hashlib.sha256(body).hexdigest() and res["bytes"] == len(body)
        digest = json.loads(zf.read("datapackage-digest.json"))
        assert digest["hash"] == "sha256:" + hashlib.sha256(zf.read("datapackage.json")).hexdigest()
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()]
        assert pages[0]["format"] == "json-pages-1.0"
        assert site.u("/gbk.html") in {p["url"] for p in pages[1:]}  # role "report" in the test spider
        index = zf.read("indexes/index.cdxj").decode().splitlines()
        assert index == sorted(index)
        assert {json.loads(line.split(" ", 2)[2])["filename"] for line in index} == {n[8:] for n in warcs}
    proc = scrapy("wacz", "-o", str(out), archive=data)
    assert proc.returncode == 1 and "--force" in proc.stderr


def test_wacz_refuses_unsafe_names() -> None:
    for bad in ("../evil.warc.gz", "a/b.warc.gz", ".hidden", ""):
        with pytest.raises(ValueError):
            _arcname("archive", bad)
    with pytest.raises(FileNotFoundError):
        write_wacz(io.BytesIO(), "/nonexistent-dir-for-wacz")


def test_wacz_url_prefix_keeps_only_those_urls(archive, tmp_path: Path) -> None:
    site, data = archive
    buf = io.BytesIO()
    report = write_wacz(buf, data / "warc", index_dir=data / "index", url_prefix=site.u("/redirect/"))
    with zipfile.ZipFile(buf) as zf:
        urls = {json.loads(line.split(" ", 2)[2])["url"] for line in zf.read("indexes/index.cdxj").decode().splitlines()}
    assert urls == {site.u("/redirect/1"), site.u("/redirect/2")} and report.index_lines == 4


def test_index_command(archive, scrapy, tmp_path: Path) -> None:
    _, data = archive
    copy = tmp_path / "data"
    shutil.copytree(data / "warc", copy / "warc")
    proc = scrapy("index", "--merge-to", str(tmp_path / "all.cdxj"), archive=copy)
    assert proc.returncode == 0, proc.stderr
    assert "2 WARC files indexed" in proc.stdout and len(list((copy / "index").glob("*.cdxj"))) == 2
    assert (tmp_path / "all.cdxj").read_text().count("\n") > 10
    proc = scrapy("index", archive=copy)
    assert "0 WARC files indexed, 2 up to date" in proc.stdout
