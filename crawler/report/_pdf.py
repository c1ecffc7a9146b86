"""PDF reports to text: text lines and ruled tables (as markdown rows) in reading order.

PDFium (pypdfium2) interprets the file; the layout is read here from two things it gives, each in page space:
the characters with their boxes, and the straight segments of the path objects (table rules). Tables are found
the way pdfplumber's "lines" strategy finds them, with its default tolerances, so the text is the one the
parser was written against; PDFium does the content-stream work in C++, several times less CPU than pdfminer.

PDFium's text page skips a text run whose box has no width. A run of one character in a font that is not
embedded has none when no system font can stand in for it (a Chinese font such as STSong or SimSun on a
machine without a CJK font: ``scripts/install-system.sh`` installs one). A page with such a run is read with
pdfplumber (pdfminer) instead, which gives the same text from the file alone.

- Edges: every horizontal or vertical segment of a path (a rectangle gives its four sides). Edges within
  ``SNAP`` points of each other across their direction are snapped to their mean; collinear edges with gaps
  up to ``JOIN`` are joined; edges shorter than ``MIN_EDGE`` are dropped.
- Intersections of vertical and horizontal edges (within ``SNAP``); a cell is the smallest rectangle whose
  four corners are intersections joined by edges; cells sharing corners form a table (two cells at least).
- A table's rows are its cells grouped by top edge, one slot per distinct left edge in the table (``SPAN_LEFT``
  or ``SPAN_UP`` where a cell spanning from an earlier column or row covers the slot, ``""`` where none does); a
  cell's text is the characters whose centre lies in it, lines joined without a separator. A row a page break
  cut in two is joined back (:func:`_join_split_rows`).
- Text outside tables: characters clustered into lines by their vertical middles, left to right, a space
  where the gap exceeds ``SNAP`` points.
- A table missing its top or bottom rule (continued from the page before; a first row marked ``border-top:none``)
  is closed where three vertical rules or more start or end together; a cell past the page's edge is marked
  ``CUT`` (its number may be cut short).
"""

from __future__ import annotations

import bisect
import ctypes
import io
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Any, TypeVar

from crawler.report._digits import is_blank, read_number
from crawler.report._files import SPAN_LEFT, SPAN_UP, AttachmentError, md_row
from crawler.report._labels import match_active_row, match_app_row, match_review_group
from crawler.textfix.charmodel import simplified_char

if TYPE_CHECKING:
    from pypdfium2 import PdfPage

T = TypeVar("T")

SNAP = 3.0  # points: pdfplumber's snap, join and intersection tolerances, and its x/y text tolerances
JOIN = 3.0
MIN_EDGE = 3.0
MAX_PAGES = 200  # a report is a few pages; more is not a report, and reading it would only cost time
MAX_OBJECTS = 100_000  # path objects per page (nested ones included): past this the page's rules are not read

# A cell that runs past the page's edge (a table wider than the page) shows only part of what it holds: "204" can
# print as "20". Its text gets this mark, so that no number is read from it (the parser reports the cell).
CUT = "✂"

_LOCK = threading.Lock()  # PDFium is not thread-safe


def pdf_lock() -> threading.Lock:
    """The lock every use of PDFium in this process holds (rendering pages for OCR too)."""
    return _LOCK


@dataclass(slots=True)
class _Char:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def h_mid(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def v_mid(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(slots=True)
class _Edge:
    vertical: bool
    pos: float  # x of a vertical edge, y (top-down) of a horizontal one
    start: float  # along the edge: top of a vertical edge, x0 of a horizontal one
    end: float
    ident: int = field(default=0)


Cell = tuple[float, float, float, float]  # x0, top, x1, bottom


def pdf_text(content: bytes) -> str:
    import pypdfium2 as pdfium

    pages: list[list[str | _TablePiece]] = []
    with _LOCK:
        try:
            doc = pdfium.PdfDocument(content)
        except Exception as e:  # noqa: BLE001 - PdfiumError, or anything the bytes provoke
            raise AttachmentError(f"unreadable PDF: {type(e).__name__}: {e}") from e
        try:
            count = len(doc)
            if count > MAX_PAGES:
                raise AttachmentError(f"PDF has {count} pages, over {MAX_PAGES}: not read")
            for index in range(count):
                page = doc[index]
                try:
                    pages.append(list(_pdfminer_page(content, index)) if _loses_runs(page) else _page_pieces(page))
                finally:
                    page.close()
        except AttachmentError:
            raise
        except Exception as e:  # noqa: BLE001 - PDFium errors on hostile files
            raise AttachmentError(f"unreadable PDF: {type(e).__name__}: {e}") from e
        finally:
            doc.close()
    _join_split_rows(pages)
    return "\n".join(str(piece) for page in pages for piece in page)


def _loses_runs(page: PdfPage) -> bool:
    """Whether PDFium's text page would skip a run of this page: a text object with no width in a font the
    file does not embed (see the module's docstring)."""
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()

    def lost(obj: object, depth: int) -> bool:
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < 8:
            return any(lost(pdfium_c.FPDFFormObj_GetObject(obj, i), depth + 1)
                       for i in range(pdfium_c.FPDFFormObj_CountObjects(obj)))
        if kind != pdfium_c.FPDF_PAGEOBJ_TEXT:
            return False
        if not pdfium_c.FPDFPageObj_GetBounds(obj, *(ctypes.byref(v) for v in (left, bottom, right, top))):
            return False
        if abs(right.value - left.value) >= 0.001:
            return False
        font = pdfium_c.FPDFTextObj_GetFont(obj)
        return bool(font) and not pdfium_c.FPDFFont_GetIsEmbedded(font)

    raw = page.raw
    return any(lost(pdfium_c.FPDFPage_GetObject(raw, i), 0) for i in range(pdfium_c.FPDFPage_CountObjects(raw)))


def _pdfminer_page(content: bytes, index: int) -> list[str]:
    """One page read with pdfplumber: text lines outside its tables and the tables, by top edge."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(content), pages=[index + 1]) as pdf:
        page = pdf.pages[0]
        tables = page.find_tables()
        boxes = [t.bbox for t in tables]

        def outside(obj: dict[str, Any]) -> bool:
            if "x0" not in obj:
                return True
            x = (obj["x0"] + obj["x1"]) / 2
            y = (obj["top"] + obj["bottom"]) / 2
            return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

        body = page.filter(outside) if boxes else page
        pieces: list[tuple[float, str]] = [(float(line["top"]), line["text"]) for line in body.extract_text_lines()]
        for t in tables:
            texts: dict[Cell, str] = {}
            for row, printed in zip(t.rows, t.extract(), strict=True):
                for cell, text in zip(row.cells, printed, strict=True):
                    if cell is not None:
                        texts[tuple(float(v) for v in cell)] = text or ""  # type: ignore[index]
            rows = [md_row(slots) for slots in _slot_texts(list(texts), texts.__getitem__)]
            pieces.append((float(t.bbox[1]), "\n" + "\n".join(rows) + "\n"))
    return [text for _, text in sorted(pieces, key=lambda p: p[0])]


def _page_pieces(page: PdfPage) -> list[str | _TablePiece]:
    height = float(page.get_height())
    chars = _chars(page, height)
    tables = _tables(_edges(page, height))
    boxes = [_bbox(t) for t in tables]

    def outside(c: _Char) -> bool:
        x, y = c.h_mid, c.v_mid
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    pieces: list[tuple[float, str | _TablePiece]] = [
        (top, text) for top, text in _lines([c for c in chars if outside(c)])]
    if tables:
        by_mid = sorted(chars, key=lambda c: c.v_mid)
        mids = [c.v_mid for c in by_mid]
        width = float(page.get_width())

        def text(cell: Cell) -> str:
            inside = _cell_text(cell, by_mid, mids)
            if cell[0] < -SNAP or cell[2] > width + SNAP or cell[1] < -SNAP or cell[3] > height + SNAP:
                return inside + CUT  # past the page's edge: what is printed there is not all of it
            return inside

        for table, box in zip(tables, boxes, strict=True):
            pieces.append((box[1], _TablePiece(tuple(sorted({c[0] for c in table})), _slot_texts(table, text))))
    return [piece for _, piece in sorted(pieces, key=lambda p: p[0])]


@dataclass(slots=True)
class _TablePiece:
    xs: tuple[float, ...]  # the slots' left edges
    rows: list[list[str]]

    def __str__(self) -> str:
        return "\n" + "\n".join(md_row(slots) for slots in self.rows) + "\n"


def _join_split_rows(pages: list[list[str | _TablePiece]]) -> None:
    """A table row that a page break cut in two (Word and LibreOffice let a row break across pages: ``20`` at the
    foot of one page, ``4`` at the head of the next, for 204) is put back together: where the last table of a page
    and the first piece of the next that is not a short line (a page number) are tables with the same columns,
    and the next table's first row has no label of its own — none at all, or a fragment no row of the form
    matches while the two halves joined match one — each of its slots is appended to the slot above."""
    for before, after in zip(pages, pages[1:], strict=False):
        last = next((p for p in reversed(before) if not (isinstance(p, str) and _furniture(p))), None)
        first_at = next((i for i, p in enumerate(after) if not (isinstance(p, str) and _furniture(p))), None)
        if not isinstance(last, _TablePiece) or first_at is None:
            continue
        first = after[first_at]
        if not isinstance(first, _TablePiece) or not last.rows or not first.rows:
            continue
        upper, lower = last.rows[-1], first.rows[0]
        # the lower row's slots by the upper table's columns (the same left edge): the two pages' tables may cut
        # their columns differently where spans differ, but every slot of the lower row that holds something must
        # be one of the upper table's columns
        at = {i: j for i, x in enumerate(first.xs) for j, y in enumerate(last.xs) if abs(x - y) <= SNAP}
        if any(i not in at for i, c in enumerate(lower) if c.strip() and c not in (SPAN_LEFT, SPAN_UP)):
            continue
        placed = [""] * len(upper)
        for i, c in enumerate(lower):
            if i in at and c.strip() and c not in (SPAN_LEFT, SPAN_UP):
                placed[at[i]] = _joined(placed[at[i]], c)
        if not _continues(upper, placed):
            continue
        last.rows[-1] = [_joined(a, b) for a, b in zip(upper, placed, strict=True)]
        del first.rows[0]
        if not first.rows:
            del after[first_at]


_PAGE_NUMBER = re.compile(r"\s*[-—–－]*\s*(第\s*)?\d{1,3}\s*(页|/\s*\d{1,3})?\s*[-—–－]*\s*")


def _furniture(line: str) -> bool:
    """A line a page prints around its body: a page number (— 6 —, 第6页, 6/12), nothing else."""
    return bool(_PAGE_NUMBER.fullmatch(line))


def _label_of(row: list[str]) -> str:
    cells = [c for c in row if c not in (SPAN_LEFT, SPAN_UP) and c.strip()
             and read_number(unicodedata.normalize("NFKC", c)) is None and not is_blank(c)]
    return "".join(dict.fromkeys(cells))


def _matches(label: str) -> bool:
    simple = "".join(simplified_char(ch) for ch in label)  # the text repair makes Traditional labels Simplified later
    return any(match(simple)[0] is not None for match in (match_app_row, match_active_row, match_review_group))


def _continues(upper: list[str], lower: list[str]) -> bool:
    if not any(c.strip() and c not in (SPAN_LEFT, SPAN_UP) for c in lower):
        return False
    label = _label_of(lower)
    if not label:
        return True  # a row of the form always has a label: this is the foot of the row above
    joined = _label_of([_joined(a, b) for a, b in zip(upper, lower, strict=True)])
    return not _matches(label) and _matches(joined)


def _joined(upper: str, lower: str) -> str:
    if lower in (SPAN_LEFT, SPAN_UP) or not lower.strip():
        return upper
    if upper in (SPAN_LEFT, SPAN_UP) or not upper.strip():
        return lower
    return upper + lower


def _chars(page: PdfPage, height: float) -> list[_Char]:
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        rect = pdfium_c.FS_RECTF()
        chars: list[_Char] = []
        high = 0  # a UTF-16 high surrogate waiting for its low half
        for i in range(pdfium_c.FPDFText_CountChars(raw)):
            if pdfium_c.FPDFText_IsGenerated(raw, i):
                continue  # a space or line break PDFium inserted, not in the file
            code = pdfium_c.FPDFText_GetUnicode(raw, i)
            if 0xD800 <= code < 0xDC00:
                high = code
                continue
            if 0xDC00 <= code < 0xE000 and high:
                code, high = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00), 0
            if code == 0 or code > 0x10FFFF:
                continue
            if not pdfium_c.FPDFText_GetLooseCharBox(raw, i, ctypes.byref(rect)):
                continue
            text = " " if chr(code).isspace() else chr(code)
            chars.append(_Char(text, rect.left, rect.right, height - rect.top, height - rect.bottom))
        return chars
    finally:
        textpage.close()


def _lines(chars: list[_Char]) -> Iterator[tuple[float, str]]:
    """(top, text) per line: characters grouped into lines (:func:`_rows_of`), left to right, words split at gaps and blanks
    (a blank character only splits: runs of them are one space, none at either end)."""
    for line in _rows_of(chars):
        line.sort(key=lambda c: c.x0)
        parts: list[str] = []
        prev: _Char | None = None
        blank = False
        for c in line:
            if c.text == " ":
                blank = True
                continue
            if parts and (blank or (prev is not None and c.x0 > prev.x1 + SNAP)):
                parts.append(" ")
            parts.append(c.text)
            prev, blank = c, False
        if parts:
            yield min(c.top for c in line if c.text != " "), "".join(parts)


def _rows_of(chars: list[_Char]) -> list[list[_Char]]:
    """Characters grouped into printed lines by their vertical middles: a character whose middle is within
    ``max(SNAP, 0.4 × its height)`` of the previous one's (in middle order) is on its line. Not by top edge:
    PDFium's box of a full-width full stop, minus or comma starts lower or higher than its digits' by more than
    ``SNAP`` (``１６９６０７６．５９`` came out as two lines, ``－８`` as ``８－``), while their middles stay close;
    lines are a leading (≥ the font size) apart."""
    rows: list[list[_Char]] = []
    last: float | None = None
    for c in sorted(chars, key=lambda c: c.top + c.bottom):
        mid = (c.top + c.bottom) / 2
        if last is None or mid - last > max(SNAP, 0.4 * (c.bottom - c.top)):
            rows.append([])
        rows[-1].append(c)
        last = mid
    return rows


def _cluster(items: list[T], key: Callable[[T], float]) -> list[list[T]]:
    """Items (sorted by key) chained into groups whose consecutive keys differ by at most ``SNAP``."""
    groups: list[list[T]] = []
    last: float | None = None
    for item in items:
        k = key(item)
        if last is None or k - last > SNAP:
            groups.append([])
        groups[-1].append(item)
        last = k
    return groups


def _cell_text(cell: Cell, by_mid: list[_Char], mids: list[float]) -> str:
    x0, top, x1, bottom = cell
    lo, hi = bisect.bisect_left(mids, top), bisect.bisect_left(mids, bottom)
    inside = [c for c in by_mid[lo:hi] if x0 <= c.h_mid < x1]
    return "".join(text for _, text in _lines(inside))


# --- rules and tables ---------------------------------------------------------------------------------------

def _edges(page: PdfPage, height: float) -> list[_Edge]:
    import pypdfium2.raw as pdfium_c

    edges: list[_Edge] = []
    seen = 0
    matrix = pdfium_c.FS_MATRIX()
    x, y = ctypes.c_float(), ctypes.c_float()

    def walk(obj: object, outer: tuple[float, ...]) -> None:
        nonlocal seen
        seen += 1
        if seen > MAX_OBJECTS:
            return
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind not in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM):
            return
        own = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        if pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix)):
            own = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
        m = _compose(own, outer)
        if kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            for i in range(pdfium_c.FPDFFormObj_CountObjects(obj)):
                walk(pdfium_c.FPDFFormObj_GetObject(obj, i), m)
            return
        points: list[tuple[float, float]] = []  # the current subpath
        for i in range(pdfium_c.FPDFPath_CountSegments(obj)):
            seg = pdfium_c.FPDFPath_GetPathSegment(obj, i)
            if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y)):
                continue
            px, py = m[0] * x.value + m[2] * y.value + m[4], m[1] * x.value + m[3] * y.value + m[5]
            point = (px, height - py)
            if pdfium_c.FPDFPathSegment_GetType(seg) == pdfium_c.FPDF_SEGMENT_MOVETO:
                points = [point]
                continue
            if points:  # a line, or a curve's end point: only straight rules matter, and curves rarely are
                _add_edge(edges, points[-1], point)
            points.append(point)
            if pdfium_c.FPDFPathSegment_GetClose(seg) and points:
                _add_edge(edges, point, points[0])

    identity = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    for i in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        walk(pdfium_c.FPDFPage_GetObject(page.raw, i), identity)
    return edges


def _compose(inner: tuple[float, ...], outer: tuple[float, ...]) -> tuple[float, ...]:
    """The matrix applying ``inner`` then ``outer`` (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer  # noqa: N806
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _add_edge(edges: list[_Edge], p: tuple[float, float], q: tuple[float, float]) -> None:
    (x0, y0), (x1, y1) = p, q
    if x0 == x1 and y0 != y1:
        edges.append(_Edge(True, x0, min(y0, y1), max(y0, y1)))
    elif y0 == y1 and x0 != x1:
        edges.append(_Edge(False, y0, min(x0, x1), max(x0, x1)))


def _merge(edges: list[_Edge], vertical: bool) -> list[_Edge]:
    """Snap edges of one direction to shared positions, join collinear ones, drop the short ones."""
    mine = sorted((e for e in edges if e.vertical == vertical), key=lambda e: e.pos)
    snapped: list[_Edge] = []
    for group in _cluster(mine, lambda e: e.pos):
        mean = sum(g.pos for g in group) / len(group)
        snapped.extend(_Edge(vertical, mean, g.start, g.end) for g in group)
    joined: list[_Edge] = []
    for _, same in groupby(sorted(snapped, key=lambda e: (e.pos, e.start)), key=lambda e: e.pos):
        current: _Edge | None = None
        for e in same:
            if current is not None and e.start <= current.end + JOIN:
                current.end = max(current.end, e.end)
            else:
                current = _Edge(vertical, e.pos, e.start, e.end)
                joined.append(current)
    return [e for e in joined if e.end - e.start >= MIN_EDGE]


def _open_ends(verticals: list[_Edge], horizontals: list[_Edge]) -> list[_Edge]:
    """The rules a table left out at its top or bottom: where three vertical rules or more that cross a horizontal
    rule start (or end) at one height with no horizontal rule there, the line joining them. A table continued
    from the page before, or one whose first row's cells say ``border-top:none`` (Word's HTML marks every row
    but the first so, and a row copied out of a table keeps it), prints its first row open at the top; without
    the line that row is no cell and its label and numbers come out as loose text."""
    crossing = [v for v in verticals
                if any(v.start + SNAP < h.pos < v.end + SNAP and h.start - SNAP <= v.pos <= h.end + SNAP
                       for h in horizontals)]
    added: list[_Edge] = []
    for ends in (lambda v: v.start, lambda v: v.end):
        for group in _cluster(sorted(crossing, key=ends), ends):
            if len(group) < 3:
                continue
            y = sum(ends(v) for v in group) / len(group)
            x0, x1 = min(v.pos for v in group), max(v.pos for v in group)
            covered = sum(max(0.0, min(h.end, x1) - max(h.start, x0)) for h in horizontals
                          if abs(h.pos - y) <= SNAP)
            if covered < 0.9 * (x1 - x0):
                added.append(_Edge(False, y, x0, x1))
    return added


def _tables(raw_edges: list[_Edge]) -> list[list[Cell]]:
    verticals, horizontals = _merge(raw_edges, True), _merge(raw_edges, False)
    closing = _open_ends(verticals, horizontals)
    if closing:
        horizontals = _merge(horizontals + closing, False)
    for n, e in enumerate(verticals + horizontals):
        e.ident = n
    # intersections: point -> (ids of the vertical edges through it, ids of the horizontal ones)
    points: dict[tuple[float, float], tuple[set[int], set[int]]] = {}
    for v in verticals:
        for h in horizontals:
            if v.start - SNAP <= h.pos <= v.end + SNAP and h.start - SNAP <= v.pos <= h.end + SNAP:
                vs, hs = points.setdefault((v.pos, h.pos), (set(), set()))
                vs.add(v.ident)
                hs.add(h.ident)
    if not points:
        return []

    def connects(p: tuple[float, float], q: tuple[float, float]) -> bool:
        if p[0] == q[0]:
            return bool(points[p][0] & points[q][0])
        if p[1] == q[1]:
            return bool(points[p][1] & points[q][1])
        return False

    ordered = sorted(points)
    by_x: dict[float, list[tuple[float, float]]] = {}
    by_y: dict[float, list[tuple[float, float]]] = {}
    for p in ordered:
        by_x.setdefault(p[0], []).append(p)
        by_y.setdefault(p[1], []).append(p)
    cells: list[Cell] = []
    for p in ordered:
        below = [q for q in by_x[p[0]] if q[1] > p[1]]
        right = sorted(q for q in by_y[p[1]] if q[0] > p[0])
        cell = None
        for b in below:
            if not connects(p, b):
                continue
            for r in right:
                if not connects(p, r):
                    continue
                corner = (r[0], b[1])
                if corner in points and connects(corner, r) and connects(corner, b):
                    cell = (p[0], p[1], corner[0], corner[1])
                    break
            if cell:
                break
        if cell:
            cells.append(cell)
    return _group_cells(cells)


def _group_cells(cells: list[Cell]) -> list[list[Cell]]:
    """Cells sharing a corner, transitively, form a table; tables of one cell are not tables."""
    def corners(c: Cell) -> list[tuple[float, float]]:
        return [(c[0], c[1]), (c[0], c[3]), (c[2], c[1]), (c[2], c[3])]

    remaining = list(cells)
    tables: list[list[Cell]] = []
    while remaining:
        seed = remaining.pop(0)
        table, known = [seed], set(corners(seed))
        grew = True
        while grew:
            grew = False
            rest = []
            for c in remaining:
                if any(k in known for k in corners(c)):
                    table.append(c)
                    known.update(corners(c))
                    grew = True
                else:
                    rest.append(c)
            remaining = rest
        tables.append(table)
    tables = [t for t in tables if len(t) > 1]
    return sorted(tables, key=lambda t: min((c[1], c[0]) for c in t))


def _bbox(cells: list[Cell]) -> Cell:
    return (min(c[0] for c in cells), min(c[1] for c in cells), max(c[2] for c in cells), max(c[3] for c in cells))


def _slot_texts(cells: list[Cell], text: Callable[[Cell], str]) -> list[list[str]]:
    """The table as rows of slot texts. A slot no cell starts in but one covers (a colspan or rowspan) is
    :data:`SPAN_LEFT` when that cell also covers the slot to its left, else :data:`SPAN_UP`: the text reader gives
    such slots the covering cell's text and identity, as an HTML grid fills a spanned cell's slots (a slot covered by
    a label is then not taken for a blank value cell, and a number spanning two slots is one cell)."""
    xs = sorted({c[0] for c in cells})
    grid = _rows(cells)
    tops = [next(c[1] for c in row if c is not None) for row in grid]
    covered: dict[tuple[int, int], Cell] = {}  # (row, slot) -> the cell covering it; work: the grid's size
    for c in cells:
        for r in range(bisect.bisect_left(tops, c[1] - SNAP), bisect.bisect_left(tops, c[3] - SNAP)):
            for i in range(bisect.bisect_left(xs, c[0] - SNAP), bisect.bisect_left(xs, c[2] - SNAP)):
                covered.setdefault((r, i), c)
    out: list[list[str]] = []
    for r, row in enumerate(grid):
        slots: list[str] = []
        for i, cell in enumerate(row):
            if cell is not None:  # a cell is in the grid once: where it starts
                slots.append(text(cell))
                continue
            cover = covered.get((r, i))
            if cover is None:
                slots.append("")
            else:  # a cell of this row spanning columns, or one from a row above spanning rows
                slots.append(SPAN_LEFT if abs(cover[1] - tops[r]) <= SNAP else SPAN_UP)
        out.append(slots)
    return out


def _rows(cells: list[Cell]) -> list[list[Cell | None]]:
    """Cells by top edge, each row with one slot per distinct left edge in the table."""
    xs = sorted({c[0] for c in cells})
    rows: list[list[Cell | None]] = []
    for _, group in groupby(sorted(cells, key=lambda c: (c[1], c[0])), key=lambda c: c[1]):
        by_x = {c[0]: c for c in group}
        rows.append([by_x.get(x) for x in xs])
    return rows
