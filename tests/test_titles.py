from __future__ import annotations

import pytest

from crawler.titles import find_year, is_report_title, match_report_title, normalise

REPORTS = [
    ("2023年度政府信息公开工作年度报告", 2023),
    ("平潭综合实验区2024年度政府信息公开工作年度报告", 2024),
    ("XX局二〇二三年政府信息公开年报", 2023),
    ("二零二一年度政务公开工作年度报告", 2021),
    ("二○一九年政府信息公开工作年度报告", 2019),
    ("关于发布2022年政府信息公开工作年度报告的公告", 2022),
    ("市科委关于公布二〇二〇年度政府信息公开工作年度报告的公告", 2020),
    ("政府信息公开工作年度报告（2018年）", 2018),
    ("２０１７年政府信息公开工作年度报告", 2017),
    ("關於2022年度政府資訊公開工作年度報告", 2022),
    ("政府信息公開工作年度報告（2016年）", 2016),
    ("政(zhèng)府(fǔ)信(xìn)息公开工作年度报(bào)告 2021", 2021),
    ("2024年 政府信息公开 工作年度报告", 2024),
    ("XX县人民政府2010年政府信息公开工作报告", 2010),
    ("江城市政府信息公开工作2023年度报告", 2023),
    ("二〇二二年度云溪区政府信息公开工作年度报告", 2022),
]

NOT_REPORTS = [
    "关于做好2023年政府信息公开工作年度报告编制发布工作的通知",
    "关于印发2024年政务公开工作要点的通知",
    "2024年政务公开工作要点",
    "政府信息公开指南",
    "政府信息公开目录",
    "2023年政府工作报告",
    "关于2023年度政府信息公开工作年度报告的解读",
    "政府信息公开工作年度报告格式",
    "政府信息公开工作年度报告（年份不详）",
    "关于开展2022年度政务公开考核评估的通知",
    "2023年政府信息公开申请表",
    "2023年度部门决算公开",
    "江城市2023年法治政府建设年度报告",
    "关于江城市2023年度政府信息公开工作情况的自查报告",
    "2023年度政府网站工作年度报表",
    "江城市依申请公开政府信息工作流程",
    "",
]


@pytest.mark.parametrize(("title", "year"), REPORTS)
def test_report_titles_are_recognised_with_their_year(title: str, year: int) -> None:
    m = match_report_title(title)
    assert m is not None, title
    assert m.year == year


@pytest.mark.parametrize("title", NOT_REPORTS)
def test_notices_and_guides_are_rejected(title: str) -> None:
    assert not is_report_title(title)


def test_year_out_of_range_is_not_a_report_year() -> None:
    assert find_year("1998年政府信息公开工作年度报告") is None
    assert find_year("文号2005 2019年报告") == 2019


def test_normalise_strips_pinyin_and_folds_traditional() -> None:
    assert normalise("年度報(bào)告 （二〇二三）") == "年度报告（二〇二三）"
