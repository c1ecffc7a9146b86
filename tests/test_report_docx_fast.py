"""crawler.report._docx reads DOCX with lxml directly; it must give exactly the string the python-docx
reader it replaced gave (kept here as ``_reference_docx_text``), and ``AttachmentError`` (a one-line message)
wherever that reader raised: generated reports, LibreOffice's DOCX of the DOC fixture, hand-built edge cases,
randomly built tables (spans, merges, grid offsets, malformed values) and hostile packages."""

from __future__ import annotations

import io
import random
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crawler.portal.generator import BROKEN_KINDS, generate_report
from crawler.portal.render import render_docx
from crawler.report import _attachments
from crawler.report._docx import docx_text
from crawler.report._files import SLIVER_TWIPS, AttachmentError, md_row

FIXTURES = Path(__file__).parent / "fixtures"
DOC_FIXTURE = FIXTURES / "reports" / "generated_2023_doc" / "report.doc"
needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None or _attachments._offline_prefix() is None,
    reason="LibreOffice (Debian libreoffice-writer-nogui) not installed, or no network namespace to run it")


# --- the python-docx reader, as crawler/report/_docx.py had it (commit b70cb56) ----------------------------

def _reference_docx_text(content: bytes) -> str:
    from crawler.report._attachments import MAX_MEMBER_BYTES, MAX_RATIO

    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as e:
        raise AttachmentError(f"not a DOCX (bad zip): {e}") from e
    for info in zf.infolist():
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_MEMBER_BYTES or ratio > MAX_RATIO:
            raise AttachmentError(f"DOCX member {info.filename} inflates to {info.file_size} bytes "
                                  f"(ratio {ratio:.0f}): refused")
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(content))
        out: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Paragraph):
                out.append(item.text)
            elif isinstance(item, Table):
                out.append("")
                slivers = _reference_sliver_columns(item)
                for row in item.rows:
                    first, texts = _reference_row_texts(row)
                    out.append(md_row([t for col, t in enumerate(texts, first) if col not in slivers]))
                out.append("")
    except Exception as e:  # noqa: BLE001
        raise AttachmentError(f"unreadable DOCX: {type(e).__name__}: {e}") from e
    return "\n".join(out)


def _reference_row_texts(row: Any) -> tuple[int, list[str]]:
    try:
        return row._tr.grid_before, [cell.text for cell in row.cells]
    except ValueError:
        from docx.table import _Cell

        tr = row._tr
        texts = [""] * tr.grid_before
        for tc in tr.tc_lst:
            texts.extend([_Cell(tc, row.table).text] * tc.grid_span)
        return 0, texts


def _reference_sliver_columns(table: Any) -> set[int]:
    from docx.oxml.ns import qn
    from docx.shared import Twips

    try:
        grid = table._tbl.find(qn("w:tblGrid"))
        if grid is None:
            return set()
        slivers = {j for j, col in enumerate(grid.findall(qn("w:gridCol")))
                   if col.w is not None and col.w < Twips(SLIVER_TWIPS)}
        for tr in table._tbl.tr_lst if slivers else ():
            col = tr.grid_before
            for tc in tr.tc_lst:
                span = set(range(col, col + tc.grid_span))
                if span <= slivers:
                    slivers -= span
                col += tc.grid_span
    except Exception:  # noqa: BLE001
        return set()
    return slivers


# --- helpers ------------------------------------------------------------------------------------------------

def _outcome(read: Callable[[bytes], str], content: bytes) -> str | type[BaseException]:
    try:
        return read(content)
    except AttachmentError as e:
        assert "\n" not in str(e), repr(str(e))
        return AttachmentError


def _reference_outcome(content: bytes) -> str | type[BaseException]:
    """The reference's string, or AttachmentError when it raised anything: it let zipfile's exceptions other
    than BadZipFile (a NotImplementedError for an unknown zip version, say) escape, which the new reader must
    not."""
    try:
        return _reference_docx_text(content)
    except Exception:  # noqa: BLE001
        return AttachmentError


def _assert_same(content: bytes, what: str = "") -> str | type[BaseException]:
    """The new reader gives the reference's string, or AttachmentError where the reference raised (any other
    exception from the new reader fails the test)."""
    expected = _reference_outcome(content)
    got = _outcome(docx_text, content)
    assert got == expected, what
    return got


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = f'xmlns:w="{W_NS}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
                 '+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                 '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.wordprocessingml.document.main+xml"/></Types>')
PACKAGE_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                'relationships/officeDocument" Target="word/document.xml"/></Relationships>')


def _package(members: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _document(body: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f"<w:document {NS}><w:body>{body}</w:body></w:document>")


def _minimal(body: str, extra: dict[str, str | bytes] | None = None) -> bytes:
    """A package of the three parts python-docx needs, whose body is ``body``, and ``extra`` members."""
    return _package({"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": PACKAGE_RELS,
                     "word/document.xml": _document(body), **(extra or {})})


def _replace_member(content: bytes, name: str, data: bytes | None) -> bytes:
    """``content`` with member ``name`` replaced by ``data`` (dropped when None)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info.filename))
            elif data is not None:
                dst.writestr(name, data)
    return buf.getvalue()


def _p(*runs: str) -> str:
    return "<w:p>" + "".join(runs) + "</w:p>"


def _r(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def _tc(text: str = "", pr: str = "") -> str:
    return f"<w:tc>{'<w:tcPr>' + pr + '</w:tcPr>' if pr else ''}{_p(_r(text)) if text else '<w:p/>'}</w:tc>"


def _tbl(*rows: str, grid: tuple[str, ...] = ("2000", "2000", "2000", "2000")) -> str:
    cols = "".join(f'<w:gridCol w:w="{w}"/>' for w in grid)
    return f'<w:tbl><w:tblPr/><w:tblGrid>{cols}</w:tblGrid>{"".join(rows)}</w:tbl>'


def _tr(*cells: str, pr: str = "") -> str:
    return f"<w:tr>{'<w:trPr>' + pr + '</w:trPr>' if pr else ''}{''.join(cells)}</w:tr>"


# --- generated reports --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["2021", "2019"])
def test_generated_reports_read_the_same(fmt: str) -> None:
    year = 2023 if fmt == "2021" else 2020
    reports = [generate_report(seed, fmt, agency="江城市统计局", year=year) for seed in range(12)]
    reports += [generate_report(seed, fmt, agency="江城市统计局", year=year, broken=kind)
                for seed, kind in enumerate(sorted(BROKEN_KINDS))]
    for rep in reports:
        text = _assert_same(render_docx(rep), f"seed report {rep.title} broken={rep.broken}")
        assert isinstance(text, str) and rep.title in text and "\n| " in text


def _fixture_docx() -> list[Path]:
    return sorted(FIXTURES.rglob("*.docx"))


@pytest.mark.parametrize("path", _fixture_docx(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_docx_read_the_same(path: Path) -> None:
    assert isinstance(_assert_same(path.read_bytes()), str)


@needs_soffice
def test_libreoffice_docx_of_the_doc_fixture_reads_the_same() -> None:
    converted = _attachments.soffice_docx(DOC_FIXTURE.read_bytes(), shutil.which("soffice") or "soffice")
    text = _assert_same(converted)
    assert isinstance(text, str) and "| 行政许可 |" in text


# --- hand-built documents -----------------------------------------------------------------------------------

def _python_docx_document() -> bytes:
    """Merges, nested tables, tabs and breaks, an empty table, made with python-docx's own API."""
    import docx
    from docx.enum.text import WD_BREAK

    d = docx.Document()
    d.add_heading("标题", level=1)
    p = d.add_paragraph("a\tb")
    run = p.add_run("c")
    run.add_break()
    run.add_text("d")
    run.add_break(WD_BREAK.PAGE)
    run.add_tab()
    run.add_break(WD_BREAK.COLUMN)
    run.add_text("e | f")
    t = d.add_table(rows=4, cols=4)
    for i, row in enumerate(t.rows):
        for j, cell in enumerate(row.cells):
            cell.text = f"r{i}c{j}"
    t.cell(0, 0).merge(t.cell(0, 2))  # horizontal
    t.cell(1, 3).merge(t.cell(3, 3))  # vertical
    t.cell(2, 0).merge(t.cell(3, 1))  # both
    t.cell(1, 1).add_paragraph("second\tline")
    nested = t.cell(1, 2).add_table(rows=2, cols=2)
    nested.cell(0, 0).text = "nested"
    d.add_table(rows=0, cols=3)
    d.add_paragraph("between")
    d.add_table(rows=2, cols=0)
    d.add_paragraph("")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_python_docx_built_document_reads_the_same() -> None:
    text = _assert_same(_python_docx_document())
    assert isinstance(text, str)
    assert "a\tbc\nd\t" in text and "| r0c0\nr0c1\nr0c2 |" not in text
    assert "| r0c0r0c1r0c2 | r0c0r0c1r0c2 | r0c0r0c1r0c2 | r0c3 |" in text


HYPERLINK_AND_RUNS = _p(
    _r("x"), '<w:hyperlink r:id="rId9"><w:r><w:t>link</w:t></w:r><w:r><w:tab/></w:r></w:hyperlink>',
    '<w:ins w:id="1" w:author="a"><w:r><w:t>inserted</w:t></w:r></w:ins>',
    '<w:smartTag w:uri="u" w:element="e"><w:r><w:t>smart</w:t></w:r></w:smartTag>',
    '<w:fldSimple w:instr="PAGE"><w:r><w:t>7</w:t></w:r></w:fldSimple>',
    '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>HYPERLINK "x"</w:instrText></w:r>',
    '<w:r><w:delText>deleted</w:delText><w:sym w:font="Wingdings" w:char="F0FC"/><w:softHyphen/></w:r>',
    '<w:r><w:t>a</w:t><w:cr/><w:noBreakHyphen/>'
    '<w:ptab w:relativeTo="margin" w:alignment="right" w:leader="none"/>'
    '<w:br/><w:br w:type="page"/><w:br w:type="column"/><w:br w:type="textWrapping"/><w:br w:type="bogus"/>'
    '<w:t>b</w:t><w:t/><w:t> </w:t><w:t>  c  </w:t><w:t xml:space="preserve">   </w:t></w:r>',
    "<!-- a comment --><?pi x?>", '<w:r><w:t>d<!-- c -->e</w:t></w:r>',
    '<w:customXml w:element="x"><w:r><w:t>custom</w:t></w:r></w:customXml>')

EDGE_BODIES: dict[str, str] = {
    "runs, hyperlinks, breaks": HYPERLINK_AND_RUNS,
    "sdt and nested wrappers are not read": (
        '<w:sdt><w:sdtContent><w:p><w:r><w:t>in sdt</w:t></w:r></w:p>' + _tbl(_tr(_tc("sdt cell")))
        + "</w:sdtContent></w:sdt>" + _p(_r("after"))
        + '<w:customXml><w:p><w:r><w:t>cx</w:t></w:r></w:p></w:customXml>'),
    "table with hyperlinks and breaks in cells": _tbl(_tr(
        f"<w:tc>{HYPERLINK_AND_RUNS}{_p(_r('second'))}</w:tc>", _tc("b"), _tc("c|d"), _tc("e"))),
    "horizontal merge": _tbl(_tr(_tc("wide", '<w:gridSpan w:val="3"/>'), _tc("x")),
                             _tr(*(_tc(c) for c in "abcd"))),
    "vertical merge": _tbl(
        _tr(_tc("top", '<w:vMerge w:val="restart"/>'), _tc("b"), _tc("c"), _tc("d")),
        _tr(_tc("", "<w:vMerge/>"), _tc("f"), _tc("g"), _tc("h")),
        _tr(_tc("ignored", '<w:vMerge w:val="continue"/>'), _tc("j"), _tc("k"), _tc("l"))),
    "vertical merge of a horizontal span": _tbl(
        _tr(_tc("block", '<w:gridSpan w:val="2"/><w:vMerge w:val="restart"/>'), _tc("c"), _tc("d")),
        _tr(_tc("", '<w:gridSpan w:val="2"/><w:vMerge/>'), _tc("g"), _tc("h"))),
    "vMerge continuation with no row above": _tbl(_tr(_tc("a", "<w:vMerge/>"), _tc("b")),
                                                  _tr(_tc("c"), _tc("d"))),
    "vMerge continuation with no cell at its offset above": _tbl(
        _tr(_tc("wide", '<w:gridSpan w:val="2"/>'), _tc("c"), _tc("d")),
        _tr(_tc("e"), _tc("", "<w:vMerge/>"), _tc("g"), _tc("h")),
        _tr(_tc("i"), _tc("j"), _tc("k"), _tc("l"))),
    "vMerge continuation past the row above's end": _tbl(
        _tr(_tc("a"), _tc("b")), _tr(_tc("c"), _tc("d"), _tc("e"), _tc("", "<w:vMerge/>"))),
    "vMerge with other values": _tbl(
        _tr(_tc("a"), _tc("b")),
        _tr(_tc("c", '<w:vMerge w:val="Continue"/>'), _tc("d", '<w:vMerge w:val="x"/>'))),
    "gridBefore": _tbl(
        _tr(_tc("a"), _tc("b"), _tc("c"), _tc("d")),
        _tr(_tc("f"), _tc("", "<w:vMerge/>"), pr='<w:gridBefore w:val="2"/>'),
        _tr(_tc("g"), _tc("h"), pr='<w:gridBefore w:val="1"/><w:gridAfter w:val="1"/>')),
    "gridBefore that does not convert": _tbl(_tr(_tc("a"), pr='<w:gridBefore w:val="x"/>')),
    "gridBefore without val": _tbl(_tr(_tc("a"), pr="<w:gridBefore/>")),
    "gridSpan that does not convert": _tbl(_tr(_tc("a", '<w:gridSpan w:val="two"/>'), _tc("b"))),
    "gridSpan without val": _tbl(_tr(_tc("a", "<w:gridSpan/>"), _tc("b"))),
    "bad gridSpan on a continuation read through": _tbl(
        _tr(_tc("a", '<w:vMerge w:val="restart"/>'), _tc("b")),
        _tr(_tc("c"), _tc("", '<w:vMerge/><w:gridSpan w:val="x"/>'))),
    "bad gridSpan before a continuation": _tbl(
        _tr(_tc("a"), _tc("b", '<w:vMerge w:val="restart"/>')),
        _tr(_tc("c", '<w:gridSpan w:val="x"/>'), _tc("", "<w:vMerge/>"))),
    "zero and negative spans": _tbl(
        _tr(_tc("a", '<w:gridSpan w:val="0"/>'), _tc("b", '<w:gridSpan w:val="-1"/>'), _tc("c"), _tc("d")),
        _tr(_tc("e"), _tc("", "<w:vMerge/>"), _tc("g"), _tc("h"))),
    "odd int spellings": _tbl(_tr(_tc("a", '<w:gridSpan w:val=" 2 "/>'), _tc("b", '<w:gridSpan w:val="+1"/>'),
                                  _tc("c", '<w:gridSpan w:val="0_1"/>'))),
    "two tcPr, two trPr, two gridSpans": _tbl(
        _tr("<w:tc><w:tcPr><w:gridSpan w:val='2'/><w:gridSpan w:val='3'/></w:tcPr>"
            "<w:tcPr><w:gridSpan w:val='x'/></w:tcPr><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc>", _tc("b"),
            pr="<w:gridBefore w:val='1'/></w:trPr><w:trPr><w:gridBefore w:val='x'/>")),
    "non-cell children in a row and a table": (
        '<w:tbl><w:tblPr/><w:bookmarkStart w:id="0" w:name="b"/><w:tr><w:bookmarkStart w:id="1" w:name="c"/>'
        + _tc("a") + '<w:sdt><w:sdtContent>' + _tc("in sdt") + "</w:sdtContent></w:sdt>" + _tc("b")
        + "</w:tr><w:sdt><w:sdtContent>" + _tr(_tc("sdt row")) + "</w:sdtContent></w:sdt>"
        + _tr(_tc("c"), _tc("", "<w:vMerge/>")) + "</w:tbl>"),
    "table without grid or rows": "<w:tbl><w:tblPr/></w:tbl>" + "<w:tbl><w:tblPr/><w:tblGrid/></w:tbl>"
                                  + "<w:tbl>" + _tr(_tc("no grid")) + "</w:tbl>",
    "empty rows": _tbl("<w:tr/>", _tr(_tc("a")), "<w:tr><w:trPr/></w:tr>"),
    "nested table in a cell": _tbl(_tr(
        "<w:tc>" + _p(_r("outer")) + _tbl(_tr(_tc("inner"), _tc("x"))) + _p(_r("after")) + "</w:tc>",
        _tc("b"))),
    "sliver column": _tbl(
        _tr(_tc("a"), _tc("b", '<w:gridSpan w:val="2"/>'), _tc("d")),
        _tr(_tc("e"), _tc("f", '<w:gridSpan w:val="2"/>'), _tc("h")), grid=("2000", "2000", "1", "2000")),
    "sliver column holding a cell": _tbl(
        _tr(_tc("a"), _tc("b"), _tc("c"), _tc("d")), grid=("2000", "19", "20", "2000")),
    "sliver widths in other units and malformed": _tbl(
        _tr(_tc("a"), _tc("b", '<w:gridSpan w:val="2"/>'), _tc("d")),
        grid=("2000", "1000", "0.01in", "2000")),
    "malformed grid width": _tbl(_tr(_tc("a"), _tc("b", '<w:gridSpan w:val="2"/>')), grid=("5", "1", "abc")),
    "unknown unit width": _tbl(_tr(_tc("a"), _tc("b", '<w:gridSpan w:val="2"/>')), grid=("5", "1", "3i")),
    "sliver grid with a bad span": _tbl(
        _tr(_tc("a"), _tc("b", '<w:gridSpan w:val="2"/>')),
        _tr(_tc("c"), _tc("", "<w:vMerge/><w:gridSpan/>")),
        grid=("2000", "1", "2000")),
    "gridCol without width": _tbl(_tr(_tc("a"), _tc("b")), grid=("",)).replace('w:w=""', ""),
    "markdown pipes and newlines in cells": _tbl(_tr(
        "<w:tc>" + _p(_r("a|b")) + _p(_r("c")) + "</w:tc>", _tc("d｜e"))),
    "whitespace-only text nodes": (
        '<w:p>\n  <w:r>\n    <w:t>  </w:t>\n  </w:r>\n  <w:r><w:t> x </w:t></w:r>\n</w:p>'),
    "empty body": "",
}


@pytest.mark.parametrize("name", sorted(EDGE_BODIES))
def test_edge_cases_read_the_same(name: str) -> None:
    _assert_same(_minimal(EDGE_BODIES[name]), name)


def test_edge_cases_take_the_paths_they_name() -> None:
    """A few of the cases above, spelled out (so the comparison is not between two readers that both fail)."""
    def read(name: str) -> str | type[BaseException]:
        return _outcome(docx_text, _minimal(EDGE_BODIES[name]))

    assert str(read("vertical merge")).split("\n")[1:4] == [
        "| top | b | c | d |", "| top | f | g | h |", "| top | j | k | l |"]
    # python-docx refuses these rows; each is read cell by cell, a continuation's own (empty) text kept
    assert read("vMerge continuation with no row above") == "\n| a | b |\n| c | d |\n"
    assert "\n| e |  | g | h |\n" in str(read("vMerge continuation with no cell at its offset above"))
    assert read("zero and negative spans") == "\n| c | d |\n| e |  | g | h |\n"
    # a row starting at grid column 2: its continuation in column 3 is the cell above it there
    assert read("gridBefore") == "\n| a | b | c | d |\n| f | d |\n| g | h |\n"
    assert read("gridBefore without val") is AttachmentError
    assert read("gridSpan that does not convert") is AttachmentError
    assert read("bad gridSpan before a continuation") is AttachmentError
    # python-docx never converted a continuation's own gridSpan
    assert read("bad gridSpan on a continuation read through") == "\n| a | b |\n| c | b |\n"
    assert read("sliver column") == "\n| a | b | d |\n| e | f | h |\n"
    assert read("sliver column holding a cell") == "\n| a | b | c | d |\n"
    assert read("malformed grid width") == "\n| a | b | b |\n"
    assert read("sliver grid with a bad span") == "\n| a | b | b |\n| c | b | b |\n"
    assert read("two tcPr, two trPr, two gridSpans") == "\n| a | a | b |\n"
    assert read("nested table in a cell") == "\n| outerafter | b |\n"
    assert read("sdt and nested wrappers are not read") == "after"
    # w:t text up to its first child (the comment); a blank w:t without xml:space kept, as python-docx kept it
    assert read("runs, hyperlinks, breaks") == "xlink\ta\n-\t\n\nb   c     d"


def _long_vertical_merge(rows: int) -> bytes:
    return _minimal(_tbl(_tr(_tc("top", '<w:vMerge w:val="restart"/>'), _tc("b")),
                         *(_tr(_tc("", "<w:vMerge/>"), _tc(str(i))) for i in range(rows - 1))))


def test_a_long_vertical_merge_reads_the_same() -> None:
    text = _assert_same(_long_vertical_merge(100))
    assert str(text).count("| top |") == 100


def test_a_very_long_vertical_merge_is_read() -> None:
    """python-docx followed a merge one recursion per row: over 1000 rows it raised RecursionError (after half
    a minute here), so the old reader refused the document; the new one reads it, each row once."""
    started = time.monotonic()
    text = docx_text(_long_vertical_merge(3000))
    assert time.monotonic() - started < 2
    assert text.count("| top |") == 3000


# --- randomly built tables ----------------------------------------------------------------------------------

# mostly well-formed values (a malformed one anywhere in a table usually makes the whole document unreadable)
SPANS = (None,) * 30 + ("1", "2", "2", "3", "0", "-1", "x", "")
VMERGES = (None,) * 5 + ("", "", "restart", "restart", "continue", "bogus")
BEFORES = (None,) * 16 + ("0", "1", "2", "x", "")
WIDTHS = ("2000",) * 12 + ("1", "19", "20", "0.01in", "1mm", "abc", "5i", "")


def _attr(tag: str, value: str | None) -> str:
    """``<w:tag w:val=value/>``; "" stands for the element without its val, None for no element."""
    if value is None:
        return ""
    return f"<w:{tag}/>" if value == "" else f'<w:{tag} w:val="{value}"/>'


def _random_table(rng: random.Random) -> str:
    rows = []
    for i in range(rng.randint(0, 5)):
        cells = []
        for j in range(rng.randint(0, 5)):
            pr = _attr("gridSpan", rng.choice(SPANS)) + _attr("vMerge", rng.choice(VMERGES))
            text = rng.choice(["", f"r{i}c{j}", f"r{i}c{j}|x"])
            paras = "".join(_p(_r(text)) for _ in range(rng.randint(1, 2)))
            tc_pr = f"<w:tcPr>{pr}</w:tcPr>" if pr or rng.random() < 0.3 else ""
            cells.append(f"<w:tc>{tc_pr}{paras}</w:tc>")
        rows.append(_tr(*cells, pr=_attr("gridBefore", rng.choice(BEFORES))))
    grid = tuple(rng.choice(WIDTHS) for _ in range(rng.randint(0, 6)))
    table = _tbl(*rows, grid=grid).replace('w:w=""', "")
    return table if rng.random() < 0.9 else table.replace("<w:tblGrid>", "<w:tblGrid_>").replace(
        "</w:tblGrid>", "</w:tblGrid_>")


def test_random_tables_read_the_same() -> None:
    rng = random.Random(20240611)
    outcomes = {"text": 0, "error": 0}
    for n in range(400):
        body = "".join(_random_table(rng) if rng.random() < 0.8 else _p(_r(f"p{n}"))
                       for _ in range(rng.randint(1, 3)))
        got = _assert_same(_minimal(body), body)
        outcomes["error" if got is AttachmentError else "text"] += 1
    assert outcomes["text"] > 100 and outcomes["error"] > 20, outcomes  # both kinds of outcome were compared


def test_corrupted_packages_give_the_same_or_attachment_error() -> None:
    rng = random.Random(7)
    base = _minimal(_tbl(_tr(_tc("a", '<w:gridSpan w:val="2"/>'), _tc("b")),
                         _tr(_tc("c"), _tc("d"), _tc("e"))) + _p(_r("tail")))
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        _assert_same(bytes(data))


# --- packages python-docx refused -------------------------------------------------------------------------

def _timed_error(content: bytes) -> AttachmentError:
    started = time.monotonic()
    with pytest.raises(AttachmentError) as info:
        docx_text(content)
    assert time.monotonic() - started < 2
    assert "\n" not in str(info.value)
    assert _reference_outcome(content) is AttachmentError
    return info.value


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{k} "{("&lol" + (str(k - 1) if k > 1 else "") + ";") * 10}">'
              for k in range(1, 10))
    + f"]><w:document {NS}><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")


def test_hostile_and_broken_packages_are_attachment_errors() -> None:
    good = render_docx(generate_report(3, "2021"))
    assert "bad zip" in str(_timed_error(b"PK\x03\x04 not really a zip"))
    _timed_error(good[: len(good) // 2])
    _timed_error(_replace_member(good, "word/document.xml", None))
    _timed_error(_replace_member(good, "word/document.xml", BILLION_LAUGHS.encode()))
    _timed_error(_replace_member(good, "word/document.xml", b"<w:document"))
    _timed_error(_replace_member(_minimal(""), "word/document.xml",
                                 _document("").replace("w:body", "w:bod_").encode()))
    _timed_error(_package({"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": PACKAGE_RELS,
                           "word/document.xml": f"<w:body {NS}/>"}))
    _timed_error(_package({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": _document("")}))
    _timed_error(_package({"_rels/.rels": PACKAGE_RELS, "word/document.xml": _document("")}))
    _timed_error(_replace_member(_minimal(""), "[Content_Types].xml",
                                 CONTENT_TYPES.replace("document.main+xml", "template.main+xml").encode()))
    _timed_error(_replace_member(_minimal(""), "[Content_Types].xml", b"<Types/>"))
    _timed_error(_replace_member(_minimal(""), "_rels/.rels", PACKAGE_RELS.replace(
        'Target="word/document.xml"', 'Target="word/document.xml" TargetMode="External"').encode()))
    _timed_error(_replace_member(_minimal(""), "_rels/.rels", PACKAGE_RELS.replace(
        "</Relationships>", '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>').encode()))
    _timed_error(_replace_member(_minimal(""), "_rels/.rels",
                                 PACKAGE_RELS.replace(' Target="word/document.xml"', "").encode()))


def test_a_zip_of_an_unknown_version_is_an_attachment_error() -> None:
    """zipfile raises NotImplementedError for it, which the old reader let escape (it caught BadZipFile)."""
    good = _minimal(_p(_r("x")))
    central = good.index(b"PK\x01\x02")
    odd = good[:central + 6] + bytes([171, 0]) + good[central + 8:]  # "version needed to extract": 17.1
    with pytest.raises(NotImplementedError):
        _reference_docx_text(odd)
    assert "bad zip" in str(_timed_error(odd))


def test_the_main_part_is_found_as_python_docx_finds_it() -> None:
    """Through the officeDocument relationship and the content types, not by a fixed name."""
    moved = _package({
        "[Content_Types].xml": CONTENT_TYPES.replace("/word/document.xml", "/WORD/Main.XML"),
        "_rels/.rels": PACKAGE_RELS.replace("word/document.xml", "./word/../WORD/Main.XML")
                                   .replace('Id="rId1"', ""),
        "WORD/Main.XML": _document(_p(_r("moved"))), "word/document.xml": _document(_p(_r("decoy")))})
    assert _assert_same(moved) == "moved"
    by_default = _package({
        "[Content_Types].xml": CONTENT_TYPES.replace('<Override PartName="/word/document.xml"',
                                                     '<Default Extension="DOCXML"'),
        "_rels/.rels": PACKAGE_RELS.replace("word/document.xml", "/w/d.docxml"),
        "w/d.docxml": _document(_p(_r("default")))})
    assert _assert_same(by_default) == "default"


def test_other_parts_are_not_loaded() -> None:
    """python-docx loaded every part the relationships reach, and refused the package when one was missing or
    malformed; only the main document is read now, so such a package gives its text."""
    rels = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles" Target="styles.xml"/></Relationships>')
    styles_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"
    types = CONTENT_TYPES.replace(
        "</Types>", f'<Override PartName="/word/styles.xml" ContentType="{styles_type}"/></Types>')
    broken_styles = _minimal(_p(_r("text")), {"[Content_Types].xml": types, "word/styles.xml": "<w:styles",
                                              "word/_rels/document.xml.rels": rels})
    missing_styles = _replace_member(broken_styles, "word/styles.xml", None)
    for content in (broken_styles, missing_styles):
        with pytest.raises(AttachmentError):
            _reference_docx_text(content)
        assert docx_text(content) == "text"


@pytest.mark.parametrize("where", ["gridSpan", "gridBefore"])
def test_a_huge_span_is_refused_not_expanded(where: str) -> None:
    """A w:gridSpan or w:gridBefore of 10⁹ would make python-docx (and a faithful reader) build that many cells:
    past MAX_GRID_COLUMNS the DOCX is refused, at once, with one line."""
    from crawler.report._docx import MAX_GRID_COLUMNS

    huge = '<w:gridSpan w:val="1000000000"/>'
    body = (_tbl(_tr(_tc("a"), _tc("b", huge))) if where == "gridSpan"
            else _tbl(_tr(_tc("a"), pr='<w:gridBefore w:val="1000000000"/>')))
    started = time.perf_counter()
    with pytest.raises(AttachmentError, match=f"spans 1000000000 grid columns \\(over {MAX_GRID_COLUMNS}\\)"):
        docx_text(_minimal(body))
    assert time.perf_counter() - started < 2
    ok = '<w:gridSpan w:val="3"/>'
    assert "| a | b | b | b |" in docx_text(_minimal(_tbl(_tr(_tc("a"), _tc("b", ok)))))
