"""Undoing transfer- and content-encoding of an archived HTTP payload."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import brotli

# Inflating an archived payload is bounded like the crawl's own download (DOWNLOAD_MAXSIZE): a gzip bomb kept
# in a WARC must not take the reader's memory.
MAX_DECODED_SIZE = 64 * 1024 * 1024


class PayloadTooLarge(ValueError):
    """The payload inflates past the limit; the stored (encoded) bytes are still in the WARC."""


def _header(headers: Sequence[tuple[str, str]], name: str) -> str:
    low = name.lower()
    return ", ".join(v for k, v in headers if k.lower() == low)


def dechunk(data: bytes) -> bytes:
    """Decode a chunked body; on malformed framing return the input (other tools sometimes lie)."""
    out = bytearray()
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return data
        size_field = data[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            return data
        if size == 0:
            return bytes(out)
        start = eol + 2
        chunk = data[start:start + size]
        if len(chunk) < size:
            out += chunk
            return bytes(out)
        out += chunk
        pos = start + size + 2


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, limit + 1)
    if len(out) > limit:
        raise PayloadTooLarge(f"payload inflates past {limit} bytes (compressed {len(data)} bytes)")
    return out + d.flush()


def _undo(coding: str, data: bytes, limit: int) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, zlib.MAX_WBITS | 32, limit)
    if coding == "deflate":
        try:
            return _inflate(data, zlib.MAX_WBITS, limit)
        except zlib.error:
            return _inflate(data, -zlib.MAX_WBITS, limit)
    if coding == "br":
        out = bytes(brotli.decompress(data))
        if len(out) > limit:
            raise PayloadTooLarge(f"payload inflates past {limit} bytes (compressed {len(data)} bytes)")
        return out
    raise ValueError(f"unsupported content-encoding {coding!r}")


def decode_payload(raw: bytes, headers: Sequence[tuple[str, str]], limit: int = MAX_DECODED_SIZE) -> bytes:
    """`raw` with Transfer-Encoding (when still chunked) and Content-Encoding undone.

    A payload that claims an encoding it does not have is returned as stored (servers mislabel often).
    Raises `PayloadTooLarge` when it would inflate past `limit` bytes.
    """
    data = raw
    if "chunked" in _header(headers, "Transfer-Encoding").lower():
        data = dechunk(data)
    codings = [c.strip().lower() for c in _header(headers, "Content-Encoding").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        try:
            data = _undo(coding, data, limit)
        except PayloadTooLarge:
            raise
        except (zlib.error, brotli.error, ValueError):
            return data
    return data
