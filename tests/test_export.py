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
from pipelines.catalog import StoreEntry, open_catalog, store_entries
from pipelines.catalog.capture_info import CaptureInfo, payload_digest
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
    conn.close()
    return path, [e for e in entries if e.report is not None]


def _load(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    return pd.read_parquet(path)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_exports_load_in_pandas_with_expected_rows(tmp_path: Path, catalog: tuple[Path, list[StoreEntry]],
                                                   fmt: str) -> None:
    path, entries = catalog
    result = export(path, tmp_path, fmt)
    frames = {name: _load(p) for name, p in result.files.items()}
    reports = [e.report for e in entries if e.report is not None]
    n_cells = sum(
        len(row) if isinstance(row, list | dict) else 1
        for r in reports for table in r["tables"].values() if table for row in table.values())
    assert len(frames["reports"]) == len(reports) == len(SAMPLES)
    assert len(frames["table_cells"]) == n_cells > 100
    assert len(frames["issues"]) == sum(len(r["issues"]) for r in reports)
    wide = frames["applications_wide"]
    assert len(wide) == len(reports)
    assert len([c for c in wide.columns if "__" in c]) == len(APPLICATION_ROWS) * 7
    pingtan = wide[wide["url"].str.endswith("pingtan_2024_page.html")].iloc[0]
    assert pingtan["new_received__total"] == 218
    assert pingtan["new_received__natural_person"] == 217
    legacy = wide[wide["format"] == "legacy"]
    assert legacy["new_received__total"].isna().all()  # no Table 3 in the old form: empty, not zero
    assert set(frames["table_cells"].columns) >= {"url", "table_key", "row_key", "column_key", "value", "inferred"}


def test_chart_data_is_the_catalog(catalog: tuple[Path, list[StoreEntry]]) -> None:
    import sqlite3

    path, entries = catalog
    conn = sqlite3.connect(path)
    coverage = coverage_data(conn)
    per_year: dict[int, int] = defaultdict(int)
    received: dict[int, int] = defaultdict(int)
    granted: dict[int, int] = defaultdict(int)
    for e in entries:
        r = e.report or {}
        if r.get("year") is None:
            continue
        per_year[r["year"]] += 1
        t3 = (r["tables"] or {}).get("applications") or {}
        if t3.get("new_received") and t3["new_received"][6] is not None:
            received[r["year"]] += t3["new_received"][6]
        if t3.get("granted") and t3["granted"][6] is not None:
            granted[r["year"]] += t3["granted"][6]
    assert coverage.sum(axis=0).to_dict() == dict(per_year)
    apps = applications_data(conn)
    assert apps["received"].to_dict() == {y: v for y, v in received.items() if y in apps.index}
    assert apps["granted"].to_dict() == {y: v for y, v in granted.items() if y in apps.index}
    assert apps.loc[2024, "received"] > 0


def test_plots_have_content(tmp_path: Path, catalog: tuple[Path, list[StoreEntry]]) -> None:
    path, _ = catalog
    result = export(path, tmp_path / "full", "csv", plots=True)
    empty_catalog = tmp_path / "empty.sqlite"
    open_catalog(empty_catalog).close()
    empty = export(empty_catalog, tmp_path / "empty", "csv", plots=True)
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


def test_export_command(tmp_path: Path, catalog: tuple[Path, list[StoreEntry]]) -> None:
    path, _ = catalog
    out = tmp_path / "cmd"
    proc = subprocess.run([sys.executable, "-m", "scrapy", "export", "--format", "parquet", "-o", str(out),
                           "--catalog", str(path), "--plots"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"reports: {len(SAMPLES)} rows" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "applications.png", "applications_wide.parquet", "coverage.png", "issues.parquet", "reports.parquet",
        "table_cells.parquet"]
    bad = subprocess.run([sys.executable, "-m", "scrapy", "export", "--format", "xls", "--catalog", str(path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "--format 'xls'" in bad.stderr
    with pytest.raises(FileNotFoundError, match="no catalog.*scrapy rebuild"):
        export(tmp_path / "none.sqlite", out)
