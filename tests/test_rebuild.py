"""``scrapy rebuild`` (pipelines/catalog/rebuild.py) against WARCs written here with warcio, shaped like the capture layer's
(request + response + JSON metadata record per exchange, a revisit for a duplicate payload) plus another tool's
WARC without metadata. The "live" catalog is built through the item pipeline's own functions
(``capture_from_item`` → ``process_capture`` → ``store_entries`` → ``place_captures``/``refresh_runs``/
``refresh_identity``), so the
comparison is live path against rebuild path over the same bytes."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import docx
import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.metadata import outlinks
from archive.recorder import CaptureStamp
from archive.records import metadata_fields
from crawler.items import ReportItem
from crawler.routing import Routing
from pipelines.catalog import open_catalog, store_entries
from pipelines.catalog.identity import refresh_identity
from pipelines.catalog.processing import process_capture
from pipelines.catalog.rebuild import rebuild
from pipelines.catalog.runs import refresh_runs
from pipelines.catalog.store import place_captures
from pipelines.parse_pipeline import capture_from_item
from tests.conftest import ROOT, catalog_dump
from tests.shared import SHARED, require_shared, shared_files

BASE = "http://portal.test/zwgk/zfxxgk/zfxxgknb/"
FILE_1 = "NIANBAO-20250310073500000-00000-testhost-4242.warc.gz"
FILE_2 = "NIANBAO-20250310073600000-00001-testhost-4242.warc.gz"
FILE_3 = "NIANBAO-20260310073500000-00000-testhost-5555.warc.gz"  # a second crawl, a year later
FOREIGN = "other-tool-2024.warc.gz"
SEEDS = shared_files("seeds", "*.txt")


@dataclass
class Exchange:
    url: str
    body: bytes
    ctype: str
    status: int = 200
    meta: dict[str, object] | None = None
    location: str | None = None
    revisit_of: Exchange | None = None
    record_id: str = ""
    date: str = ""
    is_item: bool = False  # the spider yields an item for it
    write_meta: bool = True  # False: a revisit of the same URL, which repeats its original's metadata
    not_modified: bool = False  # a 304 to a conditional request: the spider got the original response instead
    extra_headers: list[tuple[str, str]] = field(default_factory=list)


def _meta(role: str, discovery: list[str], **kw: object) -> dict[str, object]:
    return {"role": role, "source": "demo", "agency": "平潭综合实验区", "family": "trs", "discovery": discovery,
            "list_title": kw.get("list_title"), "list_date": kw.get("list_date"),
            "attachment_of": kw.get("attachment_of"), "charset": "utf-8"}


def _docx(text: str) -> bytes:
    d = docx.Document()
    for line in text.splitlines():
        if line.strip():
            d.add_paragraph(line)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _recrawl(one: list[Exchange], two: list[Exchange]) -> list[Exchange]:
    """The second crawl: the Pingtan page again with the same payload (an identical-payload revisit of the same URL)
    and a seed report answered 304 to a conditional request (a server-not-modified revisit)."""
    same, cond = one[1], two[2]
    return [
        Exchange(same.url, same.body, same.ctype, revisit_of=same, is_item=True, meta=same.meta, write_meta=False),
        Exchange(cond.url, b"", cond.ctype, status=304, revisit_of=cond, is_item=True, meta=cond.meta,
                 write_meta=False, not_modified=True),
    ]


def _exchanges() -> tuple[list[Exchange], list[Exchange], list[Exchange]]:
    require_shared()  # the pages are real samples and seeds
    index = BASE + "index.html"
    listing = ("<html><head><title>政府信息公开年报</title></head><body><ul>"
               '<li><a href="202503/t20250310_1.htm">平潭综合实验区2024年度政府信息公开工作年度报告</a></li>'
               '<li><a href="202503/t20250310_2.htm">鹤山市统计局2024年度政府信息公开工作报告</a></li>'
               "</ul></body></html>").encode()
    detail_1 = BASE + "202503/t20250310_1.htm"
    detail_2 = BASE + "202503/t20250310_2.htm"
    pdf_like = BASE + "202503/P020250310.docx"
    attach_page = ('<html><body><div class="TRS_Editor"><p>附件：<a href="P020250310.docx">'
                   "鹤山市统计局2024年度政府信息公开工作报告.docx</a></p></div></body></html>").encode()
    seed_2020 = SHARED / "seeds" / "002_73fd7277be857a29.txt"
    one: list[Exchange] = [
        Exchange(index, listing, "text/html; charset=utf-8", meta=_meta("listing", [index])),
        Exchange(detail_1, (SHARED / "real-samples" / "pingtan_2024_page.html").read_bytes(),
                 "text/html; charset=utf-8", is_item=True,
                 meta=_meta("detail", [index, detail_1], list_title="平潭综合实验区2024年度政府信息公开工作年度报告",
                            list_date="2025-03-10")),
        Exchange(detail_2, attach_page, "text/html; charset=utf-8",
                 meta=_meta("detail", [index, detail_2], list_title="鹤山市统计局2024年度政府信息公开工作报告")),
        Exchange(pdf_like, _docx(SEEDS[4].read_text("utf-8")),
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document", is_item=True,
                 meta=_meta("attachment", [index, detail_2, pdf_like], attachment_of=detail_2,
                            list_title="鹤山市统计局2024年度政府信息公开工作报告")),
        Exchange(BASE + "missing.htm", b"<html>404</html>", "text/html", status=404,
                 meta=_meta("detail", [index, BASE + "missing.htm"], list_title="2023年度政府信息公开工作年度报告")),
    ]
    moved_from, moved_to = BASE + "old/2020.htm", BASE + "202103/t20210310_9.htm"
    two: list[Exchange] = [
        Exchange(moved_from, b"", "text/html", status=301, location=moved_to,
                 meta=_meta("detail", [index, moved_from], list_title="2020年政府信息公开工作年度报告")),
        Exchange(moved_to, seed_2020.read_bytes(), "text/plain; charset=utf-8", is_item=True,
                 meta=_meta("detail", [index, moved_from], list_title="2020年政府信息公开工作年度报告")),
    ]
    for i, seed in enumerate(SEEDS[:2]):
        url = BASE + f"202401/P02024011{i}.doc.txt"
        two.append(Exchange(url, seed.read_bytes(), "text/plain; charset=utf-8", is_item=True,
                            meta=_meta("report", [index, url], list_title=f"{2016 + i}年度政府信息公开工作年度报告")))
    mirror = BASE + "mirror/copy.txt"
    two.append(Exchange(mirror, SEEDS[0].read_bytes(), "text/plain; charset=utf-8", is_item=True,
                        revisit_of=two[2], meta=_meta("report", [index, mirror], list_title="2024年度报告副本")))
    two.append(Exchange(BASE + "index_1.html", listing.replace(b"t20250310", b"t20240101"), "text/html",
                        meta=_meta("listing", [index, BASE + "index_1.html"])))
    other = "http://other.test/gk/"
    foreign: list[Exchange] = [
        Exchange(other + "list.html", ('<html><body><a href="r2023.html">句容市统计局2023年度政府信息公开工作报告</a>'
                                       '<a href="notice.html">关于做好2023年度报告编制工作的通知</a></body></html>').encode(),
                 "text/html; charset=utf-8"),
        Exchange(other + "r2023.html", (b"<html><body><pre>" + SEEDS[3].read_bytes() + b"</pre></body></html>"),
                 "text/html; charset=utf-8"),
        Exchange(other + "notice.html", "<html><head><title>关于做好年度报告编制工作的通知</title></head></html>".encode(),
                 "text/html; charset=utf-8"),
    ]
    return one, two, foreign


def _write_warc(path: Path, exchanges: list[Exchange], start: int, fields: bool = True) -> list[int]:
    """Write request, response (or revisit) and metadata records; returns each exchange's response offset.
    Metadata as the capture layer writes it (``application/warc-fields``), or as JSON (``fields=False``)."""
    offsets = []
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        for i, ex in enumerate(exchanges):
            n = start + i
            ex.record_id = f"<urn:uuid:00000000-0000-4000-8000-{n:012d}>"
            ex.date = f"2025-03-10T07:35:{n:02d}.{n * 1111:06d}Z"
            headers = [("Content-Type", ex.ctype), ("Content-Length", str(len(ex.body))), *ex.extra_headers]
            if ex.location:
                headers.append(("Location", ex.location))
            reason = {200: "OK", 301: "Moved Permanently", 304: "Not Modified", 404: "Not Found"}[ex.status]
            http = StatusAndHeaders(f"{ex.status} {reason}", headers, protocol="HTTP/1.1")
            wh = {"WARC-Record-ID": ex.record_id, "WARC-Date": ex.date}
            req = writer.create_warc_record(
                ex.url, "request", payload=io.BytesIO(b""), length=0,
                http_headers=StatusAndHeaders(f"GET {ex.url} HTTP/1.1", [("Host", "portal.test")], is_http_request=True),
                warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:00000000-0000-4000-9000-{n:012d}>",
                                   "WARC-Date": ex.date, "WARC-Concurrent-To": ex.record_id})
            if ex.revisit_of is not None:
                orig = ex.revisit_of
                wh["WARC-Refers-To"] = orig.record_id
                resp = writer.create_revisit_record(
                    ex.url, digest=_digest(orig.body), refers_to_uri=orig.url, refers_to_date=orig.date,
                    http_headers=http, warc_headers_dict=wh)
                if ex.not_modified:
                    resp.rec_headers.replace_header(
                        "WARC-Profile", "http://netpreserve.org/warc/1.1/revisit/server-not-modified")
            else:
                resp = writer.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), length=len(ex.body),
                                                 http_headers=http, warc_headers_dict=wh)
            offsets.append(fh.tell())
            writer.write_record(resp)
            writer.write_record(req)
            if ex.meta is not None and ex.write_meta:
                # as archive/metadata.py fills them: every link of an HTML page
                html = "html" in ex.ctype and ex.status == 200
                ex.meta["outlinks"] = outlinks(ex.body, ex.url, "utf-8") if html else []
                ctype = "application/warc-fields" if fields else "application/json"
                data = metadata_fields(ex.meta) if fields else json.dumps(ex.meta, ensure_ascii=False).encode()
                writer.write_record(writer.create_warc_record(
                    ex.url, "metadata", payload=io.BytesIO(data), length=len(data), warc_content_type=ctype,
                    warc_headers_dict={"WARC-Record-ID": f"<urn:uuid:00000000-0000-4000-a000-{n:012d}>",
                                       "WARC-Date": ex.date, "WARC-Concurrent-To": ex.record_id,
                                       "Content-Type": ctype}))
    return offsets


def _digest(body: bytes) -> str:
    from pipelines.catalog.capture_info import payload_digest

    return payload_digest(body)


def _item(ex: Exchange, warc_file: str, offset: int | None = None) -> ReportItem:
    """The item the spider yields for ``ex`` (see spiders/annual_reports.py: _item); ``offset``: what the archive
    writer's callback has put in its capture stamp by the time the item is stored (None: not yet)."""
    routing = Routing.from_metadata(ex.meta or {})
    if ex.not_modified:  # archive/capture.py hands the spider the earlier response in place of the 304
        assert ex.revisit_of is not None
        ex = Exchange(ex.url, ex.revisit_of.body, ex.revisit_of.ctype, meta=ex.meta, record_id=ex.record_id,
                      date=ex.date)
    return ReportItem(
        url=ex.url, body=ex.body, routing=routing.reached(ex.url), headers={"Content-Type": [ex.ctype]},
        status=ex.status, content_type=ex.ctype, archived=CaptureStamp(ex.record_id, ex.date, warc_file, offset),
    )


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("rebuild")
    warc = root / "warc"
    warc.mkdir()
    one, two, foreign = _exchanges()
    three = _recrawl(one, two)
    offsets = {FILE_1: _write_warc(warc / FILE_1, one, 0), FILE_2: _write_warc(warc / FILE_2, two, 20, fields=False),
               FILE_3: _write_warc(warc / FILE_3, three, 60)}
    # the live catalog, through the item pipelines' functions: most offsets were in the capture stamps (the archive
    # writer's callback) before their batch was stored; the last batch's are placed at the end, as the store
    # pipeline does at engine_stopped
    live = root / "live.sqlite"
    conn = open_catalog(live)
    entries, late = [], []
    for name, exchanges in ((FILE_1, one), (FILE_2, two), (FILE_3, three)):
        for ex, offset in zip(exchanges, offsets[name], strict=True):
            if ex.is_item:
                known = len(entries) < 6
                info, body, ctype = capture_from_item(_item(ex, name, offset if known else None))
                entries.append(process_capture(body, info, ctype))
                if not known:
                    late.append((ex.record_id, name, offset))
    store_entries(conn, entries[:3])
    store_entries(conn, entries[3:6])
    store_entries(conn, entries[6:])
    assert place_captures(conn, late) == 2
    refresh_runs(conn)
    refresh_identity(conn)  # as the store pipeline ends a crawl (report groups, agencies, cross-year checks)
    conn.close()
    foreign_dir = root / "foreign"
    foreign_dir.mkdir()
    _write_warc(foreign_dir / FOREIGN, foreign, 40)
    return {"root": root, "warc": warc, "live": live, "offsets": offsets, "items": len(entries),
            "foreign": foreign_dir, "exchanges": (one, two)}


def test_rebuild_equals_live_with_one_and_two_workers(archive: dict[str, object]) -> None:
    root, warc = Path(archive["root"]), Path(archive["warc"])  # type: ignore[arg-type]
    live = catalog_dump(archive["live"])  # type: ignore[arg-type]
    b = rebuild(warc, root / "b.sqlite")
    c = rebuild(warc, root / "c.sqlite", workers=2)
    assert b.damaged == [] and b.failed == []
    assert archive["items"] == 8  # six URLs, two of them captured again in the second run
    assert b.reports == c.reports == 6
    assert catalog_dump(root / "b.sqlite") == live
    assert catalog_dump(root / "c.sqlite") == live
    conn = sqlite3.connect(root / "b.sqlite")
    # the revisit got the payload of the record it refers to; offsets are the response records'
    one, two = archive["exchanges"]  # type: ignore[misc]
    mirror = two[-2]
    assert conn.execute("SELECT r.year, c.payload_length FROM reports r JOIN captures c"
                        " ON c.record_id = r.warc_record_id WHERE r.url = ?", (mirror.url,)).fetchone() == \
        (2024, len(mirror.body))
    got = dict(conn.execute("SELECT url, warc_offset FROM captures WHERE warc_file = ?", (FILE_1,)).fetchall())
    offsets = archive["offsets"][FILE_1]  # type: ignore[index]
    assert got == {one[1].url: offsets[1], one[3].url: offsets[3]}
    # the redirect's target is the report, with the discovery path the spider's item carries
    assert json.loads(conn.execute("SELECT discovery FROM captures WHERE url = ?", (two[1].url,)).fetchone()[0]) == \
        [BASE + "index.html", two[1].url]
    assert conn.execute("SELECT run_id, warc_files, captures, new, changed, unchanged FROM crawl_runs").fetchall() == \
        [("testhost-4242-20250310073500000", 2, 6, 6, 0, 0), ("testhost-5555-20260310073500000", 1, 2, 0, 0, 2)]
    # both revisits of the second run got their original's payload, status and listing metadata
    again = conn.execute("SELECT c.status, c.content_type, c.list_title, c.payload_length FROM reports r JOIN captures c"
                         " ON c.record_id = r.warc_record_id WHERE r.url IN (?, ?) ORDER BY r.url",
                         (one[1].url, two[2].url)).fetchall()
    assert again == [(200, "text/plain", two[2].meta["list_title"], len(two[2].body)),
                     (200, "text/html", one[1].meta["list_title"], len(one[1].body))]


def test_rebuild_recognises_reports_in_foreign_warcs_by_title(archive: dict[str, object]) -> None:
    root = Path(archive["root"])  # type: ignore[arg-type]
    result = rebuild(Path(archive["foreign"]), root / "foreign.sqlite")  # type: ignore[arg-type]
    conn = sqlite3.connect(root / "foreign.sqlite")
    rows = conn.execute("SELECT url, year, list_title FROM reports").fetchall()
    assert rows == [("http://other.test/gk/r2023.html", 2023, "句容市统计局2023年度政府信息公开工作报告")]
    assert result.records == 3 and result.reports == 1


def _damaged_copy(archive: dict[str, object], name: str) -> tuple[Path, Path]:
    root = Path(archive["root"])  # type: ignore[arg-type]
    target = root / name / "warc"
    shutil.copytree(Path(archive["warc"]), target)  # type: ignore[arg-type]
    return root / name, target


def _reports(path: Path) -> set[tuple[str, str, int, str]]:
    conn = sqlite3.connect(path)
    try:
        return set(conn.execute("SELECT url, warc_record_id, year, payload_digest FROM reports"))
    finally:
        conn.close()


def test_truncated_tail_lists_the_record_and_keeps_the_rest(archive: dict[str, object]) -> None:
    base, warc = _damaged_copy(archive, "truncated")
    path = warc / FILE_2
    last = archive["offsets"][FILE_2][-1]  # type: ignore[index]
    data = path.read_bytes()
    path.write_bytes(data[: last + 40])  # cut inside the last response (a listing page)
    result = rebuild(warc, base / "cat.sqlite")
    assert [(d.warc_file, d.offset) for d in result.damaged] == [(FILE_2, last)]
    assert _reports(base / "cat.sqlite") == _reports(Path(archive["live"]))  # type: ignore[arg-type]
    assert catalog_dump(base / "cat.sqlite") == catalog_dump(Path(archive["live"]))  # type: ignore[arg-type]


def test_garbage_in_the_middle_lists_the_stretch_and_keeps_the_rest(archive: dict[str, object]) -> None:
    base, warc = _damaged_copy(archive, "garbage")
    path = warc / FILE_1
    cut = archive["offsets"][FILE_1][2]  # type: ignore[index]
    data = path.read_bytes()
    path.write_bytes(data[:cut] + b"\x1f\x8b\x08garbage, not a gzip member" * 20 + data[cut:])
    result = rebuild(warc, base / "cat.sqlite", workers=2)
    assert [(d.warc_file, d.offset) for d in result.damaged] == [(FILE_1, cut)]
    assert result.reports == 6
    assert _reports(base / "cat.sqlite") == _reports(Path(archive["live"]))  # type: ignore[arg-type]


def test_revisit_without_its_original_is_listed(archive: dict[str, object]) -> None:
    base, warc = _damaged_copy(archive, "partial")
    (warc / FILE_1).unlink()  # the first crawl's first file: the Pingtan page's original capture
    result = rebuild(warc, base / "cat.sqlite")
    one, _ = archive["exchanges"]  # type: ignore[misc]
    assert len(result.unresolved) == 1 and one[1].url in result.unresolved[0]
    assert any("revisits without their original" in line for line in result.summary_lines())
    conn = sqlite3.connect(base / "cat.sqlite")
    assert conn.execute("SELECT count(*) FROM reports WHERE url = ?", (one[1].url,)).fetchone()[0] == 0
    assert result.reports == 4  # the docx attachment and the Pingtan page are gone with FILE_1, nothing else


def test_rebuild_command(archive: dict[str, object]) -> None:
    base, warc = _damaged_copy(archive, "command")
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "rebuild", "--warc-dir", str(warc), "--workers", "2",
         "-s", f"ARCHIVE_DIR={base}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "captures/s" in proc.stderr and "ETA" in proc.stderr
    assert "6 reports stored" in proc.stdout
    assert catalog_dump(base / "catalog.sqlite") == catalog_dump(Path(archive["live"]))  # type: ignore[arg-type]
    bad = subprocess.run([sys.executable, "-m", "scrapy", "rebuild", "--warc-dir", str(base / "nope")],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
    assert "no such directory" in bad.stderr.strip().splitlines()[-1]
