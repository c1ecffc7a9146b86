"""The content of a capture's `metadata` record: the spider's `archive_metadata`, outlinks, detected charset.

The charset is the text layer's (:func:`crawler.textfix.decode`, the decoder the parser uses), so a rebuild can
reuse what the crawl detected.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

import lxml.etree
import lxml.html

from crawler.textfix import decode

from .payload import PayloadTooLarge, decode_payload

logger = logging.getLogger("archive.metadata")


# What makes crawler.textfix.decode take a body for binary: a file signature at its start, a NUL or more than 5 %
# control bytes in its first 4 KiB (`_binary_problem` there).
_BINARY_SIGNATURES = (b"%PDF-", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff",
                      b"GIF8", b"\x1f\x8b")
_NOT_CONTROL = bytes(b for b in range(256) if not (b < 0x09 or 0x0E <= b < 0x20))


def plainly_utf8(body: bytes) -> bool:
    """True when crawler.textfix.decode is bound to answer `utf-8` without weighing anything: the body is
    multi-byte UTF-8, valid throughout (which outranks any declaration there), and nothing at its start makes it
    binary or UTF-16 (no NUL, no file signature, few control bytes). Any other body goes to `decode` itself.

    Most pages are such bodies, and `decode` also decodes the whole text and scans its head byte by byte in Python;
    the archive only wants the name. tests/test_archive_cost.py holds the two to the same answer."""
    if body.isascii():
        return False
    head = body[:4096]
    if b"\x00" in head or body.startswith(_BINARY_SIGNATURES):
        return False
    if len(head.translate(None, _NOT_CONTROL)) / len(head) > 0.05:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_charset(body: bytes, content_type: str | None, url: str) -> str | None:
    if plainly_utf8(body):
        return "utf-8"
    headers = {"Content-Type": content_type} if content_type else None
    try:
        return str(decode(body, headers=headers, url=url).charset)
    except Exception as exc:  # the decoder promises never to raise; a metadata record must not depend on it
        logger.warning("archive: charset detection failed for %s: %r", url, exc)
        return None


def outlinks(body: bytes, url: str, charset: str | None) -> list[str]:
    """Absolute URLs of every link in an HTML page (a, area, iframe, frame), in document order, unique."""
    if not body.strip():
        return []
    try:
        parser = lxml.html.HTMLParser(encoding=charset) if charset else None
        doc = lxml.html.fromstring(body, parser=parser)
    except (lxml.etree.ParserError, ValueError, LookupError):
        return []
    seen: dict[str, None] = {}
    hrefs: set[str] = set()  # a page repeats its links (menus, "more" links): each is joined once
    for el in doc.iter("a", "area", "iframe", "frame"):
        href = el.get("href") if el.tag in ("a", "area") else el.get("src")
        if not href or href in hrefs:
            continue
        hrefs.add(href)
        href = href.strip()
        if href.lower().startswith(("javascript:", "mailto:", "#", "tel:")):
            continue
        seen.setdefault(urljoin(url, href), None)
    return list(seen)


def metadata_content(meta: dict[str, Any], raw_body: bytes, headers: list[tuple[str, str]], url: str) -> dict[str, Any]:
    """`meta` plus `charset` and `outlinks` of the payload (`raw_body` as archived, still content-encoded)."""
    ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
    try:
        body = decode_payload(raw_body, headers)
    except PayloadTooLarge as e:
        return {**meta, "charset": None, "outlinks": [], "payload_error": str(e)}
    charset = detect_charset(body, ctype, url) if _is_text(ctype, body) else None
    content: dict[str, Any] = {k: v for k, v in meta.items()}
    content["charset"] = charset
    is_html = (ctype or "").lower().startswith(("text/html", "application/xhtml")) or body[:512].lstrip().lower(
    ).startswith((b"<!doctype html", b"<html"))
    content["outlinks"] = outlinks(body, url, charset) if is_html else []
    return content


_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/xhtml")


def _is_text(content_type: str | None, body: bytes) -> bool:
    """Only text has a charset; a PDF or DOCX does not (and detection on it is slow)."""
    if content_type:
        return content_type.lower().lstrip().startswith(_TEXT_TYPES) or "+xml" in content_type.lower()
    return b"\x00" not in body[:1024]


def warm_up() -> None:
    """Load the decoder (and its models) ahead of the first metadata record."""
    detect_charset("政府信息公开".encode("gb18030"), "text/html", "urn:warm-up")
