"""Issue 16, item 2: a WARC cut anywhere is never a silent loss. Rebuild and catch-up count and name (file, offset)
every damaged record: a record cut in its headers (FastWARC hands it out as an empty record), in its block or in its
gzip trailer, a record group cut between its records (the writer's first record names the rest), and captures the
file's CDXJ index lists past a tail that was cut off at a record boundary. The mend cuts a killed run's file back to
a whole group, so a report's response never stays without its metadata."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator

from archive.cdxj import cut_off
from archive.mend import mend_open_file
from archive.naming import OPEN_SUFFIX
from archive.reader import DamagedRecord, iter_captures
from archive.verify import verify_warc
from crawler.portal import start_portal
from pipelines.catalog.catchup import catch_up
from pipelines.catalog.rebuild import rebuild
from tests.conftest import ROOT


@dataclass(frozen=True)
class Rec:
    offset: int
    end: int
    rtype: str
    url: str


@dataclass(frozen=True)
class Crawled:
    archive: Path
    warc: Path
    records: list[Rec]
    reports: set[str]  # report URLs in the live catalog


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    tmp = tmp_path_factory.mktemp("warc-cuts")
    portal = start_portal(host="127.0.0.1", port=0, seed=5, sites=["trs"], reports_per_site=4)
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        archive = tmp / "data"
        proc = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "annual_reports",
                               "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}",
                               "-s", "LOG_LEVEL=WARNING"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        portal.stop()
    (warc,) = sorted((archive / "warc").glob("*.warc.gz"))
    data = warc.read_bytes()
    with open(warc, "rb") as fh:
        heads = [(r.stream_pos, r.headers.get("WARC-Type") or "", r.headers.get("WARC-Target-URI") or "")
                 for r in ArchiveIterator(fh, parse_http=False)]
    ends = [pos for pos, _, _ in heads[1:]] + [len(data)]
    records = [Rec(pos, end, rtype, url) for (pos, rtype, url), end in zip(heads, ends, strict=True)]
    con = sqlite3.connect(archive / "catalog.sqlite")
    reports = {url for (url,) in con.execute("SELECT url FROM reports")}
    con.close()
    assert len(reports) >= 4
    return Crawled(archive, warc, records, reports)


def _report_group(c: Crawled, nth: int = -1) -> list[Rec]:
    """The records of one report's group (response, request, metadata), the ``nth`` of the file."""
    starts = [i for i, r in enumerate(c.records) if r.rtype == "response" and r.url in c.reports]
    i = starts[nth]
    group = [c.records[i]]
    for r in c.records[i + 1:]:
        if r.rtype not in ("request", "metadata"):
            break
        group.append(r)
    assert [r.rtype for r in group] == ["response", "request", "metadata"]
    return group


def _cut_copy(c: Crawled, where: Path, at: int) -> Path:
    """A copy of the archive (WARC and index) whose WARC ends at byte ``at``."""
    if where.exists():
        shutil.rmtree(where)
    (where / "warc").mkdir(parents=True)
    shutil.copytree(c.archive / "index", where / "index")
    cut = where / "warc" / c.warc.name
    cut.write_bytes(c.warc.read_bytes()[:at])
    return cut


def _named(path: Path) -> list[DamagedRecord]:
    damaged: list[DamagedRecord] = []
    list(iter_captures(path, errors=damaged.append))
    return damaged + cut_off(path, path.parent.parent / "index")


def _cuts(group: list[Rec]) -> Iterator[tuple[str, int]]:
    for r in group:
        for label, at in (("its headers", r.offset + 30), ("its block", (r.offset + r.end) // 2),
                          ("its gzip trailer", r.end - 3), ("its start", r.offset)):
            yield f"{r.rtype} cut at {label}", at
    yield "after the group", group[-1].end


def test_every_cut_through_a_report_group_is_named(crawled: Crawled, tmp_path: Path) -> None:
    group = _report_group(crawled, nth=1)
    for label, at in _cuts(group):
        damaged = _named(_cut_copy(crawled, tmp_path / "cut", at))
        assert damaged, f"{label} (byte {at}): nothing named"
        assert all(Path(d.warc_file).name == crawled.warc.name and d.reason for d in damaged), damaged
        # the first one named is where the loss starts: the cut record, or the group the cut left short
        assert damaged[0].offset in {r.offset for r in crawled.records}, (label, damaged)


def test_rebuild_names_the_report_whose_metadata_was_cut_off(crawled: Crawled, tmp_path: Path) -> None:
    response, _request, metadata = _report_group(crawled)
    cut = _cut_copy(crawled, tmp_path / "meta", metadata.offset)  # exactly between request and metadata
    result = rebuild(cut.parent, tmp_path / "meta" / "catalog.sqlite")
    assert [(d.warc_file, d.offset) for d in result.damaged][:1] == [(crawled.warc.name, response.offset)]
    assert "record group cut short" in result.damaged[0].reason
    assert f"{len(result.damaged)} damaged records skipped" in result.summary_lines()[0]
    con = sqlite3.connect(tmp_path / "meta" / "catalog.sqlite")
    got = {url for (url,) in con.execute("SELECT url FROM reports")}
    con.close()
    assert response.url not in got  # not a report without its metadata: but named above, not lost silently


def test_rebuild_command_lists_a_tail_cut_at_a_record_boundary_and_fails(crawled: Crawled, tmp_path: Path) -> None:
    first = _report_group(crawled, nth=0)[0]
    cut = _cut_copy(crawled, tmp_path / "tail", first.offset)  # every record left is whole
    assert verify_warc(cut) == []
    proc = subprocess.run([sys.executable, "-m", "scrapy", "rebuild", "-s", f"ARCHIVE_DIR={cut.parent.parent}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lost = [line for line in proc.stdout.splitlines() if line.startswith("  damaged: ")]
    assert lost and all(crawled.warc.name in line for line in lost)
    assert f"{crawled.warc.name}@{first.offset}: {first.url}: listed in" in lost[0]
    assert sum(1 for r in crawled.records if r.offset >= first.offset and r.rtype in ("response", "resource",
                                                                                       "revisit")) == len(lost)
    assert f"{len(lost)} damaged records skipped" in proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith(f"scrapy rebuild: {len(lost)} damaged records skipped")


def test_catch_up_names_damaged_records_too(crawled: Crawled, tmp_path: Path) -> None:
    _response, request, _metadata = _report_group(crawled)
    cut = _cut_copy(crawled, tmp_path / "catch", request.offset + 30)
    result = catch_up([cut], tmp_path / "catch" / "catalog.sqlite", cut.parent)
    assert [d.offset for d in result.damaged] == [request.offset]
    assert "1 damaged records skipped" in result.summary_line()


def test_mend_cuts_back_to_a_whole_group(crawled: Crawled, tmp_path: Path) -> None:
    response, _request, metadata = _report_group(crawled)
    cut = _cut_copy(crawled, tmp_path / "mend", metadata.offset)  # a kill between request and metadata
    open_path = cut.with_name(cut.name + OPEN_SUFFIX)
    cut.rename(open_path)
    result = mend_open_file(open_path, None)
    assert result.path is not None and result.kept_bytes == response.offset  # the response went with its group
    assert verify_warc(result.path) == []
    damaged: list[DamagedRecord] = []
    urls = [c.url for c in iter_captures(result.path, errors=damaged.append)]
    assert damaged == [] and response.url not in urls


def test_an_empty_file_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "warc" / "lost.warc.gz"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    damaged: list[DamagedRecord] = []
    assert list(iter_captures(empty, errors=damaged.append)) == []
    assert [(Path(d.warc_file).name, d.offset) for d in damaged] == [("lost.warc.gz", 0)]
    result = rebuild(empty.parent, tmp_path / "catalog.sqlite")
    assert [str(d) for d in result.damaged] == ["lost.warc.gz@0: empty file: not a single record"]


def test_an_uncompressed_record_cut_then_followed_by_other_bytes_is_named_not_read(tmp_path: Path) -> None:
    """No gzip CRC in an uncompressed WARC: a record cut inside its block and followed by other bytes (a second
    write after a crash, a bad splice) looked whole to FastWARC, and its payload was handed on with those bytes in it
    (found by bench/fuzz.py --targets warc-cut)."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False)
    bodies = [b"<html>first report</html>" * 20, b"<html>second report</html>" * 20]
    for i, body in enumerate(bodies):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))],
                                protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(f"http://example.gov.cn/{i}.html", "response",
                                                      payload=io.BytesIO(body), http_headers=http))
    data = buf.getvalue()
    cut = data.rindex(b"second report") + 5
    spliced = tmp_path / "spliced.warc"
    spliced.write_bytes(data[:cut] + b"\x00JUNK" * 200)  # long enough to fill the block's Content-Length
    damaged: list[DamagedRecord] = []
    caps = list(iter_captures(spliced, errors=damaged.append))
    assert [c.payload for c in caps] == [bodies[0]]  # the second one is not handed on with junk in it
    assert damaged and damaged[0].offset == data.index(b"WARC/1", 10)
