"""``parse_report``: bytes (HTML, text, PDF, DOCX, DOC) in, a validated canonical ``Report`` out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from crawler.report import _active, _applications, _review
from crawler.report._attachments import AttachmentError, doc_text, sniff
from crawler.report._blocks import Block, Grid
from crawler.report._classify import table_grids
from crawler.report._digits import FULLWIDTH
from crawler.report._docx import docx_text
from crawler.report._html import ARTICLE_IMAGES, parse_html
from crawler.report._identities import (
    IDENTITY_WORDS,
    application_identities,
    identity_issues,
    resolve,
    review_identities,
)
from crawler.report._lines import line_rows
from crawler.report._metadata import (
    agency_from_text,
    clean_html_title,
    detect_format,
    iso_date,
    report_year,
    signature,
    title_from_text,
    title_parts,
    url_date,
)
from crawler.report._model import Issue, Number, Report, empty_source
from crawler.report._ocr import LOW_CONFIDENCE
from crawler.report._pdf import pdf_text
from crawler.report._plaintext import split_dump_header, text_blocks
from crawler.report._scanned import (
    MAX_OCR_PAGES,
    Scanned,
    engine_missing,
    is_image,
    pdf_pictures,
    read_pictures,
)
from crawler.report._schema import (
    ACTIVE_ROWS,
    APPLICANT_COLUMNS,
    APPLICATION_ROWS,
    REVIEW_COLUMNS,
    REVIEW_GROUPS,
)
from crawler.report._sections import SectionSpan, split_sections
from crawler.textfix import decode, repair

# antiword 0.37 does not follow a "huge PAPX" (sprmPHugePapx), where LibreOffice stores the properties of any
# table row of seven or more cells; it then prints those rows run on, and drops them when a row it can
# read comes next (Table 4's first row after Table 3). See _attachments.antiword_tables. Added only when antiword
# gave the text (LibreOffice, preferred where installed, reads such rows).
_DOC_TABLE_HINT = "; or antiword lost its rows, as it may for rows of seven or more cells"
# A page or text body larger than this is refused unread: ~20x the largest real report page (370 KB); at this
# size the worst case costs ~0.4 GB and ~10 s (the HTML tree is ~35x the input). PDF/DOCX have their own caps.
MAX_MARKUP_BYTES = 8 * 1024 * 1024
_NOTHING_TO_REPAIR = re.compile(r"^[0-9.,，\-—－/／ ]*$")
_HTML_SNIFF = re.compile(r"<(?:!doctype\s+html|html|head|body|table|div|p|meta|br)[\s>/]", re.I)


def _issue_from(d: Mapping[str, Any]) -> Issue:
    return Issue(str(d.get("code", "mojibake")), d.get("table"), d.get("row"), d.get("column"),
                 str(d.get("detail", "")))


def parse_report(content: bytes | str, url: str | None = None, content_type: str | None = None,
                 headers: Mapping[str, Any] | None = None, resources: Mapping[str, bytes] | None = None) -> Report:
    """Parse one report. Pure and deterministic; every problem is an issue in the result, never an exception.

    ``resources``: bytes of the pictures an HTML report shows (absolute URL -> bytes, as archived); a standard
    table the page's text does not hold is looked for in them by OCR."""
    report = Report(source=empty_source(url, content_type))
    try:
        _parse(report, content, url, content_type, headers, resources)
    except RecursionError as e:
        report.issues.append(Issue("unparsed_document", detail=f"input nests too deeply to read: {e}"))
    return report


def _parse(report: Report, content: bytes | str, url: str | None, content_type: str | None,
           headers: Mapping[str, Any] | None, resources: Mapping[str, bytes] | None = None) -> None:
    converter = None  # for a DOC/WPS file: "libreoffice" or "antiword"
    if isinstance(content, str):
        text = content
        kind = "markup"
        report.charset = None
    else:
        raw = bytes(content)
        kind = "image" if is_image(raw) else sniff(raw, content_type, url)
        text = ""
        if kind == "markup":
            if len(raw) > MAX_MARKUP_BYTES:
                report.issues.append(Issue("unparsed_document", detail=f"the body is {len(raw) / 1e6:.1f} MB, over "
                                           f"the {MAX_MARKUP_BYTES / 1e6:.0f} MB a report page can be: not parsed"))
                return
            decoded = decode(raw, headers, url)
            if "binary content" in decoded.problems and not _HTML_SNIFF.search(decoded.text[:4096]):
                report.issues.append(Issue("unparsed_document", detail="binary content, not a page or a text: "
                                                                       "not parsed"))
                return
            text, report.charset = decoded.text, decoded.charset
    scanned: Scanned | None = None
    if kind == "image":
        scanned = _ocr_pictures(report, kind, [raw])
        if scanned is None:
            return
    elif kind != "markup":
        try:
            if kind == "pdf":
                text = pdf_text(raw)
            elif kind == "docx":
                text = docx_text(raw)
            else:
                doc = doc_text(raw)
                text, converter = doc.text, doc.converter
                if doc.fallback_reason:
                    report.issues.append(Issue("converter_fallback", detail=f"{kind}: read with antiword; "
                                                                             f"{doc.fallback_reason}"))
        except AttachmentError as e:
            code = "unsupported_attachment" if kind == "doc" else "unparsed_document"
            report.issues.append(Issue(code, detail=f"{kind}: {e}"))
            return
        if not text.strip() and kind == "pdf":
            try:
                pictures, pages = pdf_pictures(raw)
            except Exception as e:  # noqa: BLE001 - PDFium errors on hostile files
                report.issues.append(Issue("unparsed_document", detail=f"pdf: no text layer, and its pages could "
                                                                       f"not be rendered: {type(e).__name__}: {e}"))
                return
            if pages > len(pictures):
                report.issues.append(Issue("unparsed_document", detail=f"pdf: no text layer; OCR read the first "
                                                                       f"{len(pictures)} of {pages} pages"))
            scanned = _ocr_pictures(report, "pdf", pictures)
            if scanned is None:
                return
        elif not text.strip():
            report.issues.append(Issue("unparsed_document", detail=f"{kind}: no text in it"))
            return
    if scanned is not None:
        report.ocr = {"pages": scanned.pages, "cells": {}}
        blocks, _ = _repair_blocks(report, scanned.blocks, {})
        _document(report, blocks, {}, url)
        return
    is_html = kind == "markup" and bool(_HTML_SNIFF.search(text[:4096]))
    meta: dict[str, str] = {}
    if is_html:
        # Repair only the article text, not the whole page: chrome and markup are most of a page's bytes.
        blocks, meta = parse_html(text)
        images = meta.pop(ARTICLE_IMAGES, "")
        blocks, meta = _repair_blocks(report, blocks, meta)
        blocks = _text_tables_in_html(blocks)
        if images and resources:
            blocks = blocks + _image_tables(report, blocks, images.split("\n"), url, resources)
    else:
        # full-width digits read as ASCII before repair (the byte-shift detector takes runs of them for garbage)
        repaired = repair(text.translate(FULLWIDTH))
        report.repairs = repaired.repairs_json()
        report.issues.extend(_issue_from(i) for i in repaired.issues)
        body, fields = split_dump_header(repaired.text)
        meta = {"ArticleTitle": fields.get("标题", ""), "PubDate": fields.get("发布时间", ""),
                "ContentSource": fields.get("发布机构", ""), "Url": fields.get("原文链接", "")}
        blocks = text_blocks(body)
    _document(report, blocks, meta, url)
    if converter == "antiword":
        report.issues = [Issue(i.code, i.table, i.row, i.column, i.detail + _DOC_TABLE_HINT)
                         if i.code == "table_missing" else i for i in report.issues]


def _document(report: Report, blocks: list[Block], meta: dict[str, str], url: str | None) -> None:
    """Metadata, format, sections and tables of a document's blocks (whatever the input format was)."""
    lines = [b for b in blocks if isinstance(b, str)]
    flat = "\n".join(lines)
    _metadata(report, meta, lines, flat, url)
    fmt = detect_format(flat + "\n" + _grid_text(blocks), report.year)
    report.format = fmt
    spans = split_sections(blocks, legacy=fmt == "legacy")
    report.sections = [s.section for s in spans]
    if fmt == "legacy":
        return
    if fmt == "unknown":
        report.issues.append(Issue("format_unknown", detail="no format markers and no report year"))
    _tables(report, spans, "2021" if fmt == "unknown" else fmt, report.year)


def _image_tables(report: Report, blocks: list[Block], images: list[str], url: str | None,
                  resources: Mapping[str, bytes]) -> list[Block]:
    """Grids OCR finds in the article's pictures, for the standard tables the page's text does not hold (a
    page whose text has all three is never sent to OCR)."""
    found = {k for k, grids in table_grids(blocks).items() if grids}
    if found >= {"active_disclosure", "applications", "review_litigation"}:
        return []
    pictures = [data for src in images[:MAX_OCR_PAGES]
                if (data := resources.get(urljoin(url or "", src)) or resources.get(src)) and is_image(data)]
    if not pictures or engine_missing():
        return []
    scanned = read_pictures(pictures)
    for problem in scanned.problems:
        report.issues.append(Issue("unparsed_document", detail=f"picture: {problem}"))
    # only what reads as a standard table (a poster's lettering is not one)
    named = {id(g) for kind_grids in table_grids(scanned.blocks).values() for g in kind_grids}
    grids = [b for b in scanned.blocks if isinstance(b, Grid) and id(b) in named]
    if grids:
        report.ocr = {"pages": scanned.pages, "cells": {}}
        grids = _repair_grids(report, grids)
    return list(grids)


def _repair_grids(report: Report, grids: list[Grid]) -> list[Grid]:
    """OCR'd grids through the text repair (Traditional, mojibake), keeping the page's repair record."""
    saved_repairs, saved_issues = report.repairs, list(report.issues)
    fixed, _ = _repair_blocks(report, list(grids), {})
    report.repairs, report.issues = saved_repairs, saved_issues
    return [g for g in fixed if isinstance(g, Grid)]


def _ocr_pictures(report: Report, kind: str, pictures: list[bytes]) -> Scanned | None:
    """OCR of a report's pictures; None (with the reason as an issue) when there is nothing to parse."""
    missing = engine_missing()
    if missing:
        report.issues.append(Issue("unparsed_document", detail=f"{kind}: a picture with no text layer; {missing}"))
        return None
    scanned = read_pictures(pictures)
    for problem in scanned.problems:
        report.issues.append(Issue("unparsed_document", detail=f"{kind}: {problem}"))
    if scanned.empty:
        report.issues.append(Issue("not_report", detail=f"{kind}: OCR found no text and no table in it"))
        return None
    if not any(isinstance(b, Grid) for b in scanned.blocks) and not any(
            s.section.key for s in split_sections(scanned.blocks)):
        report.issues.append(Issue("not_report", detail=f"{kind}: OCR found text but no table and none of the "
                                                        "report's section headings (a poster, a notice)"))
        return None
    return scanned


def _repair_blocks(report: Report, blocks: list[Block], meta: dict[str, str]) -> tuple[
        list[Block], dict[str, str]]:
    """Repair every line and cell in one ``repair`` call (one line each), then put them back in place."""
    keys = sorted(meta)
    pieces = [meta[k].replace("\n", " ").replace("\r", " ").translate(FULLWIDTH) for k in keys]
    for b in blocks:
        if isinstance(b, Grid):
            pieces.extend(c.translate(FULLWIDTH) for row in b.rows for c in row)
        else:
            pieces.append(b.translate(FULLWIDTH))
    # full-width digits read as ASCII before repair (the byte-shift detector takes runs of them for garbage).
    # Cells that are only a number or a blank mark have nothing to repair and are most of a table's cells:
    # left out (the repair's cost is per line; this is ~10x less work on a page with the three tables).
    send = [i for i, p in enumerate(pieces) if not _NOTHING_TO_REPAIR.match(p)]
    repaired = repair("\n".join(pieces[i] for i in send))
    report.repairs = repaired.repairs_json()
    report.issues.extend(_issue_from(i) for i in repaired.issues)
    lines = repaired.text.split("\n")
    if len(lines) != len(send):  # a repair joined or split lines: repair piece by piece instead
        lines = [repair(pieces[i]).text for i in send]
    fixed = list(pieces)
    for i, line in zip(send, lines, strict=True):
        fixed[i] = line
    it = iter(fixed)
    new_meta = {k: next(it) for k in keys}
    new_blocks: list[Block] = []
    for b in blocks:
        if isinstance(b, Grid):
            new_blocks.append(Grid([[next(it) for _ in row] for row in b.rows], b.ids, b.confidence))
        else:
            new_blocks.append(next(it))
    return new_blocks, new_meta


def _text_tables_in_html(blocks: list[Block]) -> list[Block]:
    """Pages that print a text dump as paragraphs (``|`` cell lines, markdown rows): read those as tables."""
    out: list[Block] = []
    run: list[str] = []

    def flush() -> None:
        if any(line == "|" or (line.startswith("|") and line.count("|") >= 3) for line in run):
            out.extend(text_blocks("\n".join(run)))
        else:
            out.extend(run)
        run.clear()

    for b in blocks:
        if isinstance(b, Grid):
            flush()
            out.append(b)
        else:
            run.append(b)
    flush()
    return out


def _grid_text(blocks: list[Block]) -> str:
    return "\n".join("".join(row) for b in blocks if isinstance(b, Grid) for row in b.rows)


def _metadata(report: Report, meta: dict[str, str], lines: list[str], flat: str, url: str | None) -> None:
    title = meta.get("ArticleTitle") or None
    for cand in (clean_html_title(meta.get("html_title") or ""), meta.get("heading_title") or ""):
        if not title and cand and len(cand) <= 80 and title_parts(cand)[1] is not None:
            title = cand
    if not title:
        title = title_from_text(lines)
    report.title = title
    agency, year = title_parts(title)
    sig_agency, sig_date = signature(lines)
    report.agency = agency or sig_agency or agency_from_text(flat) or meta.get("ContentSource") or None
    published = (iso_date(meta.get("PubDate")) or iso_date(meta.get("page_date")) or sig_date or url_date(url)
                 or url_date(meta.get("Url")))
    report.published = published
    if year is None:
        year = report_year(flat, int(published[:4]) if published else None)
    report.year = year


def _zone(spans: list[SectionSpan], key: str, classified: dict[str, list[Grid]]) -> tuple[bool, list[Grid], str]:
    """(section present?, the table's grids, the section's text; the whole document's text when no section
    has the key). The grids are those the table's own words identify, wherever they sit; the section's
    grids only when none is identified."""
    own = [s for s in spans if s.section.key == key]
    chosen = own or spans
    grids = [b for s in chosen for b in s.blocks if isinstance(b, Grid)]
    text = "\n".join(b for s in chosen for b in s.blocks if isinstance(b, str))
    found = classified[key]
    return bool(own), found or grids, text



def _tables(report: Report, spans: list[SectionSpan], fmt: str, year: int | None) -> None:
    issues: list[Issue] = []
    classified = table_grids([b for s in spans for b in s.blocks])
    ocr_cells: dict[str, dict[str, Any]] = {}
    apps = _applications_table(spans, classified, fmt, issues, report.labels, ocr_cells)
    review = _review_table(spans, classified, issues, ocr_cells)
    active = _active_table(spans, classified, fmt, year, issues, report.labels, ocr_cells)
    if report.ocr is not None:
        report.ocr["cells"] = ocr_cells
    report.tables = {"active_disclosure": active, "applications": apps, "review_litigation": review}
    app_fmt = fmt
    if apps is not None and "other" in apps:
        app_fmt = "2019"
    elif apps is not None:
        app_fmt = "2021"
    issues.extend(identity_issues(apps, review, app_fmt))
    report.issues.extend(issues)


def _missing(present: bool, table: str) -> Issue:
    if present:
        return Issue("table_missing", table, detail="the section has no table (it may be an image)")
    return Issue("table_missing", table, detail="neither the section nor its table was found")


def _applications_table(spans: list[SectionSpan], classified: dict[str, list[Grid]], fmt: str, issues: list[Issue],
                        labels: dict[str, dict[str, dict[str, Any]]],
                        ocr_cells: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    present, grids, text = _zone(spans, "applications", classified)
    obs: list[_applications.RowObs] = []
    inherited: _applications.ColumnMap | None = None
    for g in grids:
        got, inherited = _applications.grid_rows(g, inherited)
        obs.extend(got)
    if not any(o.key for o in obs):
        # rows one per line first (cells as printed), then run-on text for the rows no clean line gave
        obs = _applications.line_obs(line_rows(text))
        have = {o.key for o in obs}
        obs += [o for o in _applications.text_rows(text) if o.key not in have]
        have = {o.key for o in obs if o.choices}
        obs += [o for o in _applications.segment_rows(text) if o.key not in have]
    # a table: three rows its labels name (their cells may all be unreadable), or three rows of numbers
    if sum(1 for o in obs if o.key) < 3 and sum(1 for o in obs if o.choices) < 3:
        issues.append(_missing(present, "applications"))
        return None
    row_fmt = _applications.detect_rows_format(obs) or fmt
    order = APPLICATION_ROWS[row_fmt]
    found, unplaced, source = _applications.assemble(obs, order)
    labels["applications"] = {r: {"printed": o.label, "score": o.score if o.key == r else 0.0}
                              for r, o in source.items()}
    unreadable = {(r, c): o.raw for r, o in source.items() for c in o.unreadable}
    # OCR'd cells: their confidence is recorded; a number read below LOW_CONFIDENCE is not trusted (left open
    # for the identities, else reported)
    doubtful: dict[tuple[str, int], tuple[float, Number]] = {}
    for r, o in source.items():
        if o.conf is None or o.key != r or not o.choices or len(o.choices) != 1:
            continue
        ocr_cells.setdefault("applications", {})[r] = [round(c, 1) for c in o.conf]
        for c, (conf, v) in enumerate(zip(o.conf, o.choices[0], strict=True)):
            if v is not None and conf < LOW_CONFIDENCE:
                doubtful[(r, c)] = (conf, v)
                o.choices[0][c] = None
    rows: dict[str, list[Number | None]] = {r: [None] * 7 for r in order}
    choices: dict[str, list[list[Number | None]]] = {}
    for raw in unplaced:
        issues.append(Issue("unparsed_row", "applications", detail=f"row with no known label: {raw[:80]}"))
    for r, ch in found.items():
        if ch is None:
            issues.append(Issue("unparsed_row", "applications", r,
                                detail="digits run together with too many possible splits"))
        elif not ch:
            issues.append(Issue("unparsed_row", "applications", r,
                                detail="its numbers do not fit the seven columns"))
        elif len(ch) == 1:
            rows[r] = list(ch[0])
        else:
            choices[r] = ch
    observed = set(found)
    filled, undecided = resolve(rows, observed, choices, application_identities(row_fmt))
    for r in undecided:
        issues.append(Issue("unparsed_row", "applications", r,
                            detail=f"{len(choices[r])} readings of its digits and the identities do not pick one"))
    for r, c, kind in filled:
        if (r, c) in doubtful:
            conf, seen = doubtful[(r, c)]
            why = f"OCR read {_fmt_number(seen)} with confidence {conf:.0f}, below {LOW_CONFIDENCE:.0f}"
        else:
            why = ("unreadable" if (r, c) in unreadable else "blank or missing") + " in the source"
        issues.append(Issue("inferred_cell", "applications", r, APPLICANT_COLUMNS[c],
                            detail=f"{why}; {rows[r][c]} from {IDENTITY_WORDS[kind]}"))
    for r in order:
        if r not in observed:
            issues.append(Issue("cells_missing", "applications", r, detail="row not found"))
        elif r not in undecided and found.get(r):
            for c, v in enumerate(rows[r]):
                if v is None and (r, c) in doubtful:
                    conf, seen = doubtful[(r, c)]
                    issues.append(Issue("ocr_low_confidence", "applications", r, APPLICANT_COLUMNS[c],
                                        detail=f"OCR read {_fmt_number(seen)} with confidence {conf:.0f}, below "
                                               f"{LOW_CONFIDENCE:.0f}, and the identities do not determine it"))
                elif v is None and (r, c) in unreadable:
                    issues.append(Issue("cells_missing", "applications", r, APPLICANT_COLUMNS[c],
                                        detail="the cell holds neither a number nor a blank, and the identities "
                                               f"do not determine it: {unreadable[(r, c)][:80]}"))
                elif v is None:
                    issues.append(Issue("cells_missing", "applications", r, APPLICANT_COLUMNS[c],
                                        detail="blank in the source and not determined by the identities"))
    return dict(rows)


def _review_table(spans: list[SectionSpan], classified: dict[str, list[Grid]], issues: list[Issue],
                  ocr_cells: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    present, grids, text = _zone(spans, "review_litigation", classified)
    groups = None
    bad_raw = None
    conf: dict[str, list[float]] | None = None
    for grid in grids:
        groups, bad_raw, conf = _review.grid_review(grid)
        if groups is not None:
            break
    ambiguous = False
    choices: dict[str, list[list[Number | None]]] = {}
    if groups is None and bad_raw is None:
        by_line = _review.line_review(line_rows(text, bare_anywhere=True)) or _review.body_lines(text)
        if by_line is not None:
            groups = {g: (ch[0] if len(ch) == 1 else [None] * 5) for g, ch in by_line.items()}
            choices = {g: ch for g, ch in by_line.items() if len(ch) != 1}
    if groups is None and bad_raw is None:
        groups, bad_raw, ambiguous = _review.text_review(text)
    if groups is None:
        if bad_raw is None:
            issues.append(_missing(present, "review_litigation"))
            return None
        # the table is there but its numbers cannot be read: every cell open, each group named
        why = "too many ways to split its digits" if ambiguous else "its numbers do not fit 3×5 columns"
        for g in REVIEW_GROUPS:
            issues.append(Issue("unparsed_row", "review_litigation", g, detail=f"{why}: {bad_raw[:80]}"))
        return {g: [None] * 5 for g in REVIEW_GROUPS}
    rows: dict[str, list[Number | None]] = {g: list(groups.get(g) or [None] * 5) for g in REVIEW_GROUPS}
    doubtful: dict[tuple[str, int], tuple[float, Number]] = {}
    for g, cs in (conf or {}).items():
        if len(cs) != 5:
            continue
        ocr_cells.setdefault("review_litigation", {})[g] = [round(c, 1) for c in cs]
        for c, value in enumerate(rows[g]):
            if value is not None and cs[c] < LOW_CONFIDENCE:
                doubtful[(g, c)] = (cs[c], value)
                rows[g][c] = None
    filled, undecided = resolve(rows, set(groups), choices, review_identities())
    for g in undecided:
        issues.append(Issue("unparsed_row", "review_litigation", g,
                            detail=f"{len(choices[g])} places for its blank cell and the identities do not pick one"))
    for g, ch in choices.items():
        if not ch:
            issues.append(Issue("unparsed_row", "review_litigation", g,
                                detail="its cells do not fit the five columns"))
    for r, c, kind in filled:
        why = "blank or missing in the source"
        if (r, c) in doubtful:
            why = f"OCR read {_fmt_number(doubtful[(r, c)][1])} with confidence {doubtful[(r, c)][0]:.0f}, below " \
                  f"{LOW_CONFIDENCE:.0f}"
        issues.append(Issue("inferred_cell", "review_litigation", r, REVIEW_COLUMNS[c],
                            detail=f"{why}; {rows[r][c]} from {IDENTITY_WORDS[kind]}"))
    for g in REVIEW_GROUPS:
        for c, v in enumerate(rows[g]):
            if v is None and (g, c) in doubtful:
                issues.append(Issue("ocr_low_confidence", "review_litigation", g, REVIEW_COLUMNS[c],
                                    detail=f"OCR read {_fmt_number(doubtful[(g, c)][1])} with confidence "
                                           f"{doubtful[(g, c)][0]:.0f}, below {LOW_CONFIDENCE:.0f}, and the "
                                           "identities do not determine it"))
            elif v is None:
                issues.append(Issue("cells_missing", "review_litigation", g, REVIEW_COLUMNS[c],
                                    detail="blank in the source and not determined by the identities"))
    return dict(rows)


def _active_table(spans: list[SectionSpan], classified: dict[str, list[Grid]], fmt: str, year: int | None,
                  issues: list[Issue], labels: dict[str, dict[str, dict[str, Any]]],
                  ocr_cells: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    present, grids, text = _zone(spans, "active_disclosure", classified)
    obs = [o for g in grids for o in _active.grid_active(g, fmt)]
    seen = {o.key for o in obs}
    obs += [o for o in _active.line_active(line_rows(text), fmt) if o.key not in seen]
    seen = {o.key for o in obs}
    stated = _active.stated_figures(_table2_prose(spans), fmt, year)
    obs += [o for o in _active.text_active(text, fmt, stated) if o.key not in seen]
    if not obs:
        issues.append(_missing(present, "active_disclosure"))
        return None
    fields_by_row = ACTIVE_ROWS[fmt]
    table: dict[str, dict[str, Number | None]] = {r: dict.fromkeys(f) for r, f in fields_by_row.items()}
    got: set[str] = set()
    open_cells: set[tuple[str, str]] = set()
    for o in obs:
        if o.key in got:
            continue
        got.add(o.key)
        labels.setdefault("active_disclosure", {})[o.key] = {"printed": o.label or o.key, "score": o.score}
        if o.values is None:
            issues.append(Issue("unparsed_row", "active_disclosure", o.key,
                                detail=f"digits run together with no reading that fits its columns: {o.raw[:40]}"))
            continue
        table[o.key] = o.values
        if o.conf is not None:
            ocr_cells.setdefault("active_disclosure", {})[o.key] = {f: round(c, 1) for f, c in o.conf.items()}
            for f, c in o.conf.items():
                read = o.values.get(f)
                if read is not None and c < LOW_CONFIDENCE:
                    o.values[f] = None
                    open_cells.add((o.key, f))
                    issues.append(Issue("ocr_low_confidence", "active_disclosure", o.key, f,
                                        detail=f"OCR read {_fmt_number(read)} with confidence {c:.0f}, below "
                                               f"{LOW_CONFIDENCE:.0f}: not trusted"))
        if o.split is None:
            continue
        for f, why in o.split.pinned.items():
            issues.append(Issue("inferred_cell", "active_disclosure", o.key, f,
                                detail=f"digits run together ({o.raw[:40]}); {_fmt_number(o.values[f])}: {why}"))
        if o.split.undecided:
            open_cells.update((o.key, f) for f in o.split.undecided)
            issues.append(Issue("unparsed_row", "active_disclosure", o.key,
                                detail=f"digits run together with no unique split: {o.raw[:40]} "
                                       f"({_active.describe_undecided(o.split)})"))
    for r, fields in fields_by_row.items():
        if r not in got:
            issues.append(Issue("cells_missing", "active_disclosure", r, detail="row not found"))
            continue
        for f in fields:
            if table[r][f] is None and (r, f) not in open_cells and any(
                    o.key == r and o.values is not None for o in obs):
                issues.append(Issue("cells_missing", "active_disclosure", r, f, detail="blank in the source"))
    return table


def _table2_prose(spans: list[SectionSpan]) -> str:
    """The prose that may state Table 2 figures: 一、总体情况 and the text of 二 before its table."""
    parts: list[str] = []
    for s in spans:
        if s.section.key not in ("overview", "active_disclosure"):
            continue
        text = "\n".join(b for b in s.blocks if isinstance(b, str))
        parts.append(text if s.section.key == "overview" else _active.prose_before_table(text))
    return "\n".join(parts)


def _fmt_number(v: Number | None) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
