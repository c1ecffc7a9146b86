"""``scrapy export`` (pipelines/export.py, plots.py) from a catalog of the real sample reports."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from crawler.routing import Routing
from pipelines.catalog import StoreEntry, open_catalog, report_id, store_entries
from pipelines.catalog.agencies import match_key
from pipelines.catalog.capture_info import CaptureInfo, payload_digest
from pipelines.catalog.identity import refresh_identity
from pipelines.catalog.processing import process_capture
from pipelines.catalog.runs import refresh_runs
from pipelines.export import APPLICATION_ROWS, export
from pipelines.plots import applications_data, coverage_data
from tests.conftest import ROOT
from tests.shared import needs_shared, shared_files

pytestmark = needs_shared
SAMPLES = shared_files("seeds", "*.txt") + [
    p for p in shared_files("real-samples") if p.suffix in (".txt", ".html", ".md")]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[StoreEntry]]:
    path = tmp_path_factory.mktemp("export") / "catalog.sqlite"
    entries = []
    for i, sample in enumerate(SAMPLES):
        body = sample.read_bytes()
        ctype = "text/html; charset=utf-8" if sample.suffix == ".html" else "text/plain; charset=utf-8"
        info = CaptureInfo(url=f"http://portal.test/{sample.name}", record_id=f"<urn:uuid:{i:08d}>",
                           captured_at="2025-03-10T07:35:00Z", warc_file="x.warc.gz", warc_offset=i, status=200,
                           content_type=ctype.split(";")[0], payload_digest=payload_digest(body),
                           payload_length=len(body), routing=Routing("detail", agency="样例机关"))
        entries.append(process_capture(body, info, ctype))
    conn = open_catalog(path)
    store_entries(conn, entries)
    refresh_runs(conn)
    refresh_identity(conn)
    conn.close()
    return path, [e for e in entries if e.report is not None]


def _load(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    if path.suffix == ".xlsx":
        return pd.read_excel(path, engine="openpyxl")
    return pd.read_parquet(path)


def _groups(entries: list[StoreEntry]) -> dict[tuple[str, object], list[dict]]:
    """The report groups the samples make, by the rule's key: canonical agency and year (a report without one is
    a group of its own)."""
    out: dict[tuple[str, object], list[dict]] = defaultdict(list)
    for e in entries:
        r = e.report or {}
        key = match_key(r.get("agency") or "样例机关")
        out[(key, r["year"]) if r.get("year") is not None else (key, e.capture.url)].append(r)
    return out


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "xlsx"])
def test_exports_load_in_pandas_with_expected_rows(tmp_path: Path, catalog: tuple[Path, list[StoreEntry]],
                                                   fmt: str) -> None:
    path, entries = catalog
    result = export(path, tmp_path, fmt)
    frames = {name: _load(p) for name, p in result.files.items()}
    groups = _groups(entries)
    assert len(entries) == len(SAMPLES) and len(groups) < len(SAMPLES)  # pingtan 2024 twice: page and text
    assert result.canonical == len(frames["reports"]) == len(frames["key_figures"]) == len(groups)
    assert result.copies == len(frames["copies"]) == len(SAMPLES) - len(groups)
    canonical_ids = set(frames["reports"]["report_id"])
    canonical = [e.report for e in entries if e.report is not None
                 and report_id(e.capture.url) in canonical_ids]
    n_cells = sum(len(row) if isinstance(row, list | dict) else 1
                  for r in canonical for table in r["tables"].values() if table for row in table.values())
    assert len(frames["table_cells"]) == n_cells > 100
    assert len(frames["issues"]) == sum(len(r["issues"]) for r in canonical)
    wide = frames["applications_wide"]
    assert len(wide) == len(groups)
    assert len([c for c in wide.columns if "__" in c]) == len(APPLICATION_ROWS) * 7
    pingtan = frames["key_figures"][frames["key_figures"]["year"] == 2024]
    pingtan = pingtan[pingtan["agency"] == "平潭综合实验区"].iloc[0]
    assert pingtan["t3__new_received__total"] == 218 and pingtan["t3__new_received__natural_person"] == 217
    legacy = frames["key_figures"][frames["key_figures"]["format"] == "legacy"]
    assert legacy["t3__new_received__total"].isna().all()  # no Table 3 in the old form: empty, not zero
    assert set(frames["table_cells"].columns) >= {"url", "table_key", "row_key", "column_key", "value", "inferred"}
    codebook = frames["codebook"]
    for name in result.files:
        if name != "codebook" and len(frames[name]):  # (JSON lines of no rows has no columns to name)
            assert set(codebook[codebook["table"] == name]["heading"].astype(str)) == set(
                map(str, frames[name].columns)), name
    assert {"row", "column", "issue", "reason", "level"} <= set(frames["labels"]["kind"])


def test_chart_data_is_the_catalog_canonical_reports_per_level(catalog: tuple[Path, list[StoreEntry]]) -> None:
    import sqlite3

    path, entries = catalog
    conn = sqlite3.connect(path)
    coverage = coverage_data(conn)
    received: dict[tuple[str, int], int] = defaultdict(int)
    per_year: dict[int, int] = defaultdict(int)
    for members in _groups(entries).values():
        r = members[0]
        if r.get("year") is None:
            continue
        per_year[r["year"]] += 1
    assert coverage.notna().sum(axis=0).to_dict() == {y: per_year.get(y, 0) for y in coverage.columns}
    canonical = set(conn.execute("SELECT r.url FROM reports r JOIN report_members m ON m.report_id = r.id"
                                 " AND m.canonical = 1").fetchall())
    levels = dict(conn.execute("SELECT r.url, a.level FROM reports r JOIN report_members m ON m.report_id = r.id"
                               " JOIN agencies a ON a.agency_id = m.agency_id").fetchall())
    for e in entries:
        r = e.report or {}
        t3 = (r.get("tables") or {}).get("applications") or {}
        if (e.capture.url,) in canonical and r.get("year") and t3.get("new_received") \
                and t3["new_received"][6] is not None:
            received[(levels[e.capture.url], r["year"])] += t3["new_received"][6]
    apps = applications_data(conn)
    drawn = {key: v for key, v in apps["received"].items() if v == v}  # NaN: a year without Table 3 is a gap
    assert drawn == dict(received) and received
    years = sorted({y for _, y in apps.index})
    assert years == list(range(years[0], years[-1] + 1))  # every year from the first to the last, gaps as NaN


def test_plots_have_content(tmp_path: Path, catalog: tuple[Path, list[StoreEntry]]) -> None:
    path, _ = catalog
    result = export(path, tmp_path / "full", "csv", plots=True, tables=["reports"])
    empty_catalog = tmp_path / "empty.sqlite"
    open_catalog(empty_catalog).close()
    empty = export(empty_catalog, tmp_path / "empty", "csv", plots=True, tables=["reports"])
    for name in ("coverage", "applications"):
        image = imread(result.plots[name])[..., :3]
        blank = imread(empty.plots[name])[..., :3]
        assert image.shape[0] >= 300 and image.shape[1] >= 500
        # a chart with data is not a blank canvas: many colours, and far more ink than the "no data" chart
        colours = len(np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0))
        assert colours > 50, name
        ink = float((image.mean(axis=2) < 0.9).mean())
        blank_ink = float((blank.mean(axis=2) < 0.9).mean())
        assert ink > 0.05 and ink > 5 * blank_ink, (name, ink, blank_ink)
        svg = result.plots[name].with_suffix(".svg").read_text(encoding="utf-8")
        assert svg.startswith("<?xml") and "<svg" in svg
    again = export(path, tmp_path / "again", "csv", plots=True, tables=["reports"])
    for name in ("coverage", "applications"):  # the same catalog draws the same SVG
        assert again.plots[name].with_suffix(".svg").read_bytes() == \
            result.plots[name].with_suffix(".svg").read_bytes()


def test_export_command(tmp_path: Path, catalog: tuple[Path, list[StoreEntry]]) -> None:
    path, entries = catalog
    out = tmp_path / "cmd"
    proc = subprocess.run([sys.executable, "-m", "scrapy", "export", "--format", "parquet", "-o", str(out),
                           "--catalog", str(path), "--plots", "--table", "reports,key_figures"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    groups = len(_groups(entries))
    assert f"canonical reports: {groups} (one per agency and year); copies set aside: {len(SAMPLES) - groups}" \
        in proc.stdout
    assert f"reports: {groups} rows" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "applications.png", "applications.svg", "codebook.parquet", "coverage.png", "coverage.svg",
        "key_figures.parquet", "labels.parquet", "reports.parquet"]
    bad = subprocess.run([sys.executable, "-m", "scrapy", "export", "--format", "xls", "--catalog", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "--format 'xls'" in bad.stderr
    with pytest.raises(FileNotFoundError, match="no catalog.*scrapy rebuild"):
        export(tmp_path / "none.sqlite", out)
    with pytest.raises(ValueError, match="--table 'nope'"):
        export(path, out, tables=["nope"])


def test_command_lists_match_the_export_module() -> None:
    from crawler.commands import export as command
    from pipelines import export as module

    assert (command.FORMATS, command.TABLES, command.LABEL_LANGS) == (module.FORMATS, module.TABLES,
                                                                      module.LABEL_LANGS)


def test_a_catalog_without_identity_tables_is_exported_canonical_and_left_unchanged(
        tmp_path: Path, catalog: tuple[Path, list[StoreEntry]]) -> None:
    import shutil
    import sqlite3

    path, entries = catalog
    old = tmp_path / "old.sqlite"
    shutil.copy(path, old)
    with sqlite3.connect(old) as conn:
        conn.execute("DELETE FROM report_members")
    before = old.read_bytes()
    result = export(old, tmp_path / "out", "csv", tables=["reports"])
    assert result.rows["reports"] == len(_groups(entries)) and old.read_bytes() == before
