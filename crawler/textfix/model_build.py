"""Build the character-frequency table (`charfreq.tsv`) that the scoring model reads.

Counts every CJK character of the given text files after OpenCC t2s, so Simplified and Traditional
sources count alike. Run from the project root:

    python -m crawler.textfix.model_build ../shared/real-samples/*.txt ../shared/real-samples/*.html \
        ../shared/real-samples/kirogov*.md ../shared/seeds/00[1-4]_*.txt -o crawler/textfix/charfreq.tsv

Two columns per character: `report` (counts in the given reports) and `general` (how many of pypinyin's
~47,000 dictionary phrases contain the character: a broad, genre-free proxy for how common it is).

Seed 000 is left out on purpose: it carries GBK byte-shift garbage, whose characters must stay rare.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import opencc


def count_characters(texts: list[str]) -> Counter[str]:
    """Counts of CJK unified ideographs in `texts`, after t2s."""
    converter = opencc.OpenCC("t2s")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(ch for ch in converter.convert(text) if "\u3400" <= ch <= "\u9fff")
    return counts


def count_phrase_characters() -> Counter[str]:
    """How many pypinyin dictionary phrases contain each character (after t2s)."""
    from pypinyin.phrases_dict import phrases_dict

    converter = opencc.OpenCC("t2s")
    counts: Counter[str] = Counter()
    for phrase in phrases_dict:
        counts.update(set(converter.convert(phrase)))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="UTF-8 text or HTML files of clean reports")
    parser.add_argument("-o", "--output", type=Path, required=True, help="where to write the table")
    args = parser.parse_args(argv)
    texts = []
    for path in args.files:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            print(f"model_build: cannot read {path} as UTF-8: {exc}", file=sys.stderr)
            return 2
    report = count_characters(texts)
    general = count_phrase_characters()
    chars = sorted(set(report) | set(general), key=lambda ch: (-report[ch], -general[ch], ch))
    lines = [f"{ch}\t{report[ch]}\t{general[ch]}" for ch in chars]
    header = (
        f"# char\treport count (after t2s, {len(texts)} report files)\tpypinyin phrases containing it;"
        " built by crawler.textfix.model_build\n"
    )
    args.output.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
