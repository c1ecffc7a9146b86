"""Table 2 (主动公开政府信息情况): per-row fields named by the column headers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.report._blocks import Grid
from crawler.report._digits import cell_number, is_blank, splits
from crawler.report._labels import ACTIVE_START_RE, active_field, active_row_key
from crawler.report._model import Number
from crawler.report._schema import ACTIVE_ROWS

_ZONE = re.compile(r"第二十条|信息内容")
_RUN = re.compile(r"[ \t|｜]*([-−－]?[0-9][0-9.\s\-−－|｜]*)")


@dataclass
class ActiveObs:
    key: str
    values: dict[str, Number | None] | None  # None: the digits could not be split in one way
    raw: str


def grid_active(grid: Grid, fmt: str) -> list[ActiveObs]:
    fields_by_row = ACTIVE_ROWS[fmt]
    out: list[ActiveObs] = []
    header: list[str | None] | None = None
    for row in grid.rows:
        label = next((c for c in row if c), "")
        if "信息内容" in label:
            header = [active_field(c) if c else None for c in row]
            continue
        key = active_row_key(label)
        if key is None or key not in fields_by_row:
            continue
        fields = fields_by_row[key]
        values: dict[str, Number | None] = dict.fromkeys(fields)
        rest = row[1:]
        hdr = header[1:] if header is not None and len(header) == len(row) else None
        if hdr is not None and any(f in fields for f in hdr):
            for f, c in zip(hdr, rest, strict=True):
                if f in fields and values[f] is None and not is_blank(c):
                    values[f] = cell_number(c)
        else:
            cells = [c for c in rest if c]
            if len(row) > 1 and len(set(rest)) == 1:
                cells = cells[:1]  # one value spanning several columns
            for f, c in zip(fields, cells, strict=False):
                values[f] = None if is_blank(c) else cell_number(c)
        out.append(ActiveObs(key, values, "|".join(row)))
    return out


def text_active(text: str, fmt: str) -> list[ActiveObs]:
    zone = _ZONE.search(text)
    if not zone:
        return []
    fields_by_row = ACTIVE_ROWS[fmt]
    body = text[zone.start():]
    matches = list(ACTIVE_START_RE.finditer(body))
    out: list[ActiveObs] = []
    for i, m in enumerate(matches):
        key = m.lastgroup
        if key is None or key not in fields_by_row:
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        run_m = _RUN.match(body, m.end(), end)
        if not run_m:
            continue
        run = run_m.group(1).strip()
        fields = fields_by_row[key]
        choices = splits(run, len(fields))
        if choices is None or len(choices) != 1:
            out.append(ActiveObs(key, None, run))
            continue
        out.append(ActiveObs(key, dict(zip(fields, choices[0], strict=True)), run))
    return out
