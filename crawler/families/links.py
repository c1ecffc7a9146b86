"""Family-independent link extraction: report links in a listing, attachments on a detail page, "next page",
the pictures a report page's article shows.

Routing only: these functions read ``<a>`` and ``<img>`` elements and the text around them; they never look at a
report's content.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from parsel import Selector

from crawler.titles import match_report_title, normalise

# Attachments the crawl follows: documents, and pictures (a report published as a scan; read by OCR)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff")
DOC_EXTENSIONS = (".pdf", ".docx", ".doc", *IMAGE_EXTENSIONS)
# A page's bytes can only link an attachment if they mention one of the extensions, and only show a picture if
# they hold an <img> (checked on the raw bytes first, so most pages skip the DOM walk).
# (A picture's extension counts only in an href: every page shows logos by src.)
_MAY_LINK_DOCUMENT = re.compile(rb"\.(?:pdf|docx?)\b|href\s*=\s*[\"']?[^\"'\s>]*\.(?:jpe?g|png|gif|tiff?)\b", re.I)
_MAY_SHOW_PICTURE = re.compile(rb"<img\b", re.I)
# The pictures of one report page the crawl fetches (and archives) for OCR: at most this many, of at most this
# many bytes each (a 300 dpi A4 scan is 1-3 MB as JPEG), from the report's own site.
MAX_ARTICLE_PICTURES = 12
MAX_PICTURE_BYTES = 16 * 1024 * 1024
_DATE = re.compile(r"(20\d{2}|19\d{2})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})")
_NEXT_TEXTS = frozenset({"下一页", "下页", "后页", "下一頁", "next", "next»", "›", "»", ">", "下一页>", "下一页»"})
# Containers that hold the article body on the families we know (TRS, Hanweb, ucap, gov.cn, generic CMSs).
# (Specific names only: a generic "content" wrapper often holds the sidebar's application-form downloads too.)
_CONTENT_PREDICATE = (
    "[contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')"
    " or @id='zoom' or @id='zoomcon' or @id='UCAP-CONTENT' or @id='Zoom'"
    " or contains(@class, 'article_content') or contains(@class, 'pages_content')"
    " or contains(@class, 'wp_articlecontent') or contains(@class, 'bt-article')]"
)
_CONTENT_XPATH = "ancestor::*" + _CONTENT_PREDICATE
# Where a report page's pictures count: the article containers above, those the parser also knows (TRS_UEDITOR,
# Custom_UnionStyle, #content, #article, <article>), else the body outside its chrome (logos, QR codes, share bars).
_ARTICLE_PREDICATE = (
    "[contains(concat(' ', normalize-space(@class), ' '), ' TRS_Editor ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' TRS_UEDITOR ')"
    " or @id='zoom' or @id='zoomcon' or @id='UCAP-CONTENT' or @id='Zoom' or @id='content' or @id='article'"
    " or contains(@class, 'article_content') or contains(@class, 'pages_content')"
    " or contains(@class, 'wp_articlecontent') or contains(@class, 'bt-article')"
    " or contains(@class, 'Custom_UnionStyle')]"
)
_CHROME = re.compile(r"header|footer|nav|menu|logo|banner|share|qrcode|ewm|breadcrumb|position|crumb|toolbar|print",
                     re.I)
# The body's own text: no scripts, no styles, no link texts (an attachment's title is not the report).
_BODY_TEXT = ".//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::a)]"
# Headings every annual report has (2019+ and legacy wording); a note that points to the 附件 has none of them.
_REPORT_HEADINGS = (
    "总体情况", "概述", "主动公开政府信息", "收到和处理政府信息公开申请", "依申请公开",
    "行政复议", "存在的主要问题", "其他需要报告的事项",
)
MIN_REPORT_HEADINGS = 3
MIN_REPORT_CHARS = 600


@dataclass(frozen=True)
class ListedLink:
    url: str
    title: str
    year: int
    date: str | None


def _skip_href(href: str) -> bool:
    h = href.strip().lower()
    return not h or h.startswith(("javascript:", "mailto:", "tel:", "#", "data:"))


def raw_anchor_title(a: Selector) -> str:
    """The title a listing shows for a link: the ``title`` attribute when present, else the link text."""
    title = (a.attrib.get("title") or "").strip()
    if not title:
        title = " ".join(t.strip() for t in a.xpath(".//text()").getall() if t.strip())
    return title


def anchor_title(a: Selector) -> str:
    return normalise(raw_anchor_title(a))


def nearby_date(a: Selector) -> str | None:
    """A publication date printed next to the link (same ``li``/``tr``/row), as ``YYYY-MM-DD``."""
    for xpath in ("ancestor::li[1]", "ancestor::tr[1]", "ancestor::dd[1]", "ancestor::dl[1]", ".."):
        node = a.xpath(xpath)
        if not node:
            continue
        text = " ".join(node[0].xpath(".//text()").getall())
        title = " ".join(a.xpath(".//text()").getall())
        m = _DATE.search(text.replace(title, " ", 1))
        if m:
            y, mo, d = (int(x) for x in m.groups())
            if 1 <= mo <= 12 and 1 <= d <= 31:
                return f"{y:04d}-{mo:02d}-{d:02d}"
    return None


def report_links(sel: Selector, base_url: str) -> list[ListedLink]:
    """Links whose listed title names a disclosure annual report of some year, in page order, unique by URL."""
    out: dict[str, ListedLink] = {}
    for a in sel.xpath("//a[@href]"):
        href = a.attrib["href"]
        if _skip_href(href):
            continue
        raw = raw_anchor_title(a)
        if "报" not in raw and "報" not in raw:  # every report title says 报告/年报 (報 in Traditional)
            continue
        title = normalise(raw)
        m = match_report_title(title)
        if m is None:
            continue
        url = urljoin(base_url, href.strip())
        if url not in out:
            out[url] = ListedLink(url=url, title=title, year=m.year, date=nearby_date(a))
    return list(out.values())


def may_link_document(body: bytes) -> bool:
    """Whether a page's raw bytes can link an attachment at all (a cheap test before any parsing)."""
    return _MAY_LINK_DOCUMENT.search(body) is not None


def may_show_pictures(body: bytes) -> bool:
    """Whether a page's raw bytes hold an ``<img>`` at all (a cheap test before any parsing)."""
    return _MAY_SHOW_PICTURE.search(body) is not None


def is_document_url(url: str) -> bool:
    """A PDF/DOCX/DOC or a picture (JPEG, PNG, GIF, TIFF) by its path, or by a file name passed in the query
    (``downfile.jsp?filename=x.pdf``)."""
    parts = urlsplit(url)
    if parts.path.lower().endswith(DOC_EXTENSIONS):
        return True
    return any(unquote(v).lower().endswith(DOC_EXTENSIONS) for v in re.split(r"[&=]", parts.query) if v)


def attachment_links(sel: Selector, base_url: str) -> list[tuple[str, str]]:
    """``(url, link text)`` of document attachments of a detail page.

    A document link counts when it sits in the article body, is labelled 附件, or is itself titled like a
    report; download links in the page chrome (application forms in a sidebar) do not.
    """
    out: dict[str, str] = {}
    for a in sel.xpath("//a[@href]"):
        href = a.attrib["href"]
        if _skip_href(href):
            continue
        url = urljoin(base_url, href.strip())
        if not is_document_url(url):
            continue
        text = anchor_title(a)
        before = " ".join(a.xpath("preceding-sibling::text()[1] | ../preceding-sibling::*[1]//text()").getall())
        in_body = bool(a.xpath(_CONTENT_XPATH))
        labelled = "附件" in text or "附件" in before or match_report_title(text) is not None
        if (in_body or labelled) and url not in out:
            out[url] = text
    return list(out.items())


def followed_attachments(sel: Selector, base_url: str, allows: Callable[[str], bool]) -> list[tuple[str, str]]:
    """The attachments of a detail page the crawl follows: those :func:`attachment_links` finds on a host the
    source allows."""
    return [(url, text) for url, text in attachment_links(sel, base_url) if allows(url)]


def article_pictures(sel: Selector, base_url: str, allows: Callable[[str], bool]) -> list[str]:
    """The pictures a report page's article shows, as absolute URLs in page order, unique: what the crawl fetches
    (and archives) with the page, so that tables published as pictures can be read by OCR, and what ``scrapy
    rebuild`` expects to find archived with it.

    ``<img src>`` inside the article container (else the ``<body>`` outside elements whose tag, class or id says
    page chrome: header, footer, nav, logo, banner, QR code …), on a host the source allows (``allows``), over
    http(s), not an SVG or an icon; at most :data:`MAX_ARTICLE_PICTURES`."""
    nodes = sel.xpath("//*" + _ARTICLE_PREDICATE)
    in_body = not nodes
    if in_body:
        nodes = sel.xpath("//body")
    out: dict[str, None] = {}
    for node in nodes[:1]:
        for img in node.xpath(".//img[@src]"):
            src = img.attrib["src"].strip()
            if not src or _skip_href(src):
                continue
            url = urljoin(base_url, src)
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.path.lower().endswith((".svg", ".ico")):
                continue
            if in_body and _in_chrome(img):
                continue
            if allows(url):
                out.setdefault(url, None)
            if len(out) >= MAX_ARTICLE_PICTURES:
                return list(out)
    return list(out)


def _in_chrome(el: Selector) -> bool:
    for anc in el.xpath("ancestor-or-self::*"):
        if anc.root.tag in ("header", "footer", "nav"):
            return True
        marks = f"{anc.attrib.get('class', '')} {anc.attrib.get('id', '')}"
        if marks.strip() and _CHROME.search(marks):
            return True
    return False


def is_report_page(sel: Selector, attachments: list[tuple[str, str]]) -> bool:
    """The one rule for a detail page, used by the spider and by ``scrapy rebuild``: it is a report unless its
    report is published as the ``attachments`` the crawl follows (:func:`followed_attachments`); a page that
    prints the report and links a copy is a report too (:func:`carries_report_text`), as is its copy."""
    return not attachments or carries_report_text(sel)


def carries_report_text(sel: Selector) -> bool:
    """True when a detail page's article body is a report itself, not a short note pointing to its 附件.

    Routing only, as the title rules are: the body (the content container when the page has one, else
    ``<body>``) must hold at least ``MIN_REPORT_CHARS`` characters outside links and ``MIN_REPORT_HEADINGS`` of
    the headings every annual report has. Pages that print the report *and* link a PDF/DOCX copy pass; pages
    that say "现将…予以公布，详见附件" do not.
    """
    nodes = sel.xpath("//*" + _CONTENT_PREDICATE) or sel.xpath("//body")
    if not nodes:
        return False
    text = normalise("".join(nodes[0].xpath(_BODY_TEXT).getall()))
    if len(text) < MIN_REPORT_CHARS:
        return False
    return sum(1 for h in _REPORT_HEADINGS if h in text) >= MIN_REPORT_HEADINGS


def next_page_link(sel: Selector, base_url: str) -> str | None:
    """The target of a "下一页" / "next" link, if the page has one."""
    for a in sel.xpath("//a[@href]"):
        text = "".join(a.xpath(".//text()").getall()).strip().lower().replace(" ", "")
        if text in _NEXT_TEXTS or (a.attrib.get("title") or "").strip() in ("下一页", "下页"):
            href = a.attrib["href"]
            if not _skip_href(href):
                return urljoin(base_url, href.strip())
    return None
