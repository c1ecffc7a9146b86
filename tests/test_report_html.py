"""HTML pages the way real sites build them: layout tables, chrome, info-bar dates, full-width digits,
text dumps printed as paragraphs."""

from __future__ import annotations

from crawler.portal.generator import generate_report
from crawler.portal.render import render_html, render_text
from crawler.report import parse_report

REP = generate_report(5, "2021", agency="江城市统计局", year=2023)
FRAGMENT = render_html(REP, "trs", 5)


def test_report_inside_a_layout_table() -> None:
    page = ("<html><head><title>江城市统计局2023年度政府信息公开工作年度报告_江城市</title></head><body>"
            "<table width='1000'><tr><td>首页 | 政务公开 | 办事服务</td></tr><tr><td>"
            "<table><tr><td>当前位置：首页 &gt; 年报</td></tr></table>"
            f"<div class='info'>发布日期：2024-02-03 来源：江城市统计局</div>{FRAGMENT}"
            "<p>扫一扫在手机上查看当前页面</p><p>【打印本页】</p></td></tr><tr><td>版权所有</td></tr></table>"
            "</body></html>")
    got = parse_report(page.encode()).to_dict()
    assert got["tables"] == REP.tables
    assert got["title"] == "江城市统计局2023年度政府信息公开工作年度报告"
    assert (got["agency"], got["year"], got["published"]) == ("江城市统计局", 2023, "2024-02-03")
    assert got["issues"] == []
    texts = "\n".join(s["text"] for s in got["sections"])
    assert "扫一扫" not in texts and "打印本页" not in texts


def test_full_width_digits() -> None:
    text = render_text(REP, "pipe", 5).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    got = parse_report(text.encode()).to_dict()
    assert got["tables"] == REP.tables and got["year"] == 2023
    assert got["issues"] == []


def test_text_dump_printed_as_paragraphs() -> None:
    lines = render_text(REP, "pipe", 5).splitlines()
    page = "<html><body><div class='content'>" + "<br/>\n".join(lines) + "</div></body></html>"
    got = parse_report(page.encode(), content_type="text/html").to_dict()
    assert got["tables"] == REP.tables


def test_blank_html_cells_are_null_not_zero() -> None:
    page = FRAGMENT.replace(">0</p></td></tr></tbody></table>", "></p></td></tr></tbody></table>", 1)
    assert page != FRAGMENT
    got = parse_report(("<html><body><div id='zoom'>" + page + "</div></body></html>").encode()).to_dict()
    assert REP.tables["active_disclosure"]["fees"] == {"amount_10k_yuan": 0}
    assert got["tables"]["active_disclosure"]["fees"] == {"amount_10k_yuan": None}
    assert got["issues"] == [{"code": "cells_missing", "table": "active_disclosure", "row": "fees",
                              "column": "amount_10k_yuan", "detail": "blank in the source"}]


def test_title_from_the_page_heading_when_meta_and_title_say_nothing() -> None:
    page = ("<html><head><title>政府信息公开年报_江城市</title></head><body><div class='top'>首页</div>"
            "<h1>江城市统计局2023年度政府信息公开工作年度报告</h1>"
            f"<div id='zoom'>{render_html(REP, 'plain', 5)}</div></body></html>")
    got = parse_report(page.encode()).to_dict()
    assert (got["title"], got["agency"], got["year"]) == ("江城市统计局2023年度政府信息公开工作年度报告", "江城市统计局", 2023)
    assert got["tables"] == REP.tables


def test_span_bombs_are_cheap() -> None:
    import time

    pages = ["<table>" + "<tr><td rowspan=200 colspan=200>x</td></tr>" * 300 + "</table>",
             "<table>" + ("<tr>" + "<td colspan=9999>1</td>" * 500 + "</tr>") * 300 + "</table>",
             "<div>" * 20000 + "一、总体情况" + "</div>" * 20000]
    for body in pages:
        start = time.perf_counter()
        got = parse_report(("<html><body>" + body + "</body></html>").encode()).to_dict()
        # a naive grid would be 1.5e9 cells (minutes and GBs); the bound is loose so a loaded CI machine passes
        assert time.perf_counter() - start < 15.0
        assert got["schema_version"] == 1


def test_numbered_parts_inside_a_section_stay_in_it() -> None:
    text = ("一、总体情况\n好。\n五、存在的主要问题及改进情况\n一、存在的问题\n问题多。\n二、改进措施\n改进。\n"
            "六、其他需要报告的事项\n无。")
    got = parse_report(text.encode()).to_dict()
    assert [(s["key"], s["text"]) for s in got["sections"]] == [
        ("overview", "好。"), ("problems", "一、存在的问题\n问题多。\n二、改进措施\n改进。"), ("other", "无。")]


def test_rows_with_bar_separated_cells_on_one_line() -> None:
    text = render_text(REP, "spaces", 5)
    lines = []
    for line in text.splitlines():
        head, _, tail = line.partition(" ")
        lines.append(head + "|" + tail.replace(" ", "|") if tail and tail.replace(" ", "").isdigit() else line)
    got = parse_report("\n".join(lines).encode()).to_dict()
    assert got["tables"] == REP.tables


def test_control_characters_in_markup_do_not_stop_the_parse() -> None:
    # Regression found by bench/fuzz.py (600 s parser run, 2026-12-04): a control byte in the tail of an element the
    # parser drops (script, button…) reached lxml's text setter, which raises ValueError for it.
    from crawler.report import parse_report

    page = ("<html><head><title>江城市统计局2023年政府信息公开工作年度报告</title></head><body><div>"
            "<button>关闭</button>\x19一、总体情况\x07<script>x</script>\x00 本机关坚持公开。</div></body></html>")
    report = parse_report(page.encode("utf-8"), url="http://www.example.gov.cn/nb/1.html",
                          content_type="text/html; charset=utf-8").to_dict()
    assert report["title"] == "江城市统计局2023年政府信息公开工作年度报告"
    assert "本机关坚持公开" in "".join(s.get("text") or "" for s in report["sections"])
