"""OCR of image tables: seconds per image table, cells/s, % cells right, silent errors.

Corpus: generated image reports (``crawler.portal.image_tables.image_report_cases``): each report's Tables 2,
3 and 4 drawn as scans, each with its own random degradations (150–300 dpi, JPEG 40–90, rotation within ±2°,
uneven lighting, noise, a red seal, a pen signature), one of the three cut across two pictures; both formats
(2021 and 2019). Every picture is read with ``crawler.report._ocr.read_tables`` and scored against its truth
(``score_table``: numbers exact, labels within the parser's fuzzy-match distance).

Done-when figures of issue 17: >= 99 % of cells right, 0 silent errors (a wrong number cell with confidence
at or above ``LOW_CONFIDENCE``).

Run: ``.venv/bin/python bench/ocr.py [--reports 50] [--seed 0] [--show-wrong]``. One process, one thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from crawler.portal.generator import generate_report  # noqa: E402
from crawler.portal.image_tables import (  # noqa: E402
    TABLE_KEYS,
    Score,
    image_report_cases,
    random_degradation,
    render_table_image,
    score_table,
    score_values,
)
from crawler.report._ocr import LOW_CONFIDENCE, ocr_available, read_tables  # noqa: E402
from crawler.report._ocr_tables import NUMBER  # noqa: E402

AGENCIES = ("某某县人民政府", "江城市统计局", "平潭综合实验区管理委员会", "青山区教育局")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=50, help="generated image reports (3-4 pictures each)")
    ap.add_argument("--seed", type=int, default=0, help="first report seed")
    ap.add_argument("--show-wrong", action="store_true", help="print every wrong or lost cell")
    ap.add_argument("--borderless", type=int, default=0, metavar="N",
                    help="also: Tables 2-4 of N reports printed without ruling lines, scored on their values")
    args = ap.parse_args()
    if not ocr_available():
        print("OCR engine not installed: run scripts/install-system.sh (tesseract-ocr, tesseract-ocr-chi-sim) "
              "and pip install -e .", file=sys.stderr)
        return 1
    total = Score()
    seconds = 0.0
    pictures = 0
    slot_cells = 0
    for n in range(args.seed, args.seed + args.reports):
        fmt = "2019" if n % 4 == 3 else "2021"
        report = generate_report(n, fmt, AGENCIES[n % len(AGENCIES)], 2019 + n % 6)
        for case in image_report_cases(report, n):
            start = time.perf_counter()
            tables = read_tables(case.data)
            seconds += time.perf_counter() - start
            pictures += 1
            for i, truth in enumerate(case.truth.tables):
                got = tables[i] if i < len(tables) else None
                if got is None:
                    score = score_table(truth, None, None, None, LOW_CONFIDENCE)
                else:
                    score = score_table(truth, got.rows, got.ids, got.confidence, LOW_CONFIDENCE)
                slot_cells += len({i for row in truth.ids for i in row})
                total.add(score)
                if args.show_wrong:
                    for line in score.wrong:
                        print(f"  report {n} {case.name}: {line}")
    if pictures:
        summary(args.reports, pictures, total, seconds, slot_cells)
    if args.borderless:
        borderless(args.borderless, args.seed, args.show_wrong)
    return 0


def summary(reports: int, pictures: int, total: Score, seconds: float, slot_cells: int) -> None:
    print(f"reports: {reports}, pictures: {pictures}, tables read: {total.tables - total.tables_missed}"
          f"/{total.tables}")
    print(f"seconds per image table: {seconds / pictures:.2f}  cells/s: {slot_cells / seconds:.1f}")
    print(f"cells right: {total.right}/{total.cells} = {100 * total.right / max(1, total.cells):.2f} %"
          f"  (numbers {total.numbers_right}/{total.numbers} = {100 * total.numbers_right / max(1, total.numbers):.2f} %,"
          f" labels {total.labels_right}/{total.labels} = {100 * total.labels_right / max(1, total.labels):.2f} %,"
          f" labels exact {100 * total.labels_exact / max(1, total.labels):.2f} %)")
    print(f"wrong or lost cells flagged (confidence < {LOW_CONFIDENCE:g}): {total.flagged}"
          f"  silent errors (wrong number, confident): {total.silent}")


def borderless(reports: int, seed: int, show_wrong: bool) -> None:
    """Tables without ruling lines: values only (no span is visible), each k-th row of values against the
    k-th read row; every value of such a table is below LOW_CONFIDENCE by design."""
    total = Score()
    seconds = 0.0
    for n in range(seed, seed + reports):
        fmt = "2019" if n % 4 == 3 else "2021"
        report = generate_report(n, fmt, AGENCIES[n % len(AGENCIES)], 2019 + n % 6)
        for key in TABLE_KEYS:
            degradation = replace(random_degradation(f"borderless:{n}"), ruled=False, signature=False)
            data, truth = render_table_image(report, key, degradation, f"borderless:{n}")
            start = time.perf_counter()
            tables = read_tables(data)
            seconds += time.perf_counter() - start
            if tables:
                t = tables[0]
                score = score_values(truth.tables[0], t.rows, t.confidence, LOW_CONFIDENCE,
                                     lambda text: bool(NUMBER.fullmatch(text)))
            else:
                score = score_values(truth.tables[0], [], [], LOW_CONFIDENCE, lambda text: False)
            total.add(score)
            if show_wrong:
                for line in score.wrong:
                    print(f"  borderless report {n}: {line}")
    print(f"borderless: {reports * 3} tables, tables whose rows of values all line up: "
          f"{total.tables - total.tables_missed}/{total.tables}, seconds per table: {seconds / (reports * 3):.2f}")
    print(f"borderless values right: {total.right}/{total.cells} = {100 * total.right / max(1, total.cells):.2f} %"
          f"  silent errors: {total.silent}")


if __name__ == "__main__":
    sys.exit(main())
