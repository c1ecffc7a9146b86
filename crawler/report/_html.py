"""HTML to blocks: pick the article body, drop page chrome, turn tables into span-resolved grids."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from crawler.report._blocks import Block, Grid, cell_text, line_text

_BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "br", "section", "article", "blockquote",
    "pre", "dd", "dt", "dl", "center", "hr", "header", "footer", "form", "caption", "figure", "main",
})  # fmt: skip
_LAYOUT_TAGS = frozenset({"table", "tbody", "thead", "tfoot", "tr", "td", "th"})
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "svg", "button", "select", "textarea")
# Containers of the article body in the CMSs seen on government portals (TRS WCM, Hanweb, ...), each with a
# word that must be in the page's text for it to match (an XPath over a 300 KB page costs ~1.5 ms: skip the
# ones that cannot match).
# The attribute axis (//@class[...]/..) visits attributes only: ~5x faster than //*[...@class...].
_BODY_XPATHS = (
    ("TRS_Editor", "//@class[contains(concat(' ', normalize-space(.), ' '), ' TRS_Editor ')]/.."),
    ("TRS_UEDITOR", "//@class[contains(concat(' ', normalize-space(.), ' '), ' TRS_UEDITOR ')]/.."),
    ("", "//@id[.='zoom' or .='Zoom' or .='UCAP-CONTENT' or .='content' or .='article']/.."),
    ("article_content", "//@class[contains(concat(' ', normalize-space(.), ' '), ' article_content ')]/.."),
    ("Custom_UnionStyle", "//@class[contains(concat(' ', normalize-space(.), ' '), ' Custom_UnionStyle ')]/.."),
    ("article", "//article"),
)
_BODY_XPATH_FNS = tuple((word, etree.XPath(xp)) for word, xp in _BODY_XPATHS)  # compiled once
_HEADING_XPATH = etree.XPath("(//h1 | //h2 | //@class[contains(., 'title')]/..)[1]")
_BODY_IDS = re.compile(r"""id\s*=\s*["']?(?:zoom|Zoom|UCAP-CONTENT|content|article)\b""")
_YEAR = re.compile(r"(?:19|20)[0-9]{2}")
_CHROME_CLASS = re.compile(r"header|footer|nav|share|qrcode|ewm|breadcrumb|position|crumb|toolbar|print", re.I)
# The date line of a page's info bar (发布日期：2025-03-02 / 2025-01-02 10:30 来源：…), outside the article body.
_PAGE_DATE = re.compile(
    r"(?:发布日期|发布时间|发文日期|成文日期|时间|日期)\s*[:：]\s*((?:19|20)[0-9]{2}\s*[-/.年]\s*[0-9]{1,2}\s*[-/.月]\s*[0-9]{1,2})"
    r"|((?:19|20)[0-9]{2}-[0-9]{1,2}-[0-9]{1,2})(?:\s+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?\s*来源")
# libxml2's HTML parser through plain lxml.etree: lxml.html's element classes cost twice the parse time on a
# large page, and only text_content() was used of them (the same XPath string() as _text).
_PARSER = etree.HTMLParser(encoding="utf-8")
_text = etree.XPath("string()")
ARTICLE_IMAGES = "article_images"  # meta key: the article's <img> addresses, one per line, in order
_META_NAMES = ("ArticleTitle", "PubDate", "ContentSource", "firstpublishedtime", "publishdate", "Url", "Title")


def _drop(el: Any) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


# C0 controls other than tab/newline/CR, and the non-characters XML forbids: libxml2's HTML parser lets some into
# the tree, but lxml refuses them when text is set again (ValueError), so they go before parsing.
# (done on the UTF-8 bytes: C0 bytes never occur inside a multi-byte sequence, and bytes.translate is ~10x
# faster than a regex over the text of a large page)
_C0_TO_SPACE = bytes.maketrans(bytes([*range(0x09), 0x0b, 0x0c, *range(0x0e, 0x20)]), b" " * 29)


def parse_html(text: str) -> tuple[list[Block], dict[str, str]]:
    """Blocks of the article body and the page's ``<meta>``/``<title>`` values."""
    data = text.encode("utf-8", "surrogatepass").translate(_C0_TO_SPACE)
    if b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:
        data = data.replace(b"\xef\xbf\xbe", b" ").replace(b"\xef\xbf\xbf", b" ")
    try:
        doc = etree.fromstring(data, _PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return [], {}
    if doc is None:
        return [], {}
    meta: dict[str, str] = {}
    for m in doc.iter("meta"):
        name = m.get("name") or m.get("property")
        content = m.get("content")
        if name and content and name in _META_NAMES:
            meta[name] = content.strip()
    title_el = doc.find(".//title")
    if title_el is not None and _text(title_el).strip():
        meta["html_title"] = _text(title_el).strip()
    heading = _HEADING_XPATH(doc)
    if heading:
        meta["heading_title"] = line_text(_text(heading[0]))
    for el in list(doc.iter(*_DROP_TAGS)):
        _drop(el)
    body_el = doc.find("body")
    if body_el is not None:
        date = _page_date(_text(body_el))
        if date:
            meta["page_date"] = date
    root = None
    for word, xp in _BODY_XPATH_FNS:
        if (word and word not in text) or (not word and not _BODY_IDS.search(text)):
            continue
        found = xp(doc)
        if found:
            root = found[0]
            break
    if root is None:
        root = doc.find("body")
        if root is None:
            root = doc
        for el in list(root.iter()):
            cls = (el.get("class") or "") + " " + (el.get("id") or "")
            if el.tag in ("nav", "header", "footer") or (cls.strip() and _CHROME_CLASS.search(cls)):
                if el.getparent() is not None and el.tag not in ("table", "tr", "td"):
                    _drop(el)
    blocks: list[Block] = []
    buf: list[str] = []
    _walk(root, blocks, buf)
    _flush(blocks, buf)
    # pictures in the article (tables published as images): their addresses, for OCR when the caller has
    # their bytes (parse_report's ``resources``)
    images = [src.strip() for img in root.iter("img") if (src := img.get("src")) and src.strip()]
    if images:
        meta[ARTICLE_IMAGES] = "\n".join(dict.fromkeys(images))
    return blocks, meta


def _page_date(text: str) -> str | None:
    """The first date of an info bar in the page's text. Every match holds a year, so the pattern is tried
    only around years (it costs ~2 ms when run over the whole text of a large page)."""
    for y in _YEAR.finditer(text):
        m = _PAGE_DATE.search(text, max(0, y.start() - 40), y.end() + 60)
        if m:
            return m.group(1) or m.group(2)
    return None


def _flush(blocks: list[Block], buf: list[str]) -> None:
    if buf:
        line = line_text("".join(buf))
        if line:
            blocks.append(line)
        buf.clear()


def _walk(el: Any, blocks: list[Block], buf: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "table" and el.find(".//table") is None:
        _flush(blocks, buf)
        grid = table_grid(el)
        if grid.rows:
            blocks.append(grid)
        return
    # a table holding tables is page layout (old sites): its cells are blocks like divs
    block = tag in _BLOCK_TAGS or tag in _LAYOUT_TAGS
    if block:
        _flush(blocks, buf)
    if el.text and tag:
        buf.append(el.text)
    for child in el:
        _walk(child, blocks, buf)
        if child.tail:
            buf.append(child.tail)
    if block:
        _flush(blocks, buf)


# Spans and grid size are capped: the standard tables are at most ~40 rows by 16 columns, and a page
# with rowspan/colspan in the thousands must not cost minutes.
MAX_COLSPAN = 64
MAX_GRID_CELLS = 20000


def _span(value: str | None, cap: int) -> int:
    if not value:
        return 1
    digits = re.match(r"\s*(\d+)", value)
    if not digits:
        return 1
    return max(1, min(int(digits.group(1)), cap))


def table_grid(table: Any) -> Grid:
    """Resolve rowspan/colspan into a rectangular grid; a spanned cell's text fills every slot it covers
    (and its id, so readers can tell one spanned cell from two equal ones). A rowspan is clipped to the
    table's remaining rows, as browsers do."""
    trs = [tr for tr in table.iter("tr") if _owner_table(tr) is table]  # a nested table's rows are its own
    rows: list[list[str]] = []
    ids: list[list[int]] = []
    pending: dict[tuple[int, int], tuple[str, int]] = {}
    cells = 0
    serial = 0
    for r, tr in enumerate(trs):
        row: list[str] = []
        rid: list[int] = []
        c = 0
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            while (r, c) in pending:
                text, cid = pending.pop((r, c))
                row.append(text)
                rid.append(cid)
                c += 1
            text = cell_text(_text(td))
            rs = _span(td.get("rowspan"), len(trs) - r)
            cs = _span(td.get("colspan"), MAX_COLSPAN)
            serial += 1
            for dc in range(cs):
                row.append(text)
                rid.append(serial)
                for dr in range(1, rs):
                    pending[(r + dr, c + dc)] = (text, serial)
            c += cs
            cells += cs * rs
        while (r, c) in pending:
            text, cid = pending.pop((r, c))
            row.append(text)
            rid.append(cid)
            c += 1
        rows.append(row)
        ids.append(rid)
        if cells > MAX_GRID_CELLS:
            break
    width = max((len(x) for x in rows), default=0)
    keep = [i for i, x in enumerate(rows) if any(x)]
    out_rows = [rows[i] + [""] * (width - len(rows[i])) for i in keep]
    out_ids: list[list[int]] = []
    for i in keep:
        pad = width - len(ids[i])
        out_ids.append(ids[i] + list(range(-(i * MAX_COLSPAN * 2) - 1, -(i * MAX_COLSPAN * 2) - 1 - pad, -1)))
    return Grid(out_rows, out_ids)


def _owner_table(tr: Any) -> Any:
    el = tr.getparent()
    while el is not None and el.tag != "table":
        el = el.getparent()
    return el
