"""Attachments: PDF, DOCX and DOC parse to the same tables as HTML; broken, hostile or unsupported files become
issues, never exceptions."""

from __future__ import annotations

import http.server
import io
import os
import shutil
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crawler.portal.generator import generate_report
from crawler.portal.render import render_docx, render_pdf
from crawler.report import _attachments, parse_report
from crawler.report._attachments import antiword_tables, doc_text

# A Word 97 file LibreOffice made from the generator's DOCX (see the folder's make_doc.py).
DOC_FIXTURE = Path(__file__).parent / "fixtures" / "reports" / "generated_2023_doc" / "report.doc"
needs_antiword = pytest.mark.skipif(shutil.which("antiword") is None, reason="antiword (Debian package) not installed")
needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None or _attachments._offline_prefix() is None,
    reason="LibreOffice (Debian libreoffice-writer-nogui) not installed, or no network namespace to run it in")
_which = shutil.which


def _without(monkeypatch: pytest.MonkeyPatch, *programs: str) -> None:
    """As if ``programs`` were not installed (the parser finds its converters with shutil.which)."""
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name in programs else _which(name, *a, **k))


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


CORRUPT_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600  # the OLE magic, then nothing


def test_unreadable_doc_is_unsupported_attachment() -> None:
    got = parse_report(CORRUPT_DOC, content_type="application/msword")
    assert _codes(got.to_dict()) == ["unsupported_attachment"]
    assert got.issues[0].detail.startswith("doc: ")


@needs_soffice
@needs_antiword
def test_corrupt_doc_fails_in_libreoffice_then_antiword_and_says_both() -> None:
    got = parse_report(CORRUPT_DOC, content_type="application/msword").to_dict()
    assert got["issues"] == [{
        "code": "unsupported_attachment", "table": None, "row": None, "column": None,
        "detail": "doc: LibreOffice wrote no DOCX: Error: source file could not be loaded; "
                  "antiword could not read it: - is not a Word Document."}]


def test_scanned_pdf_without_text_is_reported() -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=A4, invariant=1)
    page.rect(50, 50, 400, 600, fill=1)  # a page that is only a picture
    page.showPage()
    page.save()
    got = parse_report(buf.getvalue()).to_dict()
    # read by OCR (when installed): a page that is only a black box is no report
    assert _codes(got) in (["not_report"], ["unparsed_document"]) and "no text" in got["issues"][0]["detail"]
    assert got["tables"] == {"active_disclosure": None, "applications": None, "review_litigation": None}


def _doc_truth() -> tuple[bytes, dict]:
    return DOC_FIXTURE.read_bytes(), generate_report(7, "2021", agency="江城市统计局", year=2023).tables


@needs_soffice
def test_doc_through_libreoffice_gives_all_three_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    body, truth = _doc_truth()
    _without(monkeypatch, "antiword")  # LibreOffice alone
    assert doc_text(body).converter == "libreoffice"
    for url, content_type in [(None, "application/msword"), ("https://example.org/nb/report.wps", None)]:
        got = parse_report(body, url=url, content_type=content_type).to_dict()
        assert got["tables"] == truth
        assert got["title"] == "江城市统计局2023年政府信息公开工作年度报告"
        assert (got["year"], got["format"], got["agency"]) == (2023, "2021", "江城市统计局")
        assert [s["key"] for s in got["sections"] if s["key"]] == [
            "overview", "active_disclosure", "applications", "review_litigation", "problems", "other"]
        assert got["issues"] == []


ANTIWORD_TABLE3_MISSING = {
    "code": "table_missing", "table": "applications", "row": None, "column": None,
    "detail": "the section has no table (it may be an image); or antiword lost its rows, as it may for rows "
              "of seven or more cells"}


@needs_antiword
def test_doc_through_antiword_gives_the_generated_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    body, truth = _doc_truth()
    _without(monkeypatch, "soffice")  # the fallback path, as on a machine without LibreOffice
    assert doc_text(body).converter == "antiword"
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
    assert got["issues"] == [ANTIWORD_TABLE3_MISSING]


@needs_antiword
@pytest.mark.parametrize(("url", "content_type"), [
    (None, None),  # sniffed from the OLE magic
    ("https://example.org/nb/report.wps", None),
    ("https://example.org/nb/report.wps", "application/vnd.ms-works"),
    ("https://example.org/nb/download?id=7", "application/octet-stream"),
])
def test_doc_sniffed_or_wps_named_goes_the_same_path(url: str | None, content_type: str | None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    body, _ = _doc_truth()
    _without(monkeypatch, "soffice")  # the routing is the same for both converters; antiword is the fast one
    reference = parse_report(body, content_type="application/msword").to_dict()
    got = parse_report(body, url=url, content_type=content_type).to_dict()
    assert {k: v for k, v in got.items() if k != "source"} == {k: v for k, v in reference.items() if k != "source"}


@needs_soffice
@needs_antiword
def test_libreoffice_timeout_falls_back_to_antiword(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A conversion past the timeout is killed, process group and all, and antiword reads the file; the
    issues say so. LibreOffice takes over a second to start, so 0.3 s always runs out."""
    body, truth = _doc_truth()
    monkeypatch.setattr(_attachments, "SOFFICE_TIMEOUT_S", 0.3)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the conversion's directory goes here
    got = parse_report(body, content_type="application/msword").to_dict()
    assert got["issues"] == [
        {"code": "converter_fallback", "table": None, "row": None, "column": None,
         "detail": "doc: read with antiword; LibreOffice took longer than 0.3s"},
        ANTIWORD_TABLE3_MISSING]
    assert got["tables"]["review_litigation"] == truth["review_litigation"]
    assert list(tmp_path.iterdir()) == []  # the input, the profile and the output are gone
    assert _processes_naming(str(tmp_path)) == []  # no LibreOffice process outlives the timeout


@needs_soffice
def test_libreoffice_failure_without_antiword_is_unsupported(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "antiword")
    got = parse_report(CORRUPT_DOC, content_type="application/msword").to_dict()
    assert [(i["code"], i["detail"]) for i in got["issues"]] == [(
        "unsupported_attachment",
        "doc: LibreOffice wrote no DOCX: Error: source file could not be loaded; no antiword installed to fall back on")]


@needs_soffice
def test_concurrent_conversions_have_their_own_profiles() -> None:
    """Parse workers convert at the same time; LibreOffice instances sharing a profile would hand their files
    to one another (or refuse). Each conversion has its own, so both come out whole."""
    body, truth = _doc_truth()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: doc_text(body), range(2)))
    assert [r.converter for r in results] == ["libreoffice", "libreoffice"]
    assert results[0].text == results[1].text and "行政复议" in results[0].text


def _processes_naming(marker: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                found.append(proc.name)
        except OSError:
            continue
    return found


@needs_soffice
def test_timeout_kills_the_whole_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LibreOffice's launcher forks the office process; killing only the launcher would leave that running.
    A stand-in ``soffice`` that leaves a child behind the same way shows the whole group goes."""
    marker = f"nianbao-orphan-{os.getpid()}"
    fake = tmp_path / "soffice"
    fake.write_text(f"#!/bin/sh\nsh -c 'sleep 60; : {marker}' &\nsleep 60\n")
    fake.chmod(0o755)
    monkeypatch.setattr(_attachments, "SOFFICE_TIMEOUT_S", 0.5)
    started = time.monotonic()
    with pytest.raises(_attachments.AttachmentError, match="took longer than 0.5s"):
        _attachments.soffice_docx(b"x", str(fake))
    assert time.monotonic() - started < 10  # not waiting for the child
    assert _processes_naming(marker) == []


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append(self.path)
        self.send_error(404)

    do_OPTIONS = do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@needs_soffice
@pytest.mark.parametrize(("netns", "hardened_profile", "fetched"), [
    (True, True, False),  # as the parser runs it
    (True, False, False),  # the network namespace alone
    (False, True, False),  # the profile alone (BlockUntrustedRefererLinks)
    (False, False, True),  # neither: LibreOffice fetches the image, so the beacon works
])
def test_libreoffice_fetches_nothing(netns: bool, hardened_profile: bool, fetched: bool,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A document linking an image on a server (a tracking beacon, or an internal address): LibreOffice
    fetches it on load unless stopped. It is stopped twice: it runs with no network, and its profile blocks
    such links. The file is HTML served as .doc, which sites do; LibreOffice reads it too."""
    if not netns:
        monkeypatch.setattr(_attachments, "_offline_prefix", lambda: ())
    if not hardened_profile:
        monkeypatch.setattr(_attachments, "_SOFFICE_PROFILE", _attachments._SOFFICE_PROFILE.split("<item")[0]
                            + "</oor:items>\n")
    _Recorder.seen = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        page = (f'<html><body><p>江城市统计局2023年政府信息公开工作年度报告</p>'
                f'<img src="http://127.0.0.1:{port}/beacon.png"></body></html>').encode()
        _without(monkeypatch, "antiword")
        got = doc_text(page)
    finally:
        server.shutdown()
        server.server_close()
    assert got.converter == "libreoffice" and "江城市统计局2023年政府信息公开工作年度报告" in got.text
    assert bool(_Recorder.seen) == fetched


def test_doc_without_any_converter_is_unsupported_attachment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body, _ = _doc_truth()
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: neither soffice nor antiword on the path
    got = parse_report(body, url="https://example.org/nb/report.wps").to_dict()
    assert got["issues"] == [{
        "code": "unsupported_attachment", "table": None, "row": None, "column": None,
        "detail": "doc: DOC/WPS attachment and neither LibreOffice (soffice) nor antiword installed"}]
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


def test_docx_sliver_grid_column_is_not_read_twice() -> None:
    """LibreOffice's DOCX of a Word 97 table can have a 1-twip grid column (cell edges a twip apart in
    different rows): the cell over it spans two grid columns and would be read twice. Such a column is
    skipped, unless a cell lies only in it (its text is kept)."""
    import docx
    from docx.oxml import parse_xml

    from crawler.report._docx import docx_text

    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'

    def tc(text: str, span: int = 1) -> str:
        return (f'<w:tc><w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>'
                f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>")

    def table(widths: list[int], rows: list[str]) -> str:
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
        return f"<w:tbl {ns}><w:tblPr/><w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"

    # column 2 is a sliver: 行政诉讼 starts on it in the first row, 总计 spans onto it in the others
    sliver = table([640, 640, 1, 640], [f"<w:tr>{tc('行政复议', 2)}{tc('行政诉讼', 2)}</w:tr>",
                                        f"<w:tr>{tc('维持')}{tc('总计', 2)}{tc('维持')}</w:tr>",
                                        f"<w:tr>{tc('0')}{tc('2', 2)}{tc('1')}</w:tr>"])
    # here a cell stands in the thin column alone: nothing is skipped
    alone = table([640, 10, 640], [f"<w:tr>{tc('a')}{tc('b')}{tc('c')}</w:tr>", f"<w:tr>{tc('d', 2)}{tc('e')}</w:tr>"])
    document = docx.Document()
    for xml in (sliver, alone):
        document.add_paragraph()._p.addprevious(parse_xml(xml))
    buf = io.BytesIO()
    document.save(buf)
    rows = [line for line in docx_text(buf.getvalue()).split("\n") if line.startswith("|")]
    assert rows == ["| 行政复议 | 行政复议 | 行政诉讼 |", "| 维持 | 总计 | 维持 |", "| 0 | 2 | 1 |",
                    "| a | b | c |", "| d | d | e |"]
