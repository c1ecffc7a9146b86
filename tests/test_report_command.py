"""`scrapy report`: a local file, an archived URL (a real WARC written with warcio), and bad input."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.report_input import ReportInputError, report_from_archive, report_from_file
from tests.conftest import ROOT
from tests.shared import SHARED, needs_shared

pytestmark = needs_shared
SEED_003 = SHARED / "seeds" / "003_2dd042ee9b6b28f7.txt"
PAGE = SHARED / "real-samples" / "pingtan_2024_page.html"
URL = "https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm"


def _archive(tmp_path: Path) -> Path:
    """An archive folder with one gzip-encoded GBK response for URL."""
    html = PAGE.read_text(encoding="utf-8").replace('charset="utf-8"', 'charset="gbk"', 1).replace(
        "<meta charset=\"utf-8\"", "<meta charset=\"gbk\"", 1)
    body = gzip.compress(html.encode("gb18030"), mtime=0)
    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    with open(warc_dir / "TEST-00001.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=GBK"),
                                              ("Content-Encoding", "gzip"),
                                              ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
        record = writer.create_warc_record(URL, "response", payload=io.BytesIO(body), http_headers=headers,
                                           warc_headers_dict={"WARC-Date": "2025-03-11T08:00:00Z"})
        writer.write_record(record)
    return tmp_path


def test_local_file() -> None:
    report = report_from_file(SEED_003).to_dict()
    assert report["year"] == 2023 and report["format"] == "2021"
    assert report["tables"]["applications"]["new_received"] == [2, 0, 0, 0, 0, 0, 2]


def test_archived_url_gives_the_page_tables_and_capture_source(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    report = report_from_archive(URL, archive).to_dict()
    local = report_from_file(PAGE).to_dict()
    assert report["tables"] == local["tables"]
    assert report["text"]["charset"] == "gb18030"
    src = report["source"]
    assert src["url"] == URL and src["captured_at"] == "2025-03-11T08:00:00Z"
    assert src["warc_file"] == "TEST-00001.warc.gz" and src["warc_offset"] == 0
    assert src["warc_record_id"].startswith("<urn:uuid:")
    assert src["content_type"] == "text/html; charset=GBK"


def test_unknown_url_and_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="no capture of https://example.org/none"):
        report_from_archive("https://example.org/none", _archive(tmp_path))
    with pytest.raises(ReportInputError, match="cannot read"):
        report_from_file(tmp_path / "missing.html")


def _scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", "report", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_command_prints_canonical_json_and_fails_cleanly(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    ok = _scrapy(URL, "--json", "--archive-dir", str(archive))
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert list(data) == ["schema_version", "source", "title", "agency", "year", "published", "format", "text",
                          "sections", "tables", "issues"]
    assert data["tables"]["review_litigation"]["review"] == [2, 1, 3, 1, 7]
    bad = _scrapy(str(tmp_path / "nope.txt"))
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "cannot read" in bad.stderr
