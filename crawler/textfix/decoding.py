"""`decode()`: bytes to text, choosing the charset from BOM, header, `<meta>` and the bytes themselves."""

from __future__ import annotations

import codecs
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import charset_normalizer

from .charmodel import text_score
from .charsets import content_type, header_charset, meta_charset, normalise_charset, python_codec, sniff_bom

# A declared charset keeps the document unless another reading scores this much better per character
# (mean natural-log probability under the report model); GBK read as Big5 loses by ~3-5, real text by <0.5.
_DECLARATION_MARGIN = 1.0
_CJK_CANDIDATES = ("gb18030", "big5")
# Mean log-probability above which a reading looks like real Chinese prose (real reports: -5 to -7).
_CHINESE_FLOOR = -9.0
_DETECT_BYTES = 65536

# charset_normalizer logs every candidate it weighs (about 100 TRACE/DEBUG records a call: Scrapy's own charset
# detection calls it too, for a page that declares none). Scrapy leaves the root logger at NOTSET, so each record
# was built and handed to the handlers before being dropped: about 1 ms a page in the crawl process. Unless the
# operator has set a level for it themselves, it logs from WARNING up.
if logging.getLogger("charset_normalizer").level == logging.NOTSET:
    logging.getLogger("charset_normalizer").setLevel(logging.WARNING)
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "looks like PDF"),
    (b"PK\x03\x04", "looks like a ZIP/OOXML document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "looks like an OLE document (.doc/.xls)"),
    (b"\x89PNG\r\n\x1a\n", "looks like PNG"),
    (b"\xff\xd8\xff", "looks like JPEG"),
    (b"GIF8", "looks like GIF"),
    (b"\x1f\x8b", "looks like gzip"),
)


@dataclass(frozen=True)
class Decoded:
    """Text decoded from a body, the codec used, why it was chosen, and what was wrong with the bytes."""

    text: str
    charset: str
    evidence: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _strict(body: bytes, charset: str, final: bool = True) -> str | None:
    """`body` decoded without errors, or None. With `final=False` a multi-byte sequence cut off at the end
    (a sample taken from a longer body) is not an error: the incremental decoder keeps it pending."""
    try:
        return codecs.getincrementaldecoder(python_codec(charset))().decode(body, final=final)
    except (UnicodeError, LookupError):  # UnicodeError too: utf-16's decoder raises it for a missing BOM
        return None


def _lenient(body: bytes, charset: str) -> tuple[str, int]:
    """Decode with replacement; also return how many replacement characters it introduced."""
    try:
        text = body.decode(python_codec(charset), errors="replace")
    except (UnicodeError, LookupError):
        text = body.decode("utf-8", errors="replace")
    introduced = text.count("\ufffd") - _count_literal_replacements(body)
    return text, max(introduced, 0)


def _count_literal_replacements(body: bytes) -> int:
    return body.count(b"\xef\xbf\xbd")


# C0 control bytes other than tab, LF, VT, FF and CR: more than 5% of the head marks a binary body
_CONTROL_BYTES = bytes(b for b in range(0x20) if b < 0x09 or b >= 0x0E)


def _binary_problem(body: bytes) -> str | None:
    for signature, problem in _SIGNATURES:
        if body.startswith(signature):
            return problem
    head = body[:4096]
    if not head:
        return None
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if b"\x00" in head and not _looks_utf16(head):
        return "binary content"
    if controls / len(head) > 0.05:
        return "binary content"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the NUL pattern of ASCII-heavy UTF-16 shows, else None."""
    if not _looks_utf16(head):
        return None
    return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without a BOM: every other byte NUL in ASCII-heavy text."""
    if len(head) < 4:
        return False
    evens = head[0::2].count(0)
    odds = head[1::2].count(0)
    half = len(head) // 2
    return max(evens, odds) > 0.4 * half and min(evens, odds) < 0.05 * half


def _is_ascii(body: bytes) -> bool:
    return body.isascii()


def _detect(body: bytes, extra: tuple[str, ...] = ()) -> tuple[str, str]:
    """The best-scoring reading of `body`: (charset, how it was found).

    Strict readings compete first; if no charset reads the bytes cleanly, lenient readings compete
    (the model scores replacement characters low, so the reading with the fewest holes usually wins).
    """
    sample = _trim_partial(body[:_DETECT_BYTES], len(body) > _DETECT_BYTES)
    guess = charset_normalizer.from_bytes(sample).best()
    guessed = normalise_charset(guess.encoding) if guess is not None else None
    names = list(dict.fromkeys((*_CJK_CANDIDATES, *extra, *([guessed] if guessed else []))))
    partial = len(body) > _DETECT_BYTES
    strict = {name: text for name in names if (text := _strict(sample, name, final=not partial)) is not None}
    candidates = strict or {name: _lenient(sample, name)[0] for name in (*names, "utf-8")}
    scored = {charset: text_score(text) for charset, text in candidates.items()}
    best = max(scored, key=lambda c: (scored[c], c == guessed))
    how = "charset-normalizer" if best == guessed else "character model"
    return best, how if strict else f"{how}, no charset reads the bytes cleanly"


def _valid_utf8(body: bytes) -> bool:
    """Valid UTF-8, allowing one multi-byte character cut off at the very end (a truncated body)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            exc.reason == "unexpected end of data"
            and exc.start >= len(body) - 3
            and not body[: exc.start].isascii()
        )
    return True


def _trim_partial(sample: bytes, truncated: bool) -> bytes:
    """Drop a possibly cut multi-byte character at the end of a truncated sample."""
    if not truncated:
        return sample
    cut = len(sample)
    while cut > len(sample) - 4 and cut > 0 and sample[cut - 1] >= 0x80:
        cut -= 1
    return sample[:cut]


def decode(body: bytes, headers: Mapping[str, Any] | None = None, url: str | None = None) -> Decoded:
    """Decode `body`: BOM, then HTTP header, then `<meta>`, then detection; the bytes win over declarations.

    Never raises: undecodable input comes back as text with replacement characters and a `problems` entry.
    `url` only names the input in evidence lines.
    """
    evidence: list[str] = []
    problems: list[str] = []
    if not isinstance(body, bytes | bytearray | memoryview):
        body = str(body).encode("utf-8", "replace")
    body = bytes(body)
    if url:
        evidence.append(f"url: {url}")
    if not body:
        return Decoded("", "utf-8", evidence + ["empty body"], ["empty body"])

    bom = sniff_bom(body)
    if bom is not None:
        charset, length = bom
        evidence.append(f"bom: {charset}")
        text, bad = _lenient(body[length:], charset)
        if bad:
            problems.append(f"invalid sequences replaced: {bad}")
        charset = (
            "utf-16"
            if charset.startswith("utf-16")
            else "utf-32"
            if charset.startswith("utf-32")
            else charset
        )
        return Decoded(text, charset, evidence, problems)
    evidence.append("bom: none")

    utf16 = _utf16_without_bom(body[:4096])
    if utf16 is not None:
        evidence.append(f"bytes: {utf16} without a byte-order mark (NUL in every other byte)")
        text, bad = _lenient(body, utf16)
        if bad:
            problems.append(f"invalid sequences replaced: {bad}")
        return Decoded(text, "utf-16", evidence, problems)

    binary = _binary_problem(body)
    if binary:
        problems.append(binary)
    media = content_type(headers)
    if binary and media and media.startswith("text/"):
        problems.append(f"served as {media}")

    declared: list[tuple[str, str, str]] = []  # (source, charset used, name as declared, lower-case)
    raw, header = header_charset(headers)
    if raw is not None:
        if header is None:
            evidence.append(f"header: {raw} (unknown charset, ignored)")
        else:
            declared.append(("header", header, raw.lower()))
    raw, meta = meta_charset(body)
    if raw is not None:
        if meta is None:
            evidence.append(f"meta: {raw} (unknown charset, ignored)")
        else:
            declared.append(("meta", meta, raw.lower()))

    chosen: str | None = None
    if _is_ascii(body):
        chosen = (
            declared[0][1]
            if declared and declared[0][1] in ("utf-8", "gb18030", "big5", "cp1252")
            else "utf-8"
        )
        for source, _charset, name in declared:
            evidence.append(f"{source}: {name}")
        evidence.append("bytes: ascii only")
    elif not binary and _valid_utf8(body):
        # Valid multi-byte UTF-8 almost never happens by accident: it outranks any declaration.
        chosen = "utf-8"
        for source, charset, name in declared:
            note = "" if charset == "utf-8" else " (contradicted by bytes)"
            evidence.append(f"{source}: {name}{note}")
        evidence.append("bytes: valid utf-8")
    else:
        accepted: str | None = None
        for source, charset, name in declared:
            if accepted is not None:
                evidence.append(f"{source}: {name}" + ("" if charset == accepted else " (not used)"))
                continue
            verdict = _check_declaration(body, charset) if not binary else "kept"
            if verdict == "kept":
                accepted = charset
                evidence.append(f"{source}: {name}")
            else:
                evidence.append(f"{source}: {name} (contradicted by bytes: {verdict})")
        if accepted is not None:
            chosen = accepted
        elif binary:
            chosen = "utf-8"
            evidence.append("binary: decoded as utf-8 with replacement")
        else:
            detected, how = _detect(body, tuple(charset for _source, charset, _name in declared))
            chosen = detected
            evidence.append(f"detected: {detected} ({how})")

    text, bad = _lenient(body, chosen)
    if bad:
        problems.append(f"invalid sequences replaced: {bad}")
    return Decoded(text, chosen, evidence, problems)


def _check_declaration(body: bytes, charset: str) -> str:
    """'kept' when `body` reads well as `charset`, else a short reason why the bytes contradict it."""
    sample = _trim_partial(body[:_DETECT_BYTES], len(body) > _DETECT_BYTES)
    text = _strict(sample, charset)
    bad = 0
    if text is None:
        text, bad = _lenient(sample, charset)
    own = text_score(text)
    # A non-CJK declaration (latin-1, cp1252...) only loses to a reading that looks like real Chinese.
    floor = own + _DECLARATION_MARGIN
    if charset not in _CJK_CANDIDATES:
        floor = max(floor, _CHINESE_FLOOR)
    for other in (*_CJK_CANDIDATES, "utf-8"):
        if other == charset:
            continue
        alternative = _strict(sample, other)
        if alternative is None:
            continue
        if bad:
            return f"{bad} invalid sequences, reads cleanly as {other}"
        if text_score(alternative) > floor:
            return f"reads as {other}"
    if bad * 100 > len(text):
        return f"{bad} invalid sequences"
    if charset.startswith(("utf-16", "utf-32")):
        # Almost any even-length byte string is "valid" UTF-16, so its strict reading proves nothing: a body with
        # neither BOM nor NUL pattern that reads as Chinese in a byte-oriented codec, give or take a few damaged
        # bytes, was mislabelled.
        for other in ("utf-8", *_CJK_CANDIDATES):
            alternative, alt_bad = _lenient(sample, other)
            if alt_bad * 20 <= len(alternative) and text_score(alternative) > floor:
                return f"reads as {other} ({alt_bad} invalid sequences), not as {charset}"
    return "kept"
