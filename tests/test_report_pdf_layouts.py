"""PDF layouts of real reports that the HTML variants do not reach (issue 13's classes, seen through a word processor's
PDF export): full-width punctuation whose glyph box sits off the line, a table wrapped onto a new line inside a
narrow cell, a table left open at its top (continued from the page before, or a first row marked border-top:none), a
table wider than the page (its last columns cut off or cut through), header words printed otherwise (其它, a
misprinted 自然入). Each is a unit test of the piece that handles it, and a sweep of generator variants rendered by
LibreOffice to PDF (the way Word and WPS documents become PDFs) checks that no value is ever wrong."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from crawler.portal import generate_report
from crawler.portal.variants import check_parse, random_combination, render_variant
from crawler.report import parse_report
from crawler.report._applications import header_columns, named_columns, named_elsewhere
from crawler.report._digits import read_number
from crawler.report._labels import app_column
from crawler.report._pdf import CUT, _Char, _Edge, _rows_of, _tables, pdf_text
from tests.test_report_pdf import _canvas_pdf


def _char(text: str, x0: float, top: float, bottom: float) -> _Char:
    return _Char(text, x0, x0 + 12, top, bottom)


def test_a_full_width_full_stop_lower_than_its_digits_stays_on_their_line() -> None:
    digits = "１６９６０７６"
    line = [_char(d, 323.6 + 12 * i, 636.4, 646.4) for i, d in enumerate(digits)]
    line.append(_char("．", 407.6, 639.7, 646.4))  # PDFium's box of the full stop starts 3.3 points lower
    line.append(_char("５", 419.6, 636.6, 646.4))
    wrapped = [_char("９", 323.6, 652.6, 662.6)]  # the cell was too narrow: the last digit on the next line
    rows = _rows_of(line + wrapped)
    assert ["".join(c.text for c in sorted(r, key=lambda c: c.x0)) for r in rows] == ["１６９６０７６．５", "９"]


def test_a_table_open_at_its_top_is_closed_and_its_first_row_read() -> None:
    xs, ys = (0.0, 100.0, 150.0, 200.0), (40.0, 60.0, 80.0)  # vertical rules from y=20: the top rule is missing
    edges = [_Edge(True, x, 20.0, 80.0) for x in xs] + [_Edge(False, y, 0.0, 200.0) for y in ys]
    cells = [c for table in _tables(edges) for c in table]
    assert len(cells) == 3 * 3
    assert sorted({c[1] for c in cells}) == [20.0, 40.0, 60.0], "the first row (20-40) is a row of cells"


def test_stray_vertical_rules_make_no_table() -> None:
    edges = [_Edge(True, x, 20.0, 80.0) for x in (0.0, 100.0, 150.0)]  # no horizontal rule crosses them
    assert _tables(edges) == []


def test_header_words_printed_otherwise() -> None:
    assert app_column("其它") == app_column("其他") == 5
    assert app_column("法人或其他组织") is None, "the group heading names no one column"


def test_a_column_cut_off_at_the_page_edge_is_left_out_not_taken_from_its_neighbour() -> None:
    header = [["", "", "", "自然人", "法人或其他组织", "", "", "", ""],
              ["", "", "", "", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其它"]]
    colmap = header_columns(header, 9)
    assert colmap == {3: 0, 4: 1, 5: 2, 6: 3, 7: 4, 8: 5}, "no 总计: it was past the page's edge"


def test_an_unnamed_column_is_placed_by_its_neighbours() -> None:
    header = [["", "", "自然入", "法入或其他组织", "", "", "", "", "合计"],
              ["", "", "", "商业企业", "科研机构", "公益组织", "法律服务", "其他", ""]]
    assert header_columns(header, 9) == {j: j - 2 for j in range(2, 9)}


def test_a_header_that_places_columns_elsewhere_forbids_the_last_seven_reading() -> None:
    header = [["", "", "", "自然入", "法入或其他组织", "", "", ""],
              ["", "", "", "", "商业企业", "科研机构", "社", "法律"]]
    named = named_columns(header, 8)
    assert named == {4: 1, 5: 2}
    assert named_elsewhere(named, 8, 8), "the last seven cells would put 商业企业 in column 3, not 4"
    assert not named_elsewhere({j: j - 1 for j in range(1, 8)}, 8, 8)


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) is not installed: `make test` installs it")
def test_variants_printed_to_pdf_by_libreoffice_have_no_wrong_value(tmp_path: Path) -> None:
    """Generator variants (HTML) → LibreOffice Writer → PDF → parser. The PDF may lose what the HTML kept (a
    column past the page's edge, a visible soft hyphen), so a null is allowed here when an issue names its cell;
    a present value that differs from the truth is not, nor a wrong format."""
    soffice = _soffice()
    assert soffice is not None
    seeds = (7, 9, 123, 140, 159, 165, 186, 196)  # the layouts above: cut tables, open tops, full-width digits
    rendered = {}
    for seed in seeds:
        rng = random.Random(seed)
        fmt = rng.choice(["2021", "2019"])
        r = render_variant(generate_report(seed, fmt), random_combination(rng, "html"), seed=seed)
        (tmp_path / f"v{seed}.html").write_bytes(r.body)
        rendered[seed] = r
    profile = (tmp_path / "profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), *(str(tmp_path / f"v{s}.html") for s in seeds)],
                   capture_output=True, timeout=300, check=True)
    wrong: list[str] = []
    for seed, r in rendered.items():
        parsed = parse_report((tmp_path / f"v{seed}.pdf").read_bytes(), content_type="application/pdf").to_dict()
        problems = check_parse(parsed, r)
        wrong += [f"seed {seed}: {p}" for p in problems
                  if "silent error" in p or p.startswith("format") or "with no issue" in p]
    assert wrong == []


def test_a_cell_past_the_page_edge_is_marked_and_read_as_no_number() -> None:
    def draw(c: Any) -> None:  # a 2×3 table whose last column runs past the right edge of the A4 page (595 pt)
        xs, ys = [300, 420, 540, 660], [700, 670, 640]
        c.setFont("STSong-Light", 10)
        for y in ys:
            c.line(xs[0], y, xs[-1], y)
        for x in xs:
            c.line(x, ys[0], x, ys[-1])
        for x, text in zip(xs, ["规章", "3", "204"], strict=False):
            c.drawString(x + 5, 650, text)

    text = pdf_text(_canvas_pdf(draw))
    row = next(line for line in text.splitlines() if "规章" in line)
    assert row.split("|")[2].strip() == "3", "a cell inside the page is read as printed"
    assert row.split("|")[3].strip().endswith(CUT), "the cell past the edge is marked"
    assert read_number(row.split("|")[3].strip()) is None
