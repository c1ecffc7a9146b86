"""Tables printed without ruling lines: rows and columns from the alignment of the words.

Used by ``crawler.report._ocr.read_tables`` on a picture where no ruled grid is found. Without lines no span is
visible, so the table comes back as one row per line of values: the labels left of the values (each label,
however many lines it wraps to, one cell; a group label beside its rows in a cell before the row's own),
then one cell per value column. Every slot is its own cell (``ids`` all distinct). The values are read like the
numbers of a ruled table (``read_numbers``), but their confidence stays under ``LOW_CONFIDENCE``: the row
and column a value lands in is a guess from alignment (bench/ocr.py --borderless measures how good a guess).
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.report._ocr_tables import (
    LOW_CONFIDENCE,
    Crop,
    Deadline,
    OcrTable,
    Page,
    cell_image,
    glyph_size,
    looks_numeric,
    read_label,
    read_numbers,
)

# Without lines a value may land in the wrong row or column, which no reading of its digits can tell: every
# value of such a table stays under LOW_CONFIDENCE (the parser's identities decide whether to believe it).
BORDERLESS_CONFIDENCE = LOW_CONFIDENCE - 1


@dataclass
class _Word:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (page pixels)
    crop: Crop
    numeric: bool

    @property
    def cx(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2


def _words(page: Page, glyph: float) -> list[_Word]:
    """Runs of ink closer than about a glyph's width, each with its crop."""
    import cv2

    join = cv2.dilate(page.ink, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, round(0.9 * glyph)), 1)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(join, connectivity=8)
    h, w = page.ink.shape
    out: list[_Word] = []
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if bh < 0.4 * glyph or bh > 6 * glyph or area < 10:
            continue
        box = (max(0, x - 4), max(0, y - 4), min(w - 1, x + bw + 4), min(h - 1, y + bh + 4))
        crop = cell_image(page, box)
        if crop is not None:
            out.append(_Word(box, crop, looks_numeric(crop)))
    return out


def _clusters(values: list[float], gap: float) -> list[list[float]]:
    groups: list[list[float]] = []
    for v in sorted(values):
        if groups and v - groups[-1][-1] <= gap:
            groups[-1].append(v)
        else:
            groups.append([v])
    return groups


def _value_columns(numbers: list[_Word], glyph: float) -> list[float]:
    """x centres of the columns of values: clusters of number centres that many lines share (a digit in a
    label, such as the 1 of 1.属于国家秘密, makes no column)."""
    clusters = _clusters([w.cx for w in numbers], 1.2 * glyph)
    biggest = max(len(c) for c in clusters)
    # in a table of one or two lines of values (Table 4 has a single line of fifteen), the fullest line marks
    # the columns
    by_line = _clusters([w.cy for w in numbers], 0.6 * glyph)
    fullest = max(by_line, key=len)
    anchors = [w.cx for w in numbers if min(fullest) <= w.cy <= max(fullest)] \
        if len(fullest) >= 3 and biggest <= 2 else []
    return [sum(c) / len(c) for c in clusters
            if len(c) >= min(biggest, max(2, biggest / 3)) or any(min(c) <= x <= max(c) for x in anchors)]


def read_borderless(page: Page, deadline: Deadline) -> list[OcrTable]:
    glyph = glyph_size(page.ink)
    words = _words(page, glyph)
    numbers = [w for w in words if w.numeric]
    if len(numbers) < 4:
        return []
    columns = _value_columns(numbers, glyph)
    if not columns:
        return []
    # a number far from every column is part of a label
    for word in numbers:
        if min(abs(c - word.cx) for c in columns) > 1.2 * glyph:
            word.numeric = False
    numbers = [w for w in words if w.numeric]
    if len(numbers) < 4:
        return []
    # lines of values: numbers whose centres are within half a glyph of each other vertically
    lines: list[list[_Word]] = []
    for word in sorted(numbers, key=lambda w: w.cy):
        if lines and abs(word.cy - sum(w.cy for w in lines[-1]) / len(lines[-1])) <= 0.6 * glyph:
            lines[-1].append(word)
        else:
            lines.append([word])
    if len(columns) < 2 and len(lines) < 2:
        return []
    left_edge = min(w.box[0] for w in numbers)
    # labels: words left of the values, each given to the nearest line of values
    centres = [sum(w.cy for w in line) / len(line) for line in lines]
    spacing = min((b - a for a, b in zip(centres, centres[1:], strict=False)), default=3 * glyph)
    labels: list[list[_Word]] = [[] for _ in lines]
    for word in words:
        if word.numeric or word.box[2] > left_edge:
            continue
        k = min(range(len(lines)), key=lambda i: abs(centres[i] - word.cy))
        if abs(centres[k] - word.cy) <= max(spacing, 2 * glyph):
            labels[k].append(word)
    readings = dict(zip(map(id, numbers), read_numbers([w.crop for w in numbers], deadline), strict=True))
    # above the first full line of values, a line of a few doubtful "numbers" is the header's characters that
    # looked like digits (业 is two strokes of one height)
    first_full = next((k for k, line in enumerate(lines) if 2 * len(line) >= len(columns)), 0)
    sparse = [line for line in lines[:first_full]
              if all(readings[id(w)][1] < LOW_CONFIDENCE for w in line)]
    if sparse:
        for line in sparse:
            for word in line:
                word.numeric = False
        lines = [line for line in lines if line not in sparse]
        numbers = [w for line in lines for w in line]
        if not lines:
            return []
        left_edge = min(w.box[0] for w in numbers)
        centres = [sum(w.cy for w in line) / len(line) for line in lines]
        spacing = min((b - a for a, b in zip(centres, centres[1:], strict=False)), default=3 * glyph)
        labels = [[] for _ in lines]
        for word in words:
            if word.numeric or word.box[2] > left_edge:
                continue
            k = min(range(len(lines)), key=lambda i: abs(centres[i] - word.cy))
            if abs(centres[k] - word.cy) <= max(spacing, 2 * glyph):
                labels[k].append(word)
    label_cells: list[list[tuple[str, float]]] = []
    for group in labels:
        cells: list[tuple[str, float]] = []
        # words stacked at the same x (a wrapped label) make one cell, read top to bottom
        for stack in _stacks(group):
            if deadline.passed():
                cells.append(("", 0.0))
                continue
            texts = [read_label(w.crop) for w in sorted(stack, key=lambda w: (round(w.cy / glyph), w.cx))]
            cells.append(("".join(t for t, _ in texts), min(c for _, c in texts)))
        label_cells.append(cells)
    width = max((len(c) for c in label_cells), default=0)
    rows, confidence = [], []
    for k, line in enumerate(lines):
        pad = [("", 100.0)] * (width - len(label_cells[k]))
        top, bottom = min(w.box[1] for w in line), max(w.box[3] for w in line)
        values = [("", BORDERLESS_CONFIDENCE if _blank(page, columns, i, top, bottom) else 0.0)
                  for i in range(len(columns))]
        for word in sorted(line, key=lambda w: w.cx):
            c = min(range(len(columns)), key=lambda i: abs(columns[i] - word.cx))
            text, conf = readings[id(word)]
            conf = min(conf, BORDERLESS_CONFIDENCE)
            if values[c][0]:  # two values in one column: the alignment failed here
                text, conf = values[c][0] + text, min(conf, values[c][1], LOW_CONFIDENCE / 2)
            values[c] = (text, conf)
        cells = pad + label_cells[k] + values
        rows.append([t for t, _ in cells])
        confidence.append([c for _, c in cells])
    n = len(rows[0]) if rows else 0
    ids = [[r * n + c for c in range(n)] for r in range(len(rows))]
    return [OcrTable(rows, ids, confidence)]


def _stacks(words: list[_Word]) -> list[list[_Word]]:
    """Words grouped by overlapping x ranges, left to right."""
    stacks: list[list[_Word]] = []
    for word in sorted(words, key=lambda w: w.box[0]):
        if stacks and word.box[0] < max(w.box[2] for w in stacks[-1]):
            stacks[-1].append(word)
        else:
            stacks.append([word])
    return stacks


def _blank(page: Page, columns: list[float], i: int, top: int, bottom: int) -> bool:
    """No ink in column ``i`` between ``top`` and ``bottom``: a blank value, not an unread one."""
    left = round((columns[i - 1] + columns[i]) / 2) if i else round(columns[0] - (columns[1] - columns[0]) / 2
                                                                       if len(columns) > 1 else columns[0] - 20)
    right = round((columns[i] + columns[i + 1]) / 2) if i + 1 < len(columns) else round(
        columns[i] + (columns[i] - columns[i - 1]) / 2 if i else columns[i] + 20)
    return not page.ink[top:bottom, max(0, left):max(0, right)].any()
