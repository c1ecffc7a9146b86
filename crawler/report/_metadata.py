"""Title, agency, report year, publication date and format of a report."""

from __future__ import annotations

import re
from collections import Counter

_CN_DIGIT = {"〇": "0", "零": "0", "○": "0", "Ｏ": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5",
             "六": "6", "七": "7", "八": "8", "九": "9"}
_TITLE_IN_TEXT = re.compile(
    r"^(.{0,40}?)((?:19|20)[0-9]{2}|二[〇零○Ｏ][一二三四五六七八九〇零○]{2})\s*年度?\s*"
    r"(?:政府信息公开|政务公开|信息公开)(?:工作)?(?:年度)?(?:报告|年报)")
_TITLE_STRIP = re.compile(r"[_|｜-]\s*[^_|｜-]*$")
_PERIOD = re.compile(r"(?:统计期限|统计周期|统计时限|统计期间)[^0-9]{0,6}((?:19|20)[0-9]{2})\s*年\s*1\s*月\s*1\s*日")
_YEAR_MENTION = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})\s*年")
_DATE = re.compile(r"((?:19|20)[0-9]{2})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?")
# t20250310_97791.htm (TRS pages), P020250310612345678.pdf (TRS attachments)
_URL_DATE = re.compile(r"[/_](?:t|P0)?((?:19|20)[0-9]{2})([01][0-9])([0-3][0-9])[_./0-9]")
_SIGNATURE_DATE = re.compile(r"^[·•\s]*((?:19|20)[0-9]{2})\s*年\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日\s*$")
_AGENCY_BY = [
    re.compile(r"(?:现向社会公布|特向社会公布|现公布|特此公布)(?:(?:19|20)[0-9]{2}年度?)?(.{2,30}?)(?:(?:19|20)[0-9]{2}年度?)?(?:政府)?信息公开"),
    re.compile(r"由(.{2,30}?)(?:结合|根据|编制|负责|按照)"),
]
_AGENCY_TAIL = re.compile(r"(?:局|委|委员会|办公室|政府|中心|厅|院|部|署|会|处|所|站|队|区|县|市|镇|乡|街道|办事处|管委会|实验区)$")
_MARK_2021 = re.compile(r"本年制发件数|本年收费金额|本年处理决定数量|现行有效件数|本年废止件数|逾期不补正|缴纳费用|国办公开办函〔2021〕30号")
_MARK_2019 = re.compile(r"本年新制作数量|本年新公开数量|对外公开总数量|上一年项目数量|国办公开办函〔2019〕60号")
_MARK_LEGACY = re.compile(r"指标名称.{0,4}计量单位|政府信息公开情况统计表|概述")


def cn_year(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    digits = "".join(_CN_DIGIT.get(ch, "") for ch in text)
    return int(digits) if len(digits) == 4 else None


_TITLE_YEAR_FIRST = re.compile(
    r"^((?:19|20)[0-9]{2}|二[〇零○Ｏ0０][一二三四五六七八九〇零○]{2})年度?(.{2,30}?)(?:政府信息公开|政务公开|信息公开)"
    r"(?:工作)?(?:年度)?(?:报告|年报)")
# 教育部政府信息公开工作2024年度报告
_TITLE_YEAR_MIDDLE = re.compile(
    r"^(.{2,30}?)(?:政府信息公开|政务公开|信息公开)(?:工作)?((?:19|20)[0-9]{2})年度?(?:报告|年报)")
_TITLE_TAIL = re.compile(r"^(?:的)?(?:公告|通知|公示)?$")


def title_from_text(lines: list[str]) -> str | None:
    """A title in the first lines of the body (PDF text often breaks it over two lines)."""
    heads = [re.sub(r"\s+", "", line) for line in lines[:4]]
    for i, line in enumerate(heads):
        for cand in (line, line + (heads[i + 1] if i + 1 < len(heads) else "")):
            m = _TITLE_IN_TEXT.match(cand) or _TITLE_YEAR_FIRST.match(cand) or _TITLE_YEAR_MIDDLE.match(cand)
            if m:
                # keep a short tail such as 的公告 (关于…年度报告的公告), not the sentence after the title
                return cand if _TITLE_TAIL.match(cand[m.end():]) else cand[: m.end()]
    return None


def clean_html_title(title: str) -> str:
    """``报告标题_栏目_站点`` → ``报告标题``."""
    parts = re.split(r"[_|｜]| - ", title)
    return parts[0].strip() if parts and parts[0].strip() else title.strip()


def title_parts(title: str | None) -> tuple[str | None, int | None]:
    """(agency, year) from a title such as ``平潭综合实验区2024年度政府信息公开工作年度报告``."""
    if not title:
        return None, None
    flat = re.sub(r"\s+", "", title)
    m = _TITLE_IN_TEXT.match(flat)
    if not m:
        y = _TITLE_YEAR_FIRST.match(flat)
        if y:
            return y.group(2), cn_year(y.group(1))
        mid = _TITLE_YEAR_MIDDLE.match(flat)
        return (mid.group(1), int(mid.group(2))) if mid else (None, None)
    agency = m.group(1).strip(" 《》“”\"") or None
    if agency and agency.startswith("关于"):
        agency = agency[2:] or None
    return agency, cn_year(m.group(2))


def report_year(text: str, published_year: int | None) -> int | None:
    m = _PERIOD.search(text)
    if m:
        return int(m.group(1))
    counts = Counter(int(y) for y in _YEAR_MENTION.findall(text[:6000]))
    if not counts:
        return None
    best = max(counts.values())
    candidates = sorted(y for y, c in counts.items() if c == best)
    if published_year is not None and len(candidates) > 1:
        earlier = [y for y in candidates if y < published_year]
        if earlier:
            return earlier[-1]
    return candidates[-1]


def _ymd(m: re.Match[str]) -> str | None:
    """`YYYY-MM-DD` from a match whose groups 1-3 are year, month, day; None for an impossible month or day."""
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def iso_date(text: str | None) -> str | None:
    if not text:
        return None
    m = _DATE.search(text)
    if not m:
        return None
    return _ymd(m)


def signature(lines: list[str]) -> tuple[str | None, str | None]:
    """(agency, date) from a signature at the end: an agency line followed by a date line."""
    tail = lines[-6:]
    for i in range(len(tail) - 1, -1, -1):
        m = _SIGNATURE_DATE.match(tail[i])
        if m:
            date = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
            agency = None
            if i > 0:
                prev = tail[i - 1].strip(" ·")
                if 2 <= len(prev) <= 30 and _AGENCY_TAIL.search(prev) and "。" not in prev:
                    agency = prev
            return agency, date
    return None, None


def url_date(url: str | None) -> str | None:
    if not url:
        return None
    m = _URL_DATE.search(url)
    if not m:
        return None
    return _ymd(m)


def agency_from_text(text: str) -> str | None:
    head = text[:800]
    for rx in _AGENCY_BY:
        m = rx.search(head)
        if m:
            cand = m.group(1).strip("，,、 ")
            if _AGENCY_TAIL.search(cand):
                return cand
    return None


def detect_format(text: str, year: int | None) -> str:
    if _MARK_2021.search(text):
        return "2021"
    if _MARK_2019.search(text):
        return "2019"
    if year is not None:
        if year <= 2018:
            return "legacy"
        return "2021" if year >= 2021 else "2019"
    if _MARK_LEGACY.search(text):
        return "legacy"
    return "unknown"
