"""Row and column labels of the standard tables, matched by their words (never by position alone)."""

from __future__ import annotations

import re
from functools import lru_cache

# Table 3 rows: keywords found anywhere in a row label (the label of an HTML row includes the texts
# of its rowspan group cells, so the most specific words are tried first).
_APP_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("partially_granted", r"部分公开"),
    ("granted", r"予以公开"),
    ("new_received", r"本年新收|新收政府信息公开申请|新收申请"),
    ("carried_over", r"上年结转"),
    ("carried_forward", r"结转下年|继续办理"),
    ("denied_state_secret", r"国家秘密"),
    ("denied_law_prohibited", r"禁止公开"),
    ("denied_three_securities", r"三安全|一稳定"),
    ("denied_third_party", r"第三方"),
    ("denied_internal_affairs", r"内部事务"),
    ("denied_process_info", r"过程性"),
    ("denied_enforcement_file", r"执法案卷"),
    ("denied_query", r"查询事项"),
    ("unable_not_held", r"不掌握"),
    ("unable_needs_creation", r"另行制作|没有现成"),
    ("unable_unclear", r"不明确"),
    ("not_processed_petition", r"信访|举报投诉"),
    ("not_processed_duplicate", r"重复申请"),
    ("not_processed_publication", r"出版物"),
    ("not_processed_massive", r"大量反复"),
    ("not_processed_confirm", r"重新出具|确认或"),
    ("other_overdue_correction", r"不补正|逾期不补"),
    ("other_unpaid_fee", r"缴纳费用|收费通知|未缴纳|未缴费"),
    ("total_processed", r"(?:[（(]七[）)]|^|办理结果|[7⑦][.．、)）]?)\s*(?:总计|合计)$"),
    ("other_other", r"(?:^|[0-9][.．、)）]?|[①②③④⑤⑥⑦⑧⑨]|其[他它]处理[—\-–_:：、]*)\s*其[他它](?:情形|情况)?$"),
    ("other", r"其[他它]处理$"),
)
_APP_RES = tuple((key, re.compile(p)) for key, p in _APP_KEYWORDS)

# Where a Table 3 row label starts in run-on text (numbering included, so digits glued to the previous
# row's numbers are not taken for the label).
_N = r"(?:[0-9][.．、]|[(（][0-9][)）]|[①②③④⑤⑥⑦⑧⑨])\s*"
_APP_STARTS: tuple[tuple[str, str], ...] = (
    ("new_received", r"一\s*[、.．]\s*本年新收"),
    ("carried_over", r"二\s*[、.．]\s*上年结转"),
    ("granted", r"[（(]一[）)]\s*予以公开"),
    ("partially_granted", r"[（(]二[）)]\s*部分公开"),
    ("denied_state_secret", _N + r"属于国家秘密"),
    ("denied_law_prohibited", _N + r"其他法律"),
    ("denied_three_securities", _N + r"危及"),
    ("denied_third_party", _N + r"保护第三方"),
    ("denied_internal_affairs", _N + r"属于三类"),
    ("denied_process_info", _N + r"属于四类"),
    ("denied_enforcement_file", _N + r"属于行政执法"),
    ("denied_query", _N + r"属于行政查询"),
    ("unable_not_held", _N + r"本机关不掌握"),
    ("unable_needs_creation", _N + r"没有现成"),
    ("unable_unclear", _N + r"补正后"),
    ("not_processed_petition", _N + r"信访"),
    ("not_processed_duplicate", _N + r"重复申请"),
    ("not_processed_publication", _N + r"要求提供公开出版物"),
    ("not_processed_massive", _N + r"无正当理由大量"),
    ("not_processed_confirm", _N + r"要求行政机关确认"),
    ("other_overdue_correction", _N + r"申请人无正当理由逾期不补正"),
    ("other_unpaid_fee", _N + r"申请人逾期未按收费"),
    ("other_other", _N + r"其[他它](?=[\s|｜:：]*[0-9])"),
    ("other", r"[（(]六[）)]\s*其他处理"),
    ("total_processed", r"[（(]七[）)]\s*总计"),
    ("carried_forward", r"四\s*[、.．]\s*结转下年"),
)
APP_START_RE = re.compile("|".join(f"(?P<{key}>{p})" for key, p in _APP_STARTS))

# Table 3 columns, matched on the lowest header cell of each column.
_APP_COLUMN_KEYWORDS: tuple[tuple[int, str], ...] = (
    (0, r"自然人"), (1, r"商业"), (2, r"科研"), (3, r"公益"), (4, r"法律服务"), (6, r"总计|合计"), (5, r"其[他它]"),
)  # fmt: skip
_APP_COLUMN_RES = tuple((i, re.compile(p)) for i, p in _APP_COLUMN_KEYWORDS)

# Table 2 rows and the header words of its columns.
_ACTIVE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("normative_documents", r"规范性文件"),
    ("regulations", r"^规章$|^规章|规章$"),
    ("other_services", r"其他对外管理服务"),
    ("licensing", r"行政许可"),
    ("punishment", r"行政处罚"),
    ("enforcement", r"行政强制"),
    ("fees", r"行政事业性收费|收费"),
    ("procurement", r"集中采购|政府采购"),
)
_ACTIVE_RES = tuple((key, re.compile(p)) for key, p in _ACTIVE_KEYWORDS)
ACTIVE_START_RE = re.compile(
    r"(?P<normative_documents>(?:行政)?规范性文件)|(?P<regulations>规章)|(?P<other_services>其他对外管理服务事项)|"
    r"(?P<licensing>行政许可)|(?P<punishment>行政处罚)|(?P<enforcement>行政强制)|(?P<fees>行政事业性收费)|"
    r"(?P<procurement>政府集中采购)")
_FIELD_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("issued", r"制发"), ("abolished", r"废止"), ("in_force", r"现行有效"),
    ("new_made", r"新制作"), ("new_published", r"新公开"), ("total_published", r"公开总数|对外公开总"),
    ("prev_year_items", r"上一年"), ("change", r"增.?减"), ("decisions", r"处理决定"),
    ("amount_10k_yuan", r"收费金额"), ("items", r"采购项目数"), ("amount", r"采购总金额"),
)  # fmt: skip
_FIELD_RES = tuple((key, re.compile(p)) for key, p in _FIELD_KEYWORDS)

# Table 4: group and column header words.
_REVIEW_GROUP_KEYWORDS = (("litigation_direct", r"未经复议|直接起诉"), ("litigation_after_review", r"复议后"),
                          ("review", r"行政复议"))
REVIEW_GROUP_RES = tuple((k, re.compile(p)) for k, p in _REVIEW_GROUP_KEYWORDS)
_REVIEW_COLUMN_KEYWORDS = ((0, r"维持"), (1, r"纠正"), (2, r"其[他它]"), (3, r"尚未|审结"), (4, r"总计|合计"))
REVIEW_COLUMN_RES = tuple((i, re.compile(p)) for i, p in _REVIEW_COLUMN_KEYWORDS)


def app_row_key(label: str) -> str | None:
    for key, rx in _APP_RES:
        if rx.search(label):
            return key
    return None


@lru_cache(maxsize=4096)
def match_app_row(label: str) -> tuple[str | None, float]:
    """(row key, score) of a Table 3 row label: 1.0 for a keyword match, the edit-distance similarity for
    a fuzzy one, (None, best score) when nothing is close enough."""
    key = app_row_key(label)
    if key is not None:
        return key, 1.0
    mapped = label.translate(_CONFUSABLES)
    key = app_row_key(mapped)
    if key is not None:
        return key, 1.0
    return fuzzy_key(leaf_label(mapped), APP_LABELS)


@lru_cache(maxsize=4096)
def match_active_row(label: str) -> tuple[str | None, float]:
    key = active_row_key(label) or active_row_key(label.translate(_CONFUSABLES))
    if key is not None:
        return key, 1.0
    return fuzzy_key(label, ACTIVE_LABELS)


@lru_cache(maxsize=4096)
def match_review_group(label: str) -> tuple[str | None, float]:
    for key, rx in REVIEW_GROUP_RES:
        if rx.search(label):
            return key, 1.0
    return fuzzy_key(label, REVIEW_GROUP_LABELS)


@lru_cache(maxsize=4096)
def app_column(label: str) -> int | None:
    """The applicant column a header word names (其他 and 其它 both: portals print either); ``None`` for the group
    heading 法人或其他组织, which names no one column."""
    if "法人" in label:
        return None
    for idx, rx in _APP_COLUMN_RES:
        if rx.search(label):
            return idx
    return None


def active_row_key(label: str) -> str | None:
    for key, rx in _ACTIVE_RES:
        if rx.search(label):
            return key
    return None


FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "issued": ("本年制发件数",), "abolished": ("本年废止件数",), "in_force": ("现行有效件数",),
    "new_made": ("本年新制作数量",), "new_published": ("本年新公开数量",), "total_published": ("对外公开总数量",),
    "prev_year_items": ("上一年项目数量",), "change": ("本年增减",), "decisions": ("本年处理决定数量", "处理决定数量"),
    "amount_10k_yuan": ("本年收费金额单位万元",), "items": ("采购项目数量",), "amount": ("采购总金额",),
}  # fmt: skip


@lru_cache(maxsize=4096)
def active_field(label: str) -> str | None:
    for key, rx in _FIELD_RES:
        if rx.search(label):
            return key
    return fuzzy_key(label, FIELD_LABELS)[0]


@lru_cache(maxsize=4096)
def review_column(label: str) -> int | None:
    for idx, rx in REVIEW_COLUMN_RES:
        if rx.search(label):
            return idx
    return None


# --- Fuzzy matching -------------------------------------------------------------------------------
# Labels as real reports print them differ from the official text: other numbering, shortened or
# merged wording, typos, OCR confusions. A label no keyword above recognises is compared with the
# official wording of every row (numbering and notes stripped) by edit distance; the best match is
# taken only when it is close enough and clearly ahead of the runner-up, and the printed label and
# its score travel with the row into the output (text.labels), so a wrong match can be seen.

# Characters OCR and typists confuse, mapped to the one the official labels use.
_CONFUSABLES = str.maketrans({"己": "已", "巳": "已", "末": "未", "曰": "日", "沐": "沭", "壹": "一", "贰": "二",
                              "叁": "三", "肆": "四", "伍": "五", "陆": "六", "柒": "七"})
_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}\s*[、.．]|[（(][一二三四五六七八九十0-9]{1,3}[）)]\s*[、.．]?|"
    r"[0-9]{1,2}\s*[.．、）)](?![0-9])|[①②③④⑤⑥⑦⑧⑨⑩]|第[一二三四五六七八九十]+[项类])\s*")
_NOTE = re.compile(r"[（(][^（）()]{4,}[）)]")
_PUNCT = re.compile(r"[\s\u3000\u00a0“”\"'‘’、，,。.．:：;；·\-—_|｜/／]+")

APP_LABELS: dict[str, tuple[str, ...]] = {
    "new_received": ("本年新收政府信息公开申请数量", "本年新收申请数量", "本年新收"),
    "carried_over": ("上年结转政府信息公开申请数量", "上年结转申请数量", "上年结转"),
    "granted": ("予以公开",),
    "partially_granted": ("部分公开",),
    "denied_state_secret": ("属于国家秘密", "国家秘密"),
    "denied_law_prohibited": ("其他法律行政法规禁止公开", "法律法规禁止公开"),
    "denied_three_securities": ("危及三安全一稳定",),
    "denied_third_party": ("保护第三方合法权益",),
    "denied_internal_affairs": ("属于三类内部事务信息", "内部事务信息"),
    "denied_process_info": ("属于四类过程性信息", "过程性信息"),
    "denied_enforcement_file": ("属于行政执法案卷", "行政执法案卷"),
    "denied_query": ("属于行政查询事项", "行政查询事项"),
    "unable_not_held": ("本机关不掌握相关政府信息", "本机关不掌握"),
    "unable_needs_creation": ("没有现成信息需要另行制作", "需要另行制作", "需另行制作"),
    "unable_unclear": ("补正后申请内容仍不明确", "申请内容不明确", "补正后仍不明确"),
    "not_processed_petition": ("信访举报投诉类申请",),
    "not_processed_duplicate": ("重复申请",),
    "not_processed_publication": ("要求提供公开出版物",),
    "not_processed_massive": ("无正当理由大量反复申请",),
    "not_processed_confirm": ("要求行政机关确认或重新出具已获取信息", "要求确认或重新出具已获取信息"),
    "other_overdue_correction": ("申请人无正当理由逾期不补正行政机关不再处理其政府信息公开申请", "申请人逾期不补正",
                                 "逾期不补正"),
    "other_unpaid_fee": ("申请人逾期未按收费通知要求缴纳费用行政机关不再处理其政府信息公开申请", "申请人逾期未缴纳费用",
                         "逾期未缴纳费用"),
    "total_processed": ("总计", "合计"),
    "carried_forward": ("结转下年度继续办理", "结转下年度办理"),
}
ACTIVE_LABELS: dict[str, tuple[str, ...]] = {
    "regulations": ("规章",),
    "normative_documents": ("行政规范性文件", "规范性文件"),
    "other_services": ("其他对外管理服务事项",),
    "licensing": ("行政许可",),
    "punishment": ("行政处罚",),
    "enforcement": ("行政强制",),
    "fees": ("行政事业性收费",),
    "procurement": ("政府集中采购",),
}
REVIEW_GROUP_LABELS: dict[str, tuple[str, ...]] = {
    "review": ("行政复议",),
    "litigation_direct": ("未经复议直接起诉",),
    "litigation_after_review": ("复议后起诉",),
}
# A fuzzy match needs at least this similarity (1 - edit distance / longer length) and this lead over the
# best match of another key.
MIN_SIMILARITY = 0.6
MIN_LEAD = 0.15


@lru_cache(maxsize=4096)
def normalize_label(text: str) -> str:
    """A label reduced to its words: confusables mapped, numbering, notes in brackets and punctuation gone."""
    text = text.translate(_CONFUSABLES)
    text = _NOTE.sub("", text)
    prev = None
    while prev != text:
        prev = text
        text = _NUMBERING.sub("", text, count=1)
    return _PUNCT.sub("", text)


# The words of Table 3's row groups, which real reports print in front of a row's own words ("不予处理——重复申请",
# "（三）不予公开 1.属于国家秘密"): left out before comparing a label with the rows' wordings.
_GROUP_PREFIX = re.compile(r"^(?:(?:三)?(?:本年度)?办理结果|不予公开|无法提供|不予处理|其[他它]处理)+(?=.{2})")


def leaf_label(text: str) -> str:
    """The last numbered part of a label that includes its group cells ("（三）不予公开1.属于国家秘密"), without
    the group's words ("不予处理——重复申请" → "重复申请")."""
    parts = re.split(r"(?<=[^0-9])(?=[0-9]{1,2}\s*[.．、](?![0-9]))|(?=[（(][一二三四五六七八九十]{1,3}[）)])|"
                     r"(?=[①②③④⑤⑥⑦⑧⑨⑩])", text)
    parts = [p for p in parts if normalize_label(p)]
    leaf = parts[-1] if parts else text
    norm = normalize_label(leaf)
    stripped = _GROUP_PREFIX.sub("", norm)
    return stripped if stripped != norm else leaf


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions of one character each."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance / length of the longer string (0 for two empty strings)."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


def fuzzy_key(label: str, table: dict[str, tuple[str, ...]]) -> tuple[str | None, float]:
    """(key, score) of the official wording closest to ``label``, or (None, best score) when no key is
    close enough or two keys are about as close."""
    norm = normalize_label(label)
    if len(norm) > 60:
        return None, 0.0  # a sentence or a note, not a row label
    if len(norm) < 2:
        return None, 0.0
    best: dict[str, float] = {}
    for key, texts in table.items():
        best[key] = max(similarity(norm, normalize_label(t)) for t in texts)
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    top_key, top = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if top >= MIN_SIMILARITY and top - runner >= MIN_LEAD:
        return top_key, round(top, 3)
    return None, round(top, 3)
