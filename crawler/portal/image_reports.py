"""Reports published as pictures (issue 17): the site of a county whose agencies print their tables as images.

Site ``/pic/`` (family ``generic``, 石溪县): one column (``<prefix>/xxgk/gknb/index.html`` and ``index_1.html``,
linked by 下一页) of

- ``table3``: an HTML report whose Table 3 is a scanned picture (JPEG, a red seal over it) in the article, under a
  banner poster; Tables 2 and 4 are text;
- ``split``: an HTML report whose Table 3 is cut across two pictures (a page break) and whose Table 4 is a picture
  a pen signature crosses (its cells are illegible);
- ``scan``: a report whose only attachment is a scanned PDF (three pages, each a picture: no text layer);
- ``jpeg``: a report attached as one JPEG (the scanned page with Table 3);
- ``seal``: a report printed as text (every table) with the agency's seal as a picture at its end: its text holds
  every table, so OCR never runs on it;
- an 一图读懂 page: listed with a report-like title, its article one poster and nothing else: not a report.

Every page shows the site's logo in its header (outside the article: the crawl does not fetch it). Pictures are
drawn by :mod:`crawler.portal.image_tables` with the degradations real scans have. Each report's ground-truth entry
has ``tables`` None and ``pictures`` (:func:`pictures_truth`): the picture URLs, the report's tables as printed
(text and pictures), which tables are pictures and which cells a signature made illegible (a reader may return
those only as doubtful). The non-report page is ``special["pic:not_reports"]``.

The TRS sites' ``image`` reports (a page whose Table 3 is one picture and that prints no other table) draw their
picture here too (:func:`table_picture`). Everything is pure: the same seed gives the same bytes.
"""

from __future__ import annotations

import html
import io
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from crawler.portal.generator import GeneratedReport
from crawler.portal.grid import grid_matrix, report_grids
from crawler.portal.image_tables import (
    Degradation,
    TableTruth,
    random_degradation,
    render_page_image,
    render_poster,
    render_split_table,
    render_table_image,
)
from crawler.portal.render import render_html
from crawler.portal.site import (
    Notice,
    ReportPlan,
    Request,
    Response,
    Site,
    SourceEntry,
    html_response,
    not_found,
)

COLUMN = "/xxgk/gknb/"
PER_PAGE = 4
JPEG = "image/jpeg"
PNG = "image/png"
CellRef = tuple[str, str, Any]  # (table, row key, column index or field name), as crawler.portal.grid.Cell.ref

# How each report of the site is published: (department, year, how, degradation of its pictures)
_PLAN: tuple[tuple[str, int, str, Degradation], ...] = (
    ("交通运输局", 2023, "table3",
     Degradation(dpi=200, rotation=0.7, jpeg_quality=78, lighting=0.15, noise=3.0, stamp=True)),
    ("教育局", 2022, "split",
     Degradation(dpi=220, rotation=-1.2, jpeg_quality=72, lighting=0.25, noise=4.0, signature=True)),
    ("民政局", 2023, "scan", Degradation(dpi=200, rotation=-0.6, jpeg_quality=80, lighting=0.2, noise=3.0)),
    ("农业农村局", 2022, "jpeg", Degradation(dpi=200, rotation=1.1, jpeg_quality=75, lighting=0.3, noise=4.0)),
    ("", 2023, "seal", Degradation(dpi=150, jpeg_quality=None)),
)
_POSTER = Degradation(dpi=150, jpeg_quality=82, noise=2.0)


@dataclass(frozen=True)
class Picture:
    """One picture the site serves: where, its bytes, and what it shows."""

    path: str
    data: bytes
    content_type: str
    key: str | None = None  # the table it shows (None: a poster, a seal, a logo)
    truth: TableTruth | None = None
    rows: range | None = None  # the table's rows it shows (a split table: part of them)


# --- pictures of tables ---------------------------------------------------------------------------------------

def _table_pictures(report: GeneratedReport, key: str, degradation: Degradation, seed: str, paths: list[str],
                    content_type: str) -> list[Picture]:
    """The table as one picture, or cut across two when two paths are given."""
    if len(paths) == 2:
        parts = render_split_table(report, key, degradation, seed, at=0.5)
        first = len(parts[0][1].tables[0].rows)
        total = first + len(parts[1][1].tables[0].rows)
        ranges = (range(0, first), range(first, total))
        return [Picture(path, data, content_type, key, truth.tables[0], rows)
                for path, (data, truth), rows in zip(paths, parts, ranges, strict=True)]
    data, truth = render_table_image(report, key, degradation, seed)
    return [Picture(paths[0], data, content_type, key, truth.tables[0], range(len(truth.tables[0].rows)))]


def _page_picture(report: GeneratedReport, key: str, degradation: Degradation, seed: str, path: str) -> Picture:
    data, truth = render_page_image(report, key, degradation, seed)
    return Picture(path, data, JPEG, key, truth.tables[0], range(len(truth.tables[0].rows)))


def illegible_cells(report: GeneratedReport, picture: Picture) -> set[CellRef]:
    """The cells of the report's table that ``picture`` shows but a signature made illegible, as
    ``(table, row key, column)`` (column: index in a Table 3/4 row, field name in Table 2)."""
    truth, rows, key = picture.truth, picture.rows, picture.key
    if truth is None or rows is None or key is None or all(all(r) for r in truth.legible):
        return set()
    matrix, spans = grid_matrix(report_grids(report, "official")[key])
    owner: dict[tuple[int, int], tuple[int, int]] = {}
    for r1, c1, r2, c2 in spans:
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                owner[(r, c)] = (r1, c1)
    width = len(matrix[0])
    # the matrix columns the picture draws, as crawler.portal.image_tables keeps them (a boundary no drawn row has
    # is not in the picture)
    ids: dict[Any, int] = {}
    id_rows = []
    for r in rows:
        row = []
        for c in range(width):
            o = owner.get((r, c), (r, c))
            row.append(ids.setdefault(o if o[0] >= rows.start else (rows.start, o[1], "clipped"), len(ids)))
        id_rows.append(row)
    keep = [c for c in range(width) if c == 0 or any(row[c] != row[c - 1] for row in id_rows)]
    out: set[CellRef] = set()
    for i, r in enumerate(rows):
        for j, c in enumerate(keep):
            if truth.legible[i][j]:
                continue
            o = owner.get((r, c), (r, c))
            cell = matrix[o[0]][o[1]]
            if cell is not None and not cell.label and cell.ref is not None:
                out.add(cell.ref)
    return out


def pictures_truth(base: str, report: GeneratedReport, paths: list[str], printed: tuple[str, ...],
                   in_pictures: tuple[str, ...], signed: list[Picture] = (), decoys: tuple[str, ...] = (),  # type: ignore[assignment]
                   ) -> dict[str, Any]:
    """The ground truth of a report with pictures (JSON values): ``urls`` of every picture it shows (``paths``),
    ``tables`` as the report prints them (each table it prints, in text or as a picture; None for a table it does
    not print), ``in_pictures`` (the tables that are pictures), ``illegible`` ([table, row, column] cells a
    signature crosses in the ``signed`` pictures: a reader may return them only with doubt) and ``decoys``
    (pictures that show no table: a poster, a seal)."""
    illegible: set[CellRef] = set()
    for picture in signed:
        illegible |= illegible_cells(report, picture)
    return {
        "urls": [base + p for p in paths],
        "tables": {k: (v if k in printed else None) for k, v in report.tables.items()},
        "in_pictures": sorted(in_pictures),
        "illegible": [list(ref) for ref in sorted(illegible, key=str)],
        "decoys": [base + p for p in decoys],
    }


def _trs_degradation(plan: ReportPlan) -> Degradation:
    return replace(random_degradation(plan.key), jpeg_quality=None)  # the page links a .png


def table_picture(plan: ReportPlan) -> Picture:
    """The picture of an ``image`` report of the TRS sites (its page prints no table; its Table 3 is this PNG):
    a scan with the degradations its key draws (:func:`crawler.portal.image_tables.random_degradation`)."""
    assert plan.file_path is not None
    cached = plan.extra.get("picture")
    if isinstance(cached, Picture):
        return cached
    picture = _table_pictures(plan.report, "applications", _trs_degradation(plan), plan.key, [plan.file_path],
                              PNG)[0]
    plan.extra["picture"] = picture
    return picture


def table_picture_truth(plan: ReportPlan, base: str) -> dict[str, Any]:
    """The ``pictures`` truth of a TRS ``image`` report (drawn only when a signature makes cells illegible)."""
    assert plan.file_path is not None
    signed = [table_picture(plan)] if _trs_degradation(plan).signature else []
    return pictures_truth(base, plan.report, [plan.file_path], ("applications",), ("applications",), signed)


# --- pictures that are not tables -----------------------------------------------------------------------------

def _png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def seal_png(seed: str, size: int = 180) -> bytes:
    """An agency's round red seal as a picture (transparent background)."""
    from PIL import Image, ImageDraw

    rng = random.Random(f"seal:{seed}")
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    red = (rng.randint(200, 230), rng.randint(20, 50), rng.randint(30, 60), 255)
    draw.ellipse((4, 4, size - 4, size - 4), outline=red, width=max(3, size // 30))
    cx = cy = size / 2
    star = [(cx + size * (0.18 if i % 2 == 0 else 0.07) * math.cos(-math.pi / 2 + i * math.pi / 5),
             cy + size * (0.18 if i % 2 == 0 else 0.07) * math.sin(-math.pi / 2 + i * math.pi / 5)) for i in range(10)]
    draw.polygon(star, fill=red)
    return _png(image)


def logo_png() -> bytes:
    """The site's logo: a blue banner with a white emblem (no letters)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 60), (20, 80, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 8, 54, 52), fill=(255, 255, 255))
    draw.ellipse((20, 18, 44, 42), fill=(200, 30, 40))
    return _png(image)


# --- the site -------------------------------------------------------------------------------------------------

@dataclass
class _Published:
    """A report plan of this site and how it is published."""

    plan: ReportPlan
    how: str
    degradation: Degradation
    doc_id: int
    folder: str
    pictures: list[Picture] = field(default_factory=list)


class PictureSite(Site):
    family = "generic"

    def __init__(self, name: str, prefix: str, agency: str, seed: int | str, size: int,
                 faults: frozenset[str] = frozenset()) -> None:
        super().__init__(name, prefix, agency, seed, size, faults)
        self.column = self.prefix + COLUMN
        self._published: dict[str, _Published] = {}
        items: list[ReportPlan | Notice] = []
        doc_id = 3100
        for i, (dept, year, how, degradation) in enumerate(_PLAN):
            kind = {"scan": "pdf", "jpeg": "jpg", "table3": "image", "split": "image"}.get(how, "html")
            plan = ReportPlan(key=f"{seed}:{name}:{i}", site=name, family=self.family, agency=agency + dept,
                              year=year, fmt="2021", kind=kind, layout=("trs", "word")[i % 2], title_variant=0)
            doc_id += self.rng.randint(5, 90)
            folder = f"{self.column}{plan.published[:4]}{plan.published[5:7]}/"
            plan.detail_path = f"{folder}{doc_id}.html"
            if how == "scan":
                plan.file_path = f"{folder}P{doc_id}.pdf"
            elif how == "jpeg":
                plan.file_path = f"{folder}P{doc_id}.jpg"
            pub = _Published(plan, how, degradation, doc_id, folder)
            self._published[plan.key] = pub
            if how != "seal":
                plan.extra["pictures_fn"] = self._truth_fn(pub)
                plan.extra["issues_expected"] = []
            plan.extra["picture_paths"] = [p for p in self._picture_paths(pub) if p != plan.file_path]
            self.pages[plan.detail_path] = self._detail(pub)
            for path in self._picture_paths(pub):
                self.pages[path] = self._picture(pub, path)
            self.reports.append(plan)
            items.append(plan)
        # the 一图读懂 page: a poster listed like a report; no report in it
        doc_id += 11
        self.poster_page = f"{self.column}202403/{doc_id}.html"
        self.poster_path = f"{self.column}202403/W{doc_id}_1.jpg"
        poster = Notice(f"一图读懂{agency}2023年政府信息公开工作年度报告", "2024-03-12", self.poster_page, agency)
        self.pages[self.poster_page] = self._poster_page(poster)
        self.pages[self.poster_path] = lambda _r: Response(body=self._poster, content_type=JPEG,
                                                           last_modified=poster.published)
        self.special["not_reports"] = [self.poster_page]
        self.extra_urls = [self.poster_page, self.poster_path]
        items.append(poster)
        items.extend(self.plan_notices(2, lambda k, day: f"{self.column}{day[:4]}{day[5:7]}/{3000 + k}.html"))
        self.logo = f"{self.prefix}/images/logo.png"
        self.pages[self.logo] = lambda _r: Response(body=logo_png(), content_type=PNG)
        items.sort(key=lambda p: (p.published, p.title), reverse=True)
        pages = max(1, -(-len(items) // PER_PAGE))
        for n in range(pages):
            path = self.column + ("index.html" if n == 0 else f"index_{n}.html")
            self.listing_paths.append(path)
            self.pages[path] = self._listing(items[n * PER_PAGE:(n + 1) * PER_PAGE], n, pages)

    # --- what each report shows ---------------------------------------------------------------------------------
    def _picture_paths(self, pub: _Published) -> list[str]:
        base = f"{pub.folder}W{pub.doc_id}"
        return {
            "table3": [f"{base}_0.jpg", f"{base}_1.jpg"],  # the banner poster, Table 3
            "split": [f"{base}_1.jpg", f"{base}_2.jpg", f"{base}_3.jpg"],  # Table 3 in two parts, Table 4
            "scan": [pub.plan.file_path or ""],
            "jpeg": [pub.plan.file_path or ""],
            "seal": [f"{base}_seal.png"],
        }[pub.how]

    def _pictures(self, pub: _Published) -> list[Picture]:
        if pub.pictures:
            return pub.pictures
        report, seed, deg = pub.plan.report, pub.plan.key, pub.degradation
        paths = self._picture_paths(pub)
        if pub.how == "table3":
            poster, _ = render_poster(seed, _POSTER)
            out = [Picture(paths[0], poster, JPEG),
                   *_table_pictures(report, "applications", deg, seed, paths[1:2], JPEG)]
        elif pub.how == "split":
            out = [*_table_pictures(report, "applications", replace(deg, signature=False), seed, paths[:2], JPEG),
                   *_table_pictures(report, "review_litigation", deg, seed, paths[2:], JPEG)]
        elif pub.how == "scan":
            out = [_scanned_pdf(report, deg, seed, paths[0])]
        elif pub.how == "jpeg":
            out = [_page_picture(report, "applications", deg, seed, paths[0])]
        else:
            out = [Picture(paths[0], seal_png(seed), PNG)]
        pub.pictures = out
        return out

    def _truth_fn(self, pub: _Published) -> Callable[[ReportPlan, str], dict[str, Any]]:
        every = ("active_disclosure", "applications", "review_litigation")
        printed = ("applications",) if pub.how == "jpeg" else every
        in_pictures = {"table3": ("applications",), "split": ("applications", "review_litigation"),
                       "scan": every, "jpeg": ("applications",)}[pub.how]
        paths = self._picture_paths(pub)
        decoys = tuple(paths[:1]) if pub.how == "table3" else ()  # the banner poster

        def truth(_plan: ReportPlan, base: str) -> dict[str, Any]:
            # drawn only when a signature crosses cells (a page picture's table has none: render_page_image)
            signed = self._pictures(pub) if pub.degradation.signature and pub.how != "jpeg" else []
            return pictures_truth(base, pub.plan.report, paths, printed, in_pictures, signed, decoys)
        return truth

    @cached_property
    def _poster(self) -> bytes:
        return render_poster(f"{self.seed}:poster", _POSTER)[0]

    # --- pages --------------------------------------------------------------------------------------------------
    def _picture(self, pub: _Published, path: str) -> Callable[[Request], Response]:
        def serve(_request: Request) -> Response:
            picture = next((p for p in self._pictures(pub) if p.path == path), None)
            if picture is None:
                return not_found()
            ctype = "application/pdf" if path.endswith(".pdf") else picture.content_type
            return Response(body=picture.data, content_type=ctype, last_modified=pub.plan.published)
        return serve

    def _article(self, pub: _Published) -> str:
        plan = pub.plan
        title = html.escape(plan.title)
        paths = self._picture_paths(pub)

        def img(path: str, width: int = 640) -> str:
            return f'<p style="text-align: center;"><img src="{html.escape(path)}" width="{width}" alt="" /></p>'

        if pub.how in ("scan", "jpeg"):
            name = (plan.file_path or "").rsplit("/", 1)[1]
            return (f'<p style="text-indent: 2em;">现将{title}予以公布，详见附件。</p>'
                    f'<p>附件：<a href="{name}" target="_blank">{title}.{name.rsplit(".", 1)[1]}</a></p>')
        if pub.how == "table3":
            body = render_html(plan.report, plan.layout, seed=plan.key, pictures={"applications": img(paths[1])})
            return img(paths[0], 600) + "\n" + body
        if pub.how == "split":
            return render_html(plan.report, plan.layout, seed=plan.key,
                               pictures={"applications": img(paths[0]) + img(paths[1]),
                                         "review_litigation": img(paths[2])})
        return (render_html(plan.report, plan.layout, seed=plan.key)
                + f'\n<p style="text-align: right;">{html.escape(plan.agency)}<br />{plan.published}</p>'
                + f'\n<p style="text-align: right;"><img src="{html.escape(paths[0])}" width="120" alt="" /></p>')

    def _page(self, title: str, published: str, source: str, article: str) -> str:
        t = html.escape(title)
        return f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>{t}_{html.escape(self.agency)}人民政府</title>
<meta name="ArticleTitle" content="{t}" />
<meta name="PubDate" content="{published}" />
<meta name="ContentSource" content="{html.escape(source)}" />
</head>
<body>
<div class="header"><div class="logo"><img src="{self.prefix}/images/logo.png" alt="{html.escape(self.agency)}人民政府" /></div></div>
<div class="position">当前位置：<a href="{self.prefix}/">首页</a> &gt; 政府信息公开 &gt; 政府信息公开年报</div>
<div class="article"><h1>{t}</h1>
<p class="info">发布日期：{published} &nbsp; 来源：{html.escape(source)}</p>
<div id="zoom">{article}</div></div>
<div class="footer"><p>主办：{html.escape(self.agency)}人民政府办公室</p></div>
</body>
</html>"""

    def _detail(self, pub: _Published) -> Callable[[Request], Response]:
        def render(_request: Request) -> Response:
            plan = pub.plan
            page = self._page(plan.title, plan.published, plan.agency, self._article(pub))
            return html_response(page, last_modified=plan.published)
        return render

    def _poster_page(self, poster: Notice) -> Callable[[Request], Response]:
        def render(_request: Request) -> Response:
            article = f'<p style="text-align: center;"><img src="{html.escape(self.poster_path)}" alt="" /></p>'
            return html_response(self._page(poster.title, poster.published, poster.agency, article),
                                 last_modified=poster.published)
        return render

    def _listing(self, items: list[ReportPlan | Notice], n: int, pages: int) -> Callable[[Request], Response]:
        rows = "\n".join(f'<li><a href="{html.escape(p.detail_path)}" title="{html.escape(p.title)}">'
                         f'{html.escape(p.title)}</a><span>{p.published}</span></li>' for p in items)
        nav = [f"<span>第{n + 1}页 共{pages}页</span>"]
        if n < pages - 1:
            nav.append(f'<a href="index_{n + 1}.html">下一页</a>')
        page = f"""<!DOCTYPE html>
<html>
<head>
{{meta_charset}}
<title>政府信息公开年报_{html.escape(self.agency)}人民政府</title>
</head>
<body>
<div class="header"><div class="logo"><img src="{self.prefix}/images/logo.png" alt="" /></div></div>
<div class="list"><h2>政府信息公开年报</h2><ul>
{rows}
</ul></div>
<div class="page">{" ".join(nav)}</div>
</body>
</html>"""
        return lambda _r: html_response(page)

    def sources(self) -> list[SourceEntry]:
        return [SourceEntry(self.name, self.agency, self.family, [self.column + "index.html"])]


def _scanned_pdf(report: GeneratedReport, degradation: Degradation, seed: str, path: str) -> Picture:
    """The report as a PDF of three scanned pages (each a picture; no text layer), one table a page."""
    from PIL import Image

    pages = [_page_picture(report, key, degradation, f"{seed}:{n}", path)
             for n, key in enumerate(("active_disclosure", "applications", "review_litigation"))]
    images = [Image.open(io.BytesIO(p.data)).convert("RGB") for p in pages]
    buf = io.BytesIO()
    stamp = time.strptime(report.published, "%Y-%m-%d")  # not the time it was written (Pillow's default)
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=float(degradation.dpi),
                   creationDate=stamp, modDate=stamp, producer="nianbao demo portal scanner")
    return Picture(path, buf.getvalue(), "application/pdf")


__all__ = ["PictureSite", "Picture", "illegible_cells", "pictures_truth", "seal_png", "table_picture",
           "table_picture_truth"]
