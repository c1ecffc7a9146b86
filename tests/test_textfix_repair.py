from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.textfix import Repaired, repair
from tests.shared import require_shared, shared_files, shared_params

ANNOTATION = re.compile(r"[\u3400-\u9fff][(（][A-Za-z\u00c0-\u024f]{1,7}[1-5]?[)）]")


def seed(number: str) -> str:
    require_shared()
    (path,) = [p for p in shared_files("seeds", "*.txt") if p.name.startswith(number)]
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


@pytest.mark.parametrize("path", shared_params("seeds", "*.txt"), ids=lambda p: p.name[:3])
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


@pytest.mark.parametrize("path", shared_params("real-samples"), ids=lambda p: p.name)
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


def test_seed_000_garbled_spans_reported_and_recovered():
    text = seed("000")
    result = repair(text)
    spans = result.mojibake_spans
    assert len(spans) >= 3
    for span in spans:
        assert text[span["start"] : span["end"]] == span["garbled"]
        assert span["unrecovered"] == span["recovered"].count("\ufffd")
    by_garbage = {span["garbled"]: span for span in spans}
    first = next(s for g, s in by_garbage.items() if "ǘ┩晟乒" in g)
    assert first["garbled"].startswith("?。") and "（" in first["recovered"] and "完善" in first["recovered"]
    second = next(s for g, s in by_garbage.items() if "敝贫龋" in g)
    assert "制度，" in second["recovered"]
    third = next(s for g, s in by_garbage.items() if "└倪" in g)
    assert "改進" in third["recovered"]
    for garbage in ("晟乒", "敝贫龋", "└倪", "峁┱畔"):
        assert garbage not in result.text and garbage not in result.original
    assert "完善" in result.text and "制度，对拟公开" in result.text and "改进措施" in result.text
    codes = [issue["code"] for issue in result.issues]
    assert codes.count("mojibake") == len(spans)
    assert all(set(issue) == {"code", "table", "row", "column", "detail"} for issue in result.issues)
    assert result.repairs_json()["mojibake_spans"] == spans


@pytest.mark.parametrize(
    ("family", "corrupt"),
    [
        ("utf-8 read as gbk", lambda s: s.encode("utf-8").decode("gb18030", "replace")),
        ("utf-8 read as latin-1/cp1252", lambda s: s.encode("utf-8").decode("cp1252", "replace")),
        ("utf-8 read as latin-1/cp1252", lambda s: s.encode("utf-8").decode("latin-1")),
        ("gbk read as latin-1/cp1252", lambda s: s.encode("gbk").decode("latin-1")),
    ],
)
def test_whole_document_misdecoding_repaired(family, corrupt):
    clean = (require_shared() / "real-samples" / "pingtan_2024_page.txt").read_text(encoding="utf-8")
    result = repair(corrupt(clean))
    assert len(result.original) == len(clean)
    wrong = sum(a != b for a, b in zip(result.original, clean, strict=True))
    assert wrong <= len(clean) // 1000
    assert any(family in issue["detail"] for issue in result.issues)


def test_issue_examples_of_misdecoding():
    assert repair("锛堜簩锛夊畬鍠勫叕寮€鍒跺害").original.startswith("（二）完善")
    assert repair("æ”¿åºœä¿¡æ¯å…¬å¼€").original == "政府信息公开"  # one byte lost without a trace
    assert repair("政府信息公开".encode().decode("cp1252", "replace")).original == "政府信息公开"
    assert repair("Õþ¸®ÐÅÏ¢¹«¿ª").original == "政府信息公开"


def shift_garble(clean: str) -> str:
    """What a GBK decoder one byte out of step makes of `clean` (unmappable pairs become '?')."""
    raw = clean.encode("gbk")[1:]
    out = []
    i = 0
    while i < len(raw):
        if raw[i] < 0x80:
            out.append(chr(raw[i]))
            i += 1
            continue
        try:
            out.append(raw[i : i + 2].decode("gbk"))
        except UnicodeDecodeError:
            out.append("?")
        i += 2
    return "".join(out)


def test_synthetic_byte_shift_burst_is_found():
    clean = seed("003")
    line = next(line for line in clean.splitlines() if len(line) > 60 and line.isascii() is False)
    burst = line[20:30]
    garbage = shift_garble(burst)
    damaged = clean.replace(burst, garbage, 1)
    result = repair(damaged)
    assert len(result.mojibake_spans) == 1
    span = result.mojibake_spans[0]
    assert damaged[span["start"] : span["end"]] == span["garbled"]
    assert garbage.strip("?") in span["garbled"]


@pytest.mark.parametrize(
    "text",
    [
        "?" * 200_000,
        "锟斤拷" * 50_000,
        "ǘ" * 200_000,
        "政府?" * 50_000,
        "Õþ¸®" * 50_000,
        bytes(range(0x81, 0xFF)).decode("gbk", "replace") * 800,
    ],
    ids=["question-marks", "kunjinkao", "pinyin-letter", "anchors", "latin", "gbk-garbage"],
)
def test_pathological_inputs_return_with_a_record(text):
    result = repair(text)
    assert isinstance(result.text, str)
    assert len(result.mojibake_spans) <= 200
    if "锟" in text or "Õ" in text:
        assert result.issues and all(issue["code"] == "mojibake" for issue in result.issues)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda s: s.encode("utf-8").decode("gb18030", "replace"),
        lambda s: s.encode("utf-8").decode("cp1252", "replace"),
        lambda s: s.encode("gbk").decode("latin-1"),
    ],
    ids=["utf-8-as-gbk", "utf-8-as-cp1252", "gbk-as-latin-1"],
)
def test_misdecoded_words_inside_a_clean_line(corrupt):
    words = "政府信息公开工作年度报告"
    line = f"标题：{corrupt(words)}（2024年）"
    result = repair(f"本报告依据条例编制，内容如下。\n{line}\n其他内容照常显示，没有问题。")
    assert result.original == f"本报告依据条例编制，内容如下。\n标题：{words}（2024年）\n其他内容照常显示，没有问题。"
    assert result.mojibake_spans == []
    assert len(result.issues) == 1 and "mis-decoded" in result.issues[0]["detail"]
