"""Bounded work per input in the parser: a body past the cap is refused unread, binary junk is not parsed,
so a hostile server cannot stall a parse worker or exhaust its memory (issue: 60 MB page under 1 GB)."""

from __future__ import annotations

import os
import tracemalloc

from crawler.report import parse_report
from crawler.report._parse import MAX_MARKUP_BYTES


def test_a_page_past_the_cap_is_refused_unread_in_little_memory() -> None:
    body = b"<html><body><table>" + b"<tr><td>\xe8\xa1\x8c\xe6\x94\xbf</td><td>1</td></tr>" * 2_000_000 + b"</table>"
    assert len(body) > 60_000_000
    tracemalloc.start()
    got = parse_report(body, content_type="text/html").to_dict()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [i["code"] for i in got["issues"]] == ["unparsed_document"]
    assert f"over the {MAX_MARKUP_BYTES / 1e6:.0f} MB" in got["issues"][0]["detail"]
    assert peak < 50_000_000  # the body is never copied, decoded or parsed


def test_binary_junk_is_not_parsed_but_a_page_with_stray_control_bytes_is() -> None:
    junk = parse_report(os.urandom(1_000_000)).to_dict()
    assert [i["code"] for i in junk["issues"]] == ["unparsed_document"]
    assert "binary" in junk["issues"][0]["detail"]
    page = ("<html><head><title>江城市统计局2023年政府信息公开工作年度报告</title></head><body>\x00\x01\x02\x03"
            "<p>一、总体情况</p></body></html>").encode()
    assert parse_report(page).to_dict()["title"] == "江城市统计局2023年政府信息公开工作年度报告"


def test_a_page_just_under_the_cap_is_parsed() -> None:
    row = "<tr><td>规章</td><td>1</td></tr>"
    body = ("<html><body><p>二、主动公开政府信息情况</p><table>" + row * ((MAX_MARKUP_BYTES - 200) // len(row.encode()))
            + "</table></body></html>").encode()
    assert len(body) <= MAX_MARKUP_BYTES
    got = parse_report(body, content_type="text/html").to_dict()
    assert "unparsed_document" not in [i["code"] for i in got["issues"]]
