"""Canonical keys and the official label texts of the annual-report tables.

The label texts are those of the official formats: 国办公开办函〔2021〕30号 (``"2021"``) and
国办公开办函〔2019〕60号 (``"2019"``), as printed on real report pages (see ../shared/real-samples).
Renderers take every printed word from here, so a parser tested against the portal meets the words
it meets on real sites.
"""

from __future__ import annotations

FORMATS = ("2021", "2019")

SECTION_TITLES: tuple[tuple[str, str], ...] = (
    ("overview", "一、总体情况"),
    ("active_disclosure", "二、主动公开政府信息情况"),
    ("applications", "三、收到和处理政府信息公开申请情况"),
    ("review_litigation", "四、政府信息公开行政复议、行政诉讼情况"),
    ("problems", "五、存在的主要问题及改进情况"),
    ("other", "六、其他需要报告的事项"),
)

# --- Table 2 (active disclosure) ------------------------------------------------------------------
# Each block: (heading, column headers after 信息内容, [(row key, row label)], field keys in column order)
Table2Block = tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]]

TABLE2_2021: tuple[Table2Block, ...] = (
    (
        "第二十条第（一）项",
        ("本年制发件数", "本年废止件数", "现行有效件数"),
        (("regulations", "规章"), ("normative_documents", "行政规范性文件")),
        ("issued", "abolished", "in_force"),
    ),
    ("第二十条第（五）项", ("本年处理决定数量",), (("licensing", "行政许可"),), ("decisions",)),
    (
        "第二十条第（六）项",
        ("本年处理决定数量",),
        (("punishment", "行政处罚"), ("enforcement", "行政强制")),
        ("decisions",),
    ),
    ("第二十条第（八）项", ("本年收费金额（单位：万元）",), (("fees", "行政事业性收费"),), ("amount_10k_yuan",)),
)

TABLE2_2019: tuple[Table2Block, ...] = (
    (
        "第二十条第（一）项",
        ("本年新制作数量", "本年新公开数量", "对外公开总数量"),
        (("regulations", "规章"), ("normative_documents", "规范性文件")),
        ("new_made", "new_published", "total_published"),
    ),
    (
        "第二十条第（五）项",
        ("上一年项目数量", "本年增/减", "处理决定数量"),
        (("licensing", "行政许可"), ("other_services", "其他对外管理服务事项")),
        ("prev_year_items", "change", "decisions"),
    ),
    (
        "第二十条第（六）项",
        ("上一年项目数量", "本年增/减", "处理决定数量"),
        (("punishment", "行政处罚"), ("enforcement", "行政强制")),
        ("prev_year_items", "change", "decisions"),
    ),
    ("第二十条第（八）项", ("上一年项目数量", "本年增/减"), (("fees", "行政事业性收费"),), ("prev_year_items", "change")),
    ("第二十条第（九）项", ("采购项目数量", "采购总金额"), (("procurement", "政府集中采购"),), ("items", "amount")),
)

TABLE2_CONTENT_HEADER = "信息内容"


def table2_blocks(fmt: str) -> tuple[Table2Block, ...]:
    if fmt == "2021":
        return TABLE2_2021
    if fmt == "2019":
        return TABLE2_2019
    raise ValueError(f"unknown report format {fmt!r}: expected one of {FORMATS}")


# --- Table 3 (applications) -----------------------------------------------------------------------
APPLICANT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("natural_person", "自然人"),
    ("commercial", "商业企业"),
    ("research", "科研机构"),
    ("social_welfare", "社会公益组织"),
    ("legal_services", "法律服务机构"),
    ("other_org", "其他"),
    ("total", "总计"),
)
APPLICANT_HEADER = "申请人情况"
LEGAL_PERSON_HEADER = "法人或其他组织"
TABLE3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
RESULTS_HEADER = "三、本年度办理结果"

# Row key, label, group label (the rowspan cell in front of it, or None)
Table3Row = tuple[str, str, str | None]

_DENIED: tuple[Table3Row, ...] = (
    ("denied_state_secret", "1.属于国家秘密", "（三）不予公开"),
    ("denied_law_prohibited", "2.其他法律行政法规禁止公开", "（三）不予公开"),
    ("denied_three_securities", "3.危及“三安全一稳定”", "（三）不予公开"),
    ("denied_third_party", "4.保护第三方合法权益", "（三）不予公开"),
    ("denied_internal_affairs", "5.属于三类内部事务信息", "（三）不予公开"),
    ("denied_process_info", "6.属于四类过程性信息", "（三）不予公开"),
    ("denied_enforcement_file", "7.属于行政执法案卷", "（三）不予公开"),
    ("denied_query", "8.属于行政查询事项", "（三）不予公开"),
    ("unable_not_held", "1.本机关不掌握相关政府信息", "（四）无法提供"),
    ("unable_needs_creation", "2.没有现成信息需要另行制作", "（四）无法提供"),
    ("unable_unclear", "3.补正后申请内容仍不明确", "（四）无法提供"),
    ("not_processed_petition", "1.信访举报投诉类申请", "（五）不予处理"),
    ("not_processed_duplicate", "2.重复申请", "（五）不予处理"),
    ("not_processed_publication", "3.要求提供公开出版物", "（五）不予处理"),
    ("not_processed_massive", "4.无正当理由大量反复申请", "（五）不予处理"),
    ("not_processed_confirm", "5.要求行政机关确认或重新出具已获取信息", "（五）不予处理"),
)

_HEAD_ROWS: tuple[Table3Row, ...] = (
    ("new_received", "一、本年新收政府信息公开申请数量", None),
    ("carried_over", "二、上年结转政府信息公开申请数量", None),
    ("granted", "（一）予以公开", None),
    ("partially_granted", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", None),
)

_OTHER_2021: tuple[Table3Row, ...] = (
    (
        "other_overdue_correction",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "（六）其他处理",
    ),
    (
        "other_unpaid_fee",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "（六）其他处理",
    ),
    ("other_other", "3.其他", "（六）其他处理"),
)
_OTHER_2019: tuple[Table3Row, ...] = (("other", "（六）其他处理", None),)

_TAIL_ROWS: tuple[Table3Row, ...] = (
    ("total_processed", "（七）总计", None),
    ("carried_forward", "四、结转下年度继续办理", None),
)

TABLE3_ROWS_2021: tuple[Table3Row, ...] = _HEAD_ROWS + _DENIED + _OTHER_2021 + _TAIL_ROWS
TABLE3_ROWS_2019: tuple[Table3Row, ...] = _HEAD_ROWS + _DENIED + _OTHER_2019 + _TAIL_ROWS

# Rows under 三、本年度办理结果 (the rows (一)…(七) of the official form)
RESULT_ROW_KEYS_2021 = tuple(r[0] for r in TABLE3_ROWS_2021[2:-1])
RESULT_ROW_KEYS_2019 = tuple(r[0] for r in TABLE3_ROWS_2019[2:-1])


def table3_rows(fmt: str) -> tuple[Table3Row, ...]:
    if fmt == "2021":
        return TABLE3_ROWS_2021
    if fmt == "2019":
        return TABLE3_ROWS_2019
    raise ValueError(f"unknown report format {fmt!r}: expected one of {FORMATS}")


def outcome_row_keys(fmt: str) -> tuple[str, ...]:
    """Rows whose sum is （七）总计."""
    return tuple(k for k, _, _ in table3_rows(fmt)[2:-2])


# --- Table 4 (review and litigation) --------------------------------------------------------------
TABLE4_GROUPS: tuple[tuple[str, str], ...] = (
    ("review", "行政复议"),
    ("litigation_direct", "未经复议直接起诉"),
    ("litigation_after_review", "复议后起诉"),
)
TABLE4_LITIGATION_HEADER = "行政诉讼"
TABLE4_COLUMNS: tuple[tuple[str, str], ...] = (
    ("maintained", "结果维持"),
    ("corrected", "结果纠正"),
    ("other", "其他结果"),
    ("pending", "尚未审结"),
    ("total", "总计"),
)
