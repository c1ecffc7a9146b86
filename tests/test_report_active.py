"""Table 2 rows whose digits ran together: what the digits, the sign rule and the report's own prose decide,
and what they leave open (a split that two readings satisfy is never chosen)."""

from __future__ import annotations

import pytest

from crawler.report import parse_report
from crawler.report._active import admissible, describe_undecided, split_run, stated_figures
from tests.shared import SHARED, require_shared

FIELDS_2021 = ("issued", "abolished", "in_force")
FIELDS_2019 = ("prev_year_items", "change", "decisions")
PINGTAN_2024_TXT = SHARED / "real-samples" / "pingtan_2024_page.txt"


def test_unique_split_needs_nothing_else() -> None:
    got = split_run("000", FIELDS_2021)
    assert got.values == {"issued": 0, "abolished": 0, "in_force": 0}
    assert got.pinned == {} and got.readings is None and got.undecided == ()
    # separated cells are taken as printed
    assert split_run("12 0 7", FIELDS_2021).values == {"issued": 12, "abolished": 0, "in_force": 7}


def test_ambiguous_split_leaves_every_open_cell_null() -> None:
    got = split_run("6233440", FIELDS_2021)
    assert got.values == {"issued": None, "abolished": None, "in_force": None}
    assert got.undecided == FIELDS_2021 and got.pinned == {}
    assert got.readings is not None and len(got.readings) == 15
    assert describe_undecided(got) == "15 readings of issued|abolished|in_force"


def test_a_stated_figure_pins_its_cell_and_the_rest_stays_open() -> None:
    got = split_run("6233440", FIELDS_2021, {"issued": (62, "本年度制发行政规范性文件62件")})
    assert got.values == {"issued": 62, "abolished": None, "in_force": None}
    assert got.pinned == {"issued": "the report's text states «本年度制发行政规范性文件62件»"}
    assert got.undecided == ("abolished", "in_force")
    assert sorted(got.readings or []) == [[62, 3, 3440], [62, 33, 440], [62, 334, 40], [62, 3344, 0]]
    assert describe_undecided(got) == "abolished|in_force could be 3|3440, 33|440, 334|40, 3344|0"


def test_stated_figures_that_leave_one_reading_decide_the_row() -> None:
    got = split_run("6233440", FIELDS_2021, {"issued": (62, "制发62件"), "abolished": (33, "废止33件")})
    assert got.values == {"issued": 62, "abolished": 33, "in_force": 440}
    assert set(got.pinned) == {"issued", "abolished", "in_force"} and got.undecided == ()


def test_a_figure_two_readings_share_does_not_choose_between_them() -> None:
    # 6 is the first cell of 6|2|33440, 6|23|3440, … : it pins that cell only
    got = split_run("6233440", FIELDS_2021, {"issued": (6, "制发6件")})
    assert got.values == {"issued": 6, "abolished": None, "in_force": None}
    assert got.readings is not None and len(got.readings) > 1


def test_a_figure_no_reading_has_is_ignored() -> None:
    got = split_run("6233440", FIELDS_2021, {"issued": (99, "制发99件")})
    assert got.values == dict.fromkeys(FIELDS_2021) and got.pinned == {}


def test_sign_rule_pins_the_cell_every_admissible_reading_shares() -> None:
    # -18538 cannot be 处理决定数量 (a count), so the minus sign starts 本年增/减 and 2648 comes first
    got = split_run("2648-18538", FIELDS_2019)
    assert got.values == {"prev_year_items": 2648, "change": None, "decisions": None}
    assert list(got.pinned) == ["prev_year_items"] and "non-negative" in got.pinned["prev_year_items"]
    assert describe_undecided(got) == "change|decisions could be -1853|8, -185|38, -18|538, -1|8538"


def test_no_admissible_reading_is_not_a_row() -> None:
    # 12.5 as two cells can only be 1|2.5, and 2.5 件 is not a count
    got = split_run("12.5", ("issued", "abolished"))
    assert got.values is None and got.readings == []


def test_admissible() -> None:
    assert admissible(FIELDS_2019, [10, -3, 4])
    assert not admissible(FIELDS_2019, [2, -3, 4])  # the year would end with -1 items
    assert not admissible(FIELDS_2019, [2, 3, -4])
    assert not admissible(FIELDS_2021, [1.5, 0, 2])
    assert admissible(("amount_10k_yuan",), [18651.06])


@pytest.mark.parametrize(("text", "fmt", "expected"), [
    ("动态更新发布本年度制发行政规范性文件62件，并同步做好全真版上传。", "2021",
     {"normative_documents": {"issued": (62, "动态更新发布本年度制发行政规范性文件62件")}}),
    ("全年印发规范性文件共12件，废止规范性文件3件，现行有效规范性文件40件。", "2021",
     {"normative_documents": {"issued": (12, "全年印发规范性文件共12件"), "abolished": (3, "废止规范性文件3件"),
                              "in_force": (40, "现行有效规范性文件40件")}}),
    ("2024年出台政府规章2件。", "2021", {"regulations": {"issued": (2, "2024年出台政府规章2件")}}),
    ("本年度制发规范性文件7件。", "2019", {"normative_documents": {"new_made": (7, "本年度制发规范性文件7件")}}),
])
def test_stated_figures(text: str, fmt: str, expected: dict) -> None:
    assert stated_figures(text, fmt, 2024) == expected


@pytest.mark.parametrize("text", [
    "2023年制发规范性文件50件。",  # another year
    "近年来累计制发规范性文件300件。",  # a running total
    "拟制发规范性文件5件。",  # a plan
    "制发规范性文件5件；另制发规范性文件6件。",  # two figures for one cell: neither
    "经清理，已宣布废止规范性文件5件。",  # 2019 Table 2 has no 废止 column
    "发布规范性文件解读62篇。",  # not the same quantity
])
def test_statements_that_do_not_pin_a_cell(text: str) -> None:
    assert stated_figures(text, "2019" if "清理" in text else "2021", 2024) == {}


def _pingtan_with(extra: str) -> dict:
    require_shared()
    text = PINGTAN_2024_TXT.read_text(encoding="utf-8").replace("（四）信息公开平台建设方面。", extra + "（四）信息公开平台建设方面。")
    return parse_report(text.encode("utf-8")).to_dict()


def test_pingtan_text_with_a_second_stated_figure_decides_the_row() -> None:
    got = _pingtan_with("全年废止行政规范性文件33件。")
    assert got["tables"]["active_disclosure"]["normative_documents"] == {"issued": 62, "abolished": 33, "in_force": 440}
    assert [i["column"] for i in got["issues"] if i["table"] == "active_disclosure"] == [
        "issued", "abolished", "in_force"]
    assert all(i["code"] == "inferred_cell" for i in got["issues"] if i["table"] == "active_disclosure")


def test_pingtan_text_with_conflicting_statements_pins_nothing() -> None:
    got = _pingtan_with("全年制发行政规范性文件6件。")
    assert got["tables"]["active_disclosure"]["normative_documents"] == dict.fromkeys(FIELDS_2021)
    assert [i["code"] for i in got["issues"] if i["table"] == "active_disclosure"] == ["unparsed_row"]
