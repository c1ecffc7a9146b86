"""Golden fixtures: each folder under tests/fixtures/reports holds fixture.json (input path, url, content
type) and a hand-checked expected.json. A new regression case is a new folder.

The comparison covers what the parser owns: metadata, format, tables, section structure and the
parser's issues. Text repair (``text.repairs``, ``mojibake`` issues, the repaired wording of section
texts) belongs to crawler.textfix and is tested there; it is kept in expected.json for reference only.

Regenerate after an intended change with ``NIANBAO_REGEN_GOLDEN=1 pytest tests/test_report_golden.py`` and
review the diff by hand before committing it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from crawler.report import parse_report
from tests.shared import SHARED, needs_shared, shared_input

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "fixture.json").exists())


def _run(name: str) -> dict[str, Any]:
    folder = FIXTURES / name
    spec = json.loads((folder / "fixture.json").read_text(encoding="utf-8"))
    content = shared_input(folder / spec["input"]).read_bytes()  # skips when it is in an absent ../shared
    return parse_report(content, url=spec.get("url"), content_type=spec.get("content_type")).to_dict()


def _owned(report: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in report.items() if k not in ("text", "sections", "issues")}
    out["issues"] = [i for i in report["issues"] if i["code"] != "mojibake"]
    out["sections"] = [(s["key"], s["number"], s["title"]) for s in report["sections"]]
    return out


def _missing_requirement(name: str) -> str | None:
    """Why this machine cannot produce the fixture's expected output (``requires`` in fixture.json), or None."""
    import shutil

    from crawler.report import _attachments

    spec = json.loads((FIXTURES / name / "fixture.json").read_text(encoding="utf-8"))
    if spec.get("requires") == "libreoffice" and (
            shutil.which("soffice") is None or _attachments._offline_prefix() is None):
        return "LibreOffice (Debian libreoffice-writer-nogui) not installed, or no network namespace to run it in"
    return None


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    missing = _missing_requirement(name)
    if missing:
        pytest.skip(missing)
    got = _run(name)
    expected_path = FIXTURES / name / "expected.json"
    if os.environ.get("NIANBAO_REGEN_GOLDEN") == "1":
        expected_path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert _owned(got) == _owned(expected)


@needs_shared
def test_every_shared_sample_has_a_fixture() -> None:
    inputs = {shared_input(FIXTURES / n / json.loads((FIXTURES / n / "fixture.json").read_text())["input"])
              for n in CASES}
    wanted = [p.resolve() for folder in ("seeds", "real-samples") for p in (SHARED / folder).iterdir()
              if p.name != "SOURCES.md"]
    assert wanted and all(p in inputs for p in wanted)


def test_pingtan_html_and_text_give_the_same_tables() -> None:
    html, text = _run("pingtan_2024_page_html"), _run("pingtan_2024_page_txt")
    assert html["tables"]["applications"] == text["tables"]["applications"]
    assert html["tables"]["review_litigation"] == text["tables"]["review_litigation"]
    # The text dump ran 62|33|440 together as 6233440: no identity ties those three cells. The report's
    # prose states 本年度制发行政规范性文件62件, which pins 本年制发件数 (the run starts with 62); 33440 still
    # splits four ways, so those two cells stay null. Every other row of Table 2 is the same.
    text_active = dict(text["tables"]["active_disclosure"])
    html_active = dict(html["tables"]["active_disclosure"])
    assert text_active.pop("normative_documents") == {"issued": 62, "abolished": None, "in_force": None}
    assert html_active.pop("normative_documents") == {"issued": 62, "abolished": 33, "in_force": 440}
    assert text_active == html_active
    active_issues = [i for i in text["issues"] if i["table"] == "active_disclosure"]
    assert active_issues == [
        {"code": "inferred_cell", "table": "active_disclosure", "row": "normative_documents", "column": "issued",
         "detail": "digits run together (6233440); 62: the report's text states «动态更新发布本年度制发行政规范性文件62件»"},
        {"code": "unparsed_row", "table": "active_disclosure", "row": "normative_documents", "column": None,
         "detail": "digits run together with no unique split: 6233440 (abolished|in_force could be 3|3440, 33|440, "
                   "334|40, 3344|0)"}]


def test_pingtan_2020_sign_rule_pins_one_cell() -> None:
    """2648-18538 is 上一年项目数量|本年增/减|处理决定数量: only 本年增/减 may be negative, so the minus sign
    belongs to it and 2648 is the first cell in every reading left; the other two still split four ways."""
    got = _run("pingtan_2020_page")
    assert got["tables"]["active_disclosure"]["punishment"] == {
        "prev_year_items": 2648, "change": None, "decisions": None}
    undecided = sorted(i["row"] for i in got["issues"] if i["code"] == "unparsed_row")
    assert undecided == ["enforcement", "licensing", "normative_documents", "other_services", "procurement",
                         "punishment"]


def test_seed_003_missing_cell_is_inferred() -> None:
    got = _run("seed_003")
    assert got["year"] == 2023 and got["published"] == "2024-01-15" and got["agency"] == "汉阳区统计局"
    assert got["tables"]["applications"]["new_received"] == [2, 0, 0, 0, 0, 0, 2]
    assert [i for i in got["issues"] if i["code"] == "inferred_cell"] == [
        {"code": "inferred_cell", "table": "applications", "row": "new_received", "column": "natural_person",
         "detail": "blank or missing in the source; 2 from 一+二 = （七）+四"}]


@pytest.mark.parametrize("name", ["seed_000", "seed_002"])
def test_lost_tables_are_reported(name: str) -> None:
    got = _run(name)
    assert got["tables"] == {"active_disclosure": None, "applications": None, "review_litigation": None}
    assert sorted(i["table"] for i in got["issues"] if i["code"] == "table_missing") == [
        "active_disclosure", "applications", "review_litigation"]


@pytest.mark.parametrize("name", ["seed_001", "pingtan_2018_legacy_page"])
def test_legacy_reports(name: str) -> None:
    got = _run(name)
    assert got["format"] == "legacy"
    assert all(s["key"] is None for s in got["sections"])
    assert got["tables"] == {"active_disclosure": None, "applications": None, "review_litigation": None}
