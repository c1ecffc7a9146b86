"""Issue 15's acceptance test on the demo portal: crawl it (a page and its PDF, a corrected re-issue, a gov.cn repost,
a mirror copy, every agency's consecutive years linked, one deliberate carry-over mismatch), then prove against the
generator's ground truth: one canonical report per agency and year in every export, every copy linked with its
reason, the carry-over mismatches the numbers imply and no other; the key-figure CSV opens with its Chinese headings
in pandas and in LibreOffice, the XLSX in openpyxl; a rebuild from the WARCs gives the same catalog, new tables
included."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from pipelines.catalog.agencies import agency_id, match_key
from pipelines.catalog.labels import APPLICANT_COLUMNS
from pipelines.export import export
from pipelines.key_figures import FIGURES, headings
from tests.conftest import ROOT, DemoCrawl, catalog_dump


@pytest.fixture(scope="module")
def crawled(demo_crawl: DemoCrawl) -> tuple[Path, list[dict[str, Any]], str]:
    """The session's crawl of the demo portal (tests/conftest.py): read only."""
    return demo_crawl.archive, list(demo_crawl.portal.ground_truth), demo_crawl.proc.stdout


def _members(archive: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(archive / "catalog.sqlite")
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT r.url, m.* FROM report_members m JOIN reports r ON r.id = m.report_id").fetchall()
    return {row["url"]: dict(row) for row in rows}


def test_every_copy_is_linked_to_its_original_with_the_reason(crawled) -> None:
    archive, truth, summary = crawled
    members = _members(archive)
    assert set(members) == {t["url"] for t in truth}
    copies = [t for t in truth if t["copy_of"]]
    assert {t["copy_reason"] for t in copies} == {"attachment_of", "corrected_reissue", "mirror", "reposted"}
    for t in copies:
        mine, original = members[t["url"]], members[t["copy_of"]]
        assert mine["group_id"] == original["group_id"], t["url"]
        assert mine["canonical"] + original["canonical"] == 1, t["url"]
        copy = mine if not mine["canonical"] else original
        assert copy["reason"] == t["copy_reason"], (t["url"], copy)
        if t["copy_reason"] in ("attachment_of", "corrected_reissue"):
            # HTML over PDF; the re-issue without the broken identity has fewer issues than the original
            assert original["canonical"] == 1 and mine["copy_of"] == original["report_id"], t["url"]
    groups = {(t["agency"], t["year"]) for t in truth}
    canonical = [m for m in members.values() if m["canonical"]]
    assert len(canonical) == len(groups) == len({m["group_id"] for m in members.values()})
    assert f"canonical reports: {len(groups)} (one per agency and year, counted below); copies set aside: " \
           f"{len(copies)}" in summary


def _expected_mismatches(truth: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
    """The carry-over mismatches the ground-truth numbers imply, per (agency, year, column)."""
    tables: dict[tuple[str, int], dict[str, Any]] = {}
    for t in truth:
        if t["tables"] is not None and not (t["copy_of"] and t["copy_reason"] == "corrected_reissue"):
            tables[(t["agency"], t["year"])] = t["tables"]
    out = set()
    for (agency, year), cur in tables.items():
        prev = tables.get((agency, year - 1))
        if prev is None:
            continue
        for col, now, before in zip(APPLICANT_COLUMNS, cur["applications"]["carried_over"],
                                    prev["applications"]["carried_forward"], strict=True):
            if now != before:
                out.add((agency, year, col))
    return out


def test_carryover_mismatches_are_the_ones_the_numbers_imply(crawled) -> None:
    archive, truth, _ = crawled
    conn = sqlite3.connect(archive / "catalog.sqlite")
    found = set(conn.execute("SELECT a.name, x.year, x.column_key FROM crossyear_checks x JOIN agencies a"
                             " ON a.agency_id = x.agency_id WHERE x.code = 'carryover_mismatch'").fetchall())
    expected = _expected_mismatches(truth)
    deliberate = {(t["agency"], t["year"], t["carryover_break"]) for t in truth if t["carryover_break"]}
    assert deliberate and deliberate <= expected
    assert found == expected  # the deliberate one, those a broken (七)总计 leaves, and no false one
    assert conn.execute("SELECT count(*) FROM crossyear_checks WHERE code = 'in_force_mismatch'").fetchone() == (0,)
    pairs = {(t["agency"], t["year"]) for t in truth if (t["agency"], t["year"] - 1) in
             {(u["agency"], u["year"]) for u in truth}}
    assert len(pairs) > 30  # most of the portal's reports were checked against the year before


@pytest.fixture(scope="module")
def exported(crawled, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    archive, _, _ = crawled
    out = tmp_path_factory.mktemp("exported")
    files = {}
    for fmt in ("csv", "parquet", "xlsx"):
        result = export(archive / "catalog.sqlite", out / fmt, fmt, labels="zh", plots=fmt == "csv")
        files.update({f"{name}.{fmt}": path for name, path in result.files.items()})
    return files


def test_one_canonical_row_per_agency_and_year_in_every_export(crawled, exported) -> None:
    _, truth, _ = crawled
    groups = {(agency_id(match_key(t["agency"])), t["year"]) for t in truth}
    zh = headings("zh")
    for fmt in ("csv", "parquet"):
        read = pd.read_csv if fmt == "csv" else pd.read_parquet
        kf = read(exported[f"key_figures.{fmt}"])
        keys = list(zip(kf[zh["agency_id"]], kf[zh["year"]], strict=True))
        assert len(keys) == len(set(keys)) == len(groups) and set(keys) == groups, fmt
        for name in ("reports", "applications_wide"):
            frame = read(exported[f"{name}.{fmt}"])
            assert len(frame) == len(groups) and frame["report_id"].is_unique, (fmt, name)
        cells = read(exported[f"table_cells.{fmt}"])
        assert set(cells["report_id"]) <= set(kf[zh["report_id"]])
        copies = read(exported[f"copies.{fmt}"])
        assert len(copies) == len([t for t in truth if t["copy_of"]])
    # the figures are the ground truth's, where the report printed them: the deliberate mismatch's year
    kf = pd.read_parquet(exported["key_figures.parquet"])
    t = next(t for t in truth if t["carryover_break"])
    row = kf[(kf[zh["agency"]] == t["agency"]) & (kf[zh["year"]] == t["year"])].iloc[0]
    for c, value in zip(APPLICANT_COLUMNS, t["tables"]["applications"]["carried_over"], strict=True):
        assert row[zh[f"t3__carried_over__{c}"]] == value
    assert "carryover_mismatch" in row[zh[f"t3__carried_over__{t['carryover_break']}_issue"]]
    assert row[zh["crossyear_mismatches"]] == 2  # the column and the total


def test_key_figure_csv_opens_with_chinese_headings_in_pandas_and_libreoffice(exported, tmp_path: Path) -> None:
    csv = exported["key_figures.csv"]
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read UTF-8
    zh = headings("zh")
    frame = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(frame.columns[:4]) == ["报告编号", "报告组编号", "机关编号", "机关"]
    assert "表三|本年新收政府信息公开申请数量|自然人" in frame.columns and len(frame.columns) == len(zh)
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    profile = tmp_path / "lo-profile"
    # headless Calc does not read the byte-order mark: the import filter is told the file is UTF-8 (76), comma
    # separated (44), with double quotes (34), as the text-import dialog shows it to a person
    proc = subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                           "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx", "--outdir", str(tmp_path), str(csv)],
                          capture_output=True, text=True, timeout=180)
    converted = tmp_path / "key_figures.xlsx"
    assert converted.exists(), proc.stdout + proc.stderr
    sheet = openpyxl.load_workbook(converted, read_only=True).active
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert list(header[:4]) == ["报告编号", "报告组编号", "机关编号", "机关"]
    assert header[len(header) - 1] == list(zh.values())[-1] and len(header) == len(zh)
    assert sheet.max_row == len(frame) + 1


def test_xlsx_opens_in_openpyxl(exported) -> None:
    zh = headings("zh")
    book = openpyxl.load_workbook(exported["key_figures.xlsx"], read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert list(rows[0]) == list(zh.values())
    frame = pd.read_parquet(exported["key_figures.parquet"])
    assert len(rows) - 1 == len(frame)
    codebook = openpyxl.load_workbook(exported["codebook.xlsx"], read_only=True).active
    entries = {r[2]: r for r in codebook.iter_rows(min_row=2, values_only=True) if r[0] == "key_figures"}
    assert entries["t3__new_received__total"][3] == "表三|本年新收政府信息公开申请数量|总计"
    plots = exported["key_figures.csv"].parent
    assert all((plots / f"{name}.{ext}").exists() for name in ("coverage", "applications") for ext in ("png", "svg"))


def test_rebuild_gives_the_same_catalog_new_tables_included(crawled, tmp_path: Path) -> None:
    archive, _, _ = crawled
    live = catalog_dump(archive / "catalog.sqlite")
    copy = tmp_path / "data"
    shutil.copytree(archive / "warc", copy / "warc")
    proc = subprocess.run([sys.executable, "-m", "scrapy", "rebuild", "-s", f"ARCHIVE_DIR={copy}", "--no-index"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "identity: " in proc.stdout and "copies set aside" in proc.stdout
    rebuilt = catalog_dump(copy / "catalog.sqlite")
    for table in ("agencies", "agency_aliases", "report_groups", "report_members", "crossyear_checks"):
        assert any(line.startswith(f'INSERT INTO "{table}"') for line in live), table
    assert rebuilt == live


def test_export_columns_are_documented() -> None:
    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    from pipelines.export import COLUMN_DOCS
    from pipelines.key_figures import META

    for key, _zh, _en in META:
        assert f"`{key}`" in doc, key
    for key in COLUMN_DOCS:
        assert f"`{key}`" in doc, key
    for f in FIGURES:
        assert f"`{f.row}`" in doc and f"`{f.column}`" in doc, f.key
    for code in ("carryover_mismatch", "in_force_mismatch", "attachment_of", "corrected_reissue", "mirror",
                 "reposted", "same_text", "same_tables", "same_agency_year", "ocr_or_typo", "outside_column"):
        assert f"`{code}`" in doc, code

