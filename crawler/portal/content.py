"""Report content shared by every family: the body of a detail page and the attachment files."""

from __future__ import annotations

import html

from crawler.portal.image_reports import table_picture
from crawler.portal.render import render_docx, render_html, render_pdf
from crawler.portal.site import ReportPlan, Response

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def file_name(path: str | None) -> str:
    if not path:
        raise ValueError("this report plan has no file path")
    return path.rsplit("/", 1)[1]


def file_href(plan: ReportPlan) -> str:
    """``./name`` when the file sits beside its detail page (TRS), else the absolute path."""
    name = file_name(plan.file_path)
    same_folder = plan.detail_path.rsplit("/", 1)[0] == (plan.file_path or "").rsplit("/", 1)[0]
    return "./" + name if same_folder else plan.file_path or ""


def detail_body(plan: ReportPlan, layout: str | None = None) -> str:
    """What sits in the content div: the report (html), a 附件 link (pdf/docx), or prose + an image table."""
    if plan.sample is not None:
        return plan.sample.body_html or ""
    if plan.kind in ("pdf", "docx"):
        title = html.escape(plan.title)
        return (f'<p style="text-indent: 2em;">现将{title}予以公布，详见附件。</p>'
                f'<p>附件：<a href="{html.escape(file_href(plan))}" target="_blank">{title}.{plan.kind}</a></p>')
    if plan.kind == "image":
        report = plan.report
        parts = [f'<p style="text-indent: 2em;">{html.escape(report.preamble)}</p>']
        for section in report.sections:
            parts.append(f'<p style="text-indent: 2em;"><strong>{html.escape(section.title)}</strong></p>')
            parts.extend(f'<p style="text-indent: 2em;">{html.escape(p)}</p>' for p in section.paragraphs)
            if section.key == "applications":
                src = html.escape(file_href(plan))
                parts.append(f'<p style="text-align: center;"><img src="{src}" alt="" width="600" /></p>')
        return "\n".join(parts)
    return render_html(plan.report, layout or plan.layout, seed=plan.key)


def file_response(plan: ReportPlan) -> Response:
    """The attachment (pdf/docx) or the table picture (a scanned PNG: crawler.portal.image_reports) of a plan."""
    if plan.kind == "pdf":
        return Response(body=render_pdf(plan.report), content_type="application/pdf", last_modified=plan.published)
    if plan.kind == "docx":
        return Response(body=render_docx(plan.report), content_type=DOCX_TYPE, last_modified=plan.published)
    if plan.kind == "image":
        picture = table_picture(plan)
        return Response(body=picture.data, content_type=picture.content_type, last_modified=plan.published)
    raise ValueError(f"report plan {plan.key} of kind {plan.kind!r} has no file")


def kind_for(i: int, images: bool = False) -> str:
    """The i-th report's kind: mostly HTML pages, some PDF and DOCX attachments (and image tables).

    The first hundred reports carry a tenth of each, so a small portal shows every kind; beyond that a
    twenty-fifth, so a benchmark portal of thousands is not dominated by rendering files, and no more image tables
    (OCR reads one in seconds: a crawl benchmark is not an OCR benchmark, bench/ocr.py is).
    """
    if i < 100:
        kind = {3: "pdf", 6: "docx", 8: "image"}.get(i % 10, "html")
    else:
        kind = {7: "pdf", 19: "docx"}.get(i % 25, "html")
    return "html" if kind == "image" and not images else kind
