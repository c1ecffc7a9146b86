"""OCR of image tables (crawler.report._ocr) on generated scans (crawler.portal.image_tables).

The done-when of issue 17 in small: on a generated image report (each table with its own scan degradations,
one cut across two pictures) and a heavily degraded Table 3 (150 dpi, JPEG 45, seal and signature), >= 99 %
of cells right and no silent error (a wrong number with confidence >= LOW_CONFIDENCE). bench/ocr.py measures
the same over 50 reports. A poster gives no table; a whole-page scan gives its narrative lines and its table;
the same bytes give the same result."""

from __future__ import annotations

import io

import pytest

from crawler.portal.generator import generate_report
from crawler.portal.image_tables import (
    Degradation,
    Score,
    edit_distance,
    image_report_cases,
    render_page_image,
    render_poster,
    render_table_image,
    score_table,
    score_values,
)
from crawler.report._ocr import (
    LOW_CONFIDENCE,
    MAX_PIXELS,
    OcrInputError,
    is_text_free,
    ocr_available,
    read_tables,
    read_text,
)
from crawler.report._ocr_tables import NUMBER  # the number pattern the reader itself uses

pytestmark = pytest.mark.skipif(
    not ocr_available(),
    reason="OCR engine not installed: scripts/install-system.sh installs Debian tesseract-ocr and "
           "tesseract-ocr-chi-sim, pyproject installs tesserocr and opencv-python-headless")

HARD = Degradation(dpi=150, rotation=-1.7, jpeg_quality=45, lighting=0.4, noise=6.0, stamp=True, signature=True)


def _score(data: bytes, truths) -> Score:
    tables = read_tables(data)
    assert len(tables) == len(truths), f"{len(tables)} tables read, {len(truths)} drawn"
    total = Score()
    for got, truth in zip(tables, truths, strict=True):
        total.add(score_table(truth, got.rows, got.ids, got.confidence, LOW_CONFIDENCE))
    return total


def test_image_report_cells_right_and_no_silent_error() -> None:
    report = generate_report(11, "2021", "青山区教育局", 2023)
    total = Score()
    cases = image_report_cases(report, 11)
    assert len(cases) == 4  # three tables, one of them in two pictures
    for case in cases:
        total.add(_score(case.data, case.truth.tables))
    data, truth = render_table_image(report, "applications", HARD, "hard")
    total.add(_score(data, truth.tables))
    assert total.tables_missed == 0, total.wrong
    assert total.right >= 0.99 * total.cells, total.wrong
    assert total.silent == 0, total.wrong
    assert total.numbers_right == total.numbers or total.flagged, total.wrong


def test_screenshot_at_96_dpi() -> None:
    """The commonest image table in a report page: a PNG screenshot of the Word table at 100 % zoom."""
    report = generate_report(201, "2021", "某某县人民政府", 2024)
    data, truth = render_table_image(report, "applications", Degradation(dpi=96, jpeg_quality=None), "shot")
    score = _score(data, truth.tables)
    assert score.numbers_right == score.numbers, score.wrong
    assert score.right >= 0.97 * score.cells, score.wrong
    assert score.silent == 0


def test_every_wrong_number_is_below_the_threshold() -> None:
    """Cells under the signature are lost: whatever is read there must carry a low confidence."""
    report = generate_report(4, "2019", "江城市统计局", 2021)
    data, truth = render_table_image(report, "review_litigation", HARD, "sig")
    lost = sum(not ok for row in truth.tables[0].legible for ok in row)
    assert lost, "the signature should cross at least one cell"
    table = read_tables(data)[0]
    t = truth.tables[0]
    for r, row in enumerate(t.rows):
        for c, want in enumerate(row):
            if t.numeric[r][c] and table.rows[r][c] != want:
                assert table.confidence[r][c] < LOW_CONFIDENCE, (r, c, want, table.rows[r][c])


def test_spans_are_recovered_as_ids() -> None:
    report = generate_report(2, "2021", "某某县人民政府", 2024)
    data, truth = render_table_image(report, "review_litigation", Degradation(dpi=200, rotation=0.8, jpeg_quality=80))
    table = read_tables(data)[0]
    assert table.ids == truth.tables[0].ids
    assert table.rows[0][:5] == ["行政复议"] * 5  # a spanned cell's text in every slot


def test_table_without_ruling_lines_gives_values_never_trusted() -> None:
    """No lines: rows and columns come from alignment, so values are read but always below the threshold."""
    report = generate_report(301, "2021", "某某县人民政府", 2024)
    data, truth = render_table_image(report, "applications",
                                     Degradation(dpi=200, rotation=-0.9, jpeg_quality=75, ruled=False), "bl")
    tables = read_tables(data)
    assert len(tables) == 1
    table = tables[0]
    score = score_values(truth.tables[0], table.rows, table.confidence, LOW_CONFIDENCE,
                         lambda text: bool(NUMBER.fullmatch(text)))
    assert score.right >= 0.9 * score.cells, score.wrong
    assert score.silent == 0
    values = [(text, conf) for row, confs in zip(table.rows, table.confidence, strict=True)
              for text, conf in zip(row, confs, strict=True) if NUMBER.fullmatch(text)]
    assert values and all(conf < LOW_CONFIDENCE for _, conf in values)
    assert any("本机关不掌握相关政府信息" in text for row in table.rows for text in row)  # labels beside values


def test_poster_has_no_table() -> None:
    data, truth = render_poster(3, Degradation(dpi=200, jpeg_quality=70, noise=3.0))
    assert not truth.report
    assert read_tables(data) == []
    assert is_text_free(data)


def test_page_scan_gives_lines_and_table() -> None:
    report = generate_report(7, "2021", "青山区教育局", 2023)
    data, truth = render_page_image(report, "review_litigation", Degradation(dpi=200, rotation=1.2, jpeg_quality=70))
    lines = read_text(data)
    assert lines[0] == truth.text[0]  # the title
    assert lines[-1] == truth.text[-1]  # the section heading above the table
    got, want = "".join(lines), "".join(truth.text)
    assert edit_distance(got, want) <= 0.05 * len(want), (got, want)
    tables = read_tables(data)
    assert len(tables) == 1 and [len(r) for r in tables[0].rows] == [15] * 4
    assert not is_text_free(data)


def test_same_bytes_same_result() -> None:
    report = generate_report(5, "2021", "江城市统计局", 2022)
    data, _ = render_table_image(report, "active_disclosure", HARD, "det")
    assert read_tables(data) == read_tables(data)
    again, _ = render_table_image(report, "active_disclosure", HARD, "det")
    assert again == data  # the generator is deterministic too


def test_time_limit_leaves_cells_unread_and_doubtful() -> None:
    report = generate_report(5, "2021", "江城市统计局", 2022)
    data, _ = render_table_image(report, "applications", Degradation(dpi=150, jpeg_quality=80))
    table = read_tables(data, time_limit=0.0)[0]
    unread = [(r, c) for r, row in enumerate(table.rows) for c, text in enumerate(row) if not text]
    assert unread
    assert all(table.confidence[r][c] < LOW_CONFIDENCE or table.rows[r][c] == "" and table.confidence[r][c] == 100
               for r, c in unread)


def test_bad_input_is_refused() -> None:
    from PIL import Image

    with pytest.raises(OcrInputError, match="not a readable picture"):
        read_tables(b"GIF89a not really")
    huge = io.BytesIO()
    Image.new("1", (8000, MAX_PIXELS // 8000 + 1)).save(huge, format="PNG")
    with pytest.raises(OcrInputError, match="over the OCR limit"):
        read_tables(huge.getvalue())
