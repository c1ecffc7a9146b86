"""Parser throughput: reports per second on one core, and the same pages through bare lxml.

Corpora: the shared real samples (when ../shared is there); generated ~100 KB pages (a generated report in
the chrome of the real Pingtan page, when ../shared is there); and real-sized portal pages: generated
reports (every HTML layout, both formats) wrapped in generated portal chrome — navigation trees, link
lists, inline scripts and styles, footers — at 100–370 KB, the sizes real TRS pages have.

For each corpus it prints the parser's reports/s per core and, in the same run, the rate of bare
``lxml.html.fromstring`` + the text of every ``td`` over the same pages, and their ratio. Targets on the
real-sized corpus: >= 100 reports/s per core and >= 0.33 of the bare-lxml rate.

Run: ``.venv/bin/python bench/parse.py [--seconds S] [--pages N]``. Single process, so figures are per core.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawler.portal.generator import generate_report  # noqa: E402
from crawler.portal.render import render_html  # noqa: E402
from crawler.report import parse_report  # noqa: E402

TARGET = 100.0
TARGET_RATIO = 0.33


def real_samples() -> list[tuple[str, bytes]]:
    if not SHARED.is_dir():
        return []
    files = sorted((SHARED / "seeds").iterdir()) + sorted((SHARED / "real-samples").iterdir())
    return [(p.name, p.read_bytes()) for p in files if p.name != "SOURCES.md"]


def generated_pages(n: int) -> list[tuple[str, bytes]]:
    """Generated reports inside the chrome of a real TRS page, so each page is about 100 KB."""
    if not SHARED.is_dir():
        return []
    shell = (SHARED / "real-samples" / "pingtan_2024_page.html").read_bytes()
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        fmt = ("2021", "2019")[i % 2]
        rep = generate_report(i, fmt, agency="江城市统计局", year=2023 if fmt == "2021" else 2020)
        doc = lxml.html.document_fromstring(shell)
        editor = doc.xpath("//*[contains(@class, 'TRS_Editor')]")[0]
        for child in list(editor):
            editor.remove(child)
        editor.text = None
        for el in lxml.html.fragments_fromstring(render_html(rep, ("trs", "word", "plain")[i % 3], i)):
            if isinstance(el, str):
                continue
            editor.append(el)
        out.append((f"generated-{i}", lxml.html.tostring(doc, encoding="utf-8")))
    return out


_WORDS = ("政务公开", "政府信息公开", "通知公告", "政策文件", "政策解读", "办事服务", "互动交流", "走进江城", "部门动态",
          "统计数据", "规划计划", "财政预决算", "人事信息", "应急管理", "重点领域", "机构职能", "新闻发布会", "领导信息")


def _chrome(rng: random.Random, target: int) -> tuple[str, str]:
    """Portal chrome (before, after the article) of about ``target`` bytes: what real column pages carry."""
    def links(n: int, prefix: str) -> str:
        return "".join(f'<li><a href="/{prefix}/{rng.randrange(10**6)}.html" target="_blank" '
                       f'title="{rng.choice(_WORDS)}{rng.choice(_WORDS)}">{rng.choice(_WORDS)}</a></li>'
                       for _ in range(n))

    def script(n: int) -> str:
        body = ";".join(f"var c{i}={{id:'{rng.randrange(10**9):x}',path:'/site/col{i}/index.html',"
                        f"title:'{rng.choice(_WORDS)}'}}" for i in range(n))
        return f"<script type='text/javascript'>{body}</script>"

    def style(n: int) -> str:
        return "<style>" + "".join(f".m{i} .c{i} a:hover{{color:#{rng.randrange(16**6):06x};"
                                   f"margin:{i % 7}px {i % 5}px}}" for i in range(n)) + "</style>"

    head = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            "<meta name='SiteName' content='江城市人民政府'><meta name='ColumnName' content='政府信息公开年报'>"
            + style(120) + script(60) + "</head><body>")
    top = ("<div class='header'><div class='logo'><img src='/images/logo.png'></div>"
           "<div class='search'><form><input name='q'><button>搜索</button></form></div></div>"
           f"<div class='nav'><ul>{links(40, 'nav')}</ul></div>"
           "<div class='position'>当前位置：首页 &gt; 政府信息公开 &gt; 政府信息公开年报</div>")
    side = f"<div class='left-tree'><ul>{links(120, 'col')}</ul></div>"
    foot = (f"<div class='related'><select>{''.join(f'<option>{w}</option>' for w in _WORDS * 4)}</select></div>"
            f"<div class='footer'><ul>{links(60, 'foot')}</ul><p>主办：江城市人民政府办公室 网站标识码：3601000001 "
            "赣ICP备05004142号</p></div>")
    before = head + top + side + "<div class='main'><div class='content'>"
    after = "</div></div>" + foot
    filler: list[str] = []
    size = len((before + after).encode())
    while size < target:
        piece = rng.choice((script(40), f"<div class='ewm' style='display:none'><ul>{links(40, 'x')}</ul></div>"))
        filler.append(piece)
        size += len(piece.encode())
    return before, after + "".join(filler) + "</body></html>"


def portal_pages(n: int) -> list[tuple[str, bytes]]:
    """Generated reports in generated portal chrome, 100–370 KB a page (real TRS pages' range); needs no
    shared data."""
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        rng = random.Random(f"chrome:{i}")
        fmt = ("2021", "2019")[i % 2]
        rep = generate_report(i, fmt, agency="江城市统计局", year=2023 if fmt == "2021" else 2020)
        article = render_html(rep, ("trs", "word", "plain")[i % 3], i)
        total = int(rng.triangular(100_000, 370_000, 110_000))
        before, after = _chrome(rng, total - len(article.encode()))
        page = before + f"<h1>{rep.title}</h1><div class='TRS_Editor'>{article}</div>" + after
        out.append((f"portal-{i}", page.encode("utf-8")))
    return out


def bare_lxml(body: bytes) -> int:
    """The floor: parse the page and take the text of every table cell."""
    doc = lxml.html.fromstring(body)
    return sum(len(td.text_content()) for td in doc.iter("td"))


def rate(corpus: list[tuple[str, bytes]], seconds: float,
         fn: Callable[[bytes], object] = parse_report) -> tuple[float, int]:
    count = 0
    start = time.perf_counter()
    while True:
        for _, body in corpus:
            fn(body)
            count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed, count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="time spent on each corpus and reader (default 5)")
    ap.add_argument("--pages", type=int, default=12, help="pages in each generated corpus (default 12)")
    args = ap.parse_args()
    corpora = [("real samples", real_samples()), ("generated ~100 KB pages", generated_pages(args.pages)),
               ("real-sized portal pages (100-370 KB)", portal_pages(args.pages))]
    verdicts: list[str] = []
    for name, corpus in corpora:
        if not corpus:
            print(f"{name}: skipped (no ../shared here)")
            continue
        size = sum(len(b) for _, b in corpus) / len(corpus)
        parse_report(corpus[0][1])  # warm-up: imports, OpenCC dictionaries
        per_s, count = rate(corpus, args.seconds)
        bare_s, _ = rate(corpus, args.seconds, bare_lxml)
        ratio = per_s / bare_s
        print(f"{name}: {len(corpus)} inputs, mean {size / 1024:.1f} KB, {count} parses: "
              f"{per_s:.1f} reports/s per core; bare lxml {bare_s:.1f}/s; ratio {ratio:.2f}")
        if name.startswith("real-sized"):
            verdicts.append(f"{per_s:.1f} reports/s ({'ok' if per_s >= TARGET else 'below'} {TARGET:.0f}), "
                            f"ratio {ratio:.2f} ({'ok' if ratio >= TARGET_RATIO else 'below'} {TARGET_RATIO})")
    if verdicts:
        print("target on real-sized pages: " + "; ".join(verdicts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
