"""URL forms the archive needs: the percent-encoded WARC-Target-URI and the SURT key of a CDXJ line."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import surt
from cdxj_indexer.postquery import append_method_query
from w3lib.url import safe_url_string

DOM_URN_PREFIX = "urn:dom:"


class BadUrl(ValueError):
    """A URL given by a user that cannot name a capture (one line, naming it)."""


def check_url(url: str) -> str:
    """``url`` when it is an absolute URL whose host and port parse (``http://[::1`` and ``http://h:99999/`` do
    not); otherwise :class:`BadUrl`. ``urn:`` URIs (rendered DOMs) pass as they are."""
    if url.startswith("urn:"):
        return url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError as e:
        raise BadUrl(f"{url!r} is not a valid URL ({e})") from None
    if not parts.scheme or not parts.netloc:
        raise BadUrl(f"{url!r} is not an absolute URL (expected like http://www.example.gov.cn/path)")
    return url


def dom_urn(url: str) -> str:
    """The URI under which browser capture stores the rendered DOM of ``url`` (a ``resource`` record)."""
    return DOM_URN_PREFIX + target_uri(url)


def target_uri(url: str) -> str:
    """The WARC-Target-URI form of `url`: ASCII only (IDNA host, percent-encoded UTF-8 path and query)."""
    return safe_url_string(url, encoding="utf-8")


def surt_key(url: str) -> str:
    """The SURT form pywb and cdxj-indexer sort by."""
    try:
        return str(surt.surt(url))
    except ValueError:
        return url


def lookup_key(url: str, method: str = "GET", content_type: str | None = None, body: bytes = b"") -> str:
    """The CDXJ key of a capture, POST/PUT keyed like cdxj-indexer (`__wb_method=post&<body as query>`)."""
    method = method.upper()
    if method in ("GET", "HEAD") or not method:
        return surt_key(url)
    _query, append = append_method_query(method, content_type, str(len(body)), io.BytesIO(body), url)
    return surt_key(url + append)


def method_query(method: str, content_type: str | None, body: bytes, url: str) -> str:
    """The `requestBody` field cdxj-indexer writes for a POST/PUT capture."""
    query, _append = append_method_query(method.upper(), content_type, str(len(body)), io.BytesIO(body), url)
    return query or ""


def search_prefix(url: str) -> str:
    """The SURT prefix under which every capture of `url` sorts, GET or POST (filter the hits by URL)."""
    key = surt_key(url)
    return key.split("?", 1)[0]
