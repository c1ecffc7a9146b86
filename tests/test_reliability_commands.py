"""Issue 16, item 9: bad input to a command is one line on stderr and a non-zero exit, never a traceback — malformed
URLs, ``NIANBAO_SOURCES`` naming a folder or an empty file, ``scrapy export`` onto a file or from a catalog that is
not one, and ``scrapy report`` on input that holds no readable document."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archive.lookup import list_captures
from archive.urls import BadUrl, check_url
from crawler.report_input import ReportInputError, report_from_archive, report_from_file, unreadable
from crawler.sources import SourceError, load_sources
from tests.conftest import ROOT

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _scrapy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, check=False)


def _one_line(proc: subprocess.CompletedProcess[str], *, code: int | None = None) -> str:
    """The last stderr line, after checking the command failed with it and printed no traceback."""
    assert proc.returncode != 0 if code is None else proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc.stderr.strip().splitlines()[-1]


# --- URLs -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "why"), [("http://[::1", "Invalid IPv6 URL"),
                                          ("http://h:99999/", "Port out of range"),
                                          ("http://h:port/", "Port could not be cast"),
                                          ("no-scheme.example/x", "not an absolute URL")])
def test_malformed_urls_are_named_in_one_line(tmp_path: Path, url: str, why: str) -> None:
    with pytest.raises(BadUrl, match=why):
        check_url(url)
    with pytest.raises(ValueError, match="not a"):
        list_captures(url, archive_dir=tmp_path)
    with pytest.raises(ReportInputError, match="not a") as info:
        report_from_archive(url, tmp_path)
    assert "--at" not in str(info.value)  # it was the URL, not --at, that was wrong


def test_captures_and_report_commands_refuse_a_malformed_url_in_one_line(tmp_path: Path) -> None:
    for url in ("http://[::1", "http://h:99999/"):
        line = _one_line(_scrapy("captures", url, "-s", f"ARCHIVE_DIR={tmp_path}"), code=1)
        assert line.startswith("scrapy captures: ") and "is not a valid URL" in line and url in line
    line = _one_line(_scrapy("report", "http://[::1", "--archive-dir", str(tmp_path)), code=1)
    assert "is not a valid URL" in line and "--at" not in line


def test_report_blames_at_only_when_at_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="--at wants YYYYMMDDhhmmss"):
        report_from_archive("http://example.org/", tmp_path, at="12")


# --- sources ----------------------------------------------------------------------------------------------------


def test_sources_folder_and_empty_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory"):
        load_sources(tmp_path)
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"no \[\[source\]\] entries: nothing to crawl"):
        load_sources(empty)


def test_crawl_refuses_a_sources_folder_and_an_empty_sources_file(tmp_path: Path) -> None:
    line = _one_line(_scrapy("crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={tmp_path}",
                             "-s", f"ARCHIVE_DIR={tmp_path / 'data'}"), code=2)
    assert line == f"scrapy crawl annual_reports: {tmp_path}: is a directory (set NIANBAO_SOURCES to a sources.toml file)"
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    line = _one_line(_scrapy("crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={empty}",
                             "-s", f"ARCHIVE_DIR={tmp_path / 'data'}"), code=2)
    assert "no [[source]] entries: nothing to crawl" in line


# --- export -------------------------------------------------------------------------------------------------------


def test_export_onto_a_file_or_from_no_catalog_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    existing = tmp_path / "out.csv"
    existing.write_text("keep me\n", encoding="utf-8")
    catalog = data / "catalog.sqlite"
    sqlite3.connect(catalog).executescript("CREATE TABLE reports (id INTEGER);")
    line = _one_line(_scrapy("export", "-o", str(existing), "-s", f"ARCHIVE_DIR={data}"), code=1)
    assert "exists and is not a directory" in line
    assert existing.read_text(encoding="utf-8") == "keep me\n"
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    foreign = tmp_path / "foreign.sqlite"
    sqlite3.connect(foreign).executescript("CREATE TABLE t (a);")
    for path, said in ((empty, "is empty, not a catalog"), (corrupt, "is not a readable catalog"),
                       (foreign, "is not a catalog (no reports table)")):
        line = _one_line(_scrapy("export", "--catalog", str(path), "-o", str(tmp_path / "x"),
                                 "-s", f"ARCHIVE_DIR={data}"), code=1)
        assert said in line and str(path) in line


# --- report ---------------------------------------------------------------------------------------------------------


def _pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.drawString(72, 720, "2023 annual report")
    c.showPage()
    c.save()
    return buf.getvalue()


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<w:document>" + b" " * (300 << 20) + b"</w:document>")
    return buf.getvalue()


def test_unreadable_documents_are_said_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    with pytest.raises(ReportInputError, match="is empty"):
        report_from_file(empty)
    pdf = tmp_path / "cut.pdf"
    pdf.write_bytes(_pdf()[:600])
    assert "unreadable PDF" in (unreadable(report_from_file(pdf)) or "")
    bomb = tmp_path / "bomb.docx"
    bomb.write_bytes(_zip_bomb())
    assert "refused" in (unreadable(report_from_file(bomb)) or "")
    whole = tmp_path / "whole.pdf"
    whole.write_bytes(_pdf())
    assert unreadable(report_from_file(whole)) is None


def test_report_command_exits_non_zero_on_empty_truncated_and_bomb(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "cut.pdf").write_bytes(_pdf()[:600])
    (tmp_path / "bomb.docx").write_bytes(_zip_bomb())
    for name, said in (("empty.txt", "is empty"), ("cut.pdf", "unreadable PDF"), ("bomb.docx", "refused")):
        proc = _scrapy("report", str(tmp_path / name))
        line = _one_line(proc, code=1)
        assert line.startswith("scrapy report: ") and said in line, line


# --- pipes and devices where a file is expected: refused, never read (a read blocks for ever) or replaced --------------


def test_pipes_and_devices_are_refused_where_a_file_is_expected(tmp_path: Path) -> None:
    import os

    from archive.cdxj import merge_indexes
    from pipelines.catalog.rebuild import rebuild

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ReportInputError, match="is not a regular file"):
        report_from_file(fifo)
    with pytest.raises(SourceError, match="not a regular file"):
        load_sources(fifo)
    (tmp_path / "warc").mkdir()
    with pytest.raises(ValueError, match="not a regular file"):
        rebuild(tmp_path / "warc", fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        merge_indexes([], fifo)
    assert fifo.is_fifo()
    line = _one_line(_scrapy("export", "--catalog", str(fifo), "-o", str(tmp_path / "x"),
                             "-s", f"ARCHIVE_DIR={tmp_path}"), code=1)
    assert "is not a regular file" in line
    line = _one_line(_scrapy("rebuild", "--warc-dir", str(tmp_path / "warc"), "--catalog", str(fifo),
                             "-s", f"ARCHIVE_DIR={tmp_path}"), code=1)
    assert line == f"scrapy rebuild: --catalog {fifo}: not a regular file (a folder, device, pipe or socket)"
    assert fifo.is_fifo()
    line = _one_line(_scrapy("rebuild", "--workers", "100000", "-s", f"ARCHIVE_DIR={tmp_path}"), code=2)
    assert "--workers 100000: must be from 1 to 64" in line
