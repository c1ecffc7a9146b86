"""Attachments: PDF and DOCX parse to the same tables as HTML; broken, hostile or unsupported files become
issues, never exceptions."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

from crawler.portal.generator import generate_report
from crawler.portal.render import render_docx, render_pdf
from crawler.report import parse_report
from crawler.report._attachments import antiword_tables

# A Word 97 file LibreOffice made from the generator's DOCX (see the folder's make_doc.py).
DOC_FIXTURE = Path(__file__).parent / "fixtures" / "reports" / "generated_2023_doc" / "report.doc"
needs_antiword = pytest.mark.skipif(shutil.which("antiword") is None, reason="antiword (Debian package) not installed")


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


def _doc_truth() -> tuple[bytes, dict]:
    return DOC_FIXTURE.read_bytes(), generate_report(7, "2021", agency="江城市统计局", year=2023).tables


@needs_antiword
def test_doc_through_antiword_gives_the_generated_tables() -> None:
    body, truth = _doc_truth()
    from_docx = parse_report(render_docx(generate_report(7, "2021", agency="江城市统计局", year=2023))).to_dict()
    assert from_docx["tables"] == truth
    got = parse_report(body, content_type="application/msword").to_dict()
    assert got["title"] == "江城市统计局2023年政府信息公开工作年度报告"
    assert (got["year"], got["format"], got["agency"]) == (2023, "2021", "江城市统计局")
    # Table 2 comes out as antiword's |cell| lines, Table 4 (15 cells a row) run on: both exact.
    assert got["tables"]["active_disclosure"] == truth["active_disclosure"] == from_docx["tables"]["active_disclosure"]
    assert got["tables"]["review_litigation"] == truth["review_litigation"]
    # Table 3 is not in antiword's output: LibreOffice stores the properties of its 8- and 10-cell rows in a
    # "huge PAPX", which antiword 0.37 does not read, and the rows vanish into Table 4's first row (which it
    # can read). The parser says so instead of inventing rows.
    assert got["tables"]["applications"] is None
    assert got["issues"] == [{
        "code": "table_missing", "table": "applications", "row": None, "column": None,
        "detail": "the section has no table (it may be an image); or antiword lost its rows, as it may for rows "
                  "of seven or more cells"}]


@needs_antiword
@pytest.mark.parametrize(("url", "content_type"), [
    (None, None),  # sniffed from the OLE magic
    ("https://example.org/nb/report.wps", None),
    ("https://example.org/nb/report.wps", "application/vnd.ms-works"),
    ("https://example.org/nb/download?id=7", "application/octet-stream"),
])
def test_doc_sniffed_or_wps_named_goes_the_same_path(url: str | None, content_type: str | None) -> None:
    body, _ = _doc_truth()
    reference = parse_report(body, content_type="application/msword").to_dict()
    got = parse_report(body, url=url, content_type=content_type).to_dict()
    assert {k: v for k, v in got.items() if k != "source"} == {k: v for k, v in reference.items() if k != "source"}


def test_doc_without_antiword_is_unsupported_attachment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body, _ = _doc_truth()
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no antiword on the path
    got = parse_report(body, url="https://example.org/nb/report.wps").to_dict()
    assert got["issues"] == [{"code": "unsupported_attachment", "table": None, "row": None, "column": None,
                              "detail": "doc: DOC/WPS attachment and no antiword installed"}]
    assert got["tables"] == {"active_disclosure": None, "applications": None, "review_litigation": None}


def test_antiword_run_on_rows_become_table_rows() -> None:
    """Rows antiword cannot place print as ``cell |``, each row ending with one more empty cell; the empty
    cells after that end are merged-cell continuations that lead the next row."""
    run_on = ("一、本年新收政府信息公开申请数量 |609 |108 |8 |9 |27 |26 |787 | |"
              "三、本年度办理结果 |（一）予以公开 |196 |44 |4 |2 |15 |10 |271 | | |"
              "（二）部分公开（区分处理的，只计这一情形，不计其他情形） |71 |15 |0 |2 |3 |5 |96 | | |"
              "（三）不予公开 |1.属于国家秘密 |3 |0 |0 |0 |0 |0 |3 | | | |2.其他法律行政法规禁止公开 |2 |0 |0 |0 |0 |0 |2 | |")
    text = antiword_tables("三、收到和处理政府信息公开申请情况\n\n" + run_on + "\n\n四、政府信息公开行政复议、行政诉讼情况")
    assert text.split("\n") == [
        "三、收到和处理政府信息公开申请情况", "", "",
        "| 一、本年新收政府信息公开申请数量 | 609 | 108 | 8 | 9 | 27 | 26 | 787 |",
        "| 三、本年度办理结果 | （一）予以公开 | 196 | 44 | 4 | 2 | 15 | 10 | 271 |",
        "|  | （二）部分公开（区分处理的，只计这一情形，不计其他情形） | 71 | 15 | 0 | 2 | 3 | 5 | 96 |",
        "|  | （三）不予公开 | 1.属于国家秘密 | 3 | 0 | 0 | 0 | 0 | 0 | 3 |",
        "|  |  | 2.其他法律行政法规禁止公开 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |",
        "", "", "四、政府信息公开行政复议、行政诉讼情况"]
    # an empty cell between two numbers is a blank data cell, not the row's end
    blank = antiword_tables("一、本年新收政府信息公开申请数量 |609 | |8 |9 |27 |26 |787 | |二、上年结转政府信息公开申请数量 |2 | |")
    assert blank.split("\n")[1:3] == ["| 一、本年新收政府信息公开申请数量 | 609 |  | 8 | 9 | 27 | 26 | 787 |",
                                        "| 二、上年结转政府信息公开申请数量 | 2 |"]
    # bordered rows (|cell   |cell   |) and prose are left as they are
    kept = "|规章    |2    |0    |9    |\n本年度制发规范性文件279件。"
    assert antiword_tables(kept) == kept
    rows = parse_report("江城市统计局2023年政府信息公开工作年度报告\n" + text).to_dict()["tables"]["applications"]
    assert rows is not None
    assert rows["new_received"] == [609, 108, 8, 9, 27, 26, 787]
    assert rows["partially_granted"] == [71, 15, 0, 2, 3, 5, 96]
    assert rows["denied_law_prohibited"] == [2, 0, 0, 0, 0, 0, 2]


def test_docx_row_with_a_dangling_vertical_merge_is_read() -> None:
    """python-docx refuses a row whose vMerge continues a cell the row above does not have (LibreOffice
    writes such rows when re-saving a table it misread); the row is read cell by cell, not the file lost."""
    import docx
    from docx.oxml import parse_xml

    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def tc(text: str, props: str = "") -> str:
        para = f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" if text else "<w:p/>"
        return f"<w:tc><w:tcPr>{props}</w:tcPr>{para}</w:tc>"

    grid = '<w:gridCol w:w="1500"/>' * 4
    span2 = '<w:gridSpan w:val="2"/>'
    table = (f"<w:tbl {ns}><w:tblPr/><w:tblGrid>{grid}</w:tblGrid>"
             f"<w:tr>{tc('信息内容')}{tc('本年制发件数')}{tc('本年废止件数')}{tc('现行有效件数')}</w:tr>"
             f"<w:tr>{tc('规章')}{tc('2')}{tc('0')}{tc('9')}</w:tr>"
             f"<w:tr>{tc('行政规范性文件')}{tc('279', span2)}{tc('1772')}</w:tr>"
             # a vertical merge continuing grid column 2, which the row above covers with a span
             f"<w:tr>{tc('备注')}{tc('')}{tc('', '<w:vMerge/>')}{tc('')}</w:tr>"
             "</w:tbl>")
    document = docx.Document()
    document.add_paragraph("二、主动公开政府信息情况")
    document.add_paragraph()._p.addprevious(parse_xml(table))
    buf = io.BytesIO()
    document.save(buf)
    got = parse_report(buf.getvalue()).to_dict()
    assert not [i for i in got["issues"] if i["code"] == "unparsed_document"]
    assert got["tables"]["active_disclosure"]["regulations"] == {"issued": 2, "abolished": 0, "in_force": 9}
