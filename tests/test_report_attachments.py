"""Attachments: PDF and DOCX parse to the same tables as HTML; broken, hostile or unsupported files become
issues, never exceptions."""

from __future__ import annotations

import io
import zipfile

from crawler.portal.generator import generate_report
from crawler.portal.render import render_docx, render_pdf
from crawler.report import parse_report


def _codes(report: dict) -> list[str]:
    return [i["code"] for i in report["issues"]]


def test_pdf_and_docx_give_the_generated_tables() -> None:
    rep = generate_report(7, "2021", agency="江城市统计局", year=2023)
    for body in (render_pdf(rep), render_docx(rep)):
        got = parse_report(body).to_dict()
        assert got["tables"] == rep.tables
        assert got["title"] == rep.title and got["year"] == 2023 and got["format"] == "2021"
        assert _codes(got) == []


def _text_only_pdf() -> bytes:
    """A report whose tables were pasted as pictures: headings and prose, no table."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle("b", fontName="STSong-Light", fontSize=11, leading=16)
    buf = io.BytesIO()
    lines = ["江城市统计局2023年政府信息公开工作年度报告", "一、总体情况", "2023年，我局认真贯彻《条例》。",
             "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
             "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "无。",
             "六、其他需要报告的事项", "无。"]
    SimpleDocTemplate(buf, pagesize=A4, invariant=1).build([Paragraph(t, style) for t in lines])
    return buf.getvalue()


def test_pdf_with_image_tables_reports_table_missing() -> None:
    got = parse_report(_text_only_pdf(), content_type="application/pdf").to_dict()
    assert got["title"] == "江城市统计局2023年政府信息公开工作年度报告"
    assert [s["key"] for s in got["sections"] if s["key"]] == [
        "overview", "active_disclosure", "applications", "review_litigation", "problems", "other"]
    assert sorted(i["table"] for i in got["issues"] if i["code"] == "table_missing") == [
        "active_disclosure", "applications", "review_litigation"]


def test_docx_zip_bomb_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * (8 * 1024 * 1024))
    got = parse_report(buf.getvalue(), url="https://example.org/a.docx").to_dict()
    assert _codes(got) == ["unparsed_document"]
    assert "refused" in got["issues"][0]["detail"]


def test_broken_pdf_and_docx_are_issues() -> None:
    assert _codes(parse_report(b"%PDF-1.7\n1 0 obj <<>> garbage").to_dict()) == ["unparsed_document"]
    assert _codes(parse_report(b"PK\x03\x04 not really a zip").to_dict()) == ["unparsed_document"]


def test_unreadable_doc_is_unsupported_attachment() -> None:
    got = parse_report(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, content_type="application/msword")
    assert _codes(got.to_dict()) == ["unsupported_attachment"]
    assert got.issues[0].detail.startswith("doc: ")


def test_scanned_pdf_without_text_is_reported() -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=A4, invariant=1)
    page.rect(50, 50, 400, 600, fill=1)  # a page that is only a picture
    page.showPage()
    page.save()
    got = parse_report(buf.getvalue()).to_dict()
    assert _codes(got) == ["unparsed_document"] and "no text" in got["issues"][0]["detail"]
    assert got["tables"] == {"active_disclosure": None, "applications": None, "review_litigation": None}
