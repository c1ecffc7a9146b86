"""Chinese and English labels for the canonical keys of the report JSON (DESIGN.md, schema_version 1).

The catalog carries them in its ``labels`` table so a researcher browsing ``table_cells`` can join a key to the
words printed on the official forms; Datasette's metadata uses them for column descriptions.
"""

from __future__ import annotations

APPLICANT_COLUMNS: tuple[str, ...] = (
    "natural_person", "commercial", "research", "social_welfare", "legal_services", "other_org", "total",
)  # fmt: skip
REVIEW_COLUMNS: tuple[str, ...] = ("maintained", "corrected", "other", "pending", "total")

# Column names of list-valued table rows, per table.
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "applications": APPLICANT_COLUMNS,
    "review_litigation": REVIEW_COLUMNS,
}

# (kind, key, zh, en)
LABELS: tuple[tuple[str, str, str, str], ...] = (
    ("section", "overview", "总体情况", "overview"),
    ("section", "active_disclosure", "主动公开政府信息情况", "active disclosure"),
    ("section", "applications", "收到和处理政府信息公开申请情况", "applications received and handled"),
    ("section", "review_litigation", "政府信息公开行政复议、行政诉讼情况", "administrative review and litigation"),
    ("section", "problems", "存在的主要问题及改进情况", "problems and improvements"),
    ("section", "other", "其他需要报告的事项", "other matters"),
    ("table", "active_disclosure", "主动公开政府信息情况（表二）", "Table 2: active disclosure"),
    ("table", "applications", "收到和处理政府信息公开申请情况（表三）", "Table 3: applications"),
    ("table", "review_litigation", "政府信息公开行政复议、行政诉讼情况（表四）", "Table 4: review and litigation"),
    # Table 2 rows and fields
    ("row", "regulations", "规章", "regulations"),
    ("row", "normative_documents", "规范性文件", "normative documents"),
    ("row", "licensing", "行政许可", "administrative licensing"),
    ("row", "other_services", "其他对外管理服务事项", "other external services"),
    ("row", "punishment", "行政处罚", "administrative punishment"),
    ("row", "enforcement", "行政强制", "administrative enforcement"),
    ("row", "fees", "行政事业性收费", "administrative fees"),
    ("row", "procurement", "政府集中采购", "government procurement"),
    ("column", "issued", "本年制发件数", "issued this year"),
    ("column", "abolished", "本年废止件数", "abolished this year"),
    ("column", "in_force", "现行有效件数", "in force"),
    ("column", "decisions", "处理决定数量", "decisions"),
    ("column", "amount_10k_yuan", "收费金额（万元）", "amount (10k yuan)"),
    ("column", "new_made", "本年新制作数量", "newly made"),
    ("column", "new_published", "本年新公开数量", "newly published"),
    ("column", "total_published", "对外公开总数量", "total published"),
    ("column", "prev_year_items", "上一年项目数量", "items last year"),
    ("column", "change", "本年增/减", "change this year"),
    ("column", "items", "采购项目数量", "procurement items"),
    ("column", "amount", "采购总金额", "procurement amount"),
    # Table 3 rows and columns
    ("row", "new_received", "本年新收政府信息公开申请数量", "new applications received"),
    ("row", "carried_over", "上年结转政府信息公开申请数量", "carried over from last year"),
    ("row", "granted", "予以公开", "granted"),
    ("row", "partially_granted", "部分公开", "partially granted"),
    ("row", "denied_state_secret", "不予公开：属于国家秘密", "denied: state secret"),
    ("row", "denied_law_prohibited", "不予公开：其他法律行政法规禁止公开", "denied: prohibited by law"),
    ("row", "denied_three_securities", "不予公开：危及“三安全一稳定”", "denied: endangers security or stability"),
    ("row", "denied_third_party", "不予公开：保护第三方合法权益", "denied: third-party rights"),
    ("row", "denied_internal_affairs", "不予公开：属于三类内部事务信息", "denied: internal affairs"),
    ("row", "denied_process_info", "不予公开：属于四类过程性信息", "denied: process information"),
    ("row", "denied_enforcement_file", "不予公开：属于行政执法案卷", "denied: enforcement file"),
    ("row", "denied_query", "不予公开：属于行政查询事项", "denied: query matter"),
    ("row", "unable_not_held", "无法提供：本机关不掌握相关政府信息", "unable: not held"),
    ("row", "unable_needs_creation", "无法提供：没有现成信息需要另行制作", "unable: needs creating"),
    ("row", "unable_unclear", "无法提供：补正后申请内容仍不明确", "unable: still unclear"),
    ("row", "not_processed_petition", "不予处理：信访举报投诉类申请", "not processed: petition"),
    ("row", "not_processed_duplicate", "不予处理：重复申请", "not processed: duplicate"),
    ("row", "not_processed_publication", "不予处理：要求提供公开出版物", "not processed: publication"),
    ("row", "not_processed_massive", "不予处理：无正当理由大量反复申请", "not processed: massive"),
    ("row", "not_processed_confirm", "不予处理：要求行政机关确认或重新出具已获取信息", "not processed: confirm"),
    ("row", "other_overdue_correction", "其他处理：申请人无正当理由逾期不补正", "other: no correction"),
    ("row", "other_unpaid_fee", "其他处理：申请人逾期未按收费通知要求缴纳费用", "other: fee unpaid"),
    ("row", "other_other", "其他处理：其他", "other: other"),
    ("row", "other", "其他处理", "other handling"),
    ("row", "total_processed", "总计", "total processed"),
    ("row", "carried_forward", "结转下年度继续办理", "carried forward"),
    ("column", "natural_person", "自然人", "natural person"),
    ("column", "commercial", "商业企业", "commercial enterprise"),
    ("column", "research", "科研机构", "research institution"),
    ("column", "social_welfare", "社会公益组织", "social welfare organisation"),
    ("column", "legal_services", "法律服务机构", "legal services"),
    ("column", "other_org", "其他", "other organisation"),
    ("column", "total", "总计", "total"),
    # Table 4
    ("row", "review", "行政复议", "administrative review"),
    ("row", "litigation_direct", "未经复议直接起诉", "litigation without review"),
    ("row", "litigation_after_review", "复议后起诉", "litigation after review"),
    ("column", "maintained", "结果维持", "upheld"),
    ("column", "corrected", "结果纠正", "corrected"),
    ("column", "other", "其他结果", "other result"),
    ("column", "pending", "尚未审结", "pending"),
    # issue codes
    ("issue", "identity_violated", "勾稽关系不成立", "accounting identity violated"),
    ("issue", "inferred_cell", "由勾稽关系推算的单元格", "cell inferred from an identity"),
    ("issue", "table_missing", "缺少表格（常为图片）", "table missing (often an image)"),
    ("issue", "cells_missing", "单元格缺失", "cells missing"),
    ("issue", "unparsed_row", "无法识别的行", "unparsed row"),
    ("issue", "mojibake", "乱码", "mojibake"),
    ("issue", "format_unknown", "格式无法识别", "format unknown"),
    ("issue", "unparsed_document", "文件无法读取", "document could not be read"),
    ("issue", "unsupported_attachment", "附件格式无法转换", "attachment format not supported"),
    ("issue", "converter_fallback", "改用备用转换工具", "read with the fallback converter"),
    ("issue", "ocr_low_confidence", "图片文字识别置信度低（数值未采用）", "OCR confidence too low (value not used)"),
    ("issue", "not_report", "图片中无表格、无报告内容（非年报）", "picture with no table and no report text (not a report)"),
    # cross-year checks (crossyear_checks; docs/schema.md "Cross-year checks")
    ("issue", "carryover_mismatch", "上年结转与上一年度结转下年度继续办理不一致",
     "carried over (Y) differs from carried forward (Y-1)"),
    ("issue", "in_force_mismatch", "现行有效件数与上一年度不衔接", "in force (Y) does not follow from Y-1"),
    # agency notes (agency_notes)
    ("note", "ocr_or_typo", "机关名称与所在栏目机关相差一字（识别或录入错误）",
     "agency name one character off the column's agency (OCR or typing)"),
    ("note", "outside_column", "报告机关不属于所在栏目的机关", "report's agency is not the column's agency"),
    # why a report is a copy of its group's canonical report (report_members.reason / evidence)
    ("reason", "attachment_of", "同一页面的附件", "attachment of the same page"),
    ("reason", "corrected_reissue", "更正（修订）后重新发布", "corrected re-issue"),
    ("reason", "mirror", "镜像或转载网站的副本", "copy on a mirror site"),
    ("reason", "reposted", "其他机关栏目转载", "reposted in another agency's column"),
    ("reason", "same_text", "正文相同", "same normalised text"),
    ("reason", "same_tables", "表格数据相同", "same tables"),
    ("reason", "same_agency_year", "同一机关同一年度的另一份报告", "another report of the same agency and year"),
    # administrative levels (agencies.level)
    ("level", "state_council", "国务院部门", "State Council bodies"),
    ("level", "province", "省级", "province level"),
    ("level", "city", "市级", "city (prefecture) level"),
    ("level", "county", "县级", "county level"),
    ("level", "township", "乡镇级", "township level"),
    ("level", "unknown", "层级不明", "level unknown"),
    # report formats
    ("format", "2021", "2021年新版格式（国办公开办函〔2021〕30号）", "2021 format"),
    ("format", "2019", "2019年格式（国办公开办函〔2019〕60号）", "2019 format"),
    ("format", "legacy", "2019年以前的旧格式", "pre-2019 format"),
    ("format", "unknown", "格式未知", "unknown"),
)
