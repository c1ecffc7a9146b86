"""Fuzz the code that reads untrusted bytes: decode/repair (crawler.textfix), the report parser
(crawler.report.parse_report) and the WARC reader (archive.reader.iter_captures), each for a set time; and the
reliability targets: WARCs cut short (``warc-cut``: every loss must be named, by the reader, rebuild and catch-up) and
the commands' argument parsing (``commands``: bad input is a usage error or one line and a non-zero exit, never a
traceback or a hang).

Each of them promises never to raise on bad input (decode/repair/parse_report turn problems into fields and issues;
the reader reports damaged records to its error handler and skips them; `Capture.payload` refuses a payload that
inflates past its bound with `PayloadTooLarge`), so any other exception is a crash. An input that
takes longer than --hang seconds counts as a crash too, and so does one that grows the heap past --max-memory (a
MemoryError: the cap is RLIMIT_DATA, so a decompression bomb fails fast instead of swapping the machine). Inputs come from Hypothesis: random bytes, generated
Chinese text in the encodings real portals use, and byte-level mutations (flips, cuts, splices, repeats) of real
samples (../shared/seeds, ../shared/real-samples), of a DOCX and a PDF built from them, and of WARC files written
with warcio (one of them holding a response whose gzip payload inflates to 768 MiB, as a hostile server sends it). Failures are caught and counted rather than shrunk, so the run keeps going for its whole time.

    .venv/bin/python bench/fuzz.py [--seconds 600] [--targets textfix,parser,warc,warc-cut,commands] [--seed N]
                                   [--hang 20]
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


class SilentLoss(Exception):
    """A cut WARC lost captures and neither the reader nor the index check named a damaged record."""


class WrongCapture(Exception):
    """A capture read from a cut WARC is not the one the whole file holds at that place."""


def _our_warc(pages: list[bytes], folder: Path) -> tuple[Path, Path]:
    """A WARC written by the crawl's own writer (groups of response, request and metadata, the first naming the
    others) and the folder of its CDXJ index."""
    from datetime import UTC, datetime

    from archive.recorder import build_group
    from archive.records import Exchange, sha1_digest, warc_date
    from archive.writer import RotatingWarcWriter

    writer = RotatingWarcWriter(folder / "warc", folder / "index", max_size=1 << 30)
    for i, body in enumerate(pages):
        url = f"http://www.example.gov.cn/zfxxgk/nb/{i}.html"
        ex = Exchange(url=url, method="GET", request_headers=[("User-Agent", "nianbao fuzz")], request_body=b"",
                      status=200, response_headers=[("Content-Type", "text/html; charset=utf-8")], body=body,
                      date=warc_date(datetime.now(UTC)))
        ex.payload_digest = sha1_digest(body)
        meta = {"role": "report", "source": "fuzz", "agency": "某某市", "discovery": [url], "list_year": 2023}
        writer.submit(lambda ex=ex, meta=meta: build_group(ex, meta), len(body) + 2048)
    (warc,) = writer.close()
    return warc, folder / "index"


def target_warc_cut(corpus: list[bytes]) -> tuple[st.SearchStrategy[Any], Callable[[Any], None]]:
    """WARCs cut short (then, sometimes, garbage or another record after the cut): the reader must never raise,
    never hand out a capture other than the whole file's, and name a damaged record whenever anything was lost —
    our writer's files (record groups, CDXJ index) and warcio's. Every 25th input also goes through ``rebuild`` and
    ``catch_up``, which must name the damage as well."""
    import hashlib as _hashlib

    from fastwarc.warc import ArchiveIterator

    from archive.cdxj import cut_off
    from archive.reader import iter_captures
    from pipelines.catalog.catchup import catch_up
    from pipelines.catalog.rebuild import rebuild

    pages = [c[:4000] for c in corpus[:6]] or [b"<html><body>2023</body></html>"]
    work = Path(tempfile.mkdtemp(prefix="nianbao-fuzz-cut-"))
    ours, index_dir = _our_warc(pages, work / "ours")
    bases: list[tuple[bytes, str, Path | None]] = [(ours.read_bytes(), ours.name, index_dir),
                                                   (_warc_from(pages, gz=True), "warcio.warc.gz", None),
                                                   (_warc_from(pages, gz=False), "warcio.warc", None)]
    truth: list[dict[str, tuple[int, str]]] = []
    boundaries: list[set[int]] = []  # where records start (and the file ends): a cut there leaves whole records
    for data, name, _ in bases:
        probe = work / "probe" / name
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(data)
        truth.append({c.record_id: (c.offset, _hashlib.sha1(c.raw_payload).hexdigest())
                      for c in iter_captures(probe)})
        with open(probe, "rb") as fh:
            boundaries.append({r.stream_pos for r in ArchiveIterator(fh, parse_http=False)} | {len(data)})
        probe.unlink()
    cut_dir = work / "cut" / "warc"
    cut_dir.mkdir(parents=True)
    counter = [0]

    def run(args: tuple[int, float, str, bytes]) -> None:
        which, where, tail_kind, junk = args
        base, name, idx = bases[which]
        cut = int(where * len(base))
        tail = b"" if tail_kind == "none" else junk if tail_kind == "garbage" else base[cut + len(junk):]
        data = base[:cut] + tail
        target = cut_dir / name
        for old in cut_dir.iterdir():
            old.unlink()
        target.write_bytes(data)
        if idx is not None:  # our file's own index, as the archive keeps it beside
            index = cut_dir.parent / "index"
            if not index.exists():
                index.symlink_to(idx)
        damaged: list[Any] = []
        read = list(iter_captures(target, errors=damaged.append))
        damaged += cut_off(target, idx)
        whole = truth[which]
        for cap in read:
            if cap.record_id in whole and tail_kind != "splice":
                offset, digest = whole[cap.record_id]
                if cap.offset < cut and (cap.offset, _hashlib.sha1(cap.raw_payload).hexdigest()) != (offset, digest):
                    raise WrongCapture(f"{name}@{cap.offset}: not the capture the whole file holds there")
        lost = set(whole) - {c.record_id for c in read}
        # a file of another tool, without an index, cut exactly between two records holds only whole records:
        # nothing can tell what came after. Ours names that too (its groups and its index).
        must_say = data != base and (idx is not None or (lost and cut not in boundaries[which]))
        if tail_kind == "none" and must_say and not damaged:
            raise SilentLoss(f"{name} cut at {cut} of {len(base)}: {len(lost)} captures lost, nothing named")
        counter[0] += 1
        if counter[0] % 25 == 0 and tail_kind == "none" and must_say:
            rebuilt = rebuild(cut_dir, work / "cut" / "rebuilt.sqlite")
            if not rebuilt.damaged:
                raise SilentLoss(f"rebuild of {name} cut at {cut}: nothing named")
            caught = catch_up([target], work / "cut" / "caught.sqlite", cut_dir)
            if not caught.damaged:
                raise SilentLoss(f"catch-up of {name} cut at {cut}: nothing named")
            for leftover in (work / "cut").glob("*.sqlite*"):
                leftover.unlink()

    strategy = st.tuples(st.integers(0, len(bases) - 1), st.floats(0, 1, exclude_max=True),
                         st.sampled_from(["none", "none", "none", "garbage", "splice"]), st.binary(max_size=96))
    return strategy, run


# --- the commands' argument parsing -------------------------------------------------------------------------------

class SilentFailure(Exception):
    """A command failed (non-zero exit) without a line saying why."""


_URLISH = ["http://[::1", "http://h:99999/", "http://h:port/", "http://", "https://www.example.gov.cn/",
           "http://www.example.gov.cn/zfxxgk/nb/0.html", "http://www.example.gov.cn/zfxxgk/nb/1.html",
           "http://例子.政务.cn/年报.html", "ftp://x/", "urn:dom:http://x/", "http://x/%zz", "http://x/\x00",
           "http://[fe80::1%25eth0]/", "http://0x7f.1/", "http://a:b@c/", "//no-scheme/x", ""]
_AT = ["2023", "20230101", "20231231235959", "1", "99999999999999999", "2023-01-01", "abcd", "-1", ""]
_FLAGS: dict[str, dict[str, str]] = {
    # flag -> kind of value ("": none); each command's own options, besides -s (set here, to the sandbox)
    "captures": {"--warc-dir": "dir", "--json": ""},
    "pull": {"--at": "at", "--as": "as", "-o": "out", "--output": "out", "--force": "", "--warc-dir": "dir"},
    "report": {"--json": "", "--at": "at", "--archive-dir": "dir"},
    "rebuild": {"--warc-dir": "dir", "--workers": "int", "--catalog": "out", "--no-index": ""},
    "index": {"--warc-dir": "dir", "--force": "", "--merge-to": "out"},
    "wacz": {"-o": "out", "--url-prefix": "url", "--warc-dir": "dir", "--force": ""},
    "export": {"--format": "word", "--table": "word", "--labels": "word", "--no-excel": "", "--excel": "",
               "-o": "out", "--catalog": "out"},
}
_WORDS = ["csv", "jsonl", "parquet", "xlsx", "json", "zh", "en", "fr", "reports", "key_figures", "copies,issues",
          "nope", "", "CSV", "reports,,"]


def _sandbox(corpus: list[bytes]) -> tuple[Path, dict[str, list[str]]]:
    """A folder the commands may read and write: an archive (WARC, index, catalog) and odd things where a file or
    folder is expected. Nothing a command is given points outside it (values that could write are sandbox paths)."""
    from pipelines.catalog.rebuild import rebuild

    root = Path(tempfile.mkdtemp(prefix="nianbao-fuzz-cmd-"))
    archive = root / "archive"
    pages = [c[:4000] for c in corpus[:4]] or [b"<html>2023</html>"]
    warc, index = _our_warc(pages, archive)
    rebuild(warc.parent, archive / "catalog.sqlite")
    (root / "exists.txt").write_bytes(b"keep")
    (root / "empty.html").write_bytes(b"")
    (root / "page.html").write_bytes(pages[0])
    (root / "cut.pdf").write_bytes(_pdf_from(pages[0].decode("utf-8", "replace"))[:700])
    (root / "dir").mkdir()
    os.mkfifo(root / "fifo")
    (root / "link-to-fifo").symlink_to(root / "fifo")
    (root / "corrupt.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 100)
    dirs = [str(archive / "warc"), str(root / "dir"), str(root / "missing"), str(root / "fifo"), str(root / "exists.txt"),
            str(archive)]
    outs = [str(root / n) for n in ("exists.txt", "new.bin", "dir", "fifo", "link-to-fifo", "missing/deeper/x",
                                    "corrupt.sqlite", "out.wacz", "cat.sqlite")]
    files = [str(root / n) for n in ("exists.txt", "empty.html", "page.html", "cut.pdf", "dir", "fifo", "missing.txt")]
    return root, {"dir": dirs, "out": outs, "file": files}


def _safe(token: str) -> str:
    """Free text never becomes an option (``-o /etc/…``): a leading dash is prefixed."""
    token = token.replace("\x00", "")
    return "x" + token if token.startswith("-") else token


@st.composite
def _argv(draw: st.DrawFn, paths: dict[str, list[str]]) -> tuple[str, list[str]]:
    name = draw(st.sampled_from(sorted(_FLAGS)))
    flags = _FLAGS[name]
    free = st.text(max_size=40).map(_safe)
    values = {"dir": st.sampled_from(paths["dir"]), "out": st.sampled_from(paths["out"]),
              "at": st.one_of(st.sampled_from(_AT), free), "as": st.sampled_from(["payload", "http", "warc", "x", ""]),
              "int": st.one_of(st.sampled_from(["0", "1", "2", "-3", "999999", "x", ""]), free),
              "url": st.one_of(st.sampled_from(_URLISH), free), "word": st.one_of(st.sampled_from(_WORDS), free)}
    positional = st.one_of(st.sampled_from(_URLISH), st.sampled_from(paths["file"]), free)
    argv: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.booleans()):
            flag = draw(st.sampled_from(sorted(flags)))
            argv.append(flag)
            if flags[flag]:
                argv.append(draw(values[flags[flag]]))
        else:
            argv.append(draw(positional))
    return name, argv


def target_commands(corpus: list[bytes]) -> tuple[st.SearchStrategy[Any], Callable[[Any], None]]:
    """Every command's argument parsing and what it does with what it is given, in this process: bad input must end
    in argparse's usage error, a UsageError or a non-zero exit with a line saying why — never an exception, and
    never a hang (a pipe where a file is expected). ``scrapy crawl``'s part (the spider's preflight of the settings,
    ``sources.toml`` and ``-a source``) is fuzzed with mutated sources files. ``portal`` serves until Ctrl-C and is
    left out."""
    import importlib
    import io as _io
    from contextlib import redirect_stderr, redirect_stdout

    from scrapy.cmdline import ScrapyArgumentParser
    from scrapy.commands import ScrapyHelpFormatter
    from scrapy.exceptions import UsageError
    from scrapy.utils.project import get_project_settings

    from spiders.annual_reports import AnnualReportsSpider

    root, paths = _sandbox(corpus)
    base = get_project_settings()
    good_sources = (ROOT / "sources.toml").read_bytes()

    class _Out(_io.TextIOWrapper):
        def __init__(self) -> None:
            super().__init__(_io.BytesIO(), encoding="utf-8", errors="replace")

    def run_command(name: str, argv: list[str]) -> None:
        cmd = importlib.import_module(f"crawler.commands.{name}").Command()
        settings = base.copy()
        settings.set("ARCHIVE_DIR", str(root / "archive"), priority="cmdline")
        settings.setdict(cmd.default_settings, priority="command")
        cmd.settings = settings
        parser = ScrapyArgumentParser(formatter_class=ScrapyHelpFormatter, usage=f"scrapy {name} {cmd.syntax()}",
                                      conflict_handler="resolve", description=cmd.long_desc())
        cmd.add_options(parser)
        err, out = _Out(), _Out()
        try:
            with redirect_stderr(err), redirect_stdout(out):
                opts, args = parser.parse_known_args(args=argv)
                cmd.process_options(args, opts)
                cmd.run(args, opts)
        except UsageError:
            return
        except SystemExit:
            return  # argparse's own usage error (status 2), or --help
        if cmd.exitcode:
            err.flush()
            said = err.buffer.getvalue().decode("utf-8", "replace").strip()  # type: ignore[attr-defined]
            if not said:
                raise SilentFailure(f"scrapy {name} {' '.join(argv)}: exit {cmd.exitcode} and nothing said")

    def run_preflight(sources: bytes, source: str | None, cap: str) -> None:
        path = root / "sources-fuzz.toml"
        path.write_bytes(sources)
        settings = base.copy()
        settings.set("NIANBAO_SOURCES", str(path), priority="cmdline")
        settings.set("NIANBAO_MAX_LIST_PAGES", cap, priority="cmdline")
        try:
            AnnualReportsSpider.preflight(settings, source=source)
        except ValueError:  # SourceError included: the one-line refusal scrapy crawl prints
            return

    def run(example: tuple[str, Any]) -> None:
        kind, data = example
        if kind == "command":
            run_command(*data)
        else:
            run_preflight(*data)

    sources = st.one_of(mutated([good_sources, b"", b"[[source]]\n", b"source = 1\n"]), st.binary(max_size=256))
    strategy = st.one_of(
        st.tuples(st.just("command"), _argv(paths)),
        st.tuples(st.just("preflight"), st.tuples(sources, st.one_of(st.none(), st.text(max_size=20)),
                                                  st.sampled_from(["200", "0", "-1", "x", "1e9", ""]))),
    )
    return strategy, run


TARGETS: dict[str, Callable[[list[bytes]], tuple[st.SearchStrategy[Any], Callable[[Any], None]]]] = {
    "textfix": target_textfix, "parser": target_parser, "warc": target_warc, "warc-cut": target_warc_cut,
    "commands": target_commands,
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
