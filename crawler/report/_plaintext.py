"""Text to blocks: the archive's page.txt header, ``|``-per-cell tables, markdown tables, plain lines."""

from __future__ import annotations

import re

from crawler.report._blocks import Block, Grid, cell_text, line_text
from crawler.report._files import SPAN_LEFT, SPAN_UP

_DUMP_RULE = re.compile(r"^=+\s*正文\s*=+$")
_DUMP_FIELD = re.compile(r"^(标题|发布时间|文号|发布机构|栏目|原文链接|来源|发文机关|成文日期)\s*[:：]\s*(.*)$")
_MD_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def split_dump_header(text: str) -> tuple[str, dict[str, str]]:
    """Page dumps start with ``标题: …`` lines and a ``==== 正文 ====`` rule; return (body, header fields)."""
    lines = text.split("\n", 40)
    for i, line in enumerate(lines[:40]):
        if _DUMP_RULE.match(line.strip()):
            fields: dict[str, str] = {}
            for head in lines[:i]:
                m = _DUMP_FIELD.match(head.strip())
                if m and m.group(2).strip():
                    fields[m.group(1)] = m.group(2).strip()
            return "\n".join(lines[i + 1:]), fields
    return text, {}


def text_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    i, n = 0, len(lines)
    while i < n:
        raw = lines[i].strip()
        if lines[i].rstrip() == "|":
            i = _pipe_table(lines, i, blocks)
            continue
        if raw.startswith("|") and raw.count("|") >= 3:
            i = _markdown_table(lines, i, blocks)
            continue
        line = line_text(raw)
        if line:
            blocks.append(line)
        i += 1
    return blocks


def _pipe_table(lines: list[str], i: int, blocks: list[Block]) -> int:
    """Tables flattened one cell per line: a lone ``|`` opens a row, each ``text |`` line is a cell."""
    rows: list[list[str]] = []
    n = len(lines)
    while i < n and lines[i].rstrip() == "|":
        i += 1
        row: list[str] = []
        while i < n:
            line = lines[i].rstrip()
            if line == "|" or "|" not in line:
                break
            i += 1
            if not line.strip().strip("|"):
                if line[:1].isspace() and line.strip() == "|":
                    row.append("")  # a blank cell: " |"
                continue  # padding left by spanned columns: "|||"
            row.append(cell_text(line.split("|", 1)[0]))
        rows.append(row)
    if rows:
        blocks.append(Grid(rows))
    return i


def _markdown_table(lines: list[str], i: int, blocks: list[Block]) -> int:
    rows: list[list[str]] = []
    n = len(lines)
    while i < n:
        raw = lines[i].strip()
        if not (raw.startswith("|") and raw.count("|") >= 2):
            break
        i += 1
        if _MD_SEPARATOR.match(raw):
            continue
        inner = raw[1:-1] if raw.endswith("|") else raw[1:]
        rows.append([cell_text(c) for c in inner.split("|")])
    if rows:
        blocks.append(_spanned(rows))
    return i


def _spanned(rows: list[list[str]]) -> Grid:
    """A markdown table's grid; slots marked as covered by the cell to the left or above (the PDF reader's
    ``SPAN_LEFT`` / ``SPAN_UP``) take that cell's text and identity, as an HTML table's spans do."""
    if not any(c in (SPAN_LEFT, SPAN_UP) for row in rows for c in row):
        return Grid(rows)
    out: list[list[str]] = []
    ids: list[list[int]] = []
    serial = 0
    for r, row in enumerate(rows):
        texts: list[str] = []
        rid: list[int] = []
        for c, cell in enumerate(row):
            source = None
            if cell == SPAN_LEFT and c > 0:
                source = (texts[c - 1], rid[c - 1])
            elif cell == SPAN_UP and r > 0 and c < len(out[r - 1]):
                source = (out[r - 1][c], ids[r - 1][c])
            if source is None:
                serial += 1
                source = ("" if cell in (SPAN_LEFT, SPAN_UP) else cell, serial)
            texts.append(source[0])
            rid.append(source[1])
        out.append(texts)
        ids.append(rid)
    return Grid(out, ids)
