"""``make browse`` (pipelines/browse.py): Datasette over a catalog of real sample reports, on 127.0.0.1 port 0."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest

from pipelines.browse import bind
from pipelines.catalog import open_catalog, store_entries
from pipelines.catalog.capture_info import CaptureInfo
from pipelines.catalog.identity import refresh_identity
from pipelines.catalog.processing import process_capture
from tests.conftest import ROOT
from tests.shared import SHARED, needs_shared

pytestmark = needs_shared
SAMPLES = [SHARED / "real-samples" / "pingtan_2024_page.html", SHARED / "real-samples" / "pingtan_2020_page.txt",
           *sorted((SHARED / "seeds").glob("*.txt"))[:3]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    catalog = tmp_path_factory.mktemp("browse") / "catalog.sqlite"
    conn = open_catalog(catalog)
    entries = []
    for i, path in enumerate(SAMPLES):
        ctype = "text/html; charset=utf-8" if path.suffix == ".html" else "text/plain; charset=utf-8"
        info = CaptureInfo(url=f"http://portal.test/{path.name}", record_id=f"<urn:uuid:{i}>", status=200)
        entries.append(process_capture(path.read_bytes(), info, ctype))
    # the 2024 page once more, on another site: a copy the catalog sets aside
    copy = CaptureInfo(url=f"http://copy.test/{SAMPLES[0].name}", record_id="<urn:uuid:copy>", status=200)
    entries.append(process_capture(SAMPLES[0].read_bytes(), copy, "text/html; charset=utf-8"))
    store_entries(conn, entries)
    refresh_identity(conn)
    conn.close()
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.browse", "--catalog", str(catalog), "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = line.split(" at ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0/")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.status == 200
        return resp.read().decode("utf-8")


def test_html_page_with_titles_and_labels(server: str) -> None:
    home = _get(server)
    assert "nianbao 年报 catalog" in home
    page = _get(server + "catalog/reports")
    assert "reports 年度报告" in page
    assert "平潭综合实验区2024年度政府信息公开工作年度报告" in page
    cells = _get(server + "catalog/table_cells")
    assert "new_received = 本年新收政府信息公开申请数量" in cells


def test_json_api_with_facets(server: str) -> None:
    rows = json.loads(_get(server + "catalog/reports.json?_shape=array&_size=max"))
    assert len(rows) == len(SAMPLES) + 1  # every report stored, its copy too
    data = json.loads(_get(server + "catalog/reports.json?_size=0"))
    facets = data["facet_results"]
    assert {"year", "agency", "format"} <= set(facets)
    years = {item["value"]: item["count"] for item in facets["year"]["results"]}
    assert years[2024] == 3 and years[2020] == 2
    issues = json.loads(_get(server + "catalog/issues.json?_size=0"))
    assert "code" in issues["facet_results"]


def test_canned_query_puts_chinese_labels_next_to_keys(server: str) -> None:
    rows = json.loads(_get(server + "catalog/cells_with_labels.json?agency=%E5%B9%B3%E6%BD%AD%E7%BB%BC%E5%90%88"
                                    "%E5%AE%9E%E9%AA%8C%E5%8C%BA&year=2024&_shape=array"))
    cell = next(r for r in rows if r["row_key"] == "new_received" and r["column_key"] == "total")
    assert (cell["行"], cell["列"], cell["value"]) == ("本年新收政府信息公开申请数量", "总计", 218)


def test_agency_year_page_of_canonical_key_figures_with_level_facets(server: str) -> None:
    data = json.loads(_get(server + "catalog/agency_year_figures.json?_size=max&_shape=objects"))
    rows = data["rows"]
    members = json.loads(_get(server + "catalog/report_members.json?_shape=array&_size=max"))
    assert len(rows) == sum(m["canonical"] for m in members) == len(SAMPLES)  # the copy set aside
    assert {"level", "province", "year", "format"} <= set(data["facet_results"])
    pingtan = next(r for r in rows if r["agency"] == "平潭综合实验区" and r["year"] == 2024)
    assert (pingtan["level"], pingtan["new_received"], pingtan["review"], pingtan["litigation"]) == (
        "city", 218, 7, 19)
    page = _get(server + "catalog/agency_year_figures")
    # the description is folded and the column list inside it: the rows come right after the title
    assert "<details><summary>One row per canonical report" in page and "<dl><dt>agency</dt>" in page
    assert page.index("</details>") < page.index("平潭综合实验区")


def test_a_canned_query_per_identity_and_cross_year_check(server: str) -> None:
    from pipelines.browse import IDENTITIES

    names = [name for name, *_ in IDENTITIES] + ["carryover_mismatch", "in_force_mismatch", "copies_set_aside"]
    assert len(names) == 7
    for name in names:
        rows = json.loads(_get(server + f"catalog/{name}.json?_shape=array"))
        assert isinstance(rows, list), name
    copies = json.loads(_get(server + "catalog/copies_set_aside.json?_shape=array"))
    assert [(c["agency"], c["year"]) for c in copies] == [("平潭综合实验区", 2024)]
    assert copies[0]["reason"] == "same_text" and copies[0]["evidence"] == "same_text,same_tables"


def test_only_local_hosts() -> None:
    with pytest.raises(ValueError, match="this machine only"):
        bind("0.0.0.0", 0)


def test_every_issue_code_the_parser_emits_has_a_label() -> None:
    import re

    from pipelines.catalog.labels import LABELS

    emitted = set()
    from pathlib import Path

    for path in (Path(__file__).resolve().parent.parent / "crawler" / "report").glob("*.py"):
        emitted |= set(re.findall(r'Issue\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    emitted.add("mojibake")  # added from the text repair's spans, not by an Issue(...) literal
    labelled = {key for kind, key, _zh, _en in LABELS if kind == "issue"}
    assert len(emitted) >= 9
    assert emitted <= labelled, sorted(emitted - labelled)
