"""The demo portal: an offline stand-in for real government sites, and the report generator behind it.

    from crawler.portal import start_portal
    portal = start_portal(port=0, seed=1)      # threaded stdlib server on 127.0.0.1
    portal.url, portal.ground_truth, portal.all_urls(), portal.write_sources("out/sources.toml")
    portal.stop()

Sites live under path prefixes of one host (``/trs/`` …); ``crawler.portal.portal.SITE_TABLE`` lists
them with their family. Ground-truth entries: url, site, family, source, agency, year, format, title,
published, kind (html|pdf|docx|image), attachment_of, tables (canonical dict, None when not known or
an image), issues_expected, broken, origin ("generated" | "seed:NNN" | "sample:FILE"), layout, encoding,
transform.
"""

from __future__ import annotations

from crawler.portal.generator import BROKEN_KINDS, GeneratedReport, Section, generate_report
from crawler.portal.identities import Violation, check_identities
from crawler.portal.portal import Portal, start_portal

__all__ = ["BROKEN_KINDS", "GeneratedReport", "Portal", "Section", "Violation", "check_identities",
           "generate_report", "start_portal"]
