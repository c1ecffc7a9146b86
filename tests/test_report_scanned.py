"""Reports that are pictures, through the parser: an image attachment and a PDF with no text layer are read by
OCR into the same tables, checked by the same identities; a doubtful OCR cell is never a silent number; a
picture that is not a report gives no figures."""

from __future__ import annotations

import io
from typing import Any

import pytest

from crawler.portal.generator import generate_report
from crawler.report import parse_report
from crawler.report._scanned import engine_missing, is_image

pytestmark = pytest.mark.skipif(engine_missing() is not None, reason=str(engine_missing()))


def _report(seed: int) -> Any:
    return generate_report(seed, "2021", agency="江城市统计局", year=2023)


def _silent_errors(got: dict[str, Any], truth: dict[str, Any]) -> list[str]:
    """Cells that came back with a value other than the truth (null is allowed: it carries an issue)."""
    out: list[str] = []
    for table, rows in truth.items():
        g = got["tables"][table]
        if g is None:
            continue
        for row, values in rows.items():
            items = values.items() if isinstance(values, dict) else enumerate(values)
            for col, v in items:
                value = g[row][col]
                if value is not None and value != v:
                    out.append(f"{table}.{row}[{col}]: {value} != {v}")
    return out


def _nulls_have_issues(got: dict[str, Any]) -> list[str]:
    named = {(i["table"], i["row"]) for i in got["issues"]}
    out = []
    for table, rows in got["tables"].items():
        for row, values in (rows or {}).items():
            cells = values.values() if isinstance(values, dict) else values
            if any(v is None for v in cells) and (table, row) not in named:
                out.append(f"{table}.{row}")
    return out


def test_an_image_of_table_4_is_read_with_its_provenance() -> None:
    from crawler.portal.image_tables import CLEAN, render_page_image

    rep = _report(3)
    picture, _ = render_page_image(rep, "review_litigation", CLEAN, seed="3")
    assert is_image(picture)
    got = parse_report(picture, url="https://example.gov.cn/nb/t4.png").to_dict()
    assert _silent_errors(got, {"review_litigation": rep.tables["review_litigation"]}) == []
    assert _nulls_have_issues(got) == []
    assert got["text"]["ocr"]["pages"] == 1
    cells = got["text"]["ocr"]["cells"]["review_litigation"]
    assert set(cells) == {"review", "litigation_direct", "litigation_after_review"}
    assert all(len(c) == 5 and all(0 <= x <= 100 for x in c) for c in cells.values())


def test_a_scanned_pdf_report_is_read_by_ocr() -> None:
    from PIL import Image

    from crawler.portal.image_tables import CLEAN, render_page_image

    rep = _report(1)
    pages = [render_page_image(rep, key, CLEAN, seed="1")[0]
             for key in ("active_disclosure", "applications", "review_litigation")]
    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pages]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=200)
    got = parse_report(buf.getvalue(), content_type="application/pdf").to_dict()
    assert got["format"] == "2021" and got["year"] == 2023
    assert got["text"]["ocr"]["pages"] == 3
    assert _silent_errors(got, rep.tables) == []
    assert _nulls_have_issues(got) == []
    read = sum(v is not None for rows in got["tables"].values() if rows
               for vals in rows.values() for v in (vals.values() if isinstance(vals, dict) else vals))
    assert read >= 100  # most of the 15 + 175 + 8 cells are read (the rest: null with an issue)
    for issue in got["issues"]:
        if issue["code"] == "ocr_low_confidence":
            assert "below" in issue["detail"]


def test_a_picture_that_is_not_a_report_gives_no_figures() -> None:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 400), (200, 30, 30))
    ImageDraw.Draw(img).ellipse((200, 100, 440, 300), fill=(250, 220, 0))
    buf = io.BytesIO()
    img.save(buf, format="JPEG")
    got = parse_report(buf.getvalue(), url="https://example.gov.cn/images/logo.jpg").to_dict()
    assert all(t is None for t in got["tables"].values())
    assert [i["code"] for i in got["issues"]] == ["not_report"]
    assert "no text and no table" in got["issues"][0]["detail"]


def test_a_text_pdf_is_never_sent_to_ocr() -> None:
    from crawler.portal.render import render_pdf

    rep = _report(2)
    got = parse_report(render_pdf(rep), content_type="application/pdf").to_dict()
    assert got["text"]["ocr"] is None
    assert got["tables"] == rep.tables


def test_a_table_published_as_a_picture_in_the_page_is_read_from_its_bytes() -> None:
    from crawler.portal.image_tables import CLEAN, render_table_image
    from crawler.portal.render import render_html

    rep = _report(4)
    html = render_html(rep, "trs", 4)
    # the page prints Table 4 as a picture: drop its <table>, show an <img> instead
    start = html.index("<table", html.index("四、政府信息公开行政复议"))
    end = html.index("</table>", start) + len("</table>")
    page = ("<html><head><meta charset='utf-8'></head><body><div class='TRS_Editor'>" + html[:start]
            + '<p><img src="/images/t4.jpg"></p>' + html[end:] + "</div></body></html>").encode()
    picture, _ = render_table_image(rep, "review_litigation", CLEAN, seed="4")
    url = "https://www.example.gov.cn/zfxxgk/nb/2024/t1.html"
    without = parse_report(page, url=url).to_dict()
    assert without["tables"]["review_litigation"] is None
    assert without["text"]["ocr"] is None
    got = parse_report(page, url=url, resources={"https://www.example.gov.cn/images/t4.jpg": picture}).to_dict()
    assert got["tables"]["applications"] == rep.tables["applications"]  # text tables untouched
    assert _silent_errors(got, {"review_litigation": rep.tables["review_litigation"]}) == []
    assert got["tables"]["review_litigation"] is not None
    assert set(got["text"]["ocr"]["cells"]) == {"review_litigation"}
    # a page whose text holds all three tables never pays for OCR
    full = ("<html><body><div class='TRS_Editor'>" + html + '<img src="/images/t4.jpg"></div></body></html>').encode()
    assert parse_report(full, url=url, resources={"https://www.example.gov.cn/images/t4.jpg": picture}
                        ).to_dict()["text"]["ocr"] is None
