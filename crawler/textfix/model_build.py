"""Build the character-frequency table (`charfreq.tsv`) that the scoring model reads.

Counts every CJK character of the given text files after OpenCC t2s, so Simplified and Traditional
sources count alike. Run from the project root:

    python -m crawler.textfix.model_build ../shared/real-samples/*.txt ../shared/real-samples/*.html \
        ../shared/real-samples/kirogov*.md ../shared/seeds/00[1-4]_*.txt -o crawler/textfix/charfreq.tsv \
        --bigrams crawler/textfix/bigrams.tsv

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

from .tokens import PUNCT, bigram_token


def count_characters(texts: list[str]) -> Counter[str]:
    """Counts of CJK unified ideographs and full-width punctuation in `texts`, after t2s."""
    converter = opencc.OpenCC("t2s")
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(ch for ch in converter.convert(text) if "\u3400" <= ch <= "\u9fff" or ch in PUNCT)
    return counts


BIGRAM_MIN_COUNT = 2


def _escape(ch: str) -> str:
    return "\\n" if ch == "\n" else ch


def count_bigrams(texts: list[str]) -> Counter[str]:
    """Counts of adjacent pairs of bigram tokens (CJK, punctuation, newline, digit and letter classes)."""
    converter = opencc.OpenCC("t2s")
    counts: Counter[str] = Counter()
    for text in texts:
        tokens = [bigram_token(ch) for ch in converter.convert(text)]
        counts.update(
            a + b for a, b in zip(tokens, tokens[1:], strict=False) if a is not None and b is not None
        )
    return Counter({pair: n for pair, n in counts.items() if n >= BIGRAM_MIN_COUNT})


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
    parser.add_argument("--bigrams", type=Path, required=True, help="where to write the bigram table")
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
    bigrams = count_bigrams(texts)
    rows = [
        f"{_escape(pair[0])}\t{_escape(pair[1])}\t{n}"
        for pair, n in sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    args.bigrams.write_text(
        f"# first\tsecond\tcount (after t2s, count >= {BIGRAM_MIN_COUNT}, newline written as \\n);"
        " built by crawler.textfix.model_build\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
