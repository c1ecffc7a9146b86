"""The PDF reader: PDFium's characters and rules give the text pdfplumber (pdfminer) gives, page by page, and a
page PDFium would read short (a non-embedded Chinese font with no system font to stand in) goes to pdfminer."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile

import pypdfium2 as pdfium
import pytest
from conftest import ROOT

from crawler.portal.generator import generate_report
from crawler.portal.render import render_pdf
from crawler.report import parse_report
from crawler.report._attachments import AttachmentError
from crawler.report._pdf import _loses_runs, _pdfminer_page, pdf_text


def _reference(body: bytes) -> str:
    """pdfplumber's reading of every page, the way the reader falls back to it."""
    pages = len(pdfium.PdfDocument(body))
    return "\n".join(piece for i in range(pages) for piece in _pdfminer_page(body, i))


@pytest.mark.parametrize(("seed", "fmt"), [(1, "2021"), (2, "2019"), (3, "2021"), (4, "2019"), (11, "2021")])
def test_pdfium_text_equals_pdfminer_text(seed: int, fmt: str) -> None:
    rep = generate_report(seed, fmt, agency="江城市统计局", year=2023 if fmt == "2021" else 2020)
    body = render_pdf(rep)
    text = pdf_text(body)
    assert text == _reference(body)
    assert "| 行政许可 |" in text
    assert parse_report(body, content_type="application/pdf").to_dict()["tables"] == rep.tables


def _canvas_pdf(draw: object) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    draw(c)  # type: ignore[operator]
    c.showPage()
    c.save()
    return buf.getvalue()


def _grid(c: object, as_rects: bool) -> None:
    """A 3×3 table at (100, 600): rules as stroked lines or as thin filled rectangles (how Word exports them)."""
    xs, ys = [100, 200, 300, 400], [700, 670, 640, 610]
    c.setFont("STSong-Light", 10)  # type: ignore[attr-defined]
    for y in ys:
        if as_rects:
            c.rect(xs[0], y - 0.25, xs[-1] - xs[0], 0.5, stroke=0, fill=1)  # type: ignore[attr-defined]
        else:
            c.line(xs[0], y, xs[-1], y)  # type: ignore[attr-defined]
    for x in xs:
        if as_rects:
            c.rect(x - 0.25, ys[-1], 0.5, ys[0] - ys[-1], stroke=0, fill=1)  # type: ignore[attr-defined]
        else:
            c.line(x, ys[0], x, ys[-1])  # type: ignore[attr-defined]
    cells = [["信息内容", "本年制发件数", "现行有效件数"], ["规章", "3", "12"], ["行政规范性文件", "7", "40"]]
    for r, row in enumerate(cells):
        for k, text in enumerate(row):
            c.drawString(xs[k] + 5, ys[r] - 20, text)  # type: ignore[attr-defined]
    c.drawString(100, 750, "二、主动公开政府信息情况")  # type: ignore[attr-defined]
    c.drawString(100, 580, "三、收到和处理政府信息公开申请情况")  # type: ignore[attr-defined]


ROWS = "| 信息内容 | 本年制发件数 | 现行有效件数 |\n| 规章 | 3 | 12 |\n| 行政规范性文件 | 7 | 40 |"


@pytest.mark.parametrize("as_rects", [False, True], ids=["lines", "thin-rectangles"])
def test_ruled_table_between_text_lines(as_rects: bool) -> None:
    body = _canvas_pdf(lambda c: _grid(c, as_rects))
    text = pdf_text(body)
    assert text == f"二、主动公开政府信息情况\n\n{ROWS}\n\n三、收到和处理政府信息公开申请情况"
    assert text == _reference(body)


def test_rules_inside_a_form_xobject_are_found() -> None:
    def draw(c: object) -> None:
        c.beginForm("grid")  # type: ignore[attr-defined]
        _grid(c, False)
        c.endForm()  # type: ignore[attr-defined]
        c.saveState()  # type: ignore[attr-defined]
        c.translate(0, -100)  # type: ignore[attr-defined]  # the form is placed 100 pt lower than it was drawn
        c.doForm("grid")  # type: ignore[attr-defined]
        c.restoreState()  # type: ignore[attr-defined]

    body = _canvas_pdf(draw)
    assert ROWS in pdf_text(body)
    assert pdf_text(body) == _reference(body)


def test_hostile_and_oversized_pdfs_raise_attachment_errors() -> None:
    for bad in (b"%PDF-1.4\n%%EOF", b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" * 50, b""):
        with pytest.raises(AttachmentError, match="unreadable PDF"):
            pdf_text(bad)
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for _ in range(201):
        c.showPage()
    c.save()
    with pytest.raises(AttachmentError, match="201 pages, over 200"):
        pdf_text(buf.getvalue())


_NO_FONTS = """
import sys
sys.path.insert(0, {root!r})
import pypdfium2 as pdfium
from crawler.report._pdf import _loses_runs, pdf_text
body = open(sys.argv[1], "rb").read()
doc = pdfium.PdfDocument(body)
print(any(_loses_runs(doc[i]) for i in range(len(doc))))
sys.stdout.write(pdf_text(body))
"""


def test_without_a_cjk_font_pages_go_to_pdfminer_and_read_the_same() -> None:
    """PDFium skips one-character runs of a non-embedded Chinese font when no system font can stand in. Run
    the reader where /usr/share/fonts is an empty folder (a private mount namespace): those pages are detected
    and read by pdfminer, and the text is the same as with the font."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("util-linux unshare not installed")
    prefix = [unshare, "--mount"] if os.geteuid() == 0 else [unshare, "--mount", "--map-root-user"]
    rep = generate_report(5, "2021", agency="江城市统计局", year=2023)
    body = render_pdf(rep)
    with tempfile.TemporaryDirectory() as tmp:
        path, empty, script = f"{tmp}/r.pdf", f"{tmp}/empty", f"{tmp}/read.py"
        os.mkdir(empty)
        with open(path, "wb") as f:
            f.write(body)
        with open(script, "w", encoding="utf-8") as f:
            f.write(_NO_FONTS.format(root=str(ROOT)))
        probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
        if probe.returncode != 0 or not os.path.isdir("/usr/share/fonts"):
            pytest.skip("no private mount namespace here")
        proc = subprocess.run([*prefix, "sh", "-c", 'mount --bind "$1" /usr/share/fonts && exec "$2" "$3" "$4"',
                               "sh", empty, sys.executable, script, path],
                              capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    flag, _, text = proc.stdout.partition("\n")
    assert flag == "True"  # the font-less PDFium would lose runs: detected
    assert text == pdf_text(body)
    doc = pdfium.PdfDocument(body)
    if os.path.exists("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"):  # with the font, PDFium reads every page
        assert not any(_loses_runs(doc[i]) for i in range(len(doc)))
