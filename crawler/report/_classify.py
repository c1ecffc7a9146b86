"""Which standard table a grid is, from its own words: a table is recognised by its labels wherever it
sits (its section heading may be missing, misnumbered or inside the table) and however it is split."""

from __future__ import annotations

import re

from crawler.report._blocks import Block, Grid
from crawler.report._digits import is_blank, read_number
from crawler.report._labels import app_row_key

_APP_COLUMNS = re.compile(r"自然人|商业企业|科研机构|社会公益|法律服务|申请人情况|勾稽关系|法人或其他组织")
_ACTIVE = re.compile(r"第二十条|信息内容|规章|规范性文件|行政许可|行政处罚|行政强制|行政事业性收费|政府集中采购|"
                     r"对外管理服务")
_REVIEW = re.compile(r"行政复议|行政诉讼|复议后起诉|直接起诉|结果维持|结果纠正|尚未审结")


def _number_cell(cell: str) -> bool:
    return is_blank(cell) or read_number(cell) is not None


def classify(grid: Grid) -> str | None:
    """"applications", "active_disclosure", "review_litigation", "numbers" (a grid of numbers only, the body
    of a table whose header is elsewhere) or None."""
    app = review = active = 0
    seen: set[str] = set()
    for row in grid.rows:
        label = "".join(dict.fromkeys(c for c in row if c and not _number_cell(c)))
        if not label:
            continue
        key = app_row_key(label)
        if key is not None and key not in seen:
            seen.add(key)
            app += 1
        app += len(set(_APP_COLUMNS.findall(label)))
        active += len(set(_ACTIVE.findall(label)))
        review += len(set(_REVIEW.findall(label)))
    best = max(app, active, review)
    if best == 0:
        if all(_number_cell(c) for row in grid.rows for c in row):
            return "numbers"
        return None
    if best < 2:
        return None
    if app == best:
        return "applications"
    if review == best:
        return "review_litigation"
    return "active_disclosure"


def table_grids(blocks: list[Block]) -> dict[str, list[Grid]]:
    """The grids of each table in document order; a grid of numbers only goes with the table before it."""
    out: dict[str, list[Grid]] = {"applications": [], "active_disclosure": [], "review_litigation": []}
    last: str | None = None
    for b in blocks:
        if not isinstance(b, Grid):
            continue
        kind = classify(b)
        if kind == "numbers":
            kind = last
        if kind is None:
            continue
        out[kind].append(b)
        last = kind
    return out
