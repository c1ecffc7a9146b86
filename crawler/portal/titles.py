"""Report titles as real columns write them, and notice titles that look close but are not reports."""

from __future__ import annotations

import random

_CN_DIGITS = "〇一二三四五六七八九"


def chinese_year(year: int) -> str:
    """2023 -> 二〇二三 (the way years are written in 二〇二三年政府信息公开年报)."""
    return "".join(_CN_DIGITS[int(d)] for d in str(year))


# Each variant is a format string over {agency}, {year}, {cn_year}.
REPORT_TITLE_VARIANTS: tuple[str, ...] = (
    "{agency}{year}年度政府信息公开工作年度报告",
    "{agency}{cn_year}年政府信息公开年报",
    "关于{agency}{year}年度政府信息公开工作年度报告的公告",
    "{agency}{year}年政府信息公开工作年度报告",
    "{year}年度政府信息公开工作年度报告",
    "{agency}政府信息公开工作{year}年度报告",
    "{cn_year}年度{agency}政府信息公开工作年度报告",
)
NO_AGENCY_VARIANT = 4  # "{year}年度政府信息公开工作年度报告": only the page around it names the agency


def report_title(agency: str, year: int, variant: int) -> str:
    template = REPORT_TITLE_VARIANTS[variant % len(REPORT_TITLE_VARIANTS)]
    return template.format(agency=agency, year=year, cn_year=chinese_year(year))


# Close to a report title on purpose: a spider that matches on "年度报告" or "政府信息公开" alone takes these.
NOTICE_TITLE_TEMPLATES: tuple[str, ...] = (
    "关于做好{year}年度政府信息公开工作年度报告编制发布工作的通知",
    "{agency}{year}年政务公开工作要点",
    "{agency}政府信息公开指南（{year}年修订）",
    "{agency}{year}年度部门决算公开",
    "{agency}{year}年法治政府建设年度报告",
    "{agency}关于{year}年度政府信息公开工作情况的自查报告",
    "{year}年度政府网站工作年度报表",
    "{agency}{year}年国民经济和社会发展统计公报",
    "{agency}政府信息公开制度",
    "关于开展{year}年政务公开第三方评估工作的通知",
    "{agency}{year}年度优化营商环境工作总结",
    "{agency}依申请公开政府信息工作流程",
)


def notice_title(rng: random.Random, agency: str, year: int) -> str:
    return rng.choice(NOTICE_TITLE_TEMPLATES).format(agency=agency, year=year)
