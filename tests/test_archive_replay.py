"""Replay and packaging by the archivists' own tools (issue 5, slow): pywb indexes our WARCs and serves the
original bytes for an `id_` URL; `wacz validate` accepts our WACZ. pywb and wacz live in their own venv under
/tmp (created on first use with pip; skipped when it cannot be created)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from archive import list_captures, load_capture
from archive.testing import GBK_TEXT, run_crawl, start_site
from archive.verify import verify_warc
from archive.wacz import write_wacz

pytestmark = pytest.mark.slow

VENV = Path("/tmp/nianbao-pywb-venv")
SERVE = """
import os, sys
from wsgiref.simple_server import WSGIRequestHandler, make_server
os.chdir(sys.argv[1])
from pywb.apps.frontendapp import FrontEndApp
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
server = make_server("127.0.0.1", 0, FrontEndApp(), handler_class=Quiet)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def tool_venv() -> Path:
    bin_dir = VENV / "bin"
    if not (bin_dir / "wb-manager").exists() or not (bin_dir / "wacz").exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=120)
            subprocess.run([str(bin_dir / "pip"), "install", "-q", "pywb>=2.9,<3", "wacz>=0.5,<1"], check=True,
                           timeout=600, capture_output=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"cannot set up the pywb/wacz venv in {VENV}: {exc}")
    return bin_dir


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("replay")
    site = start_site()
    try:
        run_crawl(tmp / "data", [site.u("/")])
        for f in (tmp / "data" / "warc").glob("*.warc.gz"):
            assert verify_warc(f) == []
        yield site, tmp / "data"
    finally:
        site.stop()


def test_pywb_serves_the_original_bytes(crawled, tmp_path: Path) -> None:
    site, archive = crawled
    bin_dir = tool_venv()
    subprocess.run([str(bin_dir / "wb-manager"), "init", "coll"], cwd=tmp_path, check=True, capture_output=True)
    for warc in sorted((archive / "warc").glob("*.warc.gz")):
        subprocess.run([str(bin_dir / "wb-manager"), "add", "coll", str(warc)], cwd=tmp_path, check=True,
                       capture_output=True)
    (tmp_path / "config.yaml").write_text("debug: false\n")
    proc = subprocess.Popen([str(bin_dir / "python"), "-c", SERVE, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        for path in ("/gbk.html", "/multi.html", "/"):
            url = site.u(path)
            ts = list_captures(url, archive_dir=archive)[0].timestamp
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/coll/{ts}id_/{url}", timeout=30) as resp:
                body = resp.read()
            assert body == load_capture(url, archive_dir=archive).raw_payload, path
        gbk = load_capture(site.u("/gbk.html"), archive_dir=archive).raw_payload
        assert GBK_TEXT.encode("gbk") in gbk
        # a gzip-encoded capture replays as the encoded bytes the server sent, with their Content-Encoding
        cap = load_capture(site.u("/gzip.html"), archive_dir=archive)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/coll/{cap.timestamp}id_/{cap.url}",
                                     headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.headers.get("Content-Encoding") == "gzip" and resp.read() == cap.raw_payload
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_wacz_validate_accepts_our_package(crawled, tmp_path: Path) -> None:
    _, archive = crawled
    bin_dir = tool_venv()
    out = tmp_path / "archive.wacz"
    with open(out, "wb") as fh:
        write_wacz(fh, archive / "warc", index_dir=archive / "index")
    proc = subprocess.run([str(bin_dir / "wacz"), "validate", "-f", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and "Validation succeeded" in proc.stdout, proc.stdout + proc.stderr
