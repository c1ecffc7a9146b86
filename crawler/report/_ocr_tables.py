"""Ruled tables in a picture, and the machinery every OCR reading shares: the engine, page preparation
(seal removal, lighting, deskew, ruling lines), the grid and its spans, cell crops, number and label readings.
The public functions are in ``crawler.report._ocr``; tables without ruling lines in ``_ocr_borderless``.

Tables are never read whole-page (Tesseract then reads ruling lines as ``|``, merges rows): the grid is
found first (ruling lines by morphology, after seal removal, lighting correction and deskew), cells with
their row/column spans are recovered from which grid segments are drawn, and the cells are read apart:
numbers ten to an engine call, by two digit-only readings that must agree with each other and with the
printed glyphs (a third votes when they do not), labels as one ``chi_sim`` line. A number whose readings
disagree, or whose engine confidence is low, gets a confidence below ``LOW_CONFIDENCE``.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

# A cell read with confidence below this is doubtful: never a silent number. Calibrated on the generated
# image tables (bench/ocr.py): every wrongly read number cell there scores below it.
LOW_CONFIDENCE = 80.0
MAX_PIXELS = 40_000_000  # refused above this (a decompression bomb, or not a page)
WORK_PIXELS = 12_000_000  # larger pictures are downscaled to this before reading
TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                 "/usr/share/tessdata", "/usr/local/share/tessdata")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class OcrInputError(ValueError):
    """The bytes are not a picture we read: undecodable, or larger than ``MAX_PIXELS``."""


@dataclass(frozen=True)
class OcrTable:
    rows: list[list[str]]  # cell texts, rectangular, spans resolved (a spanned cell's text in every slot)
    ids: list[list[int]]  # slots of one spanned cell share an id (as crawler.report._blocks.Grid.ids)
    confidence: list[list[float]]  # 0..100 per slot; 100 for a cell that is surely empty


# --- engine -----------------------------------------------------------------------------------------

os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # Tesseract's OpenMP threads: one, for determinism and cost


def _tessdata() -> str | None:
    prefix = os.environ.get("TESSDATA_PREFIX")
    for folder in ((prefix,) if prefix else ()) + TESSDATA_DIRS:
        if os.path.exists(os.path.join(folder, "chi_sim.traineddata")) and \
                os.path.exists(os.path.join(folder, "eng.traineddata")):
            return folder
    return None


@cache
def ocr_available() -> bool:
    """tesserocr importable and the ``chi_sim`` and ``eng`` models installed (Debian tesseract-ocr-chi-sim)."""
    try:
        import cv2  # noqa: F401
        import numpy  # noqa: F401
        import tesserocr  # noqa: F401
    except ImportError:
        return False
    return _tessdata() is not None


class _Engines(threading.local):
    """One Tesseract API per language and thread (an API is not thread-safe; a chi_sim API holds ~45 MB and
    takes ~0.3 s to load, so the chi_sim readings share one, set up for each call)."""

    def __init__(self) -> None:
        self.apis: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        import tesserocr

        lang, psm, variables = _MODELS[name]
        api = self.apis.get(lang)
        if api is None:
            path = _tessdata()
            if path is None:
                raise RuntimeError("Tesseract models not found: install Debian tesseract-ocr-chi-sim "
                                   "(scripts/install-system.sh)")
            api = tesserocr.PyTessBaseAPI(path=path, lang=lang, psm=psm, oem=tesserocr.OEM.LSTM_ONLY)
            self.apis[lang] = api
        api.SetPageSegMode(psm)
        for key in _SWITCHED:
            api.SetVariable(key, variables.get(key, _SWITCHED[key]))
        for key, value in variables.items():
            api.SetVariable(key, value)
        return api


# name -> (language, page segmentation mode, variables). PSM 7: one text line; 13: a raw line.
_MODELS: dict[str, tuple[str, int, dict[str, str]]] = {
    "digits": ("eng", 7, {"tessedit_char_whitelist": "-0123456789.", "classify_bln_numeric_mode": "1"}),
    "digits_zh": ("chi_sim", 7, {"tessedit_char_whitelist": "-0123456789."}),
    "line": ("chi_sim", 7, {}),
    "raw": ("chi_sim", 13, {}),  # a raw line: for the clean lines Tesseract 5.5's psm 7 returns nothing for
}
# variables some readings of a shared API set, with the value that undoes them
_SWITCHED = {"tessedit_char_whitelist": ""}
_ENGINES = _Engines()


def _recognise(name: str, image: Any) -> tuple[str, float]:
    """(text, lowest word confidence 0..100) of a grey numpy image with one reading."""
    from PIL import Image

    api = _ENGINES.get(name)
    api.SetImage(Image.fromarray(image))
    api.SetSourceResolution(300)
    text = api.GetUTF8Text().strip()
    confs = api.AllWordConfidences()
    return text, (float(min(confs)) if confs else 0.0)


# --- image preparation --------------------------------------------------------------------------------

class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self.end


def _load(data: bytes) -> tuple[Any, Any]:
    """(grey uint8 image, mask of red seal ink), downscaled to ``WORK_PIXELS``."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise OcrInputError(f"picture of {im.width}x{im.height} pixels is over the OCR limit of "
                                    f"{MAX_PIXELS:,} pixels")
            im.seek(0)
            rgb = im.convert("RGB")
    except (OSError, SyntaxError, Image.DecompressionBombError) as e:
        raise OcrInputError(f"not a readable picture: {e}") from e
    if rgb.width * rgb.height > WORK_PIXELS:
        f = (WORK_PIXELS / (rgb.width * rgb.height)) ** 0.5
        rgb = rgb.resize((round(rgb.width * f), round(rgb.height * f)), Image.Resampling.LANCZOS)
    # the red channel: black print is dark in it, red seal ink (and its JPEG-blurred fringe) is as light as
    # paper, a blue or black pen stays dark
    pixels = np.asarray(rgb, dtype=np.int32)
    grey = pixels[..., 0].astype(np.uint8)
    # and the seal itself, however dim the lighting made it, is paper once the lighting is flattened
    seal = (pixels[..., 0] - pixels[..., 1:].max(axis=2) > 40) & (pixels[..., 0] > 90)
    return grey, seal


def _flatten(grey: Any, seal: Any) -> Any:
    """Divide by the paper's brightness (estimated by a large closing), so uneven lighting goes."""
    import cv2
    import numpy as np

    small = cv2.resize(grey, (max(1, grey.shape[1] // 4), max(1, grey.shape[0] // 4)), interpolation=cv2.INTER_AREA)
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)))
    paper = cv2.resize(cv2.GaussianBlur(paper, (0, 0), 3), (grey.shape[1], grey.shape[0]),
                       interpolation=cv2.INTER_LINEAR)
    flat = grey.astype(np.float32) / np.maximum(paper.astype(np.float32), 1.0) * 255.0
    # print under the seal (or a thin line blurred with it) stays dark in the red channel: kept
    flat[seal & (flat > 150)] = 255
    return np.clip(flat, 0, 255).astype(np.uint8)


def _ink(flat: Any) -> Any:
    import cv2

    _, ink = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if (ink > 0).mean() > 0.5:  # a dark picture: Otsu split the background, not print from paper
        _, ink = cv2.threshold(flat, 128, 255, cv2.THRESH_BINARY_INV)
    return ink


def _skew(ink: Any) -> float:
    """Angle (degrees) of the long near-horizontal lines, or of the text lines when there are none."""
    import cv2
    import numpy as np

    h, w = ink.shape
    # pieces of near-horizontal lines: a short kernel keeps a line rotated by 2° (0.5 px drift over 15 px)
    pieces = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 1)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(pieces, connectivity=8)
    angles, weights = [], []
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        if bw < w // 4 or bh > bw * 0.08 + 4:
            continue
        ys, xs = np.nonzero(labels[y: y + bh, x: x + bw] == i)
        slope = np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)[0]
        angles.append(float(np.degrees(np.arctan(slope))))
        weights.append(float(bw))
    if angles:
        order = np.argsort(angles)
        cum = np.cumsum(np.asarray(weights)[order])
        return float(np.asarray(angles)[order][np.searchsorted(cum, cum[-1] / 2)])
    # text lines: the angle at which the centres of the glyphs fall into the fewest, fullest rows (the
    # centres rotated, not the picture: cheap enough for steps of 0.05°)
    n, _, stats, centres = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = (stats[1:, cv2.CC_STAT_AREA] >= 10) & (stats[1:, cv2.CC_STAT_HEIGHT] <= 200)
    if keep.sum() < 10:
        return 0.0
    xs, ys = centres[1:][keep, 0], centres[1:][keep, 1]
    weight = stats[1:, cv2.CC_STAT_AREA][keep].astype(np.float64)
    step = max(1.0, float(np.median(stats[1:, cv2.CC_STAT_HEIGHT][keep])) / 4)
    best, best_score = 0.0, -1.0
    for a in np.arange(-3.0, 3.001, 0.05):
        t = np.radians(a)
        y = -np.sin(t) * xs + np.cos(t) * ys  # where cv2's rotation by a puts each centre
        hist = np.bincount(((y - y.min()) / step).astype(np.int64), weights=weight)
        score = float((hist ** 2).sum())
        if score > best_score:
            best, best_score = float(a), score
    return round(best, 2)


def _rotate(image: Any, angle: float, fill: int) -> Any:
    import cv2

    if abs(angle) < 0.05:
        return image
    h, w = image.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT, borderValue=fill)


def _line_kernel(ink: Any) -> int:
    """Shortest run that counts as a ruling line: twice the typical glyph height, so that no stroke of a
    character (at most about one glyph long) is taken for a line, whatever the resolution."""
    return int(max(20, min(150, 2 * glyph_size(ink))))


def glyph_size(ink: Any) -> float:
    """Median size of the connected components that may be glyphs or their parts."""
    import cv2
    import numpy as np

    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    glyph = (stats[1:, cv2.CC_STAT_AREA] >= 10) & (heights >= 5) & (heights <= 200) & (widths <= 200) \
        & (widths <= 4 * heights) & (heights <= 4 * widths)
    return float(np.median(np.maximum(heights[glyph], widths[glyph]))) if glyph.any() else 12.0


@dataclass
class Page:
    flat: Any  # grey, deskewed, lighting corrected
    ink: Any  # binary, 255 = ink
    hlines: Any  # ink of horizontal ruling lines
    vlines: Any


def prepare(data: bytes) -> Page:
    import cv2
    import numpy as np

    flat = _flatten(*_load(data))
    angle = _skew(_ink(flat))
    flat = _rotate(flat, angle, 255)
    ink = _ink(flat)
    if glyph_size(ink) < 16 and flat.size * 4 <= WORK_PIXELS:
        # a screenshot-sized picture (glyphs of 10-15 px): everything below works on twice the pixels, so
        # that removing lines and specks leaves the strokes whole
        flat = cv2.resize(flat, (flat.shape[1] * 2, flat.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
        ink = _ink(flat)
    k = _line_kernel(ink)
    # ruling lines are thin and, after JPEG, faint: found on a looser threshold than the text's (paper is
    # ~255 after flattening, so 190 still leaves the noise out), a slightly thickened copy bridging the
    # one-pixel steps of a residual skew
    loose = cv2.dilate(np.where(flat < 190, 255, 0).astype(np.uint8), np.ones((2, 2), np.uint8))
    # characters side by side may chain their horizontal strokes into a run: horizontal lines need twice the
    # length (no row of text chains vertically)
    hlines = cv2.morphologyEx(loose, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * k, 1)))
    vlines = cv2.morphologyEx(loose, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k)))
    # a line broken by the scan: close gaps along it
    hlines = cv2.morphologyEx(hlines, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k // 2, 1)))
    vlines = cv2.morphologyEx(vlines, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, k // 2)))
    return Page(flat, ink, hlines, vlines)


# --- grid ---------------------------------------------------------------------------------------------

@dataclass
class _Grid:
    xs: list[int]  # column boundaries (page pixels)
    ys: list[int]
    ids: list[list[int]]  # slot -> cell id
    boxes: list[tuple[int, int, int, int]]  # cell id -> (x0, y0, x1, y1)


def _positions(mask: Any, min_len: int) -> list[int]:
    """Centres of the lines in ``mask`` (summed along axis 1): runs of rows with at least ``min_len`` ink."""
    import numpy as np

    rows = np.flatnonzero((mask > 0).sum(axis=1) >= min_len)
    out: list[int] = []
    start = prev = None
    for y in rows.tolist():
        if prev is not None and y - prev > 2:
            out.append((start + prev) // 2)  # type: ignore[operator]
            start = y
        elif start is None:
            start = y
        prev = y
    if prev is not None:
        out.append((start + prev) // 2)  # type: ignore[operator]
    return out


def _covered(mask: Any, fixed: int, a: int, b: int, along_rows: bool) -> float:
    """Share of the segment (a..b) at ``fixed`` that a ruling line covers (within ±3 px)."""
    if b - a < 4:
        return 1.0
    margin = max(2, (b - a) // 8)
    if along_rows:  # horizontal segment at y=fixed, x in a..b
        band = mask[max(0, fixed - 3): fixed + 4, a + margin: b - margin]
        return float((band.max(axis=0) > 0).mean()) if band.size else 0.0
    band = mask[a + margin: b - margin, max(0, fixed - 3): fixed + 4]
    return float((band.max(axis=1) > 0).mean()) if band.size else 0.0


def find_grids(page: Page) -> list[_Grid]:
    import cv2

    lines = cv2.bitwise_or(page.hlines, page.vlines)
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    n, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    grids: list[_Grid] = []
    h, w = page.ink.shape
    for i in range(1, n):
        x, y, bw, bh, _ = stats[i]
        if bw < w // 8 or bh < 30:
            continue
        hsub = page.hlines[y: y + bh, x: x + bw]
        vsub = page.vlines[y: y + bh, x: x + bw]
        min_cell = max(20, min(w, h) // 60)
        ys = [y + v for v in _positions(hsub, min_cell)]
        xs = [x + v for v in _positions(vsub.T, min_cell)]
        if len(ys) < 2 or len(xs) < 2:
            continue
        grid = _cells(page, xs, ys)
        if grid is not None:
            grids.append(grid)
    grids.sort(key=lambda g: (g.ys[0], g.xs[0]))
    return grids


def _ruled(mask: Any, fixed: int, a: int, b: int, along_rows: bool) -> bool:
    """A ruling line drawn along the segment: covered end to end and straight (its centre moves by under
    two pixels; a pen stroke that runs along a slot's side for a while bends)."""
    import numpy as np

    if _covered(mask, fixed, a, b, along_rows) < 0.85:
        return False
    margin = max(2, (b - a) // 8)
    band = mask[max(0, fixed - 4): fixed + 5, a + margin: b - margin] if along_rows \
        else mask[a + margin: b - margin, max(0, fixed - 4): fixed + 5].T
    on = band > 0
    counts = on.sum(axis=0)
    if band.size == 0 or not counts.all():
        return True
    centres = (on * np.arange(band.shape[0])[:, None]).sum(axis=0) / counts
    return float(centres.max() - centres.min()) < 2.5


def _drawn_lines(page: Page, xs: list[int], ys: list[int]) -> tuple[list[int], list[int]]:
    """Drop the line positions along which no segment of the grid is drawn from end to end (a row of text
    whose strokes chained into a long run, or a signature's stroke, draws a fragment, never a cell's side)."""
    while True:
        inner_y = [j for j in range(1, len(ys) - 1)
                   if not any(_ruled(page.hlines, ys[j], xs[c], xs[c + 1], True)
                              for c in range(len(xs) - 1))]
        inner_x = [j for j in range(1, len(xs) - 1)
                   if not any(_ruled(page.vlines, xs[j], ys[r], ys[r + 1], False)
                              for r in range(len(ys) - 1))]
        if not inner_y and not inner_x:
            return xs, ys
        ys = [y for j, y in enumerate(ys) if j not in inner_y]
        xs = [x for j, x in enumerate(xs) if j not in inner_x]


def _cells(page: Page, xs: list[int], ys: list[int]) -> _Grid | None:
    """Merge slots not separated by a drawn segment into spanned cells (union-find)."""
    xs, ys = _drawn_lines(page, xs, ys)
    nr, nc = len(ys) - 1, len(xs) - 1
    if nr < 1 or nc < 1:
        return None
    parent = list(range(nr * nc))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for r in range(nr):
        for c in range(nc):
            if c + 1 < nc and _covered(page.vlines, xs[c + 1], ys[r], ys[r + 1], along_rows=False) < 0.5:
                union(r * nc + c, r * nc + c + 1)
            if r + 1 < nr and _covered(page.hlines, ys[r + 1], xs[c], xs[c + 1], along_rows=True) < 0.5:
                union(r * nc + c, (r + 1) * nc + c)
    # the outer frame must be drawn: a table, not a few stray lines
    if _covered(page.hlines, ys[0], xs[0], xs[-1], True) < 0.6 or \
            _covered(page.vlines, xs[0], ys[0], ys[-1], False) < 0.6:
        return None
    roots: dict[int, int] = {}
    ids: list[list[int]] = []
    spans: dict[int, list[int]] = {}
    for r in range(nr):
        row = []
        for c in range(nc):
            cid = roots.setdefault(find(r * nc + c), len(roots))
            row.append(cid)
            s = spans.setdefault(cid, [r, c, r, c])
            s[0], s[1], s[2], s[3] = min(s[0], r), min(s[1], c), max(s[2], r), max(s[3], c)
        ids.append(row)
    if len(roots) < 2:
        return None
    boxes = [(xs[s[1]], ys[s[0]], xs[s[3] + 1], ys[s[2] + 1]) for _, s in sorted(spans.items())]
    return _Grid(xs, ys, ids, boxes)


# --- cells --------------------------------------------------------------------------------------------

@dataclass
class Crop:
    image: Any  # grey, trimmed to the cell's text, paper (255) around it
    glyphs: list[tuple[int, int, int, int]]  # (x, y, w, h) of the full-height connected components
    line_height: float
    lines: int
    marks: list[tuple[str, int]]  # a decimal point or minus sign seen in the ink: (mark, glyphs before it)


def cell_image(page: Page, box: tuple[int, int, int, int]) -> Crop | None:
    """The cell's text: ruling lines removed, faint marks (seal fringes, lighting) and specks outside the
    text line dropped, trimmed; None when the cell is empty."""
    import cv2
    import numpy as np

    x0, y0, x1, y1 = box
    inset = 3
    window = (slice(y0 + inset, y1 - inset + 1), slice(x0 + inset, x1 - inset + 1))
    ink = page.ink[window].copy()
    if ink.size == 0:
        return None
    ink[page.hlines[window] > 0] = 0
    ink[page.vlines[window] > 0] = 0
    grey = page.flat[window]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return None
    darkest = np.full(n, 255, dtype=np.int32)
    np.minimum.at(darkest, labels.ravel(), grey.ravel().astype(np.int32))
    # print has a dark core; the fringe of seal ink and noise do not
    comps = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 3 and darkest[i] <= 110]
    if not comps:
        return None
    tallest = max(stats[i, cv2.CC_STAT_HEIGHT] for i in comps)
    if tallest < 5:
        return None
    main = [i for i in comps if stats[i, cv2.CC_STAT_HEIGHT] >= 0.45 * tallest]
    mx0 = min(stats[i, 0] for i in main)
    mx1 = max(stats[i, 0] + stats[i, 2] for i in main)
    my0 = min(stats[i, 1] for i in main)
    my1 = max(stats[i, 1] + stats[i, 3] for i in main)
    reach = tallest * 1.5
    keep = [i for i in comps if i in main or (
        my0 - 2 <= stats[i, 1] + stats[i, 3] / 2 <= my1 + 2
        and mx0 - reach <= stats[i, 0] + stats[i, 2] and stats[i, 0] <= mx1 + reach)]
    mask = np.isin(labels, keep)
    ys, xs = np.nonzero(mask)
    if len(ys) < 12:
        return None
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    # the print with its anti-aliased edges (which a low-resolution glyph needs), everything else paper:
    # the ink of dropped marks and ruling lines, grown by a pixel to take their edges too
    drop = cv2.dilate(((ink > 0) & ~mask).astype(np.uint8) | (page.hlines[window] > 0) | (page.vlines[window] > 0),
                      np.ones((3, 3), np.uint8)) > 0
    near = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    keep_px = near & ~(drop & ~mask)
    image = np.where(keep_px[top:bottom, left:right], grey[top:bottom, left:right], 255).astype(np.uint8)
    glyphs = sorted((int(stats[i, 0] - left), int(stats[i, 1] - top), int(stats[i, 2]), int(stats[i, 3]))
                    for i in main)
    height, lines = _line_height(image)
    marks: list[tuple[str, int]] = []
    for i in keep:
        if i in main:
            continue
        x, y, w, h = (int(v) for v in stats[i, :4])
        before = sum(1 for i2 in main if stats[i2, 0] + stats[i2, 2] <= x + 1)
        if h <= 0.3 * tallest and w <= 0.4 * tallest and y + h >= my1 - 0.25 * tallest:
            marks.append((".", before))
        elif h <= 0.25 * tallest and w >= 1.5 * h and my0 + 0.25 * tallest <= y + h / 2 <= my0 + 0.75 * tallest:
            marks.append(("-", before))
        else:
            marks.append(("?", before))
    return Crop(image, glyphs, height, lines, marks)


def _scale_for(crop: Any, line_height: float) -> Any:
    """Resize so a text line is ~40 px high (Tesseract's LSTM reads best at 30–50) and pad with paper."""
    import cv2

    f = 40.0 / max(8.0, line_height)
    if abs(f - 1) > 0.05:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * f)), max(1, round(crop.shape[0] * f))),
                          interpolation=cv2.INTER_CUBIC)
    pad = 20
    return cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


def _line_height(crop: Any) -> tuple[float, int]:
    """(height of one text line, number of lines) from the crop's row profile."""
    import numpy as np

    rows = (crop < 128).any(axis=1)
    runs = []
    start = None
    for y, on in enumerate(rows.tolist() + [False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append(y - start)
            start = None
    runs = [r for r in runs if r >= 3]
    if not runs:
        return float(crop.shape[0]), 1
    return float(np.median(runs)), len(runs)


def looks_numeric(crop: Crop) -> bool:
    """One line of narrow full-height glyphs (digits); CJK glyphs are square, or broken into several
    components side by side."""
    if crop.lines != 1 or not crop.glyphs or len(crop.glyphs) > 12:
        return False
    if any(w > 0.85 * h for _, _, w, h in crop.glyphs):
        return False
    # glyphs of one character overlap horizontally (the parts of a CJK character): digits never do
    if not all(b[0] >= a[0] + a[2] - 1 for a, b in zip(crop.glyphs, crop.glyphs[1:], strict=False)):
        return False
    # the digits of a number share their height and top line; the side-by-side parts of CJK characters
    # (氵去 of 法) do not
    heights = [h for _, _, _, h in crop.glyphs]
    tops = [y for _, y, _, _ in crop.glyphs]
    tall = max(heights)
    return min(heights) >= 0.85 * tall and max(tops) - min(tops) <= 0.15 * tall


def _strip(crops: list[Any], height: int, gap: int, thicken: bool = False) -> tuple[Any, list[tuple[int, int]]]:
    """Number cells side by side on one line, each scaled to ``height``, ``gap`` px apart: one engine call
    reads ten cells (a lone digit on a line of its own is what Tesseract reads worst, and a wide gap
    confuses its line model). ``thicken``: strokes grown by a pixel, a second view of thin print."""
    import cv2
    import numpy as np

    parts = []
    for crop in crops:
        f = height / max(8, crop.shape[0])
        parts.append(cv2.resize(crop, (max(1, round(crop.shape[1] * f)), height),
                                interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA))
    spacer = np.full((height, gap), 255, np.uint8)
    row, ranges, x = [spacer], [], gap
    for part in parts:
        row += [part, spacer]
        ranges.append((x, x + part.shape[1]))
        x += part.shape[1] + gap
    strip: Any = np.hstack(row)
    if thicken:
        strip = cv2.erode(strip, np.ones((2, 2), np.uint8))
    return cv2.copyMakeBorder(strip, 20, 20, 0, 0, cv2.BORDER_CONSTANT, value=255), ranges


def _symbols(name: str, image: Any) -> list[tuple[str, float, float]]:
    """(character, confidence, x centre) of every symbol the model reads on the image."""
    import tesserocr
    from PIL import Image

    api = _ENGINES.get(name)
    api.SetImage(Image.fromarray(image))
    api.SetSourceResolution(300)
    api.Recognize()
    out: list[tuple[str, float, float]] = []
    it = api.GetIterator()
    level = tesserocr.RIL.SYMBOL
    while it is not None and not it.Empty(level):
        text = it.GetUTF8Text(level)
        box = it.BoundingBox(level)
        if text and box:
            out.append((text, float(it.Confidence(level)), (box[0] + box[2]) / 2))
        if not it.Next(level):
            break
    return out


# The readings of a number strip: (model, strip height, gap, thicken). Chosen on the generated image tables
# (docs/ocr.md): each alone reads 98-99 % of the number cells; they rarely fail on the same cell.
_NUMBER_READINGS = (("digits", 36, 20, True), ("digits_zh", 40, 30, False), ("digits", 40, 30, False))


def _read_strip(reading: tuple[str, int, int, bool], crops: list[Any]) -> list[tuple[str, float]]:
    name, height, gap, thicken = reading
    strip, ranges = _strip(crops, height, gap, thicken)
    texts = [""] * len(crops)
    confs = [100.0] * len(crops)
    for ch, conf, x in _symbols(name, strip):
        for i, (a, b) in enumerate(ranges):
            if a - gap / 2 <= x < b + gap / 2:
                texts[i] += ch.strip()
                confs[i] = min(confs[i], conf)
                break
    return [(t, c if t else 0.0) for t, c in zip(texts, confs, strict=True)]


def _printed(digits: str, crop: Crop) -> str | None:
    """The number as printed: the digits read, one per full-height glyph, with the minus sign and decimal
    point where the ink has them (small marks the engine drops or invents; their place is plain geometry)."""
    if len(digits) != len(crop.glyphs) or any(mark == "?" for mark, _ in crop.marks):
        return None
    out = ""
    for i, digit in enumerate(digits):
        out += "".join(mark for mark, before in crop.marks if before == i) + digit
    out += "".join(mark for mark, before in crop.marks if before == len(digits))
    return out if NUMBER.fullmatch(out) else None


def read_numbers(crops: list[Crop], deadline: Deadline) -> list[tuple[str, float]]:
    """Numbers read in strips of up to ten cells, by up to three readings (``_NUMBER_READINGS``). A cell
    is confident only when the first two readings are the same number, digit for digit and mark for mark,
    and that is also the number as printed (``_printed``: a digit per glyph, marks where the ink has them);
    its confidence is then the lower engine confidence. Otherwise the third reading votes on the digits,
    and the result is kept with a confidence under ``LOW_CONFIDENCE``: probably right, never trusted."""
    out: list[tuple[str, float]] = []
    for i in range(0, len(crops), 10):
        batch = crops[i: i + 10]
        if deadline.passed():
            out.extend(("", 0.0) for _ in batch)
            continue
        images = [c.image for c in batch]
        first = _read_strip(_NUMBER_READINGS[0], images)
        second = _read_strip(_NUMBER_READINGS[1], images)
        third: list[tuple[str, float]] | None = None
        for j, (crop, (a, ca), (b, cb)) in enumerate(zip(batch, first, second, strict=True)):
            printed = _printed(_digits(a), crop)
            if a == b and a == printed:
                out.append((a, min(ca, cb)))
                continue
            if third is None:
                third = _read_strip(_NUMBER_READINGS[2], images)
            c = third[j][0]
            votes = [_digits(t) for t in (a, b, c) if _digits(t)]
            best = max(votes, key=lambda d: (votes.count(d), len(d) == len(crop.glyphs)), default="")
            text = _printed(best, crop) or next((t for t in (a, b, c) if _digits(t) == best), a)
            out.append((text, min(ca, cb, LOW_CONFIDENCE / 2)))
    return out


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# Tesseract's chi_sim prints ASCII brackets and colons where Chinese print has full-width ones
FULLWIDTH = str.maketrans({"(": "（", ")": "）", ":": "：", ",": "，", ";": "；"})


def _text_rows(image: Any) -> list[tuple[int, int]]:
    """(top, bottom) of each line of text in a crop, from its row profile."""
    rows = (image < 128).any(axis=1).tolist() + [False]
    out, start = [], None
    for y, on in enumerate(rows):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if y - start >= 3:
                out.append((start, y))
            start = None
    return out


_LABEL_TRIES = ((40, "line"), (30, "line"), (56, "line"), (34, "line"), (48, "line"), (26, "line"), (40, "raw"))


def read_label(crop: Crop) -> tuple[str, float]:
    """A label as one line: the lines it wraps to in its cell put side by side first (Tesseract's block mode
    loses a short last line, such as the 结 of 尚未审结 wrapped in a narrow cell, and one character alone
    is read without the context the LSTM needs)."""
    import numpy as np

    lines = []
    for top, bottom in _text_rows(crop.image) or [(0, crop.image.shape[0])]:
        line = crop.image[top:bottom]
        xs = np.flatnonzero((line < 128).any(axis=0))
        if len(xs):
            line = line[:, xs.min(): xs.max() + 1]
        lines.append(_scale_to(line, 40))
    gap = np.full((40, 16), 255, np.uint8)
    joined = np.hstack([part for line in lines for part in (line, gap)][:-1])
    # Tesseract's line reading is erratic with the scale (a clean line read at 30 px may come back empty at
    # 40): other scales are tried while the reading is doubtful, the most confident kept
    best = ("", 0.0)
    for height, model in _LABEL_TRIES:
        text, conf = _recognise(model, _scale_for(joined, 40 * 40 / height))
        text = re.sub(r"\s+", "", text)
        if text and (conf > best[1] or not best[0]):
            best = (text, conf)
        if best[0] and best[1] >= 70:
            break
    text, conf = best
    if re.search(r"[\u4e00-\u9fff]", text):
        text = text.translate(FULLWIDTH)
    return text, conf


def _scale_to(image: Any, height: int) -> Any:
    """The image scaled to ``height``, centred on a line of that height (a line of one short glyph, such
    as 、, is not blown up)."""
    import cv2
    import numpy as np

    f = min(1.0, height / max(1, image.shape[0])) if image.shape[0] < height * 0.6 else height / image.shape[0]
    scaled = cv2.resize(image, (max(1, round(image.shape[1] * f)), max(1, round(image.shape[0] * f))),
                        interpolation=cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA)
    out = np.full((height, scaled.shape[1]), 255, np.uint8)
    top = (height - scaled.shape[0]) // 2
    out[top: top + scaled.shape[0]] = scaled[: height]
    return out


def read_grid(page: Page, grid: _Grid, deadline: Deadline) -> OcrTable:
    results: list[tuple[str, float]] = [("", 0.0)] * len(grid.boxes)
    numbers: list[tuple[int, Crop]] = []
    labels: list[tuple[int, Crop]] = []
    for cid, box in enumerate(grid.boxes):  # cell ids number the cells row by row
        crop = cell_image(page, box)
        if crop is None:
            results[cid] = ("", 100.0)
        elif looks_numeric(crop):
            numbers.append((cid, crop))
        else:
            labels.append((cid, crop))
    if numbers:
        for (cid, crop), (text, conf) in zip(numbers, read_numbers([c for _, c in numbers], deadline), strict=True):
            if NUMBER.fullmatch(text) or not text:
                results[cid] = (text, conf)
            else:  # not digits after all: read it as a label
                labels.append((cid, crop))
    for cid, crop in labels:
        if deadline.passed():
            break
        text, conf = read_label(crop)
        if not re.search(r"[\u4e00-\u9fff]", text):
            # every label of the report tables has Chinese in it: this is a number the glyph test missed, or
            # a cell spoiled by a mark; read as a number, and never trusted
            number, number_conf = read_numbers([crop], deadline)[0]
            if NUMBER.fullmatch(number):
                text = number
            conf = min(conf, number_conf, LOW_CONFIDENCE - 1)
        results[cid] = (text, conf)
    rows = [[results[i][0] for i in row] for row in grid.ids]
    confidence = [[results[i][1] for i in row] for row in grid.ids]
    return OcrTable(rows, [list(r) for r in grid.ids], confidence)


# --- public -------------------------------------------------------------------------------------------

@contextmanager
def limits() -> Iterator[None]:
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(threads)


def text_lines(flat: Any, deadline: Deadline) -> list[str]:
    """Lines of text: the row profile splits the page into lines, each read as one line."""
    import numpy as np

    ink = _ink(flat)
    rows = (ink > 0).sum(axis=1) > 2
    out: list[str] = []
    start = None
    for y, on in enumerate(rows.tolist() + [False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            if y - start >= 6 and not deadline.passed():
                band = ink[start:y]
                xs = np.flatnonzero(band.any(axis=0))
                crop = flat[max(0, start - 2): y + 2, xs.min(): xs.max() + 1]
                text, _ = _recognise("line", _scale_for(crop, y - start))
                text = re.sub(r"\s+", "", text)
                if text:
                    out.append(text)
            start = None
    return out
