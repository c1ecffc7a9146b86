"""JS-rendered columns whose list arrives from a JSON API after page load (nothing in the HTML).

The first visit goes through a real browser (scrapy-playwright); the XHR/fetch calls the page makes are noted,
and from then on the spider calls the API itself, page by page. This module notes those calls
(:func:`watch_browser_requests`) and reads such JSON: where the records are, what they link to, and which query
parameter turns the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TITLE_KEYS = ("title", "docTitle", "doctitle", "name", "subject", "articleTitle", "bt", "wjbt")
_URL_KEYS = ("url", "link", "href", "docUrl", "docPubUrl", "docpuburl", "path", "detailUrl", "pageUrl", "fileUrl")
_DATE_KEYS = ("date", "pubDate", "pubdate", "publishDate", "publish_date", "releaseDate", "publishTime", "docRelTime", "time", "fbrq", "createTime")
_PAGE_PARAMS = ("page", "pageNo", "pageNum", "pageIndex", "currentPage", "curPage", "pageNumber", "p", "pn")
_TOTAL_PAGE_KEYS = ("totalPage", "totalPages", "pageCount", "pages", "total_pages", "pageTotal")
_TOTAL_KEYS = ("total", "totalCount", "totalRecord", "totalElements", "count", "recordCount")
_SIZE_KEYS = ("pageSize", "size", "rows", "perPage", "limit", "per_page")
_DATE = re.compile(r"(20\d{2})[-./年](\d{1,2})[-./月](\d{1,2})")

BROWSER_REQUESTS_META = "nianbao_browser_requests"
# ``playwright_page_init_callback`` of the spider's browser requests: an import path, not a function, so the
# request stays serialisable (JOBDIR, the Redis frontier) with scrapy's ``request_to_dict``.
WATCH_CALLBACK = f"{__name__}.watch_browser_requests"


@dataclass(frozen=True)
class ApiRecord:
    title: str
    url: str
    date: str | None


async def watch_browser_requests(page: Any, request: Any) -> None:
    """scrapy-playwright page-init callback: note ``[url, "", resource type]`` of every request the page makes,
    in the Scrapy request's meta (``nianbao_browser_requests``), for the spider's callback to read.

    The listener is attached to the page here, while the download runs, so nothing callable is ever stored in
    ``meta``. (A page event handler named by a string would reach a spider method, but with the Playwright
    request only: it could not tell which Scrapy request's page made the call.) The ``request`` event, not
    ``response``: the archive's browser capture owns the response handler. Whether an XHR answered JSON is
    checked when the spider calls it itself.
    """
    seen: list[list[str]] = []
    request.meta[BROWSER_REQUESTS_META] = seen  # a fresh list per page: a retried download starts afresh

    def note(req: Any) -> None:
        seen.append([req.url, "", req.resource_type])

    page.on("request", note)


def looks_like_api(url: str, content_type: str, resource_type: str) -> bool:
    """An XHR/fetch the page made that may answer JSON (an empty ``content_type`` means not known yet)."""
    if resource_type not in ("xhr", "fetch"):
        return False
    return not content_type or "json" in content_type.lower() or urlsplit(url).path.endswith(".json")


def records(data: Any) -> list[ApiRecord]:
    """Every object in ``data`` that has a title and a link, in document order."""
    out: list[ApiRecord] = []
    for obj in _walk(data):
        title = _first(obj, _TITLE_KEYS)
        url = _first(obj, _URL_KEYS)
        if title and url:
            date = _first(obj, _DATE_KEYS)
            m = _DATE.search(date or "")
            iso = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else None
            out.append(ApiRecord(title=title, url=url, date=iso))
    return out


def total_pages(data: Any) -> int | None:
    """The number of pages the API announces (directly, or as total records / page size)."""
    for obj in _walk(data):
        for key in _TOTAL_PAGE_KEYS:
            value = _int(obj.get(key))
            if value is not None:
                return value
        total = next((v for k in _TOTAL_KEYS if (v := _int(obj.get(k))) is not None), None)
        size = next((v for k in _SIZE_KEYS if (v := _int(obj.get(k))) is not None), None)
        if total is not None and size:
            return -(-total // size)
    return None


def page_param(url: str) -> tuple[str, int] | None:
    """The query parameter that numbers the page, and its value in ``url``."""
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key in _PAGE_PARAMS and value.isdigit():
            return key, int(value)
    return None


def with_page(url: str, key: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, str(page) if k == key else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    stack = [data]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
