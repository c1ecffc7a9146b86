"""The demo portal: an offline stand-in for real government sites, and the report generator behind it.

    from crawler.portal import start_portal
    portal = start_portal(port=0, seed=1)          # threaded stdlib server on 127.0.0.1, a daemon thread
    portal.url, portal.ground_truth, portal.all_urls(), portal.notices, portal.special, portal.faults
    portal.write_sources("out/sources.toml")       # [[source]] entries + out/ground_truth.json
    portal.stop()

Sites share one host under path prefixes (``crawler.portal.portal.SITE_TABLE``):
  ``/trs/``     family ``trs``    TRS WCM column, createPageHTML paging, the real samples and seeds, PDF/DOCX
                                  attachments, an image-only table, GBK pages, gzip, a redirect, a 404,
                                  a robots.txt-disallowed report link;
  ``/trs2/``    family ``trs``    the newer GB2312 county template (table list, six-argument createPageHTML);
  ``/hanweb/``  family ``hanweb`` 大汉 jpage: embedded datastore + POST /module/web/jpage/dataproxy.jsp;
  ``/jsapp/``   family ``jsapi``  a column drawn by JavaScript from a JSON API;
  ``/ucap/``    family ``ucap``   Jiangsu department columns, 索引号 table above div#zoomcon;
  ``/mirror/``  family ``mirror`` SEO copies: Traditional, pinyin after characters, byte-shifted GBK;
  ``/govcn/``   family ``govcn``  one page of reports by year, linking every other site's column;
  ``/endless/`` (fault ``endless_pagination`` only) a column whose 下一页 never ends.
Every column mixes in notices with close-looking titles. One ``/robots.txt`` serves the host.

Ground-truth entries (``portal.ground_truth``; ``ground_truth.json`` holds them under ``"reports"`` with
``notices``, ``special``, ``faults`` and ``all_urls``): url, site, family, source, agency, year, format,
title (as listed), published, kind (html|pdf|docx|image), attachment_of (the detail page of a pdf/docx; one TRS
page prints its report and links a PDF copy as 附件: the page and the copy are two entries, the copy's attachment_of
being the page),
tables (canonical dict of DESIGN.md; None for an image or a sample not transcribed), issues_expected,
broken, origin ("generated" | "seed:NNN" | "sample:FILE"), layout, encoding, transform, edition, revision,
copy_of / copy_reason (a copy of another entry's report: the PDF 附件 of a page, a corrected re-issue's original,
gov.cn's repost of a local report, the mirror's copy of a TRS report: ``crawler.portal.copies``), carryover_break
(the applicant column of the demo's one deliberate carry-over mismatch). Every generated agency's consecutive years
are linked as the forms link them (上年结转 = last year's 结转下年度继续办理; 现行有效件数 follows in the 2021 form:
``crawler.portal.years``).

``faults=`` (``crawler.portal.faults``): 503, slow, reset, short_body (transient: a URL fails its first
request, then answers), wrong_charset, redirect_loop, gzip_bomb, endless_pagination, billion_laughs, or
"all"; each affected URL is in ``portal.faults``; ``portal.place_fault(path, fault)`` adds one where the plan
cannot aim (tests: the requests a browser makes while it renders the JS column). ``reports_per_site`` scales
every site (the crawl benchmark uses 2,000); ``portal.warm()`` renders everything in-process;
``portal.advance()`` publishes a next edition (new reports, one corrected page) for incremental crawls. Same
seed, same bytes.
"""

from __future__ import annotations

from crawler.portal.generator import BROKEN_KINDS, GeneratedReport, Section, generate_report
from crawler.portal.identities import Violation, check_identities
from crawler.portal.portal import Portal, start_portal

__all__ = ["BROKEN_KINDS", "GeneratedReport", "Portal", "Section", "Violation", "check_identities",
           "generate_report", "start_portal"]
