"""Benchmark of crawler.textfix on synthetically corrupted real reports.

Corrupts each clean sample in ../shared/real-samples once per corruption type, repairs it, and prints
character accuracy per type, the detection and false-positive rates of GBK byte-shift spans, and
decode+repair throughput. Run from the project root:

    .venv/bin/python bench/textfix.py [--samples DIR] [--seed N] [--bursts-per-10k N]

Targets (issue 3): >= 99.9 % character accuracy for pinyin, whole-document mis-decoding and Traditional
(the Traditional ceiling is OpenCC's own s2t -> t2s round trip); 100 % of byte-shift spans detected with
<= 1 false span per 100,000 clean characters.

`--sweep` (issue 16) instead times decode+repair on generated inputs of growing size, each in a fresh process,
and prints seconds and peak memory growth per input MB, and each size's ratio to the smallest (flat per-MB
figures = linear; the caps in docs/textfix.md, "Bounded work", make garbage cheaper per MB as it grows):

    .venv/bin/python bench/textfix.py --sweep [--sizes 1,2,4,8] [--kinds random,table,misdecoded,garbage]
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import opencc
from pypinyin import Style, pinyin

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # appended: a PYTHONPATH copy of the package (--held-out) takes precedence

# --held-out runs this script on a renamed copy of the package with rebuilt tables (the editable install
# would otherwise shadow a copy named crawler.textfix); the package only uses relative imports.
_textfix = importlib.import_module(os.environ.get("TEXTFIX_BENCH_PACKAGE", "crawler.textfix"))
decode = _textfix.decode
repair = _textfix.repair

S2T = opencc.OpenCC("s2t")
T2S = opencc.OpenCC("t2s")
DEFAULT_SAMPLES = ROOT.parent / "shared" / "real-samples"


def is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def char_errors(expected: str, got: str) -> int:
    """Edit operations (insert/delete/replace, counted in characters of `expected`) between two texts."""
    if expected == got:
        return 0
    a_lines = expected.split("\n")
    b_lines = got.split("\n")
    if len(a_lines) != len(b_lines):
        a_lines, b_lines = [expected], [got]
    errors = 0
    for a, b in zip(a_lines, b_lines, strict=True):
        if a == b:
            continue
        if len(a) == len(b):
            errors += sum(x != y for x, y in zip(a, b, strict=True))
            continue
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op != "equal":
                errors += max(i2 - i1, j2 - j1)
    return errors


@cache
def reading(ch: str, tone: bool) -> str:
    return pinyin(ch, style=Style.TONE if tone else Style.NORMAL)[0][0]


def inject_pinyin(text: str, rng: random.Random, style: str) -> str:
    """Mirror-site pinyin after about half the characters: toned `報(bào)`, toneless, or repeated."""
    out = []
    for ch in text:
        out.append(ch)
        if is_cjk(ch) and rng.random() < 0.5:
            syllable = reading(ch, style == "toned")
            if syllable == ch:
                continue
            repeat = 2 if style == "repeated" else 1
            out.append(f"({syllable})" * repeat)
    return "".join(out)


def shift_garble(segment: str) -> str:
    """What a GBK decoder one byte out of step makes of `segment` (unmappable pairs become '?')."""
    raw = segment.encode("gbk")[1:]
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


def gbk_safe(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def add_bursts(text: str, rng: random.Random, per_10k: float) -> tuple[str, list[tuple[int, int]]]:
    """Replace runs of 4-12 CJK characters with byte-shift garbage; return the text and burst spans."""
    runs = []
    start = None
    for i, ch in enumerate(text + "\n"):
        if is_cjk(ch) and gbk_safe(ch):
            start = i if start is None else start
        else:
            if start is not None and i - start >= 8:
                runs.append((start, i))
            start = None
    wanted = max(1, round(len(text) / 10_000 * per_10k))
    chosen = sorted(rng.sample(runs, min(wanted, len(runs))))
    pieces = []
    bursts = []
    last = 0
    out_len = 0
    for run_start, run_end in chosen:
        length = rng.randint(4, min(12, run_end - run_start))
        begin = rng.randint(run_start, run_end - length)
        if begin < last:
            continue
        garbage = shift_garble(text[begin : begin + length])
        pieces.append(text[last:begin])
        out_len += begin - last
        bursts.append((out_len, out_len + len(garbage)))
        pieces.append(garbage)
        out_len += len(garbage)
        last = begin + length
    pieces.append(text[last:])
    return "".join(pieces), bursts


@dataclass
class Row:
    name: str
    chars: int = 0
    errors: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return 1.0 - self.errors / self.chars if self.chars else 1.0


def load_samples(folder: Path) -> dict[str, str]:
    samples = {}
    for path in sorted(folder.iterdir()):
        if path.name == "SOURCES.md" or not path.is_file():
            continue
        samples[path.name] = path.read_text(encoding="utf-8")
    return samples


MISDECODINGS: dict[str, Callable[[str], str]] = {
    "utf-8 read as gbk": lambda s: s.encode("utf-8").decode("gb18030", "replace"),
    "utf-8 read as latin-1": lambda s: s.encode("utf-8").decode("latin-1"),
    "utf-8 read as cp1252": lambda s: s.encode("utf-8").decode("cp1252", "replace"),
    "gbk read as latin-1": lambda s: s.encode("gb18030").decode("latin-1"),
    "gbk read as cp1252": lambda s: s.encode("gb18030").decode("cp1252", "replace"),
}


@dataclass
class Results:
    rows: list[Row]
    bursts: int = 0
    detected: int = 0
    false_spans: int = 0
    clean_chars: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "rows": [
                {"name": r.name, "chars": r.chars, "errors": r.errors, "notes": r.notes} for r in self.rows
            ],
            "bursts": self.bursts,
            "detected": self.detected,
            "false_spans": self.false_spans,
            "clean_chars": self.clean_chars,
        }

    def add(self, other: dict[str, object]) -> None:
        """Add another run's counts (rows matched by name)."""
        by_name = {r.name: r for r in self.rows}
        for raw in other["rows"]:  # type: ignore[attr-defined]
            row = by_name.setdefault(raw["name"], Row(raw["name"]))
            if row not in self.rows:
                self.rows.append(row)
            row.chars += raw["chars"]
            row.errors += raw["errors"]
        for key in ("bursts", "detected", "false_spans", "clean_chars"):
            setattr(self, key, getattr(self, key) + other[key])  # type: ignore[operator]


def evaluate(samples: dict[str, str], seed: int, per_10k: float, burst_rounds: int) -> Results:
    rng = random.Random(seed)
    rows: list[Row] = []

    for style in ("toned", "toneless", "repeated"):
        row = Row(f"pinyin ({style})")
        injected = 0
        for text in samples.values():
            damaged = inject_pinyin(text, rng, style)
            injected += damaged.count("(") - text.count("(")
            result = repair(damaged)
            row.chars += len(text)
            row.errors += char_errors(text, result.original)
        row.notes.append(f"{injected} annotations injected")
        rows.append(row)

    row = Row("traditional (vs s2t->t2s)")
    flagged = 0
    for text in samples.values():
        traditional = S2T.convert(text)
        ceiling = T2S.convert(traditional)
        result = repair(traditional)
        flagged += result.traditional
        row.chars += len(ceiling)
        row.errors += char_errors(ceiling, result.text)
    row.notes.append(f"flagged traditional {flagged}/{len(samples)}")
    rows.append(row)

    for name, corrupt in MISDECODINGS.items():
        row = Row(f"mis-decoded: {name}")
        for text in samples.values():
            result = repair(corrupt(text))
            row.chars += len(text)
            row.errors += char_errors(text, result.original)
        rows.append(row)

    # Byte-shift bursts: detection (a burst counts when a reported span overlaps it), false spans.
    results = Results(rows)
    row = Row("byte-shift bursts")
    for _round in range(burst_rounds):
        for text in samples.values():
            damaged, bursts = add_bursts(text, rng, per_10k)
            result = repair(damaged)
            spans = [(s["start"], s["end"]) for s in result.mojibake_spans]
            results.bursts += len(bursts)
            results.detected += sum(any(s < e2 and s2 < e for s2, e2 in spans) for s, e in bursts)
            results.false_spans += sum(not any(s < e2 and s2 < e for s2, e2 in bursts) for s, e in spans)
            results.clean_chars += len(damaged) - sum(e - s for s, e in bursts)
            row.chars += len(text)
            row.errors += char_errors(text, result.original)
    row.notes.append(f"bursts of 4-12 characters, {burst_rounds} placements per sample")
    for text in samples.values():
        for variant in (text, S2T.convert(text)):
            result = repair(variant)
            results.false_spans += len(result.mojibake_spans)
            results.clean_chars += len(variant)
    rows.append(row)
    return results


def print_results(results: Results) -> None:
    width = max(len(r.name) for r in results.rows)
    print(f"{'corruption':<{width}}  {'chars':>9}  {'errors':>7}  {'accuracy':>9}  notes")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 7}  {'-' * 9}  -----")
    for r in results.rows:
        print(
            f"{r.name:<{width}}  {r.chars:>9,}  {r.errors:>7,}  {r.accuracy:>9.4%}  {'; '.join(r.notes)}".rstrip()
        )
    print()
    rate = results.detected / results.bursts if results.bursts else 1.0
    per_100k = results.false_spans / results.clean_chars * 100_000 if results.clean_chars else 0.0
    print(f"byte-shift spans detected: {results.detected}/{results.bursts} ({rate:.1%})")
    print(
        f"false byte-shift spans: {results.false_spans} in {results.clean_chars:,} clean characters "
        f"({per_100k:.2f} per 100,000)"
    )


def print_throughput(samples: dict[str, str]) -> None:
    bodies = [text.encode("gb18030") for text in samples.values()]
    total = sum(len(b) for b in bodies)
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        for body in bodies:
            repair(decode(body, {"Content-Type": "text/html; charset=gbk"}).text)
    elapsed = time.perf_counter() - started
    print(f"decode+repair throughput: {total * rounds / elapsed / 1e6:.2f} MB/s ({total:,} bytes x {rounds})")
    largest = max(samples.values(), key=len)
    timings = []
    for _ in range(10):
        started = time.perf_counter()
        repair(largest)
        timings.append(time.perf_counter() - started)
    print(
        f"repair of the largest sample ({len(largest.encode('utf-8')):,} bytes UTF-8): "
        f"median {sorted(timings)[5] * 1000:.1f} ms"
    )


def held_out(samples_dir: Path, samples: dict[str, str], args: argparse.Namespace) -> Results:
    """Leave one out: for each sample, rebuild the model tables without it (in a copy of the package) and
    evaluate that sample alone in a subprocess that imports the copy."""
    totals = Results([])
    training_extra = sorted((samples_dir.parent / "seeds").glob("00[1-4]_*.txt"))
    for name in samples:
        with tempfile.TemporaryDirectory() as tmp:
            package = Path(tmp) / "textfix_heldout"
            shutil.copytree(
                ROOT / "crawler" / "textfix", package, ignore=shutil.ignore_patterns("__pycache__")
            )
            others = [samples_dir / other for other in samples if other != name]
            env = {**os.environ, "PYTHONPATH": tmp, "TEXTFIX_BENCH_PACKAGE": "textfix_heldout"}
            tables = ["-o", str(package / "charfreq.tsv"), "--bigrams", str(package / "bigrams.tsv")]
            build = [
                sys.executable,
                "-m",
                "textfix_heldout.model_build",
                *map(str, others + training_extra),
                *tables,
            ]
            subprocess.run(build, check=True, env=env, cwd=tmp, capture_output=True)
            only = Path(tmp) / "samples"
            only.mkdir()
            shutil.copy(samples_dir / name, only / name)
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--samples",
                str(only),
                "--json",
                "--seed",
                str(args.seed),
                "--bursts-per-10k",
                str(args.bursts_per_10k),
                "--burst-rounds",
                str(args.burst_rounds),
            ]
            out = subprocess.run(command, check=True, env=env, cwd=tmp, capture_output=True, text=True).stdout
            totals.add(json.loads(out))
    return totals


# --- size sweep (issue 16): bounded work per input ------------------------------------------------------------

_LABELS = (
    "本年新收政府信息公开申请数量",
    "上年结转政府信息公开申请数量",
    "予以公开",
    "部分公开（区分处理的，只计这一情形）",
    "属于国家秘密",
    "危及“三安全一稳定”",
    "保护第三方合法权益",
    "本机关不掌握相关政府信息",
    "补正后申请内容仍不明确",
    "信访举报投诉类申请",
    "结转下年度继续办理",
    "主动公开规范性文件",
    "行政许可决定",
    "行政复议结果维持",
)


def _prose(size: int, rng: random.Random) -> str:
    """Report-like Chinese lines with numbers, about `size` bytes in UTF-8."""
    lines: list[str] = []
    total = 0
    while total < size:
        line = (
            "，".join(f"{rng.choice(_LABELS)}{rng.randint(0, 999)}件" for _ in range(rng.randint(2, 6)))
            + "。"
        )
        lines.append(line)
        total += len(line.encode("utf-8")) + 1
    return "\n".join(lines)


def _table_page(size: int, rng: random.Random) -> bytes:
    """An HTML page with one <table> of label + 7 number cells per row, about `size` bytes."""
    head = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>2024年政府信息公开工作年度报告</title></head>'
        "<body><h1>2024年政府信息公开工作年度报告</h1><table>\n"
    )
    rows = [head]
    total = len(head.encode("utf-8"))
    while total < size:
        cells = "".join(f"<td>{rng.randint(0, 999)}</td>" for _ in range(7))
        row = f"<tr><td>{rng.choice(_LABELS)}</td>{cells}</tr>\n"
        rows.append(row)
        total += len(row.encode("utf-8"))
    rows.append("</table></body></html>")
    return "".join(rows).encode("utf-8")


def _garble_lines(text: str) -> str:
    """The first 12 characters of every line read one byte out of step (the rest resynchronised)."""
    return "\n".join(shift_garble(line[:12]) + line[12:] for line in text.split("\n"))


def _sweep_input(kind: str, size: int, seed: int) -> bytes:
    rng = random.Random(seed)
    if kind == "random":  # what a hostile server sends
        return rng.randbytes(size)
    if kind == "table":  # a huge but clean page
        return _table_page(size, rng)
    if (
        kind == "misdecoded"
    ):  # a mirror's copy: UTF-8 once read as GBK, saved as UTF-8 (whole-text re-decoding)
        text = _prose(size * 2 // 3, rng).encode("utf-8").decode("gb18030", "replace")
        return text.encode("utf-8")
    if kind == "garbage":  # GBK byte-shift garbage at the start of every line (served as UTF-8)
        return _garble_lines(_prose(size * 2 // 3, rng)).encode("utf-8")
    raise ValueError(f"unknown sweep kind {kind!r}")


SWEEP_KINDS = ("random", "table", "misdecoded", "garbage")


def _rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (VmRSS), or its high-water mark (VmHWM), in MB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1e3
    return 0.0


def sweep_one(path: Path) -> dict[str, object]:
    """decode + repair of one file in this process: seconds, peak RSS growth (MB), and the caps hit."""
    body = path.read_bytes()
    # Tables built on first use (suspect pattern, dictionary word pairs, regexes) are not the input's cost.
    warm = _prose(20_000, random.Random(0))
    repair(warm.encode("utf-8").decode("gb18030", "replace") + "\n" + _garble_lines(warm))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the high-water mark: what the warm-up touched is not the input's peak
    before = _rss_mb()
    started = time.perf_counter()
    result = repair(decode(body).text)
    seconds = time.perf_counter() - started
    capped = [
        i["detail"].split(" after ")[0].split(":")[0]
        for i in result.issues
        if "the rest left as is" in i["detail"]
    ]
    return {"seconds": seconds, "peak_mb": max(0.0, _rss_mb("VmHWM") - before), "capped": capped}


def run_sweep(sizes_mb: list[float], kinds: list[str], seed: int) -> None:
    print(
        "decode+repair, one fresh process per input; peak = its RSS high-water mark over its RSS before (MB)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            print()
            print(
                f"{kind:<11} {'MB':>6}  {'seconds':>8}  {'s/MB':>6}  {'peak MB':>8}  {'MB/MB':>6}  "
                f"{'time x':>7}  {'peak x':>7}  caps hit"
            )
            first: tuple[float, float, float] | None = None
            for mb in sizes_mb:
                path = Path(tmp) / f"{kind}-{mb}.bin"
                path.write_bytes(_sweep_input(kind, int(mb * 1_048_576), seed))
                size = path.stat().st_size / 1_048_576
                out = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--sweep-one", str(path)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                got = json.loads(out)
                seconds, peak = float(got["seconds"]), float(got["peak_mb"])
                first = first or (size, seconds, peak)
                # ratios against the smallest input, per MB: 1.0 = linear
                time_x = (seconds / size) / (first[1] / first[0]) if first[1] else 0.0
                peak_x = (peak / size) / (first[2] / first[0]) if first[2] else 0.0
                caps = ", ".join(got["capped"]) or "-"  # type: ignore[arg-type]
                print(
                    f"{'':<11} {size:>6.1f}  {seconds:>8.2f}  {seconds / size:>6.2f}  {peak:>8.0f}  "
                    f"{peak / size:>6.1f}  {time_x:>7.2f}  {peak_x:>7.2f}  {caps}"
                )
                path.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark crawler.textfix on corrupted real reports.")
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES, help="folder of clean UTF-8 reports")
    parser.add_argument("--seed", type=int, default=3, help="random seed for the corruptions")
    parser.add_argument(
        "--bursts-per-10k", type=float, default=3.0, help="byte-shift bursts per 10,000 characters"
    )
    parser.add_argument("--burst-rounds", type=int, default=5, help="burst placements per sample")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON (no throughput)")
    parser.add_argument(
        "--held-out", action="store_true", help="also evaluate each sample with the model rebuilt without it"
    )
    parser.add_argument("--sweep", action="store_true", help="time decode+repair on generated inputs by size")
    parser.add_argument("--sizes", default="1,2,4,8", help="--sweep: input sizes in MB, comma-separated")
    parser.add_argument(
        "--kinds", default=",".join(SWEEP_KINDS), help="--sweep: input kinds, comma-separated"
    )
    parser.add_argument("--sweep-one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sweep_one:
        print(json.dumps(sweep_one(args.sweep_one)))
        return 0
    if args.sweep:
        kinds = [k for k in args.kinds.split(",") if k]
        unknown = sorted(set(kinds) - set(SWEEP_KINDS))
        if unknown:
            print(
                f"bench/textfix.py: --kinds {','.join(unknown)}: not one of {','.join(SWEEP_KINDS)}",
                file=sys.stderr,
            )
            return 2
        try:
            sizes = [float(x) for x in args.sizes.split(",") if x]
        except ValueError:
            print(
                f"bench/textfix.py: --sizes {args.sizes!r}: give MB as numbers, e.g. 1,2,4,8", file=sys.stderr
            )
            return 2
        run_sweep(sizes, kinds, args.seed)
        return 0
    if not args.samples.is_dir():
        print(f"bench/textfix.py: --samples {args.samples} is not a folder", file=sys.stderr)
        return 2
    samples = load_samples(args.samples)
    if not samples:
        print(f"bench/textfix.py: no samples in {args.samples}", file=sys.stderr)
        return 2
    results = evaluate(samples, args.seed, args.bursts_per_10k, args.burst_rounds)
    if args.json:
        print(json.dumps(results.to_json()))
        return 0
    print(
        f"samples: {len(samples)} files, {sum(len(t) for t in samples.values()):,} characters; seed {args.seed}"
    )
    print()
    print_results(results)
    print_throughput(samples)
    if args.held_out:
        print()
        print("held out: each sample repaired with model tables rebuilt without it (leave-one-out)")
        print()
        print_results(held_out(args.samples, samples, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
