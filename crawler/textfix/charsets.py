"""Charset names, byte-order marks and the declarations a page makes about its own encoding."""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from typing import Any

# gb2312 and gbk are subsets of gb18030; reading them as gb18030 loses nothing and accepts the
# characters real "gb2312" pages contain anyway.
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "euc_cn": "gb18030",
    "iso-ir-58": "gb18030",
    "chinese": "gb18030",
    "csgb2312": "gb18030",
    "big5": "big5",
    "big5-hkscs": "big5",
    "big5hkscs": "big5",
    "x-x-big5": "big5",
    "cp950": "big5",
    "csbig5": "big5",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    # WHATWG: a page that says latin-1 or ascii is read as windows-1252.
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
}

# Order matters: longer marks first (UTF-32 LE starts with the UTF-16 LE mark).
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (b"\x84\x31\x95\x33", "gb18030"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_META_SCAN_BYTES = 8192


def normalise_charset(name: str | bytes | None) -> str | None:
    """Return our canonical lower-case codec name for a declared charset, or None if unusable."""
    if name is None:
        return None
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    key = name.strip().strip("\"'").lower()
    if not key:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        canonical = codecs.lookup(key).name
    except LookupError:
        return None
    canonical = canonical.replace("_", "-")
    return _ALIASES.get(canonical, canonical)


def python_codec(charset: str) -> str:
    """The Python codec that reads `charset` most leniently (Big5 pages use HKSCS/cp950 extensions)."""
    return "big5hkscs" if charset == "big5" else charset


def sniff_bom(body: bytes) -> tuple[str, int] | None:
    """(charset, length of the mark) when the body starts with a byte-order mark."""
    for mark, charset in BOMS:
        if body.startswith(mark):
            return charset, len(mark)
    return None


def _header_values(headers: Mapping[Any, Any], wanted: str) -> list[str]:
    values: list[str] = []
    for key, value in headers.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if name.strip().lower() != wanted:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            values.append(item.decode("latin-1") if isinstance(item, bytes) else str(item))
    return values


def header_charset(headers: Mapping[Any, Any] | None) -> tuple[str | None, str | None]:
    """(raw declared name, normalised charset) from the last Content-Type header that declares one."""
    if not headers:
        return None, None
    try:
        values = _header_values(headers, "content-type")
    except (AttributeError, TypeError):
        return None, None
    for value in reversed(values):
        match = _CHARSET_PARAM.search(value.encode("latin-1", "replace"))
        if match:
            raw = match.group(1).decode("ascii", "replace")
            return raw, normalise_charset(raw)
    return None, None


def content_type(headers: Mapping[Any, Any] | None) -> str | None:
    """The media type of the last Content-Type header, lower-case, without parameters."""
    if not headers:
        return None
    try:
        values = _header_values(headers, "content-type")
    except (AttributeError, TypeError):
        return None
    if not values:
        return None
    return values[-1].split(";", 1)[0].strip().lower() or None


def meta_charset(body: bytes) -> tuple[str | None, str | None]:
    """(raw declared name, normalised charset) from the first `<meta>` that declares a charset."""
    head = body[:_META_SCAN_BYTES]
    for tag in _META.finditer(head):
        match = _CHARSET_PARAM.search(tag.group(0))
        if match:
            raw = match.group(1).decode("ascii", "replace")
            return raw, normalise_charset(raw)
    return None, None
