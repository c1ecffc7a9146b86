"""How each portal family lists its reports: detection and family-specific paging.

``trs`` TRS WCM static pages (``createPageHTML``), ``hanweb`` 大汉 jpage (embedded datastore + dataproxy.jsp),
``jsapi`` JS-rendered columns fed by a JSON API, ``ucap`` Jiangsu ucap pages, ``govcn`` gov.cn-style disclosure
pages (reports by year plus links to other agencies' columns), ``mirror`` mirror/SEO copies. Families without
special paging share the generic listing reader in :mod:`crawler.families.links`.
"""

from __future__ import annotations

import re

from parsel import Selector

from crawler.families import hanweb, trs
from crawler.families.links import report_links

# ucap details: <dept>/gknb/YYYYMM/<32 hex>.shtml, linked relative to the column ("202403/<hex>.shtml")
_UCAP_LINK = re.compile(r"(?<![\w/])(?:[\w./-]*/)?\d{6}/[0-9a-f]{32}\.shtml", re.I)
_SCRIPT_FETCH = re.compile(r"fetch\(|XMLHttpRequest|\$\.(ajax|get|getJSON|post)\(|axios", re.I)


def detect_family(text: str, sel: Selector, url: str) -> str:
    """Guess the family of a column page from its markup (used when ``sources.toml`` does not say)."""
    if "<datastore" in text or hanweb.PROXY_PATH in text:
        return "hanweb"
    if trs.find_paging(text) is not None:
        return "trs"
    if _UCAP_LINK.search(text):
        return "ucap"
    if not report_links(sel, url) and _SCRIPT_FETCH.search(text):
        return "jsapi"
    return "generic"
