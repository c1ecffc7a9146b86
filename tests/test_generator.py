"""The report generator and its renderers: identities, broken cases, determinism, parse-stable output."""

from __future__ import annotations

import io
import re

import docx
import lxml.html
import pdfplumber
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.portal import BROKEN_KINDS, check_identities, generate_report
from crawler.portal.grid import format_number
from crawler.portal.labels import TABLE3_ROWS_2019, TABLE3_ROWS_2021, outcome_row_keys, table3_rows
from crawler.portal.render import HTML_LAYOUTS, render_docx, render_html, render_pdf, render_png, render_text
from crawler.portal.titles import chinese_year, report_title

FORMATS = ("2021", "2019")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_identity_holds_for_unbroken_reports(fmt: str) -> None:
    for seed in range(300):
        report = generate_report(seed, fmt, "江城市统计局", 2023)
        assert check_identities(report.tables, fmt) == [], seed
        assert report.issues_expected == ()
        apps = report.tables["applications"]
        assert list(apps) == [k for k, _, _ in table3_rows(fmt)]
        assert all(len(v) == 7 and all(isinstance(x, int) and x >= 0 for x in v) for v in apps.values())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("broken", sorted(BROKEN_KINDS))
def test_a_broken_report_breaks_exactly_what_it_says(fmt: str, broken: str) -> None:
    for seed in range(40):
        report = generate_report(seed, fmt, broken=broken)
        violations = check_identities(report.tables, fmt)
        assert report.issues_expected == (BROKEN_KINDS[broken],)
        if broken == "missing_cell":
            assert violations == [] and len(report.blank_cells) == 1
            continue
        assert violations, (seed, broken)
        tables = {v.table for v in violations}
        assert tables == ({"review_litigation"} if broken == "review_total" else {"applications"})
        if broken == "row_total":
            assert {v.row for v in violations} == {"granted", "partially_granted"}
        if broken == "processed_sum":
            assert {v.row for v in violations} == {"total_processed"}
        if broken == "balance":
            assert {v.row for v in violations} == {"new_received"}


def test_unknown_broken_and_format_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown broken='nope'"):
        generate_report(1, "2021", broken="nope")
    with pytest.raises(ValueError, match="unknown report format '2007'"):
        generate_report(1, "2007")


def test_same_seed_same_report_and_same_bytes() -> None:
    a, b = generate_report(7, "2021", broken="missing_cell"), generate_report(7, "2021", broken="missing_cell")
    assert a == b
    assert generate_report(8, "2021") != a
    for layout in HTML_LAYOUTS:
        assert render_html(a, layout, seed=3) == render_html(b, layout, seed=3)
    assert render_text(a, "pipe") == render_text(b, "pipe")
    assert render_pdf(a) == render_pdf(b)
    assert render_docx(a) == render_docx(b)
    assert render_png(a) == render_png(b)


def test_title_variants_carry_the_year() -> None:
    assert chinese_year(2023) == "二〇二三"
    titles = {report_title("江城市统计局", 2023, v) for v in range(7)}
    assert "江城市统计局2023年度政府信息公开工作年度报告" in titles
    assert "江城市统计局二〇二三年政府信息公开年报" in titles
    assert "关于江城市统计局2023年度政府信息公开工作年度报告的公告" in titles
    assert all("2023" in t or "二〇二三" in t for t in titles)


# --- read-backs: an independent minimal reader proves the printed numbers are the ground truth ---

def _expand(table: lxml.html.HtmlElement) -> list[list[str]]:
    """An HTML table as a full matrix (spans repeated), cell text with whitespace removed."""
    grid: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(table.iter("tr")):
        c = 0
        for td in tr.iter("td"):
            while (r, c) in grid:
                c += 1
            text = re.sub(r"\s+", "", td.text_content().replace("\xa0", ""))
            for dr in range(int(td.get("rowspan", 1))):
                for dc in range(int(td.get("colspan", 1))):
                    grid[(r + dr, c + dc)] = text
            c += int(td.get("colspan", 1))
    rows = max(r for r, _ in grid) + 1
    return [[grid.get((r, c), "") for c in range(max(cc for rr, cc in grid if rr == r) + 1)] for r in range(rows)]


def _applications_from_matrix(matrix: list[list[str | None]], fmt: str) -> dict[str, list[str]]:
    labels = {label: key for key, label, _ in (TABLE3_ROWS_2021 if fmt == "2021" else TABLE3_ROWS_2019)}
    out: dict[str, list[str]] = {}
    for row in matrix:
        cells = [re.sub(r"\s+", "", c or "") for c in row]
        for cell in cells[:-7]:
            if cell in labels and labels[cell] not in out:
                out[labels[cell]] = cells[-7:]
                break
    return out


def _expected_cells(report, key: str) -> list[str]:  # type: ignore[no-untyped-def]
    return ["" if report.is_blank("applications", key, i) else format_number(v)
            for i, v in enumerate(report.tables["applications"][key])]


@pytest.mark.parametrize("layout", HTML_LAYOUTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_html_tables_read_back_to_the_ground_truth(layout: str, fmt: str) -> None:
    report = generate_report(11, fmt, broken="missing_cell")
    doc = lxml.html.fromstring(f"<div>{render_html(report, layout, seed=1)}</div>")
    tables = doc.findall(".//table")
    assert len(tables) == 3
    got = _applications_from_matrix(_expand(tables[1]), fmt)  # type: ignore[arg-type]
    assert set(got) == set(report.tables["applications"])
    for key in got:
        assert got[key] == _expected_cells(report, key), key
    review = _expand(tables[2])
    flat = [c for row in review[-3:] for c in row if c.isdigit()] if layout == "plain" else review[-1]
    assert [int(x) for x in flat] == [v for g in report.tables["review_litigation"].values() for v in g]


def test_word_layout_splits_labels_across_elements() -> None:
    body = render_html(generate_report(2, "2021"), "word", seed=5)
    assert "<span style=\"font-family:仿宋_GB2312\">自</span>" in body or "<br/>" in body
    assert "MsoNormal" in body and "rowspan=" in body and "colspan=" in body


def test_space_text_rows_carry_label_then_seven_numbers() -> None:
    report = generate_report(5, "2021")
    text = render_text(report, "spaces")
    for key, label, _ in TABLE3_ROWS_2021:
        line = next(line for line in text.splitlines() if line.startswith(label + " "))
        assert line.split(" ")[1:] == [str(v) for v in report.tables["applications"][key]]


def test_pipe_text_puts_one_cell_per_line() -> None:
    text = render_text(generate_report(5, "2021"), "pipe")
    assert "\n|\n第二十条第（一）项 |\n|||\n" in text
    assert "一、本年新收政府信息公开申请数量 |" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_pdf_has_real_tables_with_the_numbers(fmt: str) -> None:
    report = generate_report(4, fmt)
    with pdfplumber.open(io.BytesIO(render_pdf(report))) as pdf:
        text = "".join(page.extract_text() or "" for page in pdf.pages)
        matrix = [row for page in pdf.pages for table in page.extract_tables() for row in table]
    assert report.title in text.replace("\n", "")
    got = _applications_from_matrix(matrix, fmt)
    for key in outcome_row_keys(fmt) + ("new_received", "total_processed", "carried_forward"):
        assert got[key] == _expected_cells(report, key), key


def test_docx_has_real_tables_with_the_numbers() -> None:
    report = generate_report(9, "2021")
    document = docx.Document(io.BytesIO(render_docx(report)))
    assert len(document.tables) == 3
    matrix = [[cell.text for cell in row.cells] for row in document.tables[1].rows]
    got = _applications_from_matrix(matrix, "2021")  # type: ignore[arg-type]
    assert set(got) == set(report.tables["applications"])
    assert all(got[k] == _expected_cells(report, k) for k in got)


# --- properties over many seeds (hypothesis) ------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), fmt=st.sampled_from(FORMATS),
       broken=st.sampled_from([None, *sorted(BROKEN_KINDS)]), year=st.integers(min_value=2019, max_value=2030))
def test_generated_reports_keep_their_promises(seed: int, fmt: str, broken: str | None, year: int) -> None:
    report = generate_report(seed, fmt, "江城市统计局", year, broken=broken)
    violations = check_identities(report.tables, fmt)
    assert bool(violations) == (broken not in (None, "missing_cell"))
    assert str(year) in report.title or chinese_year(year) in report.title
    assert report.published.startswith(str(year + 1))
    text = render_text(report, "spaces", seed=seed)
    for key, label, _ in table3_rows(fmt):
        line = next(line for line in text.splitlines() if line.startswith(label + " "))
        expected = [format_number(v) for i, v in enumerate(report.tables["applications"][key])
                    if not report.is_blank("applications", key, i)]
        assert line.split(" ")[1:] == expected
