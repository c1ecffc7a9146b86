from __future__ import annotations

import re

import pytest
from conftest import SHARED
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.textfix import Repaired, repair

SEEDS = sorted((SHARED / "seeds").glob("*.txt"))
REAL = sorted((SHARED / "real-samples").glob("*"))
REAL = [p for p in REAL if p.name != "SOURCES.md"]
ANNOTATION = re.compile(r"[\u3400-\u9fff][(（][A-Za-z\u00c0-\u024f]{1,7}[1-5]?[)）]")


def seed(number: str) -> str:
    (path,) = [p for p in SEEDS if p.name.startswith(number)]
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("damaged", "clean", "count"),
    [
        ("報(bào)告", "報告", 1),
        ("報(bao)告", "報告", 1),
        ("公(gong)(gong)開(kai)", "公開", 3),
        ("公（gōng）开（kāi）", "公开", 2),
        ("綠(lü)色", "綠色", 1),
        ("行(xing2)政", "行政", 1),
    ],
)
def test_pinyin_styles_removed(damaged, clean, count):
    result = repair(damaged)
    assert result.original == clean
    assert result.pinyin_removed == count


@pytest.mark.parametrize(
    "text",
    [
        "（以下简称《条例》）",
        "第二十条第(a)项",
        "站(政务公开办)",
        "申请(ABC)",
        "公(kai)开",  # kai is not a reading of 公
        "《条例》(国务院令第711号)",
    ],
)
def test_real_parentheses_untouched(text):
    result = repair(text)
    assert result.original == text
    assert result.pinyin_removed == 0


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_seeds_have_no_pinyin_left(path):
    result = repair(path.read_text(encoding="utf-8"))
    assert not ANNOTATION.search(result.text)
    assert not ANNOTATION.search(result.original)


def test_seed_000_and_004_come_out_simplified():
    for number in ("000", "004"):
        result = repair(seed(number))
        assert result.traditional
        assert "政府信息公开" in result.text
        assert "報告" not in result.text and "公開" not in result.text
        assert "公開" in result.original
        assert result.pinyin_removed > 300


@pytest.mark.parametrize("number", ["001", "003"])
def test_simplified_seeds_unchanged(number):
    text = seed(number)
    result = repair(text)
    assert not result.traditional
    assert result.original == text
    assert result.pinyin_removed == 0


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_no_false_repairs_on_real_samples(path):
    text = path.read_text(encoding="utf-8")
    result = repair(text)
    assert result.original == text
    assert result.pinyin_removed == 0
    assert result.mojibake_spans == []
    assert result.issues == []
    assert not result.traditional


def test_repairs_json_shape():
    result = repair(seed("004"))
    assert isinstance(result, Repaired)
    assert set(result.repairs_json()) == {"pinyin_removed", "mojibake_spans", "traditional"}
    assert result.repairs_json()["pinyin_removed"] == result.pinyin_removed


def test_empty_and_odd_inputs():
    assert repair("").text == ""
    assert repair("\x00\ufffd" * 100).text
    assert repair("政" * 1_000_000).text == "政" * 1_000_000


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises(text):
    result = repair(text)
    assert isinstance(result.text, str)
    assert isinstance(result.repairs_json(), dict)
