"""Parser throughput: reports per second on one core, for the shared real samples and for generated
~100 KB report pages (a generated report in the page chrome of the real Pingtan page).

Run: ``.venv/bin/python bench/parse.py [--seconds S]``. Prints one line per corpus; the target is
≥ 50 reports/s per core. Single process, so the figure is per core.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawler.portal.generator import generate_report  # noqa: E402
from crawler.portal.render import render_html  # noqa: E402
from crawler.report import parse_report  # noqa: E402

TARGET = 50.0


def real_samples() -> list[tuple[str, bytes]]:
    files = sorted((SHARED / "seeds").iterdir()) + sorted((SHARED / "real-samples").iterdir())
    return [(p.name, p.read_bytes()) for p in files if p.name != "SOURCES.md"]


def generated_pages(n: int) -> list[tuple[str, bytes]]:
    """Generated reports inside the chrome of a real TRS page, so each page is about 100 KB."""
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


def rate(corpus: list[tuple[str, bytes]], seconds: float) -> tuple[float, int]:
    count = 0
    start = time.perf_counter()
    while True:
        for _, body in corpus:
            parse_report(body)
            count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed, count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="time spent on each corpus (default 5)")
    ap.add_argument("--pages", type=int, default=12, help="generated pages in the second corpus (default 12)")
    args = ap.parse_args()
    corpora = [("real samples", real_samples()), ("generated ~100 KB pages", generated_pages(args.pages))]
    for name, corpus in corpora:
        size = sum(len(b) for _, b in corpus) / len(corpus)
        parse_report(corpus[0][1])  # warm-up: imports, OpenCC dictionaries
        per_s, count = rate(corpus, args.seconds)
        verdict = "ok" if per_s >= TARGET else f"below the {TARGET:.0f}/s target"
        print(f"{name}: {len(corpus)} inputs, mean {size / 1024:.1f} KB, {count} parses, "
              f"{per_s:.1f} reports/s per core ({verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
