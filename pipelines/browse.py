"""``make browse``: the catalog in Datasette on 127.0.0.1, with titles, descriptions, Chinese labels for the
canonical keys, and facets by year, agency, format and issue code.

Usage: python -m pipelines.browse [--catalog FILE] [--port N] [--host 127.0.0.1]

``--port 0`` takes any free port; the URL is printed on the first line of stdout once the socket is bound.
"""

from __future__ import annotations

import argparse
import asyncio
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
    labelled_cells = (
        "SELECT r.agency, r.year, r.format, c.table_key, lt.zh AS 表, c.row_key, lr.zh AS 行,"
        " c.column_key, lc.zh AS 列, c.value, c.inferred FROM table_cells c JOIN reports r ON r.id = c.report_id"
        " LEFT JOIN labels lt ON lt.kind = 'table' AND lt.key = c.table_key"
        " LEFT JOIN labels lr ON lr.kind = 'row' AND lr.key = c.row_key"
        " LEFT JOIN labels lc ON lc.kind = 'column' AND lc.key = c.column_key"
        " WHERE (:agency = '' OR r.agency = :agency) AND (:year = '' OR r.year = :year)"
        " ORDER BY r.agency, r.year, c.table_key, c.row_order, c.column_order LIMIT 2000"
    )
    received_by_year = (
        "SELECT r.year AS 年度, count(DISTINCT r.id) AS 报告数, sum(c.value) AS 本年新收申请"
        " FROM reports r LEFT JOIN table_cells c ON c.report_id = r.id AND c.table_key = 'applications'"
        " AND c.row_key = 'new_received' AND c.column_key = 'total' GROUP BY r.year ORDER BY r.year"
    )
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
                        "description": "One row per report URL (its newest capture). format: " + _key_list("format"),
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
                        },
                    },
                    "table_cells": {
                        "title": "table_cells 表格数据（长表）",
                        "description": "Every cell of Tables 2–4 in long form; inferred = 1 when filled from the "
                                       "accounting identities (勾稽关系). Rows: " + _key_list("row"),
                        "facets": ["table_key", "row_key", "column_key", "inferred"],
                        "columns": {
                            "table_key": "表: " + _key_list("table"),
                            "row_key": "行 (see the labels table for Chinese)",
                            "column_key": "列: " + _key_list("column"),
                            "value": "数值 (NULL = blank in the source, never an invented zero)",
                            "inferred": "1 = 由勾稽关系推算",
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
                    "labels": {
                        "title": "labels 中文标签",
                        "description": "Chinese and English labels of every canonical key (sections, tables, rows, "
                                       "columns, issue codes, formats).",
                        "facets": ["kind"],
                    },
                },
                "queries": {
                    "cells_with_labels": {
                        "title": "表格数据（中文标签） Table cells with their Chinese labels",
                        "sql": labelled_cells,
                    },
                    "applications_by_year": {
                        "title": "各年度报告数与本年新收申请 Reports and applications received per year",
                        "sql": received_by_year,
                    },
                },
            }
        },
    }


def make_datasette(catalog: Path) -> Any:
    # imported when the catalog is served, not with this module (tests and tools read its metadata): Datasette
    # and uvicorn cost ~0.5 s and ~45 MB to import
    from datasette.app import Datasette

    return Datasette(files=[str(catalog)], metadata=metadata(catalog.stem),
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
