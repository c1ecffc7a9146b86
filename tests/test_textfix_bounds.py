"""Bounded work per input in text repair (issue 16).

Time is compared with a linear baseline measured in the same test (the model's log-probability of every
character: one dict lookup each), never with a clock budget; memory with tracemalloc, against the size of the
text itself. A repair that stops early says so in an issue. Before the fix, 2 MB of random bytes took ~20-40x
the baseline and whole-window lists of ~40 bytes a character; see docs/textfix.md, "Bounded work".
"""

from __future__ import annotations

import random
import re
import signal
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

from crawler.textfix import byteshift, misdecoding, repair
from crawler.textfix.charmodel import clean_logp, text_score
from crawler.textfix.pinyin import remove_pinyin

_MB = 1 << 20
# Repair may cost this many baselines (measured: 3-7 on random bytes; 40+ before the fix).
_RATIO = 15.0


def _random_text(size: int, codec: str, seed: int = 16) -> str:
    return random.Random(seed).randbytes(size).decode(codec, "replace")


def _baseline(text: str) -> float:
    """Seconds for one linear pass over `text` in Python (a model lookup per character)."""
    started = time.perf_counter()
    [clean_logp(ch) for ch in text]
    return time.perf_counter() - started


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of running on (the code before the fix took minutes on these inputs)."""

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _timed_repair(text: str) -> tuple[float, list[str]]:
    """Seconds, and the issues' details."""
    with _deadline(120):
        started = time.perf_counter()
        result = repair(text)
        elapsed = time.perf_counter() - started
    return elapsed, [issue["detail"] for issue in result.issues]


@pytest.mark.parametrize("codec", ["gb18030", "latin-1"])
def test_repair_of_random_bytes_costs_a_few_linear_passes(
    codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fifth of the line-by-line search's allowance (its full ~7 s on latin-1 garbage would be most of
    # the time measured); everything else runs as in production. (raising=False: before the fix there was no
    # allowance and the test fails on time.)
    monkeypatch.setattr(misdecoding, "SEARCH_CHARS", 1_000_000, raising=False)
    text = _random_text(2 * _MB, codec)
    baseline = _baseline(text)
    elapsed, details = _timed_repair(text)
    assert elapsed < _RATIO * baseline + 1.0, (
        f"repair took {elapsed:.1f} s, {elapsed / baseline:.0f}x a linear pass"
    )
    # The search stopped early, and said where: nothing is dropped silently.
    stops = [detail for detail in details if "the rest left as is" in detail]
    assert any(detail.startswith("mis-decoding search stopped at character") for detail in stops), stops


def test_whole_document_misdecoding_is_decoded_by_the_codecs() -> None:
    """A long mis-decoded document (UTF-8 read as GBK) is re-decoded in C except around its holes."""
    rng = random.Random(3)
    words = ["政府信息公开", "申请", "予以公开", "行政复议", "本机关", "年度报告", "办理", "结转"]
    lines = [
        "，".join(f"{rng.choice(words)}{rng.randint(0, 999)}件" for _ in range(6)) + "。"
        for _ in range(10_000)
    ]
    clean = "\n".join(lines)
    text = clean.encode("utf-8").decode("gb18030", "replace")
    baseline = _baseline(text)
    with _deadline(120):
        started = time.perf_counter()
        result = repair(text)
        elapsed = time.perf_counter() - started
    assert elapsed < _RATIO * baseline + 1.0, (
        f"repair took {elapsed:.1f} s, {elapsed / baseline:.0f}x a linear pass"
    )
    detail = result.issues[0]["detail"]
    assert detail.startswith("the whole text mis-decoded (utf-8 read as gbk)")
    guessed = int(re.search(r"(\d+) lost bytes guessed", detail).group(1))  # type: ignore[union-attr]
    assert len(result.original) == len(clean)
    # Only guessed characters can be wrong (past 5,000 guesses the unigram choice stands and often is):
    # what the codecs decoded is exact.
    wrong = sum(a != b for a, b in zip(result.original, clean, strict=True))
    assert wrong <= guessed < len(clean) / 20


def test_repair_memory_is_a_few_copies_of_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    # the searches are timed above; here their memory (raising=False: see above)
    monkeypatch.setattr(misdecoding, "SEARCH_CHARS", 100_000, raising=False)
    monkeypatch.setattr(byteshift, "SCAN_CHARS", 100_000, raising=False)
    text = _random_text(_MB // 2, "utf-8")
    tracemalloc.start()
    try:
        repair(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # The result holds two copies (original, Simplified) and building one needs a third; before the fix,
    # per-character lists made it ~10 copies.
    size = sys.getsizeof(text)
    assert peak < 4 * size + 4 * _MB, f"peak {peak / _MB:.0f} MB for a {size / _MB:.0f} MB text"


def test_pinyin_removal_memory_is_the_text_not_the_annotations() -> None:
    """A mirror page with pinyin after every character: 132,000 annotations in a 1 MB page."""
    text = "報(bào)告(gào)，公(gōng)開(kāi)。\n" * 33_000
    remove_pinyin(text[:1000])  # pypinyin's dictionary is loaded on first use
    tracemalloc.start()
    try:
        stripped, removed, _ranges = remove_pinyin(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert removed == 4 * 33_000 and stripped == "報告，公開。\n" * 33_000
    size = sys.getsizeof(text)
    # The new text, and 16 bytes a removal; before the fix a list of (start, end) tuples and a list of
    # one-character pieces, ~200 bytes a removal (~30 MB here).
    assert peak < size + 16 * removed + _MB, f"peak {peak / _MB:.0f} MB for a {size / _MB:.1f} MB text"


def test_scoring_a_long_text_holds_a_slice_not_the_text() -> None:
    text = "政府信息公开" * 100_000
    tracemalloc.start()
    try:
        score = text_score(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert score == pytest.approx(sum(map(clean_logp, "政府信息公开")) / 6)
    assert peak < 4 * _MB  # a slice's characters (all 600,000 before the fix: ~50 MB)


def test_byte_shift_windows_are_read_in_slices_and_capped() -> None:
    """One suspect window as long as the text (a rule of repeated rare characters: no span in it)."""
    text = "ǘ" * 300_000
    tracemalloc.start()
    try:
        spans, capped = byteshift.find_and_recover(text, scan_limit=100_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert spans == []
    assert capped is not None and capped.startswith(
        "byte-shift search stopped at character 114,688 of 300,000"
    )
    assert peak < 4 * _MB  # a slice's ratios, not 300,000 floats (~10 MB)


def test_misdecoding_search_cap_is_an_issue_with_the_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(misdecoding, "SEARCH_CHARS", 200_000)
    garbage = _random_text(256 * 1024, "latin-1")
    redecoded = misdecoding.redecode(garbage)
    assert redecoded is not None and redecoded.capped is not None
    assert redecoded.capped.startswith("mis-decoding search stopped at character ")
    assert "after reading 200,000 characters of suspect text" in redecoded.capped
    result = repair(garbage)
    assert redecoded.capped in [issue["detail"] for issue in result.issues]


def test_real_sized_reports_stay_under_the_caps() -> None:
    """Mis-decoded words on every other line of a 124,000-character report: searched in full, no cap issue."""
    rng = random.Random(5)
    words = "政府信息公开工作年度报告"
    lines = []
    for k in range(3_000):
        bad = words.encode("utf-8").decode("cp1252", "replace") if k % 2 else words
        lines.append(f"第{k}项：{bad}，依申请公开{rng.randint(0, 99)}件。")
    result = repair("\n".join(lines))
    details = [issue["detail"] for issue in result.issues]
    assert not [d for d in details if "the rest left as is" in d], details
    assert words in result.original.split("\n")[1]
