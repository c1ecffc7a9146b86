"""Report tables as scanned images, with ground truth: what OCR meets on agencies that publish pictures.

``render_table_image(report, key, degradation)`` draws one official table (``report_grids(report,
"official")``) the way a scan of the printed report looks: 150–300 dpi, JPEG artifacts, a slight rotation,
uneven lighting, a red seal and a pen signature over some cells. ``render_split_table`` cuts a table across
two images (a page break), ``render_page_image`` is a whole image-only report page (narrative text and a
table), ``render_poster`` a non-report picture (a poster or a logo) for the negative case;
``Degradation(ruled=False)`` prints a table without ruling lines.

Every function is pure: the same arguments give the same bytes. The truth says what a perfect reader
returns: the rectangular cell texts with spans resolved (as ``crawler.report._ocr.OcrTable``), and which
cells are legible: a signature crossing a cell's text destroys it, so that cell is ``lost`` and a reader
may only return it with low confidence. A red seal does not destroy the text under it (seal ink is
translucent red over black print), so its cells stay legible. ``score_table`` scores a reading against the
truth (``score_values`` a table without ruling lines, on its values only).
"""

from __future__ import annotations

import io
import math
import random
import re
from dataclasses import dataclass, field, replace
from typing import Any

from crawler.portal.generator import GeneratedReport
from crawler.portal.grid import Grid, grid_matrix, report_grids

FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"  # Debian fonts-wqy-zenhei (scripts/install-system.sh)
TABLE_KEYS = ("active_disclosure", "applications", "review_litigation")

# Column widths in points (1/72 inch) of the printed tables, as in the official Word templates.
_WIDTHS = {
    "active_disclosure": lambda n: [130.0] * n,
    "applications": lambda n: [30.0, 64.0, 150.0] + [40.0] * (n - 3),
    "review_litigation": lambda n: [36.0] * n,
}
_CELL_PT = 9.5  # font size of table cells
_TEXT_PT = 11.0  # body text of a page
_TITLE_PT = 15.0
_PAD_PT = 3.0


@dataclass(frozen=True)
class Degradation:
    """How a scan spoils the printed table. ``jpeg_quality`` None: saved as PNG."""

    dpi: int = 200
    rotation: float = 0.0  # degrees, counter-clockwise
    jpeg_quality: int | None = 75
    lighting: float = 0.0  # 0..0.5: how much darker the dark corner is than the bright one
    noise: float = 0.0  # standard deviation of the sensor noise, in grey levels
    stamp: bool = False  # a red seal over the table's lower right cells
    signature: bool = False  # a dark pen signature crossing one or two cells: those cells are lost
    ruled: bool = True  # False: the table printed without ruling lines (Word's "no borders")


CLEAN = Degradation(dpi=200, jpeg_quality=None)


def random_degradation(seed: int | str) -> Degradation:
    """A plausible scan: any dpi of 150–300, rotation within ±2°, JPEG 40–90 (one in five PNG)."""
    rng = random.Random(f"degradation:{seed}")
    return Degradation(
        dpi=rng.choice((150, 180, 200, 240, 300)),
        rotation=round(rng.uniform(-2.0, 2.0), 2),
        jpeg_quality=None if rng.random() < 0.2 else rng.randint(40, 90),
        lighting=round(rng.uniform(0.0, 0.45), 2),
        noise=round(rng.uniform(0.0, 8.0), 1),
        stamp=rng.random() < 0.5,
        signature=rng.random() < 0.3,
    )


@dataclass(frozen=True)
class TableTruth:
    key: str  # the report section the table belongs to
    rows: list[list[str]]  # rectangular; a spanned cell's text in every slot; "" for a blank cell
    ids: list[list[int]]  # slots of one spanned cell share an id
    numeric: list[list[bool]]  # a value cell (number or blank), not a label
    legible: list[list[bool]]  # False: a signature crosses the cell's text (the cell is lost)


@dataclass(frozen=True)
class ImageTruth:
    tables: tuple[TableTruth, ...]  # top to bottom
    text: tuple[str, ...] = ()  # narrative lines outside tables, in reading order
    report: bool = True  # False: a poster or logo, not part of a report


@dataclass(frozen=True)
class ImageCase:
    name: str
    data: bytes
    truth: ImageTruth


# --- drawing ----------------------------------------------------------------------------------------

def _font(px: float):
    from PIL import ImageFont

    return ImageFont.truetype(FONT_PATH, max(6, round(px)), index=0)


def _wrap(text: str, font, width: float) -> list[str]:
    """CJK wrapping: break anywhere, keep a closing bracket or punctuation on its line."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and font.getlength(line + ch) > width and ch not in "，。、）》”：；〕":
            lines.append(line)
            line = ch
        else:
            line += ch
    if line:
        lines.append(line)
    return lines or [""]


@dataclass
class _Layout:
    xs: list[int]  # column boundaries, px, relative to the table's left edge
    ys: list[int]
    lines: dict[tuple[int, int], list[str]]  # owner slot -> wrapped lines


def _layout(matrix, spans, key: str, scale: float, font) -> _Layout:
    width = len(matrix[0])
    col_pt = _WIDTHS[key](width)
    xs = [0]
    for w in col_pt:
        xs.append(xs[-1] + round(w * scale))
    span_of = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in spans}
    pad = _PAD_PT * scale
    leading = _CELL_PT * 1.3 * scale
    lines: dict[tuple[int, int], list[str]] = {}
    need = [round((_CELL_PT * 1.3 + 2 * _PAD_PT + 2) * scale)] * len(matrix)
    multi: list[tuple[int, int, float]] = []  # (first row, last row, height needed) of row-spanning cells
    for r, row in enumerate(matrix):
        for c, cell in enumerate(row):
            if cell is None:
                continue
            r2, c2 = span_of.get((r, c), (r, c))
            wrapped = _wrap(cell.text, font, xs[c2 + 1] - xs[c] - 2 * pad)
            lines[(r, c)] = wrapped
            h = len(wrapped) * leading + 2 * pad
            if r2 == r:
                need[r] = max(need[r], math.ceil(h))
            else:
                multi.append((r, r2, h))
    for r1, r2, h in multi:
        have = sum(need[r1:r2 + 1])
        if have < h:
            extra = math.ceil((h - have) / (r2 - r1 + 1))
            for r in range(r1, r2 + 1):
                need[r] += extra
    ys = [0]
    for h in need:
        ys.append(ys[-1] + h)
    return _Layout(xs, ys, lines)


def _draw_table(draw, matrix, spans, layout: _Layout, origin: tuple[int, int], scale: float, font,
                rows: range, ruled: bool = True) -> dict[tuple[int, int], tuple]:
    """Draw rows ``rows`` of the matrix at ``origin``; returns owner slot -> text box (x0, y0, x1, y1).
    A cell spanning rows outside ``rows`` is drawn clipped, its text only where its first row is drawn."""
    ox, oy = origin
    y_base = layout.ys[rows.start]
    line_w = max(1, round(0.6 * scale))
    leading = _CELL_PT * 1.3 * scale
    span_of = {(r1, c1): (r2, c2) for r1, c1, r2, c2 in spans}
    owner: dict[tuple[int, int], tuple[int, int]] = {}
    for r1, c1, r2, c2 in spans:
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                owner[(r, c)] = (r1, c1)
    boxes: dict[tuple[int, int], tuple] = {}
    drawn: set[tuple[int, int]] = set()
    for r in rows:
        for c in range(len(matrix[0])):
            o = owner.get((r, c), (r, c))
            if o in drawn:
                continue
            drawn.add(o)
            r2, c2 = span_of.get(o, o)
            top, bottom = max(o[0], rows.start), min(r2, rows.stop - 1)
            x0, x1 = ox + layout.xs[o[1]], ox + layout.xs[c2 + 1]
            y0, y1 = oy + layout.ys[top] - y_base, oy + layout.ys[bottom + 1] - y_base
            if ruled:
                draw.rectangle((x0, y0, x1, y1), outline=(0, 0, 0), width=line_w)
            cell = matrix[o[0]][o[1]]
            if cell is None or not cell.text or o[0] < rows.start:
                continue
            text_lines = layout.lines[o]
            block = len(text_lines) * leading
            ty = (y0 + y1) / 2 - block / 2
            tx0, tx1 = x1, x0
            for i, line in enumerate(text_lines):
                w = font.getlength(line)
                tx = (x0 + x1) / 2 - w / 2
                draw.text((tx, ty + i * leading + 0.15 * leading), line, fill=(0, 0, 0), font=font)
                tx0, tx1 = min(tx0, tx), max(tx1, tx + w)
            boxes[o] = (tx0, ty, tx1, ty + block)
    return boxes


def _truth(key: str, matrix, spans, rows: range, boxes, lost: set[tuple[int, int]]) -> TableTruth:
    width = len(matrix[0])
    owner: dict[tuple[int, int], tuple[int, int]] = {}
    for r1, c1, r2, c2 in spans:
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                owner[(r, c)] = (r1, c1)
    ids: dict[tuple[int, int], int] = {}
    out_rows, out_ids, numeric, legible = [], [], [], []
    for r in rows:
        t_row, i_row, n_row, l_row = [], [], [], []
        for c in range(width):
            o = owner.get((r, c), (r, c))
            cell = matrix[o[0]][o[1]]
            shown = o[0] >= rows.start
            text = "".join(cell.text.split()) if cell is not None and shown else ""
            visible_owner = o if o[0] >= rows.start else (rows.start, o[1], "clipped")
            t_row.append(text)
            i_row.append(ids.setdefault(visible_owner, len(ids)))  # type: ignore[arg-type]
            n_row.append(cell is None or not cell.label)
            l_row.append(o not in lost)
        out_rows.append(t_row)
        out_ids.append(i_row)
        numeric.append(n_row)
        legible.append(l_row)
    # a column boundary no drawn row has (the lower part of Table 2 is two columns wide) is not in the picture
    keep = [c for c in range(width) if c == 0 or any(row[c] != row[c - 1] for row in out_ids)]
    pick = [[row[c] for c in keep] for row in out_rows], [[row[c] for c in keep] for row in out_ids], \
        [[row[c] for c in keep] for row in numeric], [[row[c] for c in keep] for row in legible]
    return TableTruth(key, *pick)


# --- degradations -----------------------------------------------------------------------------------

def _stamp(image, center: tuple[float, float], radius: float, seed: str) -> None:
    """A red seal (circle, star, arc of characters) multiplied onto the image: black print stays black."""
    from PIL import Image, ImageChops, ImageDraw

    rng = random.Random(seed)
    layer = Image.new("RGB", image.size, (255, 255, 255))
    draw = ImageDraw.Draw(layer)
    red = (rng.randint(200, 235), rng.randint(30, 70), rng.randint(40, 80))
    cx, cy = center
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=red, width=max(2, round(radius / 14)))
    star = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        rr = radius * (0.3 if i % 2 == 0 else 0.12)
        star.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    draw.polygon(star, fill=red)
    font = _font(radius * 0.28)
    chars = "某某县人民政府办公室"
    for i, ch in enumerate(chars):
        a = math.radians(-200 + i * 220 / (len(chars) - 1))
        glyph = Image.new("L", (round(radius * 0.34),) * 2, 0)
        ImageDraw.Draw(glyph).text((0, 0), ch, fill=255, font=font)
        glyph = glyph.rotate(-math.degrees(a) - 90, resample=Image.Resampling.BICUBIC)
        gx = cx + radius * 0.72 * math.cos(a) - glyph.width / 2
        gy = cy + radius * 0.72 * math.sin(a) - glyph.height / 2
        layer.paste(Image.new("RGB", glyph.size, red), (round(gx), round(gy)), glyph)
    image.paste(ImageChops.multiply(image, layer))


def _signature(draw, box: tuple[float, float, float, float], seed: str, scale: float) -> list[tuple[float, float]]:
    """A dark pen scribble across ``box``; returns the points of its strokes."""
    rng = random.Random(seed)
    x0, y0, x1, y1 = box
    points: list[tuple[float, float]] = []
    steps = 60
    turns = rng.uniform(2.5, 4.5)
    for i in range(steps + 1):
        t = i / steps
        x = x0 + (x1 - x0) * t
        y = (y0 + y1) / 2 + (y1 - y0) * 0.45 * math.sin(t * turns * 2 * math.pi + rng.uniform(-0.2, 0.2))
        points.append((x, y))
    draw.line(points, fill=(25, 25, 45), width=max(2, round(1.2 * scale)), joint="curve")
    return points


def _scan(image, degradation: Degradation, seed: str) -> bytes:
    """Rotate, light unevenly, add noise, encode: the scanner's part."""
    import numpy as np
    from PIL import Image, ImageFilter

    if degradation.rotation:
        image = image.rotate(degradation.rotation, resample=Image.Resampling.BICUBIC, expand=True,
                             fillcolor=(255, 255, 255))
    image = image.filter(ImageFilter.GaussianBlur(0.35 * degradation.dpi / 150))
    rng = np.random.default_rng(abs(hash_seed(seed)))
    pixels = np.asarray(image, dtype=np.float32) * (248 / 255)  # paper is never white
    h, w = pixels.shape[:2]
    if degradation.lighting:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (xx / w) * math.cos(angle) + (yy / h) * math.sin(angle)
        ramp = (ramp - ramp.min()) / max(1e-6, float(ramp.max() - ramp.min()))
        pixels *= (1.0 - degradation.lighting * ramp)[..., None]
    if degradation.noise:
        pixels += rng.normal(0.0, degradation.noise, size=(h, w, 1)).astype(np.float32)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    dpi = (degradation.dpi, degradation.dpi)
    if degradation.jpeg_quality is None:
        image.save(buf, format="PNG", dpi=dpi)
    else:
        image.save(buf, format="JPEG", quality=degradation.jpeg_quality, dpi=dpi)
    return buf.getvalue()


def hash_seed(seed: str) -> int:
    """A stable integer of a string (``hash`` is salted per process)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")


# --- public renderers -------------------------------------------------------------------------------

def _table_picture(grid: Grid, key: str, degradation: Degradation, seed: str, rows: range | None = None,
                   margin_pt: float = 36.0):
    """(image, truth, layout) of a table alone on white, before the scan degradations."""
    from PIL import Image, ImageDraw

    matrix, spans = grid_matrix(grid)
    rows = rows if rows is not None else range(len(matrix))
    scale = degradation.dpi / 72
    font = _font(_CELL_PT * scale)
    layout = _layout(matrix, spans, key, scale, font)
    margin = round(margin_pt * scale)
    height = layout.ys[rows.stop] - layout.ys[rows.start]
    image = Image.new("RGB", (layout.xs[-1] + 2 * margin, height + 2 * margin), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    boxes = _draw_table(draw, matrix, spans, layout, (margin, margin), scale, font, rows, degradation.ruled)
    lost = _overlays(image, draw, boxes, degradation, seed, scale)
    return image, _truth(key, matrix, spans, rows, boxes, lost)


def _overlays(image, draw, boxes, degradation: Degradation, seed: str, scale: float) -> set[tuple[int, int]]:
    """Seal and signature over the table's lower right; returns the cells the signature destroyed."""
    rng = random.Random(f"overlay:{seed}")
    lost: set[tuple[int, int]] = set()
    numbered = sorted(boxes.items(), key=lambda kv: (kv[1][3], kv[1][2]))
    if degradation.signature and numbered:
        _, box = numbered[rng.randrange(max(1, len(numbered) // 2), len(numbered))]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        span_w = rng.uniform(50, 90) * scale
        sig_box = (cx - span_w / 2, cy - 7 * scale, cx + span_w / 2, cy + 7 * scale)
        points = _signature(draw, sig_box, f"signature:{seed}", scale)
        pen = 1.5 * scale
        for owner, (x0, y0, x1, y1) in boxes.items():
            if any(x0 - pen <= x <= x1 + pen and y0 - pen <= y <= y1 + pen for x, y in points):
                lost.add(owner)
    if degradation.stamp and numbered:
        _, box = numbered[rng.randrange(len(numbered) // 2, len(numbered))]
        radius = rng.uniform(1.5, 1.8) * 72 * scale / 2  # a 38–46 mm seal
        _stamp(image, ((box[0] + box[2]) / 2 + rng.uniform(-1, 1) * radius / 2, (box[1] + box[3]) / 2),
               radius, f"stamp:{seed}")
    return lost


def render_table_image(report: GeneratedReport, key: str, degradation: Degradation = CLEAN,
                       seed: str = "") -> tuple[bytes, ImageTruth]:
    """One of the report's three tables, official form, as a scanned picture."""
    grid = report_grids(report, "official")[key]
    image, truth = _table_picture(grid, key, degradation, f"{seed}:{key}")
    return _scan(image, degradation, f"{seed}:{key}"), ImageTruth((truth,))


def render_split_table(report: GeneratedReport, key: str, degradation: Degradation = CLEAN,
                       seed: str = "", at: float = 0.55) -> list[tuple[bytes, ImageTruth]]:
    """The table cut at a row boundary near ``at`` of its rows, as two pictures (a page break): a cell
    spanning the cut is drawn on both, its text on the first only (Word's repeated vertical merge)."""
    grid = report_grids(report, "official")[key]
    matrix, _ = grid_matrix(grid)
    cut = max(1, min(len(matrix) - 1, round(len(matrix) * at)))
    out = []
    for i, rows in enumerate((range(0, cut), range(cut, len(matrix)))):
        part = replace(degradation, stamp=degradation.stamp and i == 1, signature=degradation.signature and i == 1)
        image, truth = _table_picture(grid, key, part, f"{seed}:{key}:{i}", rows)
        out.append((_scan(image, part, f"{seed}:{key}:{i}"), ImageTruth((truth,))))
    return out


def render_page_image(report: GeneratedReport, key: str = "review_litigation",
                      degradation: Degradation = CLEAN, seed: str = "") -> tuple[bytes, ImageTruth]:
    """A whole report page as one picture: title, preamble, the section's heading and prose, its table."""
    from PIL import Image, ImageDraw

    scale = degradation.dpi / 72
    page_w, margin = round(595 * scale), round(60 * scale)
    body, title_font = _font(_TEXT_PT * scale), _font(_TITLE_PT * scale)
    section = next(s for s in report.sections if s.key == key)
    blocks: list[tuple[str, Any, bool]] = [(report.title, title_font, True), (report.preamble, body, False),
                                              (section.title, body, False)]
    blocks.extend((p, body, False) for p in section.paragraphs)
    table_img, table_truth = _table_picture(report_grids(report, "official")[key], key,
                                            replace(degradation, stamp=False, signature=False), f"{seed}:page",
                                            margin_pt=2)
    lines: list[tuple[str, Any, float, bool]] = []
    for text, font, centred in blocks:
        for line in _wrap(text, font, page_w - 2 * margin):
            lines.append((line, font, (_TITLE_PT if font is title_font else _TEXT_PT) * 1.7 * scale, centred))
    text_h = sum(h for *_, h, _ in lines)
    height = round(margin * 2 + text_h + 20 * scale + table_img.height)
    page = Image.new("RGB", (max(page_w, table_img.width + 2 * margin), height), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    y = float(margin)
    for line, font, h, centred in lines:
        w = font.getlength(line)
        x = (page.width - w) / 2 if centred else margin
        draw.text((x, y), line, fill=(0, 0, 0), font=font)
        y += h
    page.paste(table_img, ((page.width - table_img.width) // 2, round(y + 20 * scale)))
    truth = ImageTruth((table_truth,), tuple(line for line, *_ in lines))
    return _scan(page, degradation, f"{seed}:page"), truth


def render_poster(seed: int | str = 0, degradation: Degradation = CLEAN) -> tuple[bytes, ImageTruth]:
    """A non-report picture: a coloured banner with a round emblem and one slogan (no table)."""
    from PIL import Image, ImageDraw

    rng = random.Random(f"poster:{seed}")
    scale = degradation.dpi / 72
    w, h = round(420 * scale), round(260 * scale)
    top = tuple(rng.randint(120, 220) for _ in range(3))
    bottom = tuple(rng.randint(20, 120) for _ in range(3))
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    for y in range(h):
        t = y / max(1, h - 1)
        draw.line((0, y, w, y), fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    cx, cy, r = w * 0.2, h * 0.45, h * 0.28
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(200, 30, 40), outline=(250, 210, 60), width=round(4 * scale))
    for i in range(5):
        a = -math.pi / 2 + i * 2 * math.pi / 5
        draw.ellipse((cx + r * 0.55 * math.cos(a) - r * 0.12, cy + r * 0.55 * math.sin(a) - r * 0.12,
                      cx + r * 0.55 * math.cos(a) + r * 0.12, cy + r * 0.55 * math.sin(a) + r * 0.12),
                     fill=(250, 210, 60))
    slogan = rng.choice(("政务公开 便民利民", "依法行政 执政为民", "推进政务公开 建设阳光政府"))
    font = _font(24 * scale)
    draw.text((w * 0.42, h * 0.35), slogan, fill=(255, 255, 255), font=font)
    return _scan(image, degradation, f"poster:{seed}"), ImageTruth((), (slogan,), report=False)


def image_report_cases(report: GeneratedReport, seed: int | str) -> list[ImageCase]:
    """A report published as pictures: Tables 2, 3, 4, each with its own scan degradations, one of them
    (chosen by the seed) cut across two pictures."""
    rng = random.Random(f"image-report:{seed}")
    split = rng.choice(TABLE_KEYS)
    cases: list[ImageCase] = []
    for n, key in enumerate(TABLE_KEYS):
        degradation = random_degradation(f"{seed}:{n}")
        if key == split:
            for i, (data, truth) in enumerate(render_split_table(report, key, degradation, f"{seed}",
                                                                 at=rng.uniform(0.35, 0.65))):
                cases.append(ImageCase(f"{key}-{i + 1}", data, truth))
        else:
            data, truth = render_table_image(report, key, degradation, f"{seed}")
            cases.append(ImageCase(key, data, truth))
    return cases


# --- scoring a reader against the truth ---------------------------------------------------------------

@dataclass
class Score:
    """Counts over distinct cells (a spanned cell once). A number cell is right when its text is exactly
    the printed number ("" for a blank); a label cell when it is within the edit distance the parser's
    fuzzy label matching accepts (a quarter of its length, at least 1); ``labels_exact`` counts the
    exact ones. ``silent`` counts number cells read wrong with confidence at or above the threshold, as
    something a reader could take for a value (digits, letters that look like digits, or nothing): the
    errors nobody would notice. A Chinese character in a number cell is no value, and is seen. Lost cells (under a signature) are not in ``cells``, but a lost cell read
    wrong and confident is still silent."""

    cells: int = 0
    right: int = 0
    numbers: int = 0
    numbers_right: int = 0
    labels: int = 0
    labels_right: int = 0
    labels_exact: int = 0
    flagged: int = 0  # wrong (or lost) and below the threshold: the reader said it was unsure
    silent: int = 0
    tables: int = 0
    tables_missed: int = 0  # no table read, or one of another shape or span structure
    wrong: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        for name in ("cells", "right", "numbers", "numbers_right", "labels", "labels_right", "labels_exact",
                     "flagged", "silent", "tables", "tables_missed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wrong.extend(other.wrong)


_HAN = re.compile(r"[\u4e00-\u9fff]")


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _partition(ids: list[list[int]]) -> list[list[tuple[int, int]]]:
    groups: dict[int, list[tuple[int, int]]] = {}
    for r, row in enumerate(ids):
        for c, i in enumerate(row):
            groups.setdefault(i, []).append((r, c))
    return sorted(groups.values())


def score_table(truth: TableTruth, rows: list[list[str]] | None, ids: list[list[int]] | None,
                confidence: list[list[float]] | None, low: float) -> Score:
    """Score one read table (``OcrTable`` fields, or None when none was read) against its truth."""
    s = Score(tables=1)
    shape_ok = (rows is not None and ids is not None and confidence is not None
                and [len(r) for r in rows] == [len(r) for r in truth.rows]
                and _partition(ids) == _partition(truth.ids))
    seen: set[int] = set()
    for r, row in enumerate(truth.rows):
        for c, want in enumerate(row):
            if truth.ids[r][c] in seen:
                continue
            seen.add(truth.ids[r][c])
            numeric, legible = truth.numeric[r][c], truth.legible[r][c]
            got, conf = (rows[r][c], confidence[r][c]) if shape_ok else (None, 0.0)  # type: ignore[index]
            if numeric:
                ok = got == want
            else:
                ok = got is not None and edit_distance(got, want) <= max(1, len(want) // 4)
            if legible:
                s.cells += 1
                s.right += ok
                if numeric:
                    s.numbers += 1
                    s.numbers_right += ok
                else:
                    s.labels += 1
                    s.labels_right += ok
                    s.labels_exact += got == want
            if not ok or not legible:
                if conf < low:
                    s.flagged += not ok or not legible
                elif numeric and not ok and not _HAN.search((got or "").replace("〇", "")):
                    s.silent += 1
                if not ok:
                    s.wrong.append(f"{truth.key}[{r}][{c}] {want!r} read {got!r} ({conf:.0f})"
                                   + ("" if legible else " lost"))
    s.tables_missed += not shape_ok
    return s


def data_rows(truth: TableTruth) -> list[list[str]]:
    """The rows of printed values (a spanned value once), in order: what a reader of a table without ruling
    lines can be held to, since without lines no span is visible."""
    out = []
    for r, row in enumerate(truth.rows):
        seen: set[int] = set()
        values = []
        for c, text in enumerate(row):
            if truth.numeric[r][c] and truth.ids[r][c] not in seen and text:
                seen.add(truth.ids[r][c])
                values.append(text)
        if values:
            out.append(values)
    return out


def score_values(truth: TableTruth, rows: list[list[str]], confidence: list[list[float]], low: float,
                 is_number) -> Score:
    """Score a table read without ruling lines on its values only: the k-th row of printed values against
    the k-th read row that has values (``is_number`` says which read cells are values), position by position.
    A read row of another length, or a missing one, is wrong in every cell; its confident cells are silent."""
    s = Score(tables=1)
    want_rows = data_rows(truth)
    got_rows = []
    for r, row in enumerate(rows):
        values = [(text, confidence[r][c]) for c, text in enumerate(row) if text and is_number(text)]
        if values:
            got_rows.append(values)
    for k, want in enumerate(want_rows):
        got = got_rows[k] if k < len(got_rows) else []
        aligned = len(got) == len(want)
        for i, value in enumerate(want):
            s.cells += 1
            s.numbers += 1
            text, conf = got[i] if aligned else ("", 0.0)
            if text == value:
                s.right += 1
                s.numbers_right += 1
            elif conf < low:
                s.flagged += 1
            else:
                s.silent += 1
            if text != value:
                s.wrong.append(f"{truth.key} values[{k}][{i}] {value!r} read {text!r} ({conf:.0f})")
        if not aligned:
            s.silent += sum(conf >= low for _, conf in got)
    s.tables_missed += len(got_rows) != len(want_rows)
    return s
