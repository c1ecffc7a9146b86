"""Charset corpus: every sample encoded as UTF-8, GB18030, GBK, GB2312 and Big5, each served with a correct,
a missing and a wrong declaration (HTTP header, and `<meta>` for the HTML sample); >= 99 % must decode
exactly. Characters an encoding cannot represent are replaced by a space in that encoding's version."""

from __future__ import annotations

import re
from functools import cache

import opencc
import pytest

from crawler.textfix import decode
from tests.shared import needs_shared, shared_files

pytestmark = needs_shared

ENCODINGS = ("utf-8", "gb18030", "gbk", "gb2312", "big5")
WRONG = {
    "utf-8": ("gbk", "big5"),
    "gb18030": ("utf-8", "big5"),
    "gbk": ("utf-8", "big5"),
    "gb2312": ("utf-8", "big5"),
    "big5": ("utf-8", "gbk"),
}
_META = re.compile(r'<meta charset="utf-8"', re.IGNORECASE)


@cache
def samples() -> dict[str, str]:
    paths = shared_files("real-samples") + shared_files("seeds", "*.txt")
    return {p.name: p.read_text(encoding="utf-8") for p in paths}


def representable(text: str, encoding: str) -> str:
    """`text` (in Traditional for Big5) with the characters `encoding` lacks replaced by spaces."""
    if encoding == "big5":
        text = opencc.OpenCC("s2t").convert(text)
    return "".join(ch if _encodable(ch, encoding) else " " for ch in text)


@cache
def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def build_case(name: str, encoding: str, declared: str | None) -> tuple[str, bytes, dict[str, str]]:
    text = representable(samples()[name], encoding)
    if name.endswith(".html"):
        replacement = f'<meta charset="{declared}"' if declared else "<meta"
        text = _META.sub(replacement, text, count=1)
    content_type = "text/html" if declared is None else f"text/html; charset={declared}"
    return text, text.encode(encoding), {"Content-Type": content_type}


def corpus() -> list[tuple[str, str, str | None]]:
    cases: list[tuple[str, str, str | None]] = []
    for name in samples():
        for encoding in ENCODINGS:
            for declared in (encoding, None, *WRONG[encoding]):
                cases.append((name, encoding, declared))
    return cases


def test_charset_corpus_decodes_exactly():
    failures = []
    cases = corpus()
    for name, encoding, declared in cases:
        text, body, headers = build_case(name, encoding, declared)
        result = decode(body, headers)
        if result.text != text:
            failures.append(f"{name} as {encoding}, declared {declared}: got {result.charset} ({result.evidence})")
    rate = 1 - len(failures) / len(cases)
    print(f"charset corpus: {len(cases) - len(failures)}/{len(cases)} exact ({rate:.2%})")
    for failure in failures:
        print("  FAIL", failure)
    assert len(cases) >= 200
    assert rate >= 0.99, "\n".join(failures)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_corpus_has_chinese_in_every_encoding(encoding):
    text, body, _headers = build_case("pingtan_2020_page.txt", encoding, encoding)
    assert body.decode(encoding) == text
    assert sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") > 1000
