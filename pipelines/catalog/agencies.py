"""Canonical agencies: one id per agency however its name is printed, with the printed names kept as aliases.

Pure functions of names (no I/O, no clock), so the ``agencies`` tables are a function of the catalog rows and a
rebuild reproduces them. The rules (docs/schema.md, "Agencies"):

1. A printed name is *cleaned*: NFKC, Traditional → Simplified (OpenCC ``t2s``), everything but CJK letters,
   Latin letters and digits dropped (spaces, brackets, punctuation).
2. Its *match key* contracts the wordings that name the same body: ``人民政府``/``政府`` after a place name is the
   place itself (江城市人民政府 = 江城市政府 = 江城市), and the common long forms of office names become their
   short forms (办公室/办公厅 → 办, 委员会 → 委, 发展和改革 → 发改, …: :data:`CONTRACTIONS`). Names with one
   key are one agency.
3. A report is matched to the column it was found in (``source_agency``): when its printed name starts with the
   column agency's name but for one character (an OCR or typing confusion: 沐阳县 for 沭阳县), it is read as the
   column's spelling and the disagreement is noted (``ocr_or_typo``). A report whose place differs from the
   column's place is noted too (``outside_column``: a repost by a parent agency, a mirror, a sample planted in a
   column) but keeps its own agency.
4. The canonical display name of an agency is the column's spelling when a column names it, else the longest
   printed form (the full name), then the most frequent, then the first in code-point order.

The administrative level comes from the place names the agency's name starts with (:func:`level_of`): a name
with no place that is a State Council body is ``state_council``; a province-level name alone ``province``; then
the last place decides: ``市``/``州``/``盟`` city, ``县``/``旗``/``区`` county (a ``实验区``/``新区`` city),
``镇``/``乡``/``街道`` township; else ``unknown``. County-level cities (县级市) read as ``city``: a name does not
say which 市 are county-level.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

LEVELS: tuple[str, ...] = ("state_council", "province", "city", "county", "township", "unknown")

PROVINCES: tuple[str, ...] = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省", "浙江省",
    "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省", "四川省", "贵州省",
    "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区", "西藏自治区",
    "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)  # fmt: skip
_PROVINCE_SHORT = {p: re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$", "", p) for p in PROVINCES}

# long form -> short form, applied in this order to a cleaned name to make its match key
CONTRACTIONS: tuple[tuple[str, str], ...] = (
    ("人民政府", "政府"),
    ("办公厅", "办"),
    ("办公室", "办"),
    ("发展和改革委员会", "发改委"),
    ("发展改革委员会", "发改委"),
    ("卫生健康委员会", "卫健委"),
    ("卫生和健康委员会", "卫健委"),
    ("人力资源和社会保障", "人社"),
    ("人力资源社会保障", "人社"),
    ("市场监督管理", "市场监管"),
    ("自然资源和规划", "自然资源规划"),
    ("住房和城乡建设", "住建"),
    ("住房城乡建设", "住建"),
    ("生态环境", "生态环境"),
    ("委员会", "委"),
)

# a place name: a few characters and an administrative suffix (no agency words inside)
_PLACE = re.compile(r"[^省市县区旗镇乡州盟和与及局委办厅部署会院中心]{1,9}?(?:特别行政区|自治区|自治州|自治县|自治旗|街道|省|市|州|盟|县|区|旗|镇|乡)")
_STATE_COUNCIL = re.compile(r"^(国务院|国家|中国|中华人民共和国|中央|全国|海关总署|.{1,8}海关$)|(部|总署|总局|署)$|^.{2,10}(委员会|银行|部)$")
_CORRECTED = re.compile(r"更正|修订|修正|勘误|重新发布")


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def clean_name(name: str | None) -> str:
    """The printed name in Simplified characters without spaces, brackets or punctuation ('' for none)."""
    if not name:
        return ""
    text = str(_t2s().convert(unicodedata.normalize("NFKC", name)))
    return "".join(ch for ch in text if ch.isalnum())


def places(name: str) -> list[str]:
    """The place names a cleaned agency name starts with: 江苏省南京市玄武区财政局 -> [江苏省, 南京市, 玄武区]."""
    out: list[str] = []
    pos = 0
    for province in PROVINCES:  # a province name first, whatever its characters
        if name.startswith(province):
            out.append(province)
            pos = len(province)
            break
    while pos < len(name):
        match = _PLACE.match(name, pos)
        if match is None:
            break
        out.append(match.group(0))
        pos = match.end()
    return out


def place_of(name: str) -> str:
    """The whole place prefix of a cleaned name ('' when it names none)."""
    return "".join(places(name))


def match_key(name: str | None) -> str:
    """The key under which printed names are one agency (rule 2 of the module docstring)."""
    key = clean_name(name)
    if not key:
        return ""
    place = place_of(key)
    rest = key[len(place):]
    if place and rest in ("人民政府", "政府"):
        return place
    for long, short in CONTRACTIONS:
        rest = rest.replace(long, short)
    return place + rest


def agency_id(key: str) -> str:
    """A stable id for a match key: ``ag-`` and 10 hex digits of its SHA-1."""
    return "ag-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def level_of(name: str) -> str:
    """The administrative level a cleaned (or printed) agency name says (see the module docstring)."""
    name = clean_name(name)
    if re.match(r"^(国务院|国家|中华人民共和国|海关总署)", name) or name.endswith("海关"):
        return "state_council"
    found = places(name)
    if not found:
        return "state_council" if name and _STATE_COUNCIL.search(name) else "unknown"
    last = found[-1]
    if last in PROVINCES:
        return "province"
    if last.endswith(("街道", "镇", "乡")):
        return "township"
    if last.endswith(("实验区", "新区")):
        return "city"
    if last.endswith(("县", "旗", "区")):
        return "county"
    if last.endswith(("市", "州", "盟")):
        # a city under a municipality is not a thing; a 市 right after a province is a prefecture-level city
        return "city"
    return "unknown"


def province_of(name: str) -> str | None:
    """The province-level division a name starts with (full or short form), else None."""
    name = clean_name(name)
    for province in PROVINCES:
        if name.startswith(province):
            return province
    for province, short in _PROVINCE_SHORT.items():
        if len(short) >= 2 and name.startswith(short):
            return province
    return None


def is_corrected(title: str | None) -> bool:
    """A title that marks a corrected re-issue (更正, 修订, 修正, 勘误, 重新发布)."""
    return bool(title and _CORRECTED.search(title))


def column_spelling(printed: str, column: str) -> str | None:
    """Rule 3: the printed (cleaned) name read with the column agency's spelling, when the two differ in exactly one
    character of the column's name (an OCR or typing confusion); None when they agree or differ otherwise."""
    if not printed or not column or len(column) < 3 or printed.startswith(column) or len(printed) < len(column):
        return None
    head = printed[:len(column)]
    diffs = [i for i, (a, b) in enumerate(zip(head, column, strict=True)) if a != b]
    if len(diffs) != 1:
        return None
    i = diffs[0]
    if not ("\u4e00" <= head[i] <= "\u9fff" and "\u4e00" <= column[i] <= "\u9fff"):
        return None
    if column[i] in "省市县区旗镇乡州盟" or head[i] in "省市县区旗镇乡州盟":
        return None  # a different kind of place, not a misprint of the same one
    return column + printed[len(column):]


def outside_column(printed: str, column: str) -> bool:
    """True when the report's agency names a place and the column's agency names another one (and neither lies
    within the other), or is a State Council body: a report found in another agency's column."""
    mine, theirs = place_of(printed), place_of(column)
    if not mine:
        return False  # a State Council body (or a name without a place): no place to disagree on
    if not theirs:
        return level_of(column) == "state_council"  # a local report in a central column (gov.cn's reposts)
    return not (mine.startswith(theirs) or theirs.startswith(mine))
