from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http.headers import Headers

from crawler.textfix import Decoded, decode
from tests.shared import SHARED, needs_shared

CHINESE = "根据《中华人民共和国政府信息公开条例》规定，现向社会公布本机关2024年度政府信息公开工作报告。"
TRADITIONAL = "根據《中華人民共和國政府信息公開條例》規定，現向社會公布本機關2024年度政府信息公開工作報告。"


def html(charset_meta: str | None, text: str) -> str:
    meta = (
        f'<meta http-equiv="Content-Type" content="text/html; charset={charset_meta}">'
        if charset_meta
        else ""
    )
    return f"<html><head>{meta}<title>report</title></head><body><p>{text}</p></body></html>"


def test_utf8_with_bom_wins_over_header():
    body = codecs.BOM_UTF8 + CHINESE.encode("utf-8")
    result = decode(body, {"Content-Type": "text/html; charset=gbk"})
    assert isinstance(result, Decoded)
    assert result.text == CHINESE
    assert result.charset == "utf-8"
    assert result.evidence[0] == "bom: utf-8"


def test_utf16_bom():
    body = codecs.BOM_UTF16_LE + CHINESE.encode("utf-16-le")
    assert decode(body).text == CHINESE


def test_header_gbk_is_read_as_gb18030():
    body = CHINESE.encode("gbk")
    result = decode(body, {"content-type": "text/html; charset=GBK"})
    assert result.text == CHINESE
    assert result.charset == "gb18030"
    assert "header: gbk" in result.evidence


def test_scrapy_headers_object():
    body = CHINESE.encode("gb2312")
    headers = Headers({"Content-Type": "text/html; charset=gb2312"})
    result = decode(body, headers)
    assert result.text == CHINESE
    assert result.charset == "gb18030"


def test_header_says_utf8_bytes_are_gbk():
    body = html(None, CHINESE).encode("gbk")
    result = decode(body, {"Content-Type": [b"text/html; charset=utf-8"]})
    assert CHINESE in result.text
    assert result.charset == "gb18030"
    assert any(line.startswith("header: utf-8 (contradicted by bytes") for line in result.evidence)
    assert any(line.startswith("detected: gb18030") for line in result.evidence)


def test_meta_says_gb2312_page_is_utf8():
    body = html("gb2312", CHINESE).encode("utf-8")
    result = decode(body)
    assert CHINESE in result.text
    assert result.charset == "utf-8"
    assert "meta: gb2312 (contradicted by bytes)" in result.evidence


def test_meta_used_when_no_header():
    body = html("gbk", CHINESE).encode("gbk")
    result = decode(body, {})
    assert CHINESE in result.text
    assert "meta: gbk" in result.evidence


def test_big5_declared_as_gb2312_bytes_win():
    body = html("gb2312", TRADITIONAL).encode("big5")
    result = decode(body)
    assert TRADITIONAL in result.text
    assert result.charset == "big5"


def test_undeclared_big5_detected():
    body = TRADITIONAL.encode("big5")
    result = decode(body)
    assert result.text == TRADITIONAL
    assert result.charset == "big5"


def test_pdf_served_as_html():
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n\x00\x00"
    result = decode(body, {"Content-Type": "text/html"})
    assert "looks like PDF" in result.problems
    assert "served as text/html" in result.problems
    assert isinstance(result.text, str)


def test_empty_body():
    result = decode(b"")
    assert result.text == ""
    assert result.problems == ["empty body"]


def test_invalid_sequences_are_counted():
    body = CHINESE.encode("utf-8") + b"\xff\xfe\xfd" + CHINESE.encode("utf-8")
    result = decode(body, {"Content-Type": "text/html; charset=utf-8"})
    assert CHINESE in result.text
    assert any(p.startswith("invalid sequences replaced:") for p in result.problems)


def test_megabytes_of_one_character():
    body = ("政" * 1_000_000).encode("gbk")
    result = decode(body)
    assert result.charset == "gb18030"
    assert len(result.text) == 1_000_000


@needs_shared
@pytest.mark.parametrize(
    "name", ["pingtan_2024_page.html", "pingtan_2020_page.txt", "kirogov_kewei-2024-source.md"]
)
def test_real_samples_round_trip_gbk_undeclared(name):
    text = (SHARED / "real-samples" / name).read_text(encoding="utf-8")
    body = text.encode("gb18030")
    assert decode(body).text == text


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512), st.sampled_from([None, "utf-8", "gbk", "big5", "latin-1", "bogus-x", ""]))
def test_never_raises(body, charset):
    headers = {"Content-Type": f"text/html; charset={charset}"} if charset is not None else None
    result = decode(body, headers)
    assert isinstance(result.text, str)
    assert result.charset


def test_headers_of_odd_shape_do_not_raise():
    for headers in ({"Content-Type": None}, {b"content-type": [b"text/html", 3]}, {"X": "y"}):
        assert decode("政府".encode("gbk"), headers).text == "政府"  # type: ignore[arg-type]


def test_truncated_utf8_body_is_still_utf8():
    body = CHINESE.encode("utf-8")[:-1]
    result = decode(body, {"Content-Type": "text/html; charset=gbk"})
    assert result.charset == "utf-8"
    assert result.text.startswith(CHINESE[:-1])
    assert "header: gbk (contradicted by bytes)" in result.evidence


def test_short_gbk_body_not_mistaken_for_truncated_utf8():
    assert decode("政".encode("gbk")).text == "政"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(codec):
    page = html(None, CHINESE)
    result = decode(page.encode(codec))
    assert result.text == page
    assert result.charset == "utf-16"
    assert result.problems == []



def test_utf16_declaration_on_damaged_utf8_neither_raises_nor_wins() -> None:
    # Regression found by bench/fuzz.py (600 s textfix run, 2026-12-04): a UTF-8 page with a damaged byte served as
    # `charset=utf-16` made the strict UTF-16 check raise UnicodeError ("stream does not start with BOM").
    body = bytearray(html(None, CHINESE).encode("utf-8"))
    body[len(body) // 2] = 0xFF
    result = decode(bytes(body), headers={"Content-Type": "text/html; charset=utf-16"})
    assert result.charset == "utf-8"
    assert "header: utf-16 (contradicted by bytes: reads as utf-8" in " ".join(result.evidence)
    assert CHINESE[:8] in result.text


def test_utf16_declaration_kept_for_bomless_utf16_chinese() -> None:
    text = "平潭综合实验区年度政府信息公开工作年度报告" * 20  # no ASCII: no NUL pattern to sniff
    result = decode(text.encode("utf-16-le"), headers={"Content-Type": "text/html; charset=utf-16le"})
    assert result.text == text


def test_undeclared_gb18030_longer_than_the_detection_sample() -> None:
    # Regression found by hypothesis (tests/test_report_properties.py, seed 569): a 65,581-byte GB18030 mirror
    # copy whose 64 KiB detection sample ended inside a run of double-byte characters at odd parity, so no CJK
    # charset read the sample strictly and charset-normalizer's cp852 won. The sample is decoded incrementally now.
    from crawler.portal.render import render_html
    from tests.test_report_properties import _mirror_copy, _report

    rep = _report(569, "2019")
    body = "<html><body><div class='TRS_Editor'>" + render_html(rep, "trs", 569) + "</div></body></html>"
    data = _mirror_copy(body, 569).encode("gb18030")
    assert len(data) > 65536
    got = decode(data)
    assert got.charset == "gb18030", got.evidence
