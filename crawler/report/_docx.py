"""DOCX reports to text: paragraphs, and tables as markdown rows (a merged cell repeated over its span).

The text is the one python-docx gave (``Paragraph.text``, ``_Row.cells``, ``_Cell.text``), read here with lxml
directly: python-docx found a row's cells with an XPath query per cell (O(n²) in the table's size) and loaded
every part of the package. This reads three parts ([Content_Types].xml, _rels/.rels and the main document),
parses them with python-docx's parser settings, and walks the body once. tests/test_report_docx_fast.py keeps
the python-docx reader and checks that both give the same string."""

from __future__ import annotations

import io
import posixpath
import zipfile
from typing import Any

from lxml import etree

from crawler.report._files import MAX_MEMBER_BYTES, MAX_RATIO, SLIVER_TWIPS, AttachmentError, md_row

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_MAIN_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"

_DOCUMENT, _BODY, _P, _R, _HYPERLINK, _T, _BR = (
    _W + n for n in ("document", "body", "p", "r", "hyperlink", "t", "br"))
_TBL, _TR, _TC, _TRPR, _TCPR = (_W + n for n in ("tbl", "tr", "tc", "trPr", "tcPr"))
_GRID_BEFORE, _GRID_SPAN, _VMERGE, _TBL_GRID, _GRID_COL = (
    _W + n for n in ("gridBefore", "gridSpan", "vMerge", "tblGrid", "gridCol"))
_VAL, _TYPE, _WIDTH = _W + "val", _W + "type", _W + "w"
# python-docx's run text: these children of a w:r, in order (a w:br only when it breaks a line)
_RUN_CHARS = {_W + "cr": "\n", _W + "noBreakHyphen": "-", _W + "ptab": "\t", _W + "tab": "\t"}

_EMU_PER_TWIP = 635
_SLIVER_EMU = int(SLIVER_TWIPS * _EMU_PER_TWIP)
_UNIVERSAL_MEASURE_EMU = {"mm": 36000, "cm": 360000, "in": 914400, "pt": 12700, "pc": 152400, "pi": 152400}

# python-docx's parser settings (blank text between tags dropped, entities never expanded), so the tree is the
# one it read; network access and libxml2's size limits as lxml's defaults, spelled out
_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True, huge_tree=False)


# Word allows 63 columns; a w:gridSpan or w:gridBefore past this would only make a row of that many cells
MAX_GRID_COLUMNS = 1000


class _InvalidXml(Exception):
    """A required attribute is missing (python-docx's ``InvalidXmlError``: not a ``ValueError``)."""


def docx_text(content: bytes) -> str:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except Exception as e:  # noqa: BLE001 - BadZipFile, and odd headers' ValueError/OSError/EOFError
        raise AttachmentError(_one_line(f"not a DOCX (bad zip): {e}")) from e
    for info in zf.infolist():
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > MAX_MEMBER_BYTES or ratio > MAX_RATIO:
            raise AttachmentError(
                f"DOCX member {info.filename} inflates to {info.file_size} bytes (ratio {ratio:.0f}): refused")
    try:
        out: list[str] = []
        for item in _body(etree.fromstring(_main_part(zf), _PARSER)):
            tag = item.tag
            if tag == _P:
                out.append(_paragraph_text(item))
            elif tag == _TBL:
                # a merged cell comes back once per grid column it covers, like an HTML span
                out.append("")
                table = _Table(item)
                slivers = table.sliver_columns()
                for i in range(len(table.trs)):
                    first, texts = table.row_texts(i)
                    out.append(md_row([t for col, t in enumerate(texts, first) if col not in slivers]))
                out.append("")
    except _Refused as e:
        raise AttachmentError(f"DOCX refused: {e}") from e
    except Exception as e:  # noqa: BLE001 - zipfile/lxml raise arbitrary types on hostile files
        raise AttachmentError(_one_line(f"unreadable DOCX: {type(e).__name__}: {e}")) from e
    return "\n".join(out)


def _one_line(message: str) -> str:
    return " ".join(message.split()) if "\n" in message or "\r" in message else message


def _main_part(zf: zipfile.ZipFile) -> bytes:
    """The main document part's XML, found as python-docx (1.2) finds it: the package relationship of type
    officeDocument (exactly one, internal), its content type from [Content_Types].xml (an override for the
    part name, else the default for its extension, both matched without case) that of a Word document.

    python-docx also loaded every other part the relationships reach (styles, numbering, headers, images);
    a package with one of those missing or malformed is read here, not refused."""
    types = etree.fromstring(zf.read("[Content_Types].xml"), _PARSER)
    if types.tag != _CT + "Types":
        raise ValueError(f"[Content_Types].xml's root is {types.tag!r}, not Types")
    overrides: dict[str, str | None] = {}
    defaults: dict[str, str | None] = {}
    for override in types.findall(_CT + "Override"):
        overrides[_lower(override.get("PartName"), "Override PartName")] = override.get("ContentType")
    for default in types.findall(_CT + "Default"):
        defaults[_lower(default.get("Extension"), "Default Extension")] = default.get("ContentType")
    try:
        rels_xml: bytes | None = zf.read("_rels/.rels")
    except KeyError:
        rels_xml = None
    rels: dict[str | None, Any] = {}  # by Id: a later relationship with the same Id replaces the earlier
    if rels_xml is not None:
        root = etree.fromstring(rels_xml, _PARSER)
        if root.tag != _PR + "Relationships":
            raise ValueError(f"_rels/.rels's root is {root.tag!r}, not Relationships")
        for rel in root.findall(_PR + "Relationship"):
            rels[rel.get("Id")] = rel
    main = [rel for rel in rels.values() if rel.get("Type") == _OFFICE_DOCUMENT]
    if len(main) != 1:
        raise KeyError(f"{len(main)} relationships of type officeDocument in _rels/.rels")
    if main[0].get("TargetMode", "Internal") == "External":
        raise ValueError("the officeDocument relationship's target is external")
    target = main[0].get("Target")
    if target is None:
        raise ValueError("the officeDocument relationship has no Target")
    partname = posixpath.abspath(posixpath.join("/", target))
    if partname.lower() in overrides:
        content_type = overrides[partname.lower()]
    else:
        raw_ext = posixpath.splitext(partname)[1]
        ext = (raw_ext[1:] if raw_ext.startswith(".") else raw_ext).lower()
        if ext not in defaults:
            raise KeyError(f"no content type for partname '{partname}' in [Content_Types].xml")
        content_type = defaults[ext]
    if content_type != _MAIN_CONTENT_TYPE:
        raise ValueError(f"not a Word file, content type is '{content_type}'")
    return zf.read(partname[1:])


def _lower(value: str | None, what: str) -> str:
    if value is None:
        raise ValueError(f"[Content_Types].xml: {what} missing")
    return value.lower()


def _body(root: Any) -> Any:
    if root.tag != _DOCUMENT:
        raise ValueError(f"the main part's root is {root.tag!r}, not w:document")
    for child in root:
        if child.tag == _BODY:
            return child
    raise ValueError("the document has no w:body")


def _paragraph_text(p: Any) -> str:
    """python-docx's ``Paragraph.text``: the runs that are children of the w:p or of a w:hyperlink child
    (runs inside w:ins, w:smartTag, w:fldSimple, w:sdt give nothing); in a run, w:t text, w:tab and w:ptab as
    a tab, w:cr and a text-wrapping w:br as a newline, w:noBreakHyphen as "-" (w:sym, w:softHyphen, field
    codes, page and column breaks nothing)."""
    parts: list[str] = []
    for child in p:
        tag = child.tag
        if tag == _R:
            runs: Any = (child,)
        elif tag == _HYPERLINK:
            runs = [r for r in child if r.tag == _R]
        else:
            continue
        for r in runs:
            for e in r:
                tag = e.tag
                if tag == _T:
                    parts.append(e.text or "")
                elif tag in _RUN_CHARS:
                    parts.append(_RUN_CHARS[tag])
                elif tag == _BR:
                    kind = e.get(_TYPE)
                    if kind is None or kind == "textWrapping":
                        parts.append("\n")
    return "".join(parts)


def _first(element: Any, tag: str) -> Any:
    """``element.find(tag)`` for a plain tag: the first child with it, or None."""
    for child in element:
        if child.tag == tag:
            return child
    return None


def _decimal(element: Any) -> int:
    """A w:gridSpan's or w:gridBefore's w:val, converted as python-docx does (``int()``)."""
    value = element.get(_VAL)
    if value is None:
        raise _InvalidXml("required 'w:val' attribute not present")
    number = int(value)
    if number > MAX_GRID_COLUMNS:
        raise _Refused(f"a table cell spans {number} grid columns (over {MAX_GRID_COLUMNS}): refused")
    return number


class _Refused(Exception):
    """A DOCX this reader will not read; the message says why."""


def _twips_measure_emu(value: str) -> int:
    """An ST_TwipsMeasure (a w:gridCol's w:w) in EMU, converted as python-docx does."""
    if "i" in value or "m" in value or "p" in value:
        quantity, units = float(value[:-2]), value[-2:]
        return int(round(quantity * _UNIVERSAL_MEASURE_EMU[units]))
    return int(int(value) * _EMU_PER_TWIP)


class _Table:
    """A w:tbl's rows (its w:tr children) and their cells (each row's w:tc children), read as python-docx's
    ``_Row.cells`` reads them: a cell once per grid column it spans (w:gridSpan), a vertical-merge
    continuation (a w:vMerge whose val is missing or "continue") as the cell at its grid offset in the row
    above, recursively, and the row refused (``ValueError``) when there is none.

    Each w:gridBefore and w:gridSpan is converted once, up front; one that does not convert raises its error
    (a ``ValueError``, or ``_InvalidXml``) only where python-docx would have converted it."""

    def __init__(self, tbl: Any) -> None:
        self.tbl = tbl
        self.trs: list[Any] = []
        self.tcs: list[list[Any]] = []
        self.before: list[int | None] = []  # None: does not convert
        self.spans: list[list[int | None]] = []
        self.continues: list[list[bool]] = []
        # (row, cell) -> the w:gridSpan that does not convert; (row, -1) -> the w:gridBefore
        self._bad: dict[tuple[int, int], Any] = {}
        self._texts: dict[tuple[int, int], str] = {}
        self._roots: dict[tuple[int, int], tuple[int, int]] = {}  # continuation -> the cell it reads
        for tr in tbl:
            if tr.tag != _TR:
                continue
            i = len(self.trs)
            self.trs.append(tr)
            before: Any = None
            tr_pr_seen = False
            tcs: list[Any] = []
            spans: list[int | None] = []
            continues: list[bool] = []
            for tc in tr:
                tag = tc.tag
                if tag == _TC:
                    span: Any = None
                    vmerge: Any = None
                    for tc_pr in tc:
                        if tc_pr.tag == _TCPR:  # the first w:tcPr, its first w:gridSpan and w:vMerge
                            span, vmerge = _first(tc_pr, _GRID_SPAN), _first(tc_pr, _VMERGE)
                            break
                    spans.append(1 if span is None else self._convert(span, i, len(tcs)))
                    continues.append(vmerge is not None and vmerge.get(_VAL, "continue") == "continue")
                    tcs.append(tc)
                elif tag == _TRPR and not tr_pr_seen:
                    tr_pr_seen = True
                    before = _first(tc, _GRID_BEFORE)
            self.before.append(0 if before is None else self._convert(before, i, -1))
            self.tcs.append(tcs)
            self.spans.append(spans)
            self.continues.append(continues)

    def _convert(self, element: Any, i: int, j: int) -> int | None:
        try:
            return _decimal(element)
        except (ValueError, _InvalidXml):
            self._bad[i, j] = element
            return None

    def grid_before(self, i: int) -> int:
        before = self.before[i]
        return _decimal(self._bad[i, -1]) if before is None else before

    def span(self, i: int, j: int) -> int:
        span = self.spans[i][j]
        return _decimal(self._bad[i, j]) if span is None else span

    def text(self, i: int, j: int) -> str:
        """python-docx's ``_Cell.text``: the cell's own paragraphs (not a nested table's), one per line."""
        text = self._texts.get((i, j))
        if text is None:
            text = self._texts[i, j] = "\n".join(_paragraph_text(p) for p in self.tcs[i][j] if p.tag == _P)
        return text

    def tc_above(self, i: int, j: int) -> tuple[int, int]:
        """python-docx's ``CT_Tc._tc_above``: the row above's cell starting at this cell's grid offset."""
        if i == 0:
            raise ValueError("no tr above topmost tr in w:tbl")
        offset = self.grid_before(i)
        for k in range(j):
            offset += self.span(i, k)
        remaining = offset - self.grid_before(i - 1)
        for k in range(len(self.tcs[i - 1])):
            if remaining < 0:
                break
            if remaining == 0:
                return i - 1, k
            remaining -= self.span(i - 1, k)
        raise ValueError(f"no `tc` element at grid_offset={offset}")

    def cells(self, i: int) -> list[tuple[int, int]]:
        """python-docx's ``_Row.cells``, as (row, cell) indices. It followed a vertical merge up one row per
        recursion (a merge over a thousand rows was a RecursionError); here each continuation's cell, once
        found, is remembered."""
        out: list[tuple[int, int]] = []
        for j, continues in enumerate(self.continues[i]):
            at = (i, j)
            if continues:
                path = []
                while continues:
                    root = self._roots.get(at)
                    if root is not None:
                        at = root
                        break
                    path.append(at)
                    at = self.tc_above(*at)
                    continues = self.continues[at[0]][at[1]]
                for cell in path:
                    self._roots[cell] = at
            out.extend([at] * self.span(*at))
        return out

    def row_texts(self, i: int) -> tuple[int, list[str]]:
        """The grid column a row's first text stands in, and the texts, one per grid column from there (a
        merged cell repeats, like an HTML span).

        python-docx refuses a row whose vertical merge points at a cell the row above does not have
        (LibreOffice writes such rows when it re-saves a table it misread); that row is read cell by cell,
        each cell's own text repeated over its span, instead of losing the whole document."""
        try:
            return self.grid_before(i), [self.text(*at) for at in self.cells(i)]
        except ValueError:
            texts = [""] * self.grid_before(i)
            for j in range(len(self.tcs[i])):
                texts.extend([self.text(i, j)] * self.span(i, j))
            return 0, texts

    def sliver_columns(self) -> set[int]:
        """The grid columns narrower than ``SLIVER_TWIPS`` that no cell lies wholly in.

        Every cell over such a column also covers a real one, so reading it would only repeat that cell's text
        (LibreOffice's DOC→DOCX gives Table 4's 总计 a 1-twip second column: 16 numbers for 15 columns). A
        table without a grid, or with one that does not parse, has none: it is read as before."""
        try:
            grid = _first(self.tbl, _TBL_GRID)
            if grid is None:
                return set()
            slivers = set()
            for j, col in enumerate(c for c in grid if c.tag == _GRID_COL):
                width = col.get(_WIDTH)
                if width is not None and _twips_measure_emu(width) < _SLIVER_EMU:
                    slivers.add(j)
            for i in range(len(self.trs)) if slivers else ():
                at = self.grid_before(i)
                for j in range(len(self.tcs[i])):
                    span = set(range(at, at + self.span(i, j)))
                    if span <= slivers:  # a cell all in slivers: its text stands only there, keep its columns
                        slivers -= span
                    at += self.span(i, j)
        except Exception:  # noqa: BLE001 - malformed widths and spans: no slivers, as with python-docx
            return set()
        return slivers
