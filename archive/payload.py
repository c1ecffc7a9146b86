"""Undoing transfer- and content-encoding of an archived HTTP payload."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import brotli


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


def _undo(coding: str, data: bytes) -> bytes:
    if coding in ("gzip", "x-gzip"):
        d = zlib.decompressobj(zlib.MAX_WBITS | 32)
        return d.decompress(data) + d.flush()
    if coding == "deflate":
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompress(data, -zlib.MAX_WBITS)
    if coding == "br":
        return bytes(brotli.decompress(data))
    raise ValueError(f"unsupported content-encoding {coding!r}")


def decode_payload(raw: bytes, headers: Sequence[tuple[str, str]]) -> bytes:
    """`raw` with Transfer-Encoding (when still chunked) and Content-Encoding undone.

    A payload that claims an encoding it does not have is returned as stored (servers mislabel often).
    """
    data = raw
    if "chunked" in _header(headers, "Transfer-Encoding").lower():
        data = dechunk(data)
    codings = [c.strip().lower() for c in _header(headers, "Content-Encoding").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        try:
            data = _undo(coding, data)
        except (zlib.error, brotli.error, ValueError):
            return data
    return data
