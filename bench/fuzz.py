"""Fuzz the code that reads untrusted bytes: decode/repair (crawler.textfix), the report parser
(crawler.report.parse_report) and the WARC reader (archive.reader.iter_captures), each for a set time.

Each of them promises never to raise on bad input (decode/repair/parse_report turn problems into fields and issues;
the reader reports damaged records to its error handler and skips them; `Capture.payload` refuses a payload that
inflates past its bound with `PayloadTooLarge`), so any other exception is a crash. An input that
takes longer than --hang seconds counts as a crash too, and so does one that grows the heap past --max-memory (a
MemoryError: the cap is RLIMIT_DATA, so a decompression bomb fails fast instead of swapping the machine). Inputs come from Hypothesis: random bytes, generated
Chinese text in the encodings real portals use, and byte-level mutations (flips, cuts, splices, repeats) of real
samples (../shared/seeds, ../shared/real-samples), of a DOCX and a PDF built from them, and of WARC files written
with warcio (one of them holding a response whose gzip payload inflates to 768 MiB, as a hostile server sends it). Failures are caught and counted rather than shrunk, so the run keeps going for its whole time.

    .venv/bin/python bench/fuzz.py [--seconds 600] [--targets textfix,parser,warc] [--seed N] [--hang 20]
                                   [--max-memory 512] [--save]

Prints, per target: inputs tried, crashes found (distinct by exception type and place), and the first few crashing
inputs (saved under bench/out/fuzz/ when --save is given). Exit status 1 when any target crashed.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import logging
import os
import random
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CONTENT_TYPES = [None, "text/html", "text/html; charset=gbk", "text/html; charset=utf-8", "text/plain",
                 "application/pdf", DOCX_TYPE, "application/msword", "application/octet-stream"]
CHARSETS = ["utf-8", "gbk", "gb2312", "gb18030", "big5", "latin-1", "iso-8859-1", "windows-1252", "utf-16",
            "x-unknown", ""]


_BOMB_BYTES = 768 * 1024 * 1024  # what the bomb inflates to: more than the default --max-memory


class Hang(Exception):
    """An input ran longer than --hang seconds."""


@dataclass
class Tally:
    target: str
    tried: int = 0
    crashes: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # signature -> (traceback tail, input)
    crash_count: int = 0
    seconds: float = 0.0


# --- corpus ------------------------------------------------------------------------------------------------------

def _samples() -> list[bytes]:
    out = []
    for folder in (SHARED / "seeds", SHARED / "real-samples"):
        if folder.is_dir():
            out += [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.suffix != ".md"]
    if not out:
        out = ["二〇二三年政府信息公开工作年度报告\n一、总体情况\n".encode()]
    return out


def _docx_from(text: str) -> bytes:
    import docx

    document = docx.Document()
    for line in text.splitlines()[:80]:
        document.add_paragraph(line)
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = str(r * 3 + c)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _pdf_from(text: str) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setFont("STSong-Light", 10)
    y = 800
    for line in text.splitlines()[:60]:
        c.drawString(40, y, line[:60])
        y -= 13
        if y < 40:
            c.showPage()
            c.setFont("STSong-Light", 10)
            y = 800
    c.save()
    return buf.getvalue()


def _warc_from(pages: list[bytes], gz: bool, bomb: bytes | None = None) -> bytes:
    """A WARC of ``pages`` (every other one gzip-encoded); with ``bomb``, one more response whose gzip payload
    inflates far beyond any sane page — what a hostile server hands the crawler, archived as received."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz, warc_version="WARC/1.1")
    writer.write_record(writer.create_warcinfo_record("fuzz.warc", {"software": "nianbao bench/fuzz.py"}))
    for i, body in enumerate([*pages, *([bomb] if bomb is not None else [])]):
        url = f"http://www.example.gov.cn/zfxxgk/nb/{i}.html"
        is_bomb = bomb is not None and i == len(pages)
        enc = [("Content-Encoding", "gzip")] if i % 2 or is_bomb else []
        payload = body if is_bomb else gzip.compress(body, mtime=0) if enc else body
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), *enc,
                                           ("Content-Length", str(len(payload)))], protocol="HTTP/1.1")
        resp = writer.create_warc_record(url, "response", payload=io.BytesIO(payload), http_headers=http)
        req = writer.create_warc_record(url, "request", payload=io.BytesIO(b""),
                                        http_headers=StatusAndHeaders(f"GET /zfxxgk/nb/{i}.html HTTP/1.1",
                                                                      [("Host", "www.example.gov.cn")],
                                                                      is_http_request=True))
        writer.write_request_response_pair(req, resp)
    return buf.getvalue()


# --- strategies ----------------------------------------------------------------------------------------------------

def _mutate(data: bytes, rnd: random.Random, rounds: int) -> bytes:
    buf = bytearray(data)
    for _ in range(rounds):
        op = rnd.randrange(6)
        n = len(buf)
        if n == 0:
            buf += bytes(rnd.randrange(256) for _ in range(8))
            continue
        i = rnd.randrange(n)
        if op == 0:  # flip bits
            buf[i] ^= 1 << rnd.randrange(8)
        elif op == 1:  # random byte
            buf[i] = rnd.randrange(256)
        elif op == 2:  # cut
            del buf[i:i + rnd.randrange(1, 64)]
        elif op == 3:  # insert junk
            buf[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 16)))
        elif op == 4:  # repeat a slice
            j = min(n, i + rnd.randrange(1, 128))
            buf[i:i] = buf[i:j] * rnd.randrange(1, 4)
        else:  # truncate
            del buf[i:]
    return bytes(buf)


def mutated(corpus: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.builds(lambda base, s, rounds: _mutate(base, random.Random(s), rounds),
                     st.sampled_from(corpus), st.integers(0, 2**32 - 1), st.integers(0, 12))


CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
TEXTISH = st.text(st.one_of(CJK, st.sampled_from(list("一二三四五六七八九十、（）：。，0123456789 \n\t|-年度报告")),
                            st.characters()), max_size=400)


@st.composite
def encoded_text(draw: st.DrawFn) -> bytes:
    text = draw(TEXTISH)
    codec = draw(st.sampled_from(["utf-8", "gbk", "gb18030", "big5", "utf-16", "latin-1"]))
    return text.encode(codec, errors="ignore")


def raw_bytes(corpus: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=2048), encoded_text(), mutated(corpus))


# --- targets --------------------------------------------------------------------------------------------------------

def target_textfix(corpus: list[bytes]) -> tuple[st.SearchStrategy[Any], Callable[[Any], None]]:
    from crawler.textfix import decode, repair

    def run(args: tuple[bytes, str | None]) -> None:
        body, charset = args
        headers = {"Content-Type": f"text/html; charset={charset}"} if charset is not None else None
        decoded = decode(body, headers=headers, url="http://www.example.gov.cn/nb.html")
        repair(decoded.text)

    return st.tuples(raw_bytes(corpus), st.one_of(st.none(), st.sampled_from(CHARSETS))), run


def target_parser(corpus: list[bytes]) -> tuple[st.SearchStrategy[Any], Callable[[Any], None]]:
    from crawler.report import parse_report

    text = max(corpus, key=len).decode("utf-8", "replace")
    docs = corpus + [_docx_from(text), _pdf_from(text)]

    def run(args: tuple[bytes, str | None]) -> None:
        body, ctype = args
        parse_report(body, url="http://www.example.gov.cn/zfxxgk/nb/1.html", content_type=ctype).to_dict()

    return st.tuples(st.one_of(raw_bytes(corpus), mutated(docs)), st.sampled_from(CONTENT_TYPES)), run


def target_warc(corpus: list[bytes]) -> tuple[st.SearchStrategy[Any], Callable[[Any], None]]:
    from archive.payload import PayloadTooLarge
    from archive.reader import iter_captures
    from crawler.portal.faults import gzip_bomb

    pages = [c[:3000] for c in corpus[:4]]
    bomb = gzip_bomb(_BOMB_BYTES)
    # one bomb among twenty seeds: each bomb costs a full inflation up to the heap cap, plain WARCs microseconds
    warcs = [_warc_from(pages, gz=True)] * 10 + [_warc_from(pages, gz=False)] * 9 + [
        _warc_from(pages, gz=True, bomb=bomb)]
    tmp = Path(tempfile.mkdtemp(prefix="nianbao-fuzz-"))
    path = tmp / "fuzz.warc.gz"
    plain = tmp / "fuzz.warc"

    def run(data: bytes) -> None:
        target = path if data[:2] == b"\x1f\x8b" else plain
        target.write_bytes(data)
        damaged: list[Any] = []
        for cap in iter_captures(target, errors=damaged.append):
            try:
                _ = (cap.url, cap.record_type, cap.payload if hasattr(cap, "payload") else None)
            except PayloadTooLarge:
                pass  # the documented refusal of a payload that inflates past the bound (a decompression bomb)
        target.unlink()

    return st.one_of(mutated(warcs), st.binary(max_size=1024)), run


TARGETS: dict[str, Callable[[list[bytes]], tuple[st.SearchStrategy[Any], Callable[[Any], None]]]] = {
    "textfix": target_textfix, "parser": target_parser, "warc": target_warc,
}


# --- driver ---------------------------------------------------------------------------------------------------------

def _as_bytes(example: Any) -> bytes:
    if isinstance(example, bytes):
        return example
    if isinstance(example, tuple) and example and isinstance(example[0], bytes):
        return example[0] + b"\n--- " + repr(example[1:]).encode()
    return repr(example).encode()


def _on_alarm(signum: int, frame: Any) -> None:
    raise Hang("input took longer than the --hang limit")


def _cap_memory(megabytes: float) -> None:
    """Let the heap grow by at most ``megabytes`` from here: a decompression bomb becomes a MemoryError (a crash)
    instead of swapping the machine. Linux counts private anonymous mappings in RLIMIT_DATA."""
    import resource

    if megabytes <= 0 or not Path("/proc/self/status").exists():
        return
    now = next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmData:"))
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = now + int(megabytes * 2**20)
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def fuzz(name: str, seconds: float, rng_seed: int, hang: float, max_memory: float) -> Tally:
    corpus = _samples()
    strategy, run = TARGETS[name](corpus)
    _cap_memory(max_memory)
    tally = Tally(name)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _on_alarm)

    @seed(rng_seed)
    @settings(max_examples=500, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[__import__("hypothesis").Phase.generate])
    @given(strategy)
    def one(example: Any) -> None:
        if time.monotonic() >= deadline:
            return
        tally.tried += 1
        signal.setitimer(signal.ITIMER_REAL, hang)
        try:
            run(example)
        except Exception as e:  # noqa: BLE001 - a fuzzer counts every escape as a crash
            tb = traceback.extract_tb(e.__traceback__)
            where = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                          if "site-packages" not in f.filename), tb[-1].name if tb else "?")
            sig = f"{type(e).__name__} at {where}"
            tally.crash_count += 1
            if sig not in tally.crashes:
                tally.crashes[sig] = ("".join(traceback.format_exception_only(e)).strip()[:300], _as_bytes(example))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    round_no = 0
    while time.monotonic() < deadline:
        seed(rng_seed + round_no)(one)()
        round_no += 1
    tally.seconds = time.monotonic() - started
    return tally


def _hide_libreoffice() -> str:
    """Run this process with a PATH that holds only the DOC converters besides LibreOffice (antiword), so the
    parser's ``shutil.which("soffice")`` finds nothing. Returns what is left, for the header line."""
    import shutil
    import tempfile

    kept = []
    bin_dir = Path(tempfile.mkdtemp(prefix="nianbao-fuzz-path-"))
    for tool in ("antiword",):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
            kept.append(tool)
    os.environ["PATH"] = str(bin_dir)
    return ", ".join(kept) or "none"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/fuzz.py", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600, help="time per target (default 600)")
    ap.add_argument("--targets", default=",".join(TARGETS), help=f"comma list of {', '.join(TARGETS)}")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("NIANBAO_FUZZ_SEED", "1")))
    ap.add_argument("--hang", type=float, default=20.0, help="seconds after which one input counts as a crash")
    ap.add_argument("--max-memory", type=float, default=512, metavar="MB",
                    help="heap growth allowed while fuzzing (0: no cap); past it an input is a MemoryError crash")
    ap.add_argument("--save", action="store_true", help="write crashing inputs to bench/out/fuzz/")
    ap.add_argument("--libreoffice", action="store_true",
                    help="let DOC/WPS inputs reach LibreOffice (1-2 s each: the parser target then tries ~20x "
                         "fewer inputs); by default the parser's converter is antiword, as on a machine without "
                         "LibreOffice. The LibreOffice path's own failures are tests/test_report_attachments.py's")
    args = ap.parse_args(argv)
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in names if t not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)}: choose from {', '.join(TARGETS)}")
    logging.disable(logging.WARNING)  # pdfminer & co. warn about every broken input: that is the point here
    converters = "libreoffice, antiword" if args.libreoffice else _hide_libreoffice()
    print(f"fuzz: hypothesis, {args.seconds:g} s per target, seed {args.seed}, hang limit {args.hang:g} s, "
          f"heap cap {args.max_memory:g} MB, DOC converters: {converters}", flush=True)
    crashed = False
    for name in names:
        tally = fuzz(name, args.seconds, args.seed, args.hang, args.max_memory)
        distinct = len(tally.crashes)
        crashed |= distinct > 0
        rate = tally.tried / tally.seconds if tally.seconds else 0.0
        print(f"{name:8s} inputs tried: {tally.tried:8d}  ({rate:7.1f}/s over {tally.seconds:6.1f} s)  "
              f"crashes: {tally.crash_count} ({distinct} distinct)", flush=True)
        for sig, (message, data) in list(tally.crashes.items())[:5]:
            digest = hashlib.sha1(data).hexdigest()[:12]
            print(f"    {sig}: {message.splitlines()[-1] if message else ''} [input {len(data)} B, sha1 {digest}]")
            if args.save:
                out = ROOT / "bench" / "out" / "fuzz"
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{name}-{digest}.bin").write_bytes(data)
    return 1 if crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
