"""The copies a real portal landscape holds, planted in the demo portal once its sites are planned.

Report identity (docs/schema.md, "Report groups") must see through them:

- a page that prints its report and links a PDF of it as 附件 (planned by the TRS site itself:
  ``TrsSite._add_pdf_copy``; reason ``attachment_of``);
- a **corrected re-issue**: the first TRS report printed with a broken balance identity is issued again, fixed,
  as （更正版） (``TrsSite.add_corrected``; reason ``corrected_reissue``: the fixed one has fewer issues, so it is the
  canonical one);
- a **repost by a parent agency**: gov.cn (国务院办公厅) reposts a local report from another site's column
  (``GovcnSite.add_repost``; reason ``reposted``);
- a **mirror copy**: the SEO mirror republishes a TRS report in Traditional characters (``MirrorSite.add_copy``;
  reason ``mirror``).

Each copy's ground-truth entry names the entry it copies (``copy_of``, the report expected to be canonical) and
the reason expected in ``report_members``. The deliberate carry-over mismatch is planned with the numbers
(:data:`crawler.portal.years.DELIBERATE_BREAKS`). Nothing here draws from a site's random stream, so every other
page keeps its bytes.
"""

from __future__ import annotations

from crawler.portal.govcn import GovcnSite
from crawler.portal.mirror import MirrorSite
from crawler.portal.site import ReportPlan, Site
from crawler.portal.titles import NO_AGENCY_VARIANT
from crawler.portal.trs import TrsSite

REPOST_FROM = ("hanweb", "trs2", "ucap", "jsapp")  # the first of these sites present lends gov.cn a report


def _plain(plan: ReportPlan, fmt: str | None = None) -> bool:
    """A generated HTML report with nothing else going on (no copy made of it yet, not moved, not broken)."""
    return (plan.sample is None and plan.kind == "html" and plan.broken is None and not plan.extra
            and plan.title_variant != NO_AGENCY_VARIANT and (fmt is None or plan.fmt == fmt))


def _link(copy: ReportPlan, original: ReportPlan, reason: str, base_url: str = "") -> None:
    copy.extra["copy_of"] = base_url + original.report_path
    copy.extra["copy_reason"] = reason


def plant_copies(sites: list[Site], base_url: str) -> None:
    by_name = {s.name: s for s in sites}
    trs = by_name.get("trs")
    if isinstance(trs, TrsSite):
        for plan in list(trs.reports):
            if "pdf_copy" in plan.extra:  # the page printing its report + its PDF copy
                _link(plan.extra["pdf_copy"], plan, "attachment_of", base_url)
        original = next((p for p in trs.reports if p.sample is None and p.kind == "html" and p.broken == "balance"
                         and not p.extra and p.title_variant != NO_AGENCY_VARIANT), None)
        if original is not None:
            fixed = trs.add_corrected(original)
            if fixed is not None:
                _link(original, fixed, "corrected_reissue", base_url)  # the fixed one is expected canonical
        mirror = by_name.get("mirror")
        source = next((p for p in trs.reports if _plain(p, "2021")), None)
        if isinstance(mirror, MirrorSite) and source is not None:
            _link(mirror.add_copy(source), source, "mirror", base_url)
    govcn = by_name.get("govcn")
    lender = next((by_name[n] for n in REPOST_FROM if n in by_name), None)
    if isinstance(govcn, GovcnSite) and lender is not None:
        source = next((p for p in lender.reports if _plain(p, "2021")), None)
        if source is not None:
            _link(govcn.add_repost(source), source, "reposted", base_url)
