"""End to end per portal family: ``scrapy crawl annual_reports`` against the demo portal on port 0.

Every ground-truth report is yielded exactly once (attachments as themselves, with ``attachment_of``), no notice
is taken for a report, nothing outside the column is fetched. Families not (yet) in the portal are skipped.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawler.portal import portal as portal_module
from crawler.portal import start_portal
from tests.spider_support import CrawlResult, run_crawl


def _site_for(family: str) -> str | None:
    for name, (fam, _prefix, _agency) in portal_module.SITE_TABLE.items():
        if fam == family:
            return name
    return None


DETECTABLE = ("trs", "hanweb", "ucap")  # families the spider recognises from the page itself


def crawl_sites(sites: list[str], tmp_path: Path, *settings: str, faults: str | None = None,
                detect: bool = False) -> tuple[Any, CrawlResult]:
    portal = start_portal(host="127.0.0.1", port=0, seed=11, sites=sites, faults=faults)
    try:
        sources = tmp_path / "sources.toml"
        portal.write_sources(sources)
        if detect:  # drop the declared family where the page tells it, so detection is what is tested
            lines = sources.read_text(encoding="utf-8").splitlines()
            dropped = [ln for ln in lines if ln not in {f'family = "{f}"' for f in DETECTABLE}]
            sources.write_text("\n".join(dropped) + "\n", encoding="utf-8")
        return portal, run_crawl(sources, tmp_path, *settings)
    finally:
        portal.stop()


STATIC_FAMILIES = ["trs", "hanweb", "ucap", "govcn", "mirror"]
# every portal site of those families (two TRS templates, …), or the family name when the portal lacks it
STATIC_SITES = [n for n, (f, _p, _a) in portal_module.SITE_TABLE.items() if f in STATIC_FAMILIES] + [
    f for f in STATIC_FAMILIES if _site_for(f) is None]


@pytest.fixture(scope="module")
def static_crawl(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, CrawlResult]:
    """One crawl of every non-browser site the portal has (gov.cn links to the others' columns)."""
    sites = [s for s in STATIC_SITES if s in portal_module.SITE_TABLE]
    return crawl_sites(sites, tmp_path_factory.mktemp("portal"), detect=True)


def _only(portal: Any, res: CrawlResult, name: str) -> tuple[Any, CrawlResult]:
    """One site's share of a crawl of several sites: its ground truth, notices and items."""
    site = next(s for s in portal.sites if s.name == name)
    prefix = portal.url + site.prefix + "/"

    class View:
        url = portal.url
        sites = [site]
        ground_truth = [r for r in portal.ground_truth if r["url"].startswith(prefix)]
        notices = [n for n in portal.notices if n.startswith(prefix)]

    items = [i for i in res.items if i["url"].startswith(prefix)]
    return View(), CrawlResult(items=items, log=res.log, returncode=res.returncode)


def check_reports_exactly_once(portal: Any, res: CrawlResult) -> None:
    assert res.returncode == 0, res.log[-4000:]
    counts = Counter(i["url"] for i in res.items)
    assert [u for u, n in counts.items() if n > 1] == [], "a report yielded twice"
    truth = {r["url"]: r for r in portal.ground_truth}
    assert set(truth) - set(counts) == set(), "reports missed"
    assert set(counts) - set(truth) == set(), "something that is not a report was taken for one"
    assert not set(counts) & set(portal.notices)
    for item in res.items:
        t = truth[item["url"]]
        assert item["attachment_of"] == t["attachment_of"], item["url"]
        assert item["status"] == 200
        assert item["list_year"] == t["year"], (item["list_title"], t["year"])
        assert item["discovery"][0] in {u for s in _sources(portal) for u in s}, item["discovery"]
        assert item["discovery"][-1] == item["url"]
        if t["attachment_of"]:
            assert item["discovery"][-2] == t["attachment_of"]
            assert item["content_type"].split(";")[0] in (
                "application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/msword")


def _sources(portal: Any) -> list[list[str]]:
    return [[portal.url + c for c in entry.columns] for site in portal.sites for entry in site.sources()]


@pytest.mark.parametrize("site", STATIC_SITES)
def test_family_end_to_end(site: str, static_crawl: tuple[Any, CrawlResult]) -> None:
    if site not in portal_module.SITE_TABLE:
        pytest.skip(f"the demo portal has no {site!r} site yet")
    family = portal_module.SITE_TABLE[site][0]
    portal, res = _only(*static_crawl, site)
    assert portal.ground_truth, f"no {site} reports in the portal"
    check_reports_exactly_once(portal, res)
    assert {i["family"] for i in res.items} == {family}
    assert "Traceback" not in res.log, res.log[-4000:]
    assert "Starting download handler" not in res.log, "a static crawl started Playwright"
    if site == "trs":
        hidden = static_crawl[0].special.get("robots_disallowed")
        assert hidden and hidden not in {i["url"] for i in res.items}


def test_page_printing_its_report_and_linking_a_copy_yields_both(static_crawl: tuple[Any, CrawlResult]) -> None:
    """A detail page with the report as HTML *and* a PDF copy as 附件: the page is a report item, the copy an
    item with ``attachment_of`` = the page; the ground truth lists both."""
    portal, res = _only(*static_crawl, "trs")
    truth_urls = {r["url"] for r in portal.ground_truth}
    copies = [r for r in portal.ground_truth if r["attachment_of"] in truth_urls]
    assert copies, "the demo portal has no page that prints its report and links a copy"
    by_url = {i["url"]: i for i in res.items}
    for copy in copies:
        page, att = by_url[copy["attachment_of"]], by_url[copy["url"]]
        assert page["attachment_of"] is None and page["content_type"].startswith("text/html")
        assert att["attachment_of"] == page["url"] and att["content_type"] == "application/pdf"
        assert att["discovery"] == [*page["discovery"], att["url"]]
        assert att["list_title"] == page["list_title"] and att["list_year"] == page["list_year"]
    # and pages that only point to their attachment are not taken for reports
    notes = {r["attachment_of"] for r in portal.ground_truth if r["attachment_of"] and r["attachment_of"] not in truth_urls}
    assert notes and not notes & set(by_url)


@pytest.mark.browser
def test_js_family_end_to_end_through_chromium(tmp_path: Path) -> None:
    site = _site_for("jsapi")
    if site is None:
        pytest.skip("the demo portal has no 'jsapi' site yet")
    portal, res = crawl_sites([site], tmp_path)
    check_reports_exactly_once(portal, res)
    assert "'nianbao/jsapi/api_recognised': 1" in res.log, "the JSON API was not recognised"


def test_endless_portal_column_stops_at_the_cap_and_finishes(tmp_path: Path) -> None:
    if "endless" not in portal_module.SITE_TABLE:
        pytest.skip("the demo portal has no endless column yet")
    portal, res = crawl_sites(["endless"], tmp_path, "NIANBAO_MAX_LIST_PAGES=6", faults="endless_pagination")
    check_reports_exactly_once(portal, res)
    assert "NIANBAO_MAX_LIST_PAGES=6 reached" in res.log
    assert "'nianbao/list_page_cap_reached': 1" in res.log


def test_hanweb_entity_bomb_answer_is_refused_and_the_rest_is_crawled(tmp_path: Path) -> None:
    if "hanweb" not in portal_module.SITE_TABLE:
        pytest.skip("the demo portal has no hanweb site yet")
    portal, res = crawl_sites(["hanweb"], tmp_path, faults="billion_laughs")
    check_reports_exactly_once(portal, res)
    assert "datastore XML refused" in res.log
    assert re.search(r"'nianbao/hanweb/bad_datastore': [1-9]", res.log)
