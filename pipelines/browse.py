"""``make browse``: the catalog in Datasette on 127.0.0.1, with titles, descriptions, Chinese labels for the
canonical keys, and facets by year, agency, format and issue code.

Usage: python -m pipelines.browse [--catalog FILE] [--port N] [--host 127.0.0.1]

``--port 0`` takes any free port; the URL is printed on the first line of stdout once the socket is bound.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import socket
import sys
from pathlib import Path
from typing import Any

from scrapy.utils.project import get_project_settings

from pipelines.catalog.labels import LABELS
from pipelines.config import CatalogConfig

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _zh(kind: str) -> dict[str, str]:
    return {key: zh for k, key, zh, _en in LABELS if k == kind}


def _key_list(kind: str) -> str:
    return "; ".join(f"{key} = {zh}" for key, zh in _zh(kind).items())


def metadata(db_name: str = "catalog") -> dict[str, Any]:
    """Datasette metadata for the catalog: table titles and descriptions (English and Chinese), column
    descriptions, facets, and canned queries that put the Chinese form labels next to the canonical keys."""
    labelled_cells = (  # canonical reports only; :agency matches the canonical name or the name as printed
        "SELECT coalesce(a.name, r.agency) AS agency, r.year, r.format, c.table_key, lt.zh AS 表, c.row_key,"
        " lr.zh AS 行, c.column_key, lc.zh AS 列, c.value, c.inferred FROM table_cells c"
        " JOIN reports r ON r.id = c.report_id JOIN report_members m ON m.report_id = r.id AND m.canonical = 1"
        " LEFT JOIN agencies a ON a.agency_id = m.agency_id"
        " LEFT JOIN labels lt ON lt.kind = 'table' AND lt.key = c.table_key"
        " LEFT JOIN labels lr ON lr.kind = 'row' AND lr.key = c.row_key"
        " LEFT JOIN labels lc ON lc.kind = 'column' AND lc.key = c.column_key"
        " WHERE (:agency = '' OR r.agency = :agency OR a.name = :agency) AND (:year = '' OR r.year = :year)"
        " ORDER BY 1, r.year, c.table_key, c.row_order, c.column_order LIMIT 2000"
    )
    received_by_year = (  # canonical reports only, per administrative level (never summed across levels)
        "SELECT coalesce(a.level, 'unknown') AS 层级, r.year AS 年度, count(DISTINCT r.id) AS 报告数,"
        " sum(c.value) AS 本年新收申请, (SELECT count(*) FROM report_members x WHERE x.canonical = 0) AS"
        " 副本不计 FROM reports r JOIN report_members m ON m.report_id = r.id AND m.canonical = 1"
        " LEFT JOIN agencies a ON a.agency_id = m.agency_id LEFT JOIN table_cells c ON c.report_id = r.id"
        " AND c.table_key = 'applications' AND c.row_key = 'new_received' AND c.column_key = 'total'"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    queries = dict(_identity_queries())
    return {
        "title": "nianbao 年报 catalog",
        "description": "政府信息公开工作年度报告: reports found by the crawler, parsed into sections and the official "
                       "tables (表二 主动公开, 表三 申请处理, 表四 复议诉讼), with the WARC capture behind each. "
                       "Rebuilt identically by `scrapy rebuild` from the WARCs.",
        "databases": {
            db_name: {
                "tables": {
                    "reports": {
                        "title": "reports 年度报告",
                        "description": "One row per report URL (its newest capture), copies included: "
                                       "report_members says which one of each agency and year is counted. format: "
                                       + _key_list("format"),
                        "facets": ["year", "agency", "format"],
                        "sort_desc": "year",
                        "label_column": "title",
                        "columns": {
                            "title": "标题 title as printed", "agency": "机关 publishing agency",
                            "year": "年度 report year", "published": "发布日期 publication date",
                            "format": "表格格式 form version: 2021, 2019, legacy (pre-2019), unknown",
                            "parser_version": "parser that produced this row",
                            "warc_file": "WARC file of the capture", "warc_offset": "byte offset of its record",
                            "warc_record_id": "WARC-Record-ID of the response record",
                            "captured_at": "抓取时间 capture time (UTC)",
                            "source": "sources.toml entry that found it", "list_title": "title in the column listing",
                            "ocr_pages": "pictures read by OCR (NULL: none)",
                        },
                    },
                    "table_cells": {
                        "title": "table_cells 表格数据（长表）",
                        "description": "Every cell of Tables 2–4 in long form; inferred = 1 when filled from the "
                                       "accounting identities (勾稽关系). Rows: " + _key_list("row"),
                        "facets": ["table_key", "row_key", "column_key", "inferred", "source"],
                        "columns": {
                            "table_key": "表: " + _key_list("table"),
                            "row_key": "行 (see the labels table for Chinese)",
                            "column_key": "列: " + _key_list("column"),
                            "value": "数值 (NULL = blank in the source, never an invented zero)",
                            "inferred": "1 = 由勾稽关系推算",
                            "source": "读取方式: text (the document's text) | ocr (a picture, read by OCR)",
                            "confidence": "OCR 置信度 0–100 (NULL: read from text)",
                        },
                    },
                    "issues": {
                        "title": "issues 校验问题",
                        "description": "Validation findings per report. Codes: " + _key_list("issue"),
                        "facets": ["code", "table_key"],
                        "columns": {"code": "问题类型 issue code", "detail": "说明 detail"},
                    },
                    "sections": {
                        "title": "sections 章节",
                        "description": "Report sections. key: " + _key_list("section"),
                        "facets": ["key"],
                    },
                    "captures": {
                        "title": "captures 抓取记录",
                        "description": "Every report capture (a URL may have several across crawl runs); outcome "
                                       "report / failed / not_report.",
                        "facets": ["outcome", "role", "source", "run_id"],
                    },
                    "crawl_runs": {
                        "title": "crawl_runs 抓取批次",
                        "description": "Per crawl run, per report: new, changed, unchanged (payload digest "
                                       "against the latest earlier run), failed to parse, and not_rechecked (known "
                                       "from an earlier run, not captured in this one: mostly still fresh).",
                    },
                    "agency_year_figures": {
                        "title": "agency_year_figures 机关×年度 主要数据",
                        "description_html": _folded(
                            "One row per canonical report (one per agency and year; copies set aside): the totals "
                            "of Table 3 (本年新收, 上年结转, 办理结果, 结转下年度) and Table 4 (行政复议, 行政诉讼).",
                            "Blank = not printed (never an invented 0). crossyear_mismatches counts this report's "
                            "cells in crossyear_checks; copies counts the reports of its group set aside "
                            "(report_members). Every figure with its inferred/issue flags: `scrapy export --table "
                            "key_figures`."),
                        "facets": ["level", "province", "year", "format"],
                        "sort": "agency",
                        "columns": {
                            "agency": "机关 canonical agency", "level": "行政层级", "province": "省份",
                            "new_received": "本年新收政府信息公开申请数量（总计）",
                            "carried_over": "上年结转政府信息公开申请数量（总计）", "granted": "予以公开",
                            "partially_granted": "部分公开", "denied": "不予公开（合计）",
                            "unable": "无法提供（合计）", "not_processed": "不予处理（合计）",
                            "other_handling": "其他处理（合计）", "total_processed": "办理结果总计",
                            "carried_forward": "结转下年度继续办理", "review": "行政复议（总计）",
                            "litigation": "行政诉讼（总计）", "issue_count": "解析问题数",
                            "crossyear_mismatches": "跨年度不一致单元格数", "copies": "副本数",
                        },
                    },
                    "agencies": {
                        "title": "agencies 机关",
                        "description_html": _folded(
                            "One row per canonical agency: printed names that differ only by 人民政府/政府, "
                            "abbreviation, spacing, Traditional characters or a one-character misprint of the "
                            "column's agency are one agency (agency_aliases).",
                            "level: " + _key_list("level") + ". County-level cities read as city (a name does "
                            "not say which 市 are county-level). docs/schema.md, Agencies."),
                        "facets": ["level", "province"],
                        "label_column": "name",
                    },
                    "agency_aliases": {
                        "title": "agency_aliases 机关名称别名",
                        "description": "Every name as printed, with the agency it was matched to and why "
                                       "(canonical, spelling, variant, ocr_or_typo, column).",
                        "facets": ["reason"],
                    },
                    "agency_notes": {
                        "title": "agency_notes 机关名称与栏目不一致",
                        "description": "Reports whose printed agency disagrees with the column they were found "
                                       "in: " + _key_list("note"),
                        "facets": ["code"],
                    },
                    "report_groups": {
                        "title": "report_groups 报告组",
                        "description_html": _folded(
                            "One group per agency, year and kind; canonical_report_id is the report every count "
                            "uses.",
                            "The rule: fewest parse issues, then HTML over PDF over DOC, then earliest capture "
                            "(then URL). corrected = a corrected re-issue is in the group; tables_differ = "
                            "members whose tables differ from the canonical one's."),
                        "facets": ["year", "copies", "corrected", "tables_differ"],
                    },
                    "report_members": {
                        "title": "report_members 报告与副本",
                        "description_html": _folded(
                            "Every report with its group; canonical = 1 for the one counted, else copy_of names it "
                            "and reason says why.",
                            "reason / evidence: " + _key_list("reason")),
                        "facets": ["canonical", "reason", "medium", "corrected"],
                    },
                    "crossyear_checks": {
                        "title": "crossyear_checks 跨年度校验",
                        "description_html": _folded(
                            "Consecutive canonical reports of one agency that do not join up: carryover_mismatch "
                            "(上年结转 of year Y ≠ 结转下年度继续办理 of Y−1, per column) and in_force_mismatch "
                            "(现行有效件数, 2021 form).",
                            "Reported, not enforced: value is year Y's, previous_value year Y−1's, expected what "
                            "Y−1 implies. docs/schema.md, Cross-year checks."),
                        "facets": ["code", "column_key", "year"],
                    },
                    "labels": {
                        "title": "labels 中文标签",
                        "description": "Chinese and English labels of every canonical key (sections, tables, rows, "
                                       "columns, issue codes, formats).",
                        "facets": ["kind"],
                    },
                },
                "queries": {
                    **queries,
                    "cells_with_labels": {
                        "title": "表格数据（中文标签） Table cells with their Chinese labels",
                        "sql": labelled_cells,
                    },
                    "applications_by_year": {
                        "title": "各层级各年度报告数与本年新收申请 Canonical reports and applications received per "
                                 "level and year",
                        "sql": received_by_year,
                    },
                },
            }
        },
    }


def _folded(summary: str, more: str) -> str:
    """A description whose first sentence shows and the rest folds away, so the rows stay above the fold."""
    body = f"<p>{html.escape(more)}</p>" if more else ""
    return f"<details><summary>{html.escape(summary)}</summary>{body}</details>"


_CANONICAL = ("JOIN report_members m ON m.report_id = r.id AND m.canonical = 1"
              " LEFT JOIN agencies a ON a.agency_id = m.agency_id")
# (name, Chinese title, English title, WHERE over issues i): one canned query per accounting identity
IDENTITIES: tuple[tuple[str, str, str, str], ...] = (
    ("identity_balance", "一+二 ≠ （七）+四", "new + carried over ≠ processed + carried forward",
     "i.table_key = 'applications' AND i.row_key = 'new_received'"),
    ("identity_processed_sum", "（七）总计 ≠ 各办理结果之和", "total processed ≠ sum of the outcome rows",
     "i.table_key = 'applications' AND i.detail LIKE '（七）总计=%'"),
    ("identity_row_total", "总计 ≠ 六类申请人之和", "total column ≠ sum of the six applicant columns",
     "i.table_key = 'applications' AND i.detail LIKE '%six applicant columns%'"),
    ("identity_review_total", "表四 总计 ≠ 四项结果之和", "Table 4 total ≠ sum of the four results",
     "i.table_key = 'review_litigation'"),
)


def _identity_queries() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for name, zh, en, where in IDENTITIES:
        out.append((name, {
            "title": f"勾稽关系：{zh} — {en}",
            "description": "Canonical reports that violate this identity (issues, code identity_violated).",
            "sql": ("SELECT a.name AS agency, a.level, r.year, i.row_key, i.column_key, i.detail, r.url, r.id AS"
                    f" report_id FROM issues i JOIN reports r ON r.id = i.report_id {_CANONICAL}"
                    f" WHERE i.code = 'identity_violated' AND {where} ORDER BY a.name, r.year, i.position"),
        }))
    for code, zh, en in (("carryover_mismatch", "上年结转 ≠ 上一年度结转下年度继续办理",
                          "carried over (Y) ≠ carried forward (Y−1)"),
                         ("in_force_mismatch", "现行有效件数与上一年度不衔接", "in force (Y) does not follow from Y−1")):
        out.append((code, {
            "title": f"跨年度：{zh} — {en}",
            "description": "Consecutive canonical reports of one agency that do not join up (crossyear_checks).",
            "sql": ("SELECT a.name AS agency, a.level, x.year, x.row_key, x.column_key, x.value,"
                    " x.previous_value, x.expected, r.url, p.url AS previous_url FROM crossyear_checks x"
                    " JOIN reports r ON r.id = x.report_id JOIN reports p ON p.id = x.previous_report_id"
                    f" LEFT JOIN agencies a ON a.agency_id = x.agency_id WHERE x.code = '{code}'"
                    " ORDER BY a.name, x.year, x.column_key"),
        }))
    out.append(("copies_set_aside", {
        "title": "副本 Copies set aside, with the report counted instead and why",
        "sql": ("SELECT a.name AS agency, r.year, m.reason, m.evidence, m.medium, r.url, c.url AS canonical_url,"
                " r.issue_count, c.issue_count AS canonical_issue_count FROM report_members m"
                " JOIN reports r ON r.id = m.report_id JOIN reports c ON c.id = m.copy_of"
                " LEFT JOIN agencies a ON a.agency_id = m.agency_id WHERE m.canonical = 0"
                " ORDER BY a.name, r.year, m.rank"),
    }))
    return out


def fold_descriptions(meta: dict[str, Any]) -> dict[str, Any]:
    """Every table's description and column descriptions folded into one ``<details>``: the first sentence shows,
    the rest (and the column list Datasette would print above the rows) opens on a click, so a page opens on its
    data."""
    for database in meta.get("databases", {}).values():
        for table in database.get("tables", {}).values():
            columns = table.pop("columns", None) or {}
            listing = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in columns.items())
            if "description" in table:
                text = table.pop("description")
                head, dot, rest = text.partition(". ")
                table["description_html"] = _folded(head + dot.strip(), rest) if rest else _folded(text, "")
            if listing:
                base = table.get("description_html", _folded(table.get("title", ""), ""))
                table["description_html"] = base.replace("</details>", f"<dl>{listing}</dl></details>")
    return meta


def make_datasette(catalog: Path) -> Any:
    # imported when the catalog is served, not with this module (tests and tools read its metadata): Datasette
    # and uvicorn cost ~0.5 s and ~45 MB to import
    from datasette.app import Datasette

    return Datasette(files=[str(catalog)], metadata=fold_descriptions(metadata(catalog.stem)),
                     settings={"default_page_size": 50, "sql_time_limit_ms": 3000})


async def _serve(catalog: Path, sock: socket.socket) -> None:
    import uvicorn  # with Datasette: see make_datasette

    ds = make_datasette(catalog)
    await ds.invoke_startup()
    config = uvicorn.Config(ds.app(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    await server.serve(sockets=[sock])


def bind(host: str, port: int) -> socket.socket:
    if host not in LOCAL_HOSTS:
        raise ValueError(f"--host {host}: the catalog is served on this machine only (127.0.0.1)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)  # connections made before the server loop starts wait in the backlog
    return sock


def default_catalog() -> Path:
    """CATALOG_PATH of the project settings; when that is missing, the catalog `make demo` writes."""
    config = CatalogConfig.from_settings(get_project_settings())
    demo = Path("data") / "demo" / "catalog.sqlite"
    if not config.path.exists() and demo.exists():
        return demo
    return config.path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.browse", description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", type=Path, help="catalog file (default: CATALOG_PATH, else data/demo/catalog.sqlite)")
    ap.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (default), localhost or ::1")
    ap.add_argument("--port", type=int, default=8001, help="TCP port (default: 8001; 0 = any free port)")
    args = ap.parse_args(argv)
    catalog = args.catalog or default_catalog()
    if not catalog.exists():
        print(f"browse: no catalog at {catalog}: run `make demo` or a crawl first, or pass --catalog FILE",
              file=sys.stderr)
        return 1
    try:
        sock = bind(args.host, args.port)
    except (ValueError, OSError) as e:
        print(f"browse: {e}", file=sys.stderr)
        return 1
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"nianbao browse: serving {catalog} at http://{shown}:{port}/", flush=True)
    try:
        asyncio.run(_serve(catalog, sock))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
