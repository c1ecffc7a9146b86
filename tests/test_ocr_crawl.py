"""Issue 17, the crawl side: the demo portal's county site whose agencies publish tables as pictures (an HTML page
with Table 3 as a scan under a poster, Table 3 split across two pictures and Table 4 signed over, a scanned PDF,
one JPEG page, a text report with its seal as a picture, and an 一图读懂 poster page listed like a report), crawled
twice through the real ``scrapy crawl`` (the second crawl meets conditional requests and dedup: revisit records,
pictures included), then rebuilt from the WARCs.

The image reports end with figures in the catalog, every figure that differs from the ground truth is flagged by
an issue (0 silent errors), the pictures are archived as resources of their page, the poster page is no report,
and the rebuilt catalog is the crawl's, byte for byte."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from archive.reader import iter_captures
from crawler.portal import start_portal
from crawler.report._scanned import engine_missing
from pipelines.catalog.labels import LIST_COLUMNS
from tests.conftest import ROOT, catalog_dump

pytestmark = [pytest.mark.slow, pytest.mark.skipif(engine_missing() is not None, reason=str(engine_missing()))]


def _scrapy(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]], dict[str, Any],
                                                                 list[list[str]]]:
    tmp = tmp_path_factory.mktemp("ocr-crawl")
    portal = start_portal(host="127.0.0.1", port=0, seed=3, sites=["pic"])
    try:
        sources = tmp / "sources.toml"
        portal.write_sources(sources)
        archive = tmp / "data"
        crawl = ("crawl", "annual_reports", "-s", f"NIANBAO_SOURCES={sources}", "-s", f"ARCHIVE_DIR={archive}",
                 "-s", "LOG_LEVEL=WARNING")
        _scrapy(*crawl)
        first = catalog_dump(archive / "catalog.sqlite")
        # again, every report page re-checked: pages and pictures come back as revisits (304 or the same bytes)
        _scrapy(*crawl, "-s", "NIANBAO_REFRESH_DAYS=0")
        truth, special = list(portal.ground_truth), dict(portal.special)
    finally:
        portal.stop()
    return archive, truth, special, [first, catalog_dump(archive / "catalog.sqlite")]


def _flagged(issues: list[tuple[str, str | None, str | None, str]], inferred: bool, table: str, row: str,
             column: str) -> bool:
    """An issue puts the cell in doubt: it names the cell or its row, the whole table, or an identity of its row
    or column that does not hold (the identities are how a misread surfaces); or the cell was inferred."""
    if inferred:
        return True
    for code, t_row, t_col, t_table in issues:
        if t_table != table:
            continue
        if (t_row == row and t_col in (column, None)) or (t_row is None and t_col is None):
            return True
        if code == "identity_violated" and (t_row == row or t_col == column):
            return True
    return False


def _score(conn: sqlite3.Connection, entry: dict[str, Any]) -> Counter[str]:
    """Every cell of the tables the report prints as pictures, against the ground truth: right, doubtful (not
    given, or flagged) or silent (a wrong number nothing flags)."""
    pictures = entry["pictures"]
    rid = conn.execute("SELECT id FROM reports WHERE url = ?", (entry["url"],)).fetchone()[0]
    cells = {(t, r, c): (v, inferred) for t, r, c, v, inferred in conn.execute(
        "SELECT table_key, row_key, column_key, value, inferred FROM table_cells WHERE report_id = ?", (rid,))}
    issues = [(code, row, col, table) for code, table, row, col in conn.execute(
        "SELECT code, table_key, row_key, column_key FROM issues WHERE report_id = ?", (rid,))]
    out: Counter[str] = Counter()
    for table in pictures["in_pictures"]:
        for row, values in pictures["tables"][table].items():
            named = values.items() if isinstance(values, dict) else (
                (LIST_COLUMNS[table][i], v) for i, v in enumerate(values))
            for column, want in named:
                got, inferred = cells.get((table, row, column), (None, 0))
                out["cells"] += 1
                if got is not None and float(got) == float(want):
                    out["right"] += 1
                elif _flagged(issues, bool(inferred), table, row, column):
                    out["doubtful"] += 1
                else:
                    out["silent"] += 1
                    out[f"silent {table}.{row}.{column}: {got} != {want}"] += 1
    return out


def test_image_reports_have_their_figures_and_no_silent_error(crawled) -> None:
    archive, truth, _, _ = crawled
    conn = sqlite3.connect(archive / "catalog.sqlite")
    stored = {url for (url,) in conn.execute("SELECT url FROM reports")}
    assert stored == {t["url"] for t in truth}, "a report missed, or something stored that is not one"
    pictured = [t for t in truth if t["pictures"]]
    assert Counter(t["kind"] for t in pictured) == {"image": 2, "pdf": 1, "jpg": 1}
    total: Counter[str] = Counter()
    for entry in pictured:
        score = _score(conn, entry)
        total.update(score)
        assert score["right"] > 0, f"{entry['url']}: no figure read from its pictures"
        agency, year = conn.execute("SELECT agency, year FROM reports WHERE url = ?", (entry["url"],)).fetchone()
        assert (agency, year) == (entry["agency"], entry["year"]), entry["url"]
    assert total["silent"] == 0, sorted(k for k in total if k.startswith("silent "))
    assert total["right"] >= 0.75 * total["cells"], total
    print(f"\nimage reports: {len(pictured)}; picture cells {total['cells']}: right {total['right']}, "
          f"doubtful (null or flagged) {total['doubtful']}, silent {total['silent']}")


def test_the_catalog_says_which_cells_ocr_read_and_how_sure_it_was(crawled) -> None:
    archive, truth, _, _ = crawled
    conn = sqlite3.connect(archive / "catalog.sqlite")
    for entry in truth:
        rid, pages = conn.execute("SELECT id, ocr_pages FROM reports WHERE url = ?", (entry["url"],)).fetchone()
        sources = dict(conn.execute("SELECT table_key, group_concat(DISTINCT source) FROM table_cells"
                                    " WHERE report_id = ? GROUP BY table_key", (rid,)).fetchall())
        if entry["pictures"] is None:  # the seal report: every table from its text
            assert pages is None and set(sources.values()) == {"text"}, sources
            continue
        assert pages >= 1, entry["url"]
        read = [t for t in entry["pictures"]["in_pictures"] if t in sources]
        assert read and all(sources[t] == "ocr" for t in read), (entry["url"], sources)
        assert all(sources[t] == "text" for t in sources if t not in entry["pictures"]["in_pictures"]), sources
        confidences = [c for (c,) in conn.execute("SELECT confidence FROM table_cells WHERE report_id = ?"
                                                  " AND source = 'ocr'", (rid,))]
        assert confidences and all(c is None or 0 <= c <= 100 for c in confidences)
        assert sum(c is not None for c in confidences) >= 0.9 * len(confidences)


def test_a_report_whose_text_holds_its_tables_is_not_read_by_ocr(crawled) -> None:
    archive, truth, _, _ = crawled
    conn = sqlite3.connect(archive / "catalog.sqlite")
    seal = next(t for t in truth if t["site"] == "pic" and t["kind"] == "html")
    rid = conn.execute("SELECT id FROM reports WHERE url = ?", (seal["url"],)).fetchone()[0]
    got = {(t, r, c): v for t, r, c, v in conn.execute(
        "SELECT table_key, row_key, column_key, value FROM table_cells WHERE report_id = ?", (rid,))}
    apps = seal["tables"]["applications"]
    assert [got[("applications", "granted", c)] for c in LIST_COLUMNS["applications"]] == apps["granted"]
    codes = {code for (code,) in conn.execute("SELECT code FROM issues WHERE report_id = ?", (rid,))}
    assert "ocr_low_confidence" not in codes and "table_missing" not in codes


def test_the_poster_page_is_no_report(crawled) -> None:
    archive, _, special, _ = crawled
    conn = sqlite3.connect(archive / "catalog.sqlite")
    (poster,) = special["pic:not_reports"]
    assert conn.execute("SELECT count(*) FROM reports WHERE url = ?", (poster,)).fetchone() == (0,)
    outcomes = {o for (o,) in conn.execute("SELECT outcome FROM captures WHERE url = ?", (poster,))}
    assert outcomes == {"not_report"}, outcomes  # read (its poster fetched and OCR'd), and found to be no report


def test_pictures_are_archived_as_resources_of_their_page(crawled) -> None:
    archive, truth, special, _ = crawled
    pages = {t["url"] for t in truth if t["kind"] in ("image", "html")} | set(special["pic:not_reports"])
    shown = {u for t in truth if t["pictures"] and t["kind"] == "image" for u in t["pictures"]["urls"]}
    by_id: dict[str, str] = {}
    resources: list[tuple[str, str, str, str]] = []
    for cap in iter_captures(sorted((archive / "warc").glob("*.warc.gz"))):
        by_id[cap.record_id] = cap.url
        meta = cap.metadata or {}
        if meta.get("role") == "resource":
            resources.append((cap.url, cap.record_type, str(meta.get("resource_of")), str(meta["discovery"][-2])))
    assert shown <= {url for url, *_ in resources}
    for url, _kind, page_id, page_url in resources:
        assert by_id.get(page_id) == page_url, url  # names the capture of the page that shows it
        assert page_url in pages, url
    # the second crawl's pictures are revisits, each with its own metadata record naming the second page capture
    assert Counter(kind for _, kind, _, _ in resources) == {"response": len(resources) // 2,
                                                             "revisit": len(resources) // 2}


def test_rebuild_reproduces_the_catalog_byte_for_byte(crawled) -> None:
    archive, _, _, dumps = crawled
    live = dumps[1]
    assert live != dumps[0]  # the second crawl's captures are the reports' newest
    catalog = archive / "catalog.sqlite"
    catalog.unlink()
    _scrapy("rebuild", "--workers", "2", "-s", f"ARCHIVE_DIR={archive}", "--no-index")
    assert catalog_dump(catalog) == live
