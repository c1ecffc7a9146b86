"""Row and header labels as real reports print them instead of the official text.

The official forms number their rows 一、 / （一） / 1. and spell every label out; real reports renumber
(1、 (1) ① or nothing), shorten ("上年结转", "国家秘密"), merge a group into its rows
("不予处理——信访举报投诉类申请"), swap 行政规范性文件/规范性文件, and carry typing slips and OCR
confusions. Each rewrite here keeps the label identifiable by a reader who knows the form (a human, or
a parser that does), so no value is lost through a label alone.
"""

from __future__ import annotations

import random
import re

# --- numbering ------------------------------------------------------------------------------------
NUMBERING_STYLES = ("dunhao", "halfwidth", "circled", "none")

_TOP = re.compile(r"^([一二三四])、")
_MID = re.compile(r"^（([一二三四五六七])）")
_ITEM = re.compile(r"^(\d)\.")
_HEADING = re.compile(r"（([一二三四五六七八九])）项$")
_CIRCLED = "①②③④⑤⑥⑦⑧⑨"


def split_numbering(label: str) -> tuple[str, str]:
    """(numbering prefix, rest) of an official row label; ("", label) when it has none."""
    for pattern in (_TOP, _MID, _ITEM):
        m = pattern.match(label)
        if m:
            return m.group(0), label[m.end():]
    return "", label


def renumber(label: str, style: str, role: str) -> str:
    """The label with its numbering printed in ``style`` (one of NUMBERING_STYLES)."""
    if role == "heading":  # 第二十条第（一）项: an article reference, only its brackets vary
        return _HEADING.sub(r"(\1)项", label) if style == "halfwidth" else label
    prefix, rest = split_numbering(label)
    if not prefix:
        return label
    if style == "none":
        return rest
    item = _ITEM.match(prefix)
    mid = _MID.match(prefix)
    if style == "dunhao" and item:
        return f"{item.group(1)}、{rest}"
    if style == "halfwidth":
        if item:
            return f"({item.group(1)}){rest}"
        if mid:
            return f"({mid.group(1)}){rest}"
    if style == "circled" and item:
        return _CIRCLED[int(item.group(1)) - 1] + rest
    return label


# --- shortened labels -----------------------------------------------------------------------------
# Official label text (numbering removed) -> the short form real reports print.
SHORT_LABELS: dict[str, str] = {
    "本年新收政府信息公开申请数量": "本年新收申请数量",
    "上年结转政府信息公开申请数量": "上年结转",
    "部分公开（区分处理的，只计这一情形，不计其他情形）": "部分公开",
    "属于国家秘密": "国家秘密",
    "其他法律行政法规禁止公开": "法律行政法规禁止公开",
    "危及“三安全一稳定”": "危及三安全一稳定",
    "保护第三方合法权益": "第三方合法权益",
    "属于三类内部事务信息": "三类内部事务信息",
    "属于四类过程性信息": "四类过程性信息",
    "属于行政执法案卷": "行政执法案卷",
    "属于行政查询事项": "行政查询事项",
    "本机关不掌握相关政府信息": "本机关不掌握",
    "没有现成信息需要另行制作": "需另行制作",
    "补正后申请内容仍不明确": "补正后仍不明确",
    "要求行政机关确认或重新出具已获取信息": "要求确认或重新出具已获取信息",
    "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请": "申请人逾期不补正",
    "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请": "申请人逾期未缴纳费用",
    "结转下年度继续办理": "结转下年度办理",
    "本年度办理结果": "办理结果",
    "社会公益组织": "公益组织",
    "法律服务机构": "法律服务",
    "未经复议直接起诉": "直接起诉",
    "结果维持": "维持",
    "结果纠正": "纠正",
    "尚未审结": "未审结",
    "本年收费金额（单位：万元）": "收费金额（万元）",
    "本年处理决定数量": "处理决定数",
    "总计": "合计",
}


def shorten(label: str) -> str:
    prefix, rest = split_numbering(label)
    return prefix + SHORT_LABELS.get(rest, rest)


# --- a group merged into its rows -----------------------------------------------------------------
MERGE_STYLES = ("——", "：", " ")


def merge_group(group: str, label: str, style: str) -> str:
    """"不予处理——信访举报投诉类申请": the group's words in front of each of its rows."""
    if style == " ":  # the cells' texts run together, numbering kept: （五）不予处理 1.信访举报投诉类申请
        return f"{group} {label}"
    return split_numbering(group)[1] + style + split_numbering(label)[1]


# --- 行政规范性文件 / 规范性文件 -----------------------------------------------------------------------
def swap_normative(label: str) -> str:
    if label.endswith("行政规范性文件"):
        return label[: -len("行政规范性文件")] + "规范性文件"
    if label.endswith("规范性文件"):
        return label[: -len("规范性文件")] + "行政规范性文件"
    return label


# --- typing slips ---------------------------------------------------------------------------------
# One-character slips seen in published reports: a homophone or a look-alike typed for the right one.
TYPOS: tuple[tuple[str, str], ...] = (
    ("申请", "申情"),
    ("予以", "于以"),
    ("部分", "部份"),
    ("其他", "其它"),
    ("制作", "制做"),
    ("法律", "法津"),
    ("补正", "补证"),
    ("复议", "复义"),
    ("掌握", "掌屋"),
    ("审结", "审洁"),
)


def typo_sites(labels: list[str]) -> list[tuple[int, str, str]]:
    """(label index, word, slip) for every place a slip could go."""
    return [(i, word, slip) for i, text in enumerate(labels) for word, slip in TYPOS if word in text]


def apply_typo(text: str, word: str, slip: str, rng: random.Random) -> str:
    spots = [m.start() for m in re.finditer(re.escape(word), text)]
    at = rng.choice(spots)
    return text[:at] + slip + text[at + len(word):]


# --- OCR confusions -------------------------------------------------------------------------------
# Characters an OCR engine reads as a look-alike (the right one -> what it prints).
OCR_CHARS: dict[str, tuple[str, ...]] = {
    "已": ("己", "巳"),
    "己": ("已",),
    "未": ("末",),
    "人": ("入",),
    "沭": ("沐",),
    "日": ("曰",),
    "土": ("士",),
}
# Digits in a label's numbering, as OCR reads them (1. -> l.)
OCR_NUMBERING: dict[str, tuple[str, ...]] = {"1": ("l", "I"), "0": ("O",)}


def ocr_confuse(text: str, rng: random.Random, rate: float) -> str:
    out = []
    prefix, _ = split_numbering(text)
    for i, ch in enumerate(text):
        if ch in OCR_CHARS and rng.random() < rate:
            out.append(rng.choice(OCR_CHARS[ch]))
        elif i < len(prefix) and ch in OCR_NUMBERING and rng.random() < rate:
            out.append(rng.choice(OCR_NUMBERING[ch]))
        else:
            out.append(ch)
    return "".join(out)


# --- table titles ---------------------------------------------------------------------------------
TABLE_NAMES: dict[str, str] = {
    "active_disclosure": "主动公开政府信息情况",
    "applications": "收到和处理政府信息公开申请情况",
    "review_litigation": "政府信息公开行政复议、行政诉讼情况",
}
TITLE_STYLES = ("{name}", "表{n} {name}", "表{n}：{name}", "附表{n} {name}", "表{cn}：{name}")
_CN = "〇一二三四五六七八九"


def table_title(key: str, style: int, first: int) -> str:
    """A table's title as printed above it: "表3 收到和处理政府信息公开申请情况" (numbered from ``first``)."""
    n = list(TABLE_NAMES).index(key) + first
    return TITLE_STYLES[style].format(name=TABLE_NAMES[key], n=n, cn=_CN[n])
