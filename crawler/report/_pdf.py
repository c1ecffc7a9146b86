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
- A table's rows are its cells grouped by top edge, one slot per distinct left edge in the table (``""``
  where a cell spanning from an earlier column or row covers the slot); a cell's text is the characters
  whose centre lies in it, lines joined without a separator.
- Text outside tables: characters clustered into lines by top edge (within ``SNAP``), left to right, a space
  where the gap exceeds ``SNAP`` points.
"""

from __future__ import annotations

import bisect
import ctypes
import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Any, TypeVar

from crawler.report._files import AttachmentError, md_row

if TYPE_CHECKING:
    from pypdfium2 import PdfPage

T = TypeVar("T")

SNAP = 3.0  # points: pdfplumber's snap, join and intersection tolerances, and its x/y text tolerances
JOIN = 3.0
MIN_EDGE = 3.0
MAX_PAGES = 200  # a report is a few pages; more is not a report, and reading it would only cost time
MAX_OBJECTS = 100_000  # path objects per page (nested ones included): past this the page's rules are not read

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

    out: list[str] = []
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
                    out.extend(_pdfminer_page(content, index) if _loses_runs(page) else _page_pieces(page))
                finally:
                    page.close()
        except AttachmentError:
            raise
        except Exception as e:  # noqa: BLE001 - PDFium errors on hostile files
            raise AttachmentError(f"unreadable PDF: {type(e).__name__}: {e}") from e
        finally:
            doc.close()
    return "\n".join(out)


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
            rows = [md_row([(c or "") for c in row]) for row in t.extract()]
            pieces.append((float(t.bbox[1]), "\n" + "\n".join(rows) + "\n"))
    return [text for _, text in sorted(pieces, key=lambda p: p[0])]


def _page_pieces(page: PdfPage) -> list[str]:
    height = float(page.get_height())
    chars = _chars(page, height)
    tables = _tables(_edges(page, height))
    boxes = [_bbox(t) for t in tables]

    def outside(c: _Char) -> bool:
        x, y = c.h_mid, c.v_mid
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    pieces: list[tuple[float, str]] = [(top, text) for top, text in _lines([c for c in chars if outside(c)])]
    if tables:
        by_mid = sorted(chars, key=lambda c: c.v_mid)
        mids = [c.v_mid for c in by_mid]
        for table, box in zip(tables, boxes, strict=True):
            rows = [md_row([_cell_text(cell, by_mid, mids) if cell else "" for cell in row]) for row in _rows(table)]
            pieces.append((box[1], "\n" + "\n".join(rows) + "\n"))
    return [text for _, text in sorted(pieces, key=lambda p: p[0])]


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
    """(top, text) per line: characters clustered by top edge, left to right, words split at gaps and blanks
    (a blank character only splits: runs of them are one space, none at either end)."""
    for line in _cluster(sorted(chars, key=lambda c: c.top), lambda c: c.top):
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


def _tables(raw_edges: list[_Edge]) -> list[list[Cell]]:
    verticals, horizontals = _merge(raw_edges, True), _merge(raw_edges, False)
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


def _rows(cells: list[Cell]) -> list[list[Cell | None]]:
    """Cells by top edge, each row with one slot per distinct left edge in the table."""
    xs = sorted({c[0] for c in cells})
    rows: list[list[Cell | None]] = []
    for _, group in groupby(sorted(cells, key=lambda c: (c[1], c[0])), key=lambda c: c[1]):
        by_x = {c[0]: c for c in group}
        rows.append([by_x.get(x) for x in xs])
    return rows
