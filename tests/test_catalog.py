"""The catalog write path (pipelines/catalog.py, runs.py): real sample reports parsed by the shared parser,
stored in different orders and batchings, twice; the sorted SQL dumps must not change."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.report import PARSER_VERSION
from crawler.routing import Routing
from pipelines.catalog import StoreEntry, open_catalog, report_id, sorted_dump, store_entries, table_cells
from pipelines.catalog.capture_info import CaptureInfo, normalise_timestamp, payload_digest, run_ids_for_files
from pipelines.catalog.processing import process_capture, validate_report
from pipelines.catalog.runs import refresh_runs
from tests.shared import SHARED, needs_shared, require_shared

SAMPLES = sorted((SHARED / "seeds").glob("*.txt")) + [
    SHARED / "real-samples" / name
    for name in ("pingtan_2024_page.html", "pingtan_2020_page.txt", "pingtan_2018_legacy_page.txt")
]
RUN1 = "NIANBAO-20250310073500000-00000-host-4242.warc.gz"
RUN1_B = "NIANBAO-20250310073900000-00001-host-4242.warc.gz"
RUN2 = "NIANBAO-20260101000000000-00000-host-4242.warc.gz"


def _entry(path: Path, i: int, *, warc_file: str = RUN1, at: str = "2025-03-10T07:35:00Z",
           body: bytes | None = None, rid: str | None = None) -> StoreEntry:
    data = path.read_bytes() if body is None else body
    ctype = "text/html; charset=utf-8" if path.suffix == ".html" else "text/plain; charset=utf-8"
    info = CaptureInfo(
        url=f"http://portal.test/zfxxgknb/{path.name}",
        record_id=rid or f"<urn:uuid:00000000-0000-0000-0000-{i:012d}>",
        captured_at=normalise_timestamp(at),
        warc_file=warc_file,
        warc_offset=1000 * i,
        status=200,
        content_type=ctype.split(";")[0],
        payload_digest=payload_digest(data),
        payload_length=len(data),
        routing=Routing("detail", source="demo", agency="演示机关", list_title=f"{path.stem}年度报告",
                        discovery=("http://portal.test/zfxxgknb/index.html", f"http://portal.test/zfxxgknb/{path.name}")),
    )
    return process_capture(data, info, ctype)


@pytest.fixture(scope="module")
def entries() -> list[StoreEntry]:
    require_shared()
    out = [_entry(p, i) for i, p in enumerate(SAMPLES)]
    assert all(e.report is not None for e in out), [e.error for e in out]
    return out


def _catalog(tmp_path: Path, name: str, batches: list[list[StoreEntry]]) -> sqlite3.Connection:
    conn = open_catalog(tmp_path / name)
    for batch in batches:
        store_entries(conn, batch)
    refresh_runs(conn)
    return conn


def test_same_captures_any_order_any_batching_same_dump(tmp_path: Path, entries: list[StoreEntry]) -> None:
    a = _catalog(tmp_path, "a.sqlite", [entries])
    b = _catalog(tmp_path, "b.sqlite", [list(reversed(entries[i:i + 3])) for i in range(0, len(entries), 3)][::-1])
    c = _catalog(tmp_path, "c.sqlite", [entries, entries[2:5], entries])  # stored twice: idempotent
    assert sorted_dump(a) == sorted_dump(b) == sorted_dump(c)
    assert a.execute("SELECT count(*) FROM captures").fetchone()[0] == len(SAMPLES)
    assert a.execute("SELECT count(*) FROM reports").fetchone()[0] == len(SAMPLES)


def test_rows_hold_the_report(tmp_path: Path, entries: list[StoreEntry]) -> None:
    conn = _catalog(tmp_path, "cat.sqlite", [entries])
    html = next(e for e in entries if e.capture.url.endswith(".html"))
    rid = report_id(html.capture.url)
    row = conn.execute(
        "SELECT title, agency, year, format, parser_version, warc_file, warc_offset, warc_record_id, captured_at"
        " FROM reports WHERE id = ?", (rid,)).fetchone()
    assert row == ("平潭综合实验区2024年度政府信息公开工作年度报告", "平潭综合实验区", 2024, "2021", PARSER_VERSION,
                   RUN1, html.capture.warc_offset, html.capture.record_id, "2025-03-10T07:35:00Z")
    # Table 3, new_received total: 218 in the Pingtan 2024 report
    assert conn.execute(
        "SELECT value, inferred FROM table_cells WHERE report_id = ? AND table_key = 'applications'"
        " AND row_key = 'new_received' AND column_key = 'total'", (rid,)).fetchone() == (218, 0)
    assert conn.execute("SELECT count(*) FROM table_cells WHERE report_id = ?", (rid,)).fetchone()[0] == \
        len(table_cells(html.report or {}))
    keys = [k for (k,) in conn.execute("SELECT key FROM sections WHERE report_id = ? AND path NOT LIKE '%.%' AND key IS NOT NULL"
                                       " ORDER BY path", (rid,))]
    assert keys[:6] == ["overview", "active_disclosure", "applications", "review_litigation", "problems", "other"]
    total_issues = sum(len((e.report or {})["issues"]) for e in entries)
    assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == total_issues > 0
    assert conn.execute("SELECT zh FROM labels WHERE kind = 'row' AND key = 'new_received'").fetchone()[0] == \
        "本年新收政府信息公开申请数量"


def test_inferred_cells_are_flagged() -> None:
    report = {
        "tables": {"applications": {"new_received": [1, 0, 0, 0, 0, 0, None]}, "review_litigation": None,
                   "active_disclosure": {"fees": {"amount_10k_yuan": 1.5}}},
        "issues": [{"code": "inferred_cell", "table": "applications", "row": "new_received", "column": "total"}],
    }
    cells = table_cells(report)
    assert ("applications", "new_received", "total", 0, 6, None, 1) in cells
    assert ("applications", "new_received", "natural_person", 0, 0, 1, 0) in cells
    assert ("active_disclosure", "fees", "amount_10k_yuan", 0, 0, 1.5, 0) in cells
    assert len(cells) == 8


@needs_shared
def test_newest_capture_wins_and_runs_are_counted(tmp_path: Path) -> None:
    path = SHARED / "real-samples" / "pingtan_2024_page.html"
    first = _entry(path, 1, warc_file=RUN1)
    same_again = _entry(path, 2, warc_file=RUN2, at="2026-01-01T00:00:00Z")
    changed_body = path.read_bytes().replace(b"218", b"219", 1)
    changed = _entry(path, 3, warc_file=RUN2, at="2026-01-01T00:00:05Z", body=changed_body)
    other = _entry(SAMPLES[0], 4, warc_file=RUN1_B, at="2025-03-10T07:39:00Z")
    broken = StoreEntry(CaptureInfo(url="http://portal.test/broken.pdf", record_id="<urn:uuid:broken>",
                                    captured_at="2026-01-01T00:00:09Z", warc_file=RUN2), None, "1.0.0",
                        "parse failed: ValueError: no text")
    conn = _catalog(tmp_path, "runs.sqlite", [[changed, other], [first, broken, same_again]])
    conn2 = _catalog(tmp_path, "runs2.sqlite", [[first], [other, same_again], [broken, changed]])
    assert sorted_dump(conn) == sorted_dump(conn2)
    url = first.capture.url
    assert conn.execute("SELECT count(*) FROM captures WHERE url = ?", (url,)).fetchone()[0] == 3
    assert conn.execute("SELECT warc_record_id FROM reports WHERE url = ?", (url,)).fetchone()[0] == \
        changed.capture.record_id
    runs = conn.execute("SELECT run_id, warc_files, captures, new, changed, unchanged, failed, not_rechecked"
                        " FROM crawl_runs ORDER BY run_id").fetchall()
    # per report URL, by its last capture of the run: run 2 caught `url` twice (the second time changed), the
    # broken PDF did not parse, and the other report of run 1 was not checked again
    assert runs == [
        ("host-4242-20250310073500000", 2, 2, 2, 0, 0, 0, 0),
        ("host-4242-20260101000000000", 1, 3, 0, 1, 0, 1, 1),
    ]
    assert conn.execute("SELECT outcome, error FROM captures WHERE record_id = '<urn:uuid:broken>'").fetchone() == \
        ("failed", "parse failed: ValueError: no text")


def test_run_ids_from_file_names() -> None:
    runs = run_ids_for_files({RUN1, RUN1_B, RUN2, "crawl-2024.warc.gz"})
    assert runs[RUN1] == runs[RUN1_B] == "host-4242-20250310073500000"
    assert runs[RUN2] == "host-4242-20260101000000000"
    assert runs["crawl-2024.warc.gz"] == "crawl-2024"


def test_validation_names_what_is_wrong() -> None:
    assert validate_report({"schema_version": 1})[0] == "missing key 'source'"
    good = {"schema_version": 1, "source": {}, "title": None, "agency": None, "year": 2024, "published": None,
            "format": "2021", "text": {}, "sections": [], "tables": {}, "issues": []}
    assert validate_report(good) == []
    assert validate_report({**good, "format": "1999", "year": "2024"}) == [
        "format '1999' not one of ['2019', '2021', 'legacy', 'unknown']", "year '2024' is not an integer"]


def test_catalog_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version=99")
    with pytest.raises(ValueError, match="schema version 99.*scrapy rebuild"):
        open_catalog(path)


def test_components_follow_their_settings() -> None:
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from pipelines.parse_pipeline import ParseReportPipeline
    from pipelines.store_pipeline import CatalogStorePipeline
    from pipelines.summary import CrawlSummary

    off = get_crawler(settings_dict={"CATALOG_ENABLED": False, "CATALOG_SUMMARY_ENABLED": False})
    for component in (ParseReportPipeline, CatalogStorePipeline, CrawlSummary):
        with pytest.raises(NotConfigured):
            component.from_crawler(off)
    bad = get_crawler(settings_dict={"CATALOG_BATCH_SIZE": 0})
    with pytest.raises(ValueError, match="CATALOG_BATCH_SIZE=0"):
        CatalogStorePipeline.from_crawler(bad)
    on = get_crawler(settings_dict={"ARCHIVE_DIR": "/srv/nb"})
    assert CatalogStorePipeline.from_crawler(on).config.path == Path("/srv/nb/catalog.sqlite")


def test_summary_table_lines_up_chinese_names() -> None:
    from pipelines.summary import WarcFile, format_summary

    text = format_summary(
        {"downloader/response_count": 29, "downloader/request_count": 30, "item_scraped_count": 3,
         "downloader/response_status_count/404": 1, "catalog/failed": 1},
        {"平潭综合实验区": {2023: 1, 2024: 1}, "江城市": {2024: 1}},
        [WarcFile("NIANBAO-20250310073500000-00000-h-1.warc.gz", 1_234_567)])
    lines = text.splitlines()
    assert "reports stored: 3" in lines
    rows = [line for line in lines if line.startswith(("agency", "平潭", "江城"))]
    widths = [sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in line) for line in rows]
    assert len(set(widths)) == 1, rows
    assert "WARC files: 1, 1.23 MB" in text and "HTTP errors 1" in text and "parse failures 1" in text


def test_sha1_of_is_hashlib_sha1_for_every_body_memoised_or_not() -> None:
    import hashlib

    from archive.records import _MEMO_SIZE
    from pipelines.catalog.capture_info import payload_digest, sha1_of

    bodies = [bytes([i]) * (1000 + i) for i in range(3 * _MEMO_SIZE)]
    for _ in range(2):  # the second pass meets some bodies in the memo and some pushed out of it
        for body in bodies:
            assert sha1_of(body) == hashlib.sha1(body).digest()
    twin = bytes(bytearray(bodies[-1]))  # equal bytes, another object
    assert twin is not bodies[-1] and sha1_of(twin) == sha1_of(bodies[-1])
    assert sha1_of(bytearray(b"abc")) == hashlib.sha1(b"abc").digest()  # not held (mutable)
    assert payload_digest(b"") == "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ"
