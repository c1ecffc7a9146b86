"""URL forms the archive needs: the percent-encoded WARC-Target-URI and the SURT key of a CDXJ line."""

from __future__ import annotations

import io

import surt
from cdxj_indexer.postquery import append_method_query
from w3lib.url import safe_url_string

DOM_URN_PREFIX = "urn:dom:"


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
