"""Property tests: reports made by the demo portal's generator parse back exactly, in every layout the
portal renders; junk and truncated input never raises."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.portal.generator import BROKEN_KINDS, generate_report
from crawler.portal.render import (
    HTML_LAYOUTS,
    TEXT_LAYOUTS,
    render_docx,
    render_html,
    render_pdf,
    render_text,
)
from crawler.report import parse_report

FORMATS = st.sampled_from(("2021", "2019"))
SEEDS = st.integers(min_value=0, max_value=10**6)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# rendering a PDF or DOCX (reportlab, python-docx) takes 0.3-2 s: few examples
SLOW = settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _page(fragment: str) -> bytes:
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><div class='TRS_Editor'>"
            + fragment + "</div></body></html>").encode()


def _report(seed: int, fmt: str, broken: str | None = None) -> Any:
    return generate_report(seed, fmt, agency="江城市统计局", year=2023 if fmt == "2021" else 2020, broken=broken)


def _check(got: dict[str, Any], rep: Any) -> None:
    assert got["format"] == rep.fmt
    assert got["year"] == rep.year
    assert got["tables"] == rep.tables
    assert [s["key"] for s in got["sections"] if s["key"]] == [s.key for s in rep.sections]
    codes = {i["code"] for i in got["issues"]}
    assert set(rep.issues_expected) <= codes
    assert codes <= set(rep.issues_expected), got["issues"]


@FAST
@given(seed=SEEDS, fmt=FORMATS, layout=st.sampled_from(HTML_LAYOUTS))
def test_html_layouts_parse_back(seed: int, fmt: str, layout: str) -> None:
    rep = _report(seed, fmt)
    _check(parse_report(_page(render_html(rep, layout, seed)), content_type="text/html").to_dict(), rep)


@FAST
@given(seed=SEEDS, fmt=FORMATS, layout=st.sampled_from(TEXT_LAYOUTS))
def test_text_layouts_parse_back(seed: int, fmt: str, layout: str) -> None:
    rep = _report(seed, fmt)
    _check(parse_report(render_text(rep, layout, seed).encode(), content_type="text/plain").to_dict(), rep)


@FAST
@given(seed=SEEDS, fmt=FORMATS, broken=st.sampled_from(sorted(BROKEN_KINDS)),
       layout=st.sampled_from(HTML_LAYOUTS + TEXT_LAYOUTS))
def test_broken_reports_give_the_expected_issue(seed: int, fmt: str, broken: str, layout: str) -> None:
    rep = _report(seed, fmt, broken)
    body = _page(render_html(rep, layout, seed)) if layout in HTML_LAYOUTS else render_text(rep, layout, seed).encode()
    got = parse_report(body).to_dict()
    # a missing cell comes back filled with its true value
    _check(got, rep)


@pytest.mark.slow
@SLOW
@given(seed=SEEDS, fmt=FORMATS)
def test_pdf_parses_back(seed: int, fmt: str) -> None:
    rep = _report(seed, fmt)
    _check(parse_report(render_pdf(rep), content_type="application/pdf").to_dict(), rep)


@pytest.mark.slow
@SLOW
@given(seed=SEEDS, fmt=FORMATS)
def test_docx_parses_back(seed: int, fmt: str) -> None:
    rep = _report(seed, fmt)
    got = parse_report(render_docx(rep), url="https://example.org/nb.docx").to_dict()
    _check(got, rep)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000) | st.text(max_size=3000).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_junk_never_raises(data: bytes) -> None:
    got = parse_report(data).to_dict()
    assert got["schema_version"] == 1


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS, fmt=FORMATS, layout=st.sampled_from(HTML_LAYOUTS + TEXT_LAYOUTS),
       cut=st.floats(min_value=0.0, max_value=1.0))
def test_truncated_reports_never_raise(seed: int, fmt: str, layout: str, cut: float) -> None:
    rep = _report(seed, fmt)
    body = _page(render_html(rep, layout, seed)) if layout in HTML_LAYOUTS else render_text(rep, layout, seed).encode()
    got = parse_report(body[: int(len(body) * cut)]).to_dict()
    assert set(got) == {"schema_version", "source", "title", "agency", "year", "published", "format", "text",
                        "sections", "tables", "issues"}


@settings(max_examples=40, deadline=None)
@given(junk=st.lists(st.sampled_from(["|", "||", " |", "1 |", "0", "一、本年新收", "（七）总计", "21710000218",
                                      "行政复议", "总计", "第二十条", "规章", "\n", "<td rowspan=9999>", "<table>",
                                      "<tr>", "| 1 | 2 |", "|---|---|", "三、收到和处理政府信息公开申请情况"]),
                     max_size=80))
def test_table_shaped_junk_never_raises(junk: list[str]) -> None:
    text = "".join(junk)
    parse_report(text.encode())
    parse_report(("<html><body>" + text + "</body></html>").encode(), content_type="text/html")


def _mirror_copy(text: str, seed: int) -> str:
    """What mirror sites do to a report: Traditional characters and pinyin after some characters."""
    import random

    import opencc
    from pypinyin import Style, pinyin

    rng = random.Random(seed)
    out: list[str] = []
    for ch in opencc.OpenCC("s2t").convert(text):
        out.append(ch)
        if "\u4e00" <= ch <= "\u9fff" and rng.random() < 0.3:
            out.append("(" + pinyin(ch, style=Style.TONE)[0][0] + ")")
    return "".join(out)


@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, fmt=FORMATS, layout=st.sampled_from(("trs", "word", "pipe", "spaces")),
       encoding=st.sampled_from(("utf-8", "big5", "gb18030")))
def test_traditional_pinyin_copies_parse_like_clean_ones(seed: int, fmt: str, layout: str, encoding: str) -> None:
    rep = _report(seed, fmt)
    body = render_html(rep, layout, seed) if layout in HTML_LAYOUTS else render_text(rep, layout, seed)
    if layout in HTML_LAYOUTS:
        body = "<html><body><div class='TRS_Editor'>" + body + "</div></body></html>"
    copy = _mirror_copy(body, seed)
    try:
        data = copy.encode(encoding)
    except UnicodeEncodeError:
        data = copy.encode("gb18030")
    got = parse_report(data).to_dict()
    assert got["tables"] == rep.tables
    assert got["format"] == fmt and got["year"] == rep.year
    assert got["text"]["repairs"]["traditional"] is True
