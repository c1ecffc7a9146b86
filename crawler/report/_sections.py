"""Section and subsection headings: the six canonical ones with their real-world variants."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.report._blocks import Block, Grid
from crawler.report._model import Section, Subsection

_NUM = "一二三四五六七八九十"
# Title texts of the six canonical sections, as written in the wild (official wording and variants).
_TITLE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("overview", r"(?:总体情况|总体概述|概述|基本情况|概况)"),
    ("active_disclosure", r"(?:行政机关)?主动公开(?:政府信息)?(?:工作)?(?:的)?情况"),
    ("applications", r"(?:(?:行政机关)?收到和处理政府信息公开申请|(?:政府信息)?依申请公开(?:政府信息)?(?:工作)?|政府信息公开申请)(?:的)?(?:办理)?情况"),
    ("review_litigation",
     r"(?:因)?(?:政府信息公开)?(?:工作|申请)?(?:被)?(?:申请)?行政(?:法)?复议[、，,和及与]?(?:提起)?行政诉讼(?:的)?情况"),
    ("problems",
     r"(?:政府信息公开)?(?:工作)?(?:存在的)?主要问题(?:及|和|与)(?:改进|整改)(?:情况|措施)|存在的问题(?:及|和)(?:改进|整改)(?:情况|措施)"),
    ("other", r"其他需要报告的事项"),
)
_TITLE_RES = tuple((key, re.compile(pat)) for key, pat in _TITLE_PATTERNS)
_INLINE_HEADING = re.compile(
    "([" + _NUM + "]{1,2})[、.．]\\s*(" + "|".join(p for _, p in _TITLE_PATTERNS) + ")")
_LINE_HEADING = re.compile("^([" + _NUM + "]{1,3})[、.．]\\s*(\\S.{0,38})$")
_SUB_HEADING = re.compile("^[（(]([" + _NUM + "]{1,2})[）)]\\s*、?\\s*(.*)$")
_INLINE_SUB = re.compile("(?<=[。；;：:])\\s*(?=[（(][" + _NUM + "]{1,2}[）)])")
# Lines that look like headings but are rows of Table 3.
_NOT_HEADING = re.compile(r"本年新收|上年结转|办理结果|结转下年|继续办理|[0-9]\s*$|\|")
_SENTENCE_END = re.compile(r"[。；;，,]$")
_CHROME = re.compile(
    r"^(?:扫一扫在手机上查看当前页面|扫一扫在手机打开当前页|当前位置[:：].*|您所在的位置[:：].*|全真版|文字版|打印本页|"
    r"【?打印(?:本页)?】?|【?关闭(?:窗口|本页)?】?|关闭窗口|分享到[:：]?.*|【?字体[:：].*|【?字号[:：].*|"
    r"[【\[]?\s*[大中小]\s*[大中小]\s*[大中小]\s*[】\]]?|微信|微博|QQ空间|相关链接[:：]?|附件下载|文件下载|"
    r"(?:上一篇|下一篇)[:：].*|浏览次数[:：].*|访问量[:：].*|正文)$")


_DIGIT = re.compile(r"[0-9]")
_TABLE_SECTIONS = frozenset({"active_disclosure", "applications", "review_litigation"})
# Where a table flattened into running text starts (the table's own header words, in order).
_TABLE_MARKER = re.compile(r"第二十条\s*第[（(][一二三四五六七八九十]+[）)]项\s*信息内容|[（(]本列数据的勾稽关系为|"
                           r"申请人情况\s*自然人|行政复议\s*行政诉讼\s*(?:结果维持|未经复议)")


@dataclass
class SectionSpan:
    section: Section
    blocks: list[Block] = field(default_factory=list)


_NUMERALS = {ch: i for i, ch in enumerate(_NUM, start=1)}


def _numeral(text: str) -> int:
    """一 → 1 … 十 → 10, 十一 → 11, 二十一 → 21."""
    if "十" not in text:
        return _NUMERALS.get(text[:1], 0)
    tens, _, ones = text.partition("十")
    return (_NUMERALS.get(tens, 0) if tens else 1) * 10 + (_NUMERALS.get(ones, 0) if ones else 0)


def title_key(title: str) -> str | None:
    for key, rx in _TITLE_RES:
        if rx.search(title):
            return key
    return None


def _expand_line(line: str) -> list[str]:
    """Split run-on text (page dumps put a whole report on one line) before canonical headings and after
    their titles, and before （一）-style subsections that follow a sentence end."""
    pieces: list[str] = []
    pos = 0
    for m in _INLINE_HEADING.finditer(line):
        if m.start() > pos:
            pieces.append(line[pos:m.start()])
        pieces.append(m.group(0))
        pos = m.end()
    pieces.append(line[pos:])
    out: list[str] = []
    for piece in pieces:
        if len(piece) > 120:
            out.extend(p for p in _INLINE_SUB.split(piece))
        else:
            out.append(piece)
    return [p.strip() for p in out if p.strip()]


def split_sections(blocks: list[Block], legacy: bool = False) -> list[SectionSpan]:
    spans: list[SectionSpan] = []
    current = SectionSpan(Section(None, None, None, ""))
    lines: list[str] = []
    sub: Subsection | None = None
    sub_lines: list[str] = []
    last_number: int | None = None

    def close_sub() -> None:
        nonlocal sub
        if sub is not None:
            sub.text = "\n".join(sub_lines)
            current.section.subsections.append(sub)
        sub = None
        sub_lines.clear()

    def close() -> None:
        close_sub()
        current.section.text = "\n".join(lines)
        if current.section.title is not None or current.section.text or current.blocks:
            spans.append(current)

    for block in blocks:
        if isinstance(block, Grid):
            current.blocks.append(block)
            continue
        for line in _expand_line(block):
            if _CHROME.match(line):
                continue
            head = _LINE_HEADING.match(line)
            if head and not _NOT_HEADING.search(line) and not _SENTENCE_END.search(line) \
                    and len(head.group(2)) >= 2:
                canonical = title_key(head.group(2))
                number = _numeral(head.group(1))
                # an unknown heading that does not continue the numbering (一、 inside 五、) is body text
                if canonical is None and last_number is not None and number != last_number + 1:
                    current.blocks.append(line)
                    lines.append(line)
                    if sub is not None:
                        sub_lines.append(line)
                    continue
                last_number = number
                close()
                key = None if legacy else canonical
                current = SectionSpan(Section(key, head.group(1), line, ""))
                lines = []
                continue
            current.blocks.append(line)
            if current.section.key in _TABLE_SECTIONS:
                # a run-on page dump: the table flattened into the line stays in blocks, not in the text
                marker = _TABLE_MARKER.search(line)
                if marker and len(_DIGIT.findall(line, marker.end())) >= 10:
                    line = line[: marker.start()].rstrip()
                    if not line:
                        continue
            subm = _SUB_HEADING.match(line)
            if subm and current.section.key != "applications":
                close_sub()
                rest = subm.group(2)
                cut = re.search(r"[。：:]", rest)
                if cut and cut.end() < len(rest):
                    head_text, body = rest[:cut.end()], rest[cut.end():].strip()
                else:
                    head_text, body = rest, ""
                prefix = line[: len(line) - len(rest)]
                sub = Subsection(subm.group(1), (prefix + head_text).strip(), "")
                if body:
                    sub_lines.append(body)
                lines.append(line)
                continue
            lines.append(line)
            if sub is not None:
                sub_lines.append(line)
    close()
    return spans
