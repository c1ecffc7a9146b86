"""Recognise annual-report titles in column listings (routing only: a title in, a year or ``None`` out).

Real titles vary: ``2023年度政府信息公开工作年度报告``, ``XX局二〇二三年政府信息公开年报``,
``关于发布2022年政府信息公开工作年度报告的公告``, mirror copies in Traditional characters or with pinyin after
each character. Columns mix in notices *about* the reports (``…年度报告编制工作的通知``, ``政务公开工作要点``,
``政府信息公开指南``) that must not be taken for reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import opencc

_PINYIN = re.compile(r"[(（][a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]+[)）]")
_SPACE = re.compile(r"[\s\u3000\u00a0]+")
_CN_DIGITS = {
    "〇": "0", "零": "0", "○": "0", "Ｏ": "0", "O": "0", "o": "0", "0": "0", "０": "0",
    "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
}  # fmt: skip
_CN_YEAR = re.compile(r"二[〇零○Ｏ0０oO][一二三四五六七八九〇零○Ｏ0０oO]{2}")
_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")

# Subject: the disclosure work the report is about.
_SUBJECT = re.compile(r"(政府)?(信息|资讯)公开|政务公开")
# Kind: an annual report.
_KIND = re.compile(r"年度报告|年度工作报告|工作报告|年报")
# Notices, guides and plans that mention the report but are not one. A "关于…报告的公告" *is* a report.
_NOT_REPORT = re.compile(
    r"通知|工作要点|要点|指南|目录|格式|模板|范本|解读|意见|方案|计划|征集|考核|评估|检查|培训|会议|"
    r"制度|规定|办法|细则|申请表|统计表$|汇总|通报|情况说明"
)
_ANNOUNCEMENT = re.compile(r"关于.*(年度报告|年报).*公告$")

MIN_YEAR = 2007  # the disclosure regulation (2007, in force 2008) introduced the annual report
MAX_YEAR = 2099


@dataclass(frozen=True)
class TitleMatch:
    year: int
    title: str  # the normalised title that matched


def normalise(title: str) -> str:
    """Strip mirror-site pinyin and whitespace, fold Traditional characters and full-width digits."""
    text = _PINYIN.sub("", title)
    text = _SPACE.sub("", text)
    text = text.translate(_FULLWIDTH)
    return _to_simplified(text)


_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


@lru_cache(maxsize=1)
def _converter() -> object:
    return opencc.OpenCC("t2s")


def _to_simplified(text: str) -> str:
    if text.isascii():
        return text
    return str(_converter().convert(text))  # type: ignore[attr-defined]


def find_year(text: str) -> int | None:
    """The report year in ``text``: the first 4-digit year (Arabic or Chinese numerals) in range."""
    candidates: list[tuple[int, int]] = []
    for m in _YEAR.finditer(text):
        candidates.append((m.start(), int(m.group(1))))
    for m in _CN_YEAR.finditer(text):
        candidates.append((m.start(), int("".join(_CN_DIGITS[c] for c in m.group(0)))))
    for _, year in sorted(candidates):
        if MIN_YEAR <= year <= MAX_YEAR:
            return year
    return None


def match_report_title(title: str) -> TitleMatch | None:
    """A :class:`TitleMatch` when ``title`` names a disclosure annual report of a given year, else ``None``."""
    text = normalise(title)
    if not text:
        return None
    subject = _SUBJECT.search(text)
    kind = _KIND.search(text)
    if subject is None or kind is None:
        return None
    if _NOT_REPORT.search(text) and not _ANNOUNCEMENT.match(text):
        return None
    year = find_year(text)
    if year is None:
        return None
    return TitleMatch(year=year, title=text)


def is_report_title(title: str) -> bool:
    return match_report_title(title) is not None
