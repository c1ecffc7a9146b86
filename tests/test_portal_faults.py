"""The portal's switchable faults: deterministic, listed in the ground truth, and each does what it says."""

from __future__ import annotations

import http.client
import time
import zlib
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from crawler.portal import Portal, start_portal
from crawler.portal.faults import ALL_FAULTS, parse_faults, plan_transient
from crawler.portal.hanweb import PROXY
from tests.test_portal import fetch


@pytest.fixture(scope="module")
def portal() -> Iterator[Portal]:
    p = start_portal(seed=4, faults="all")
    p.slow_seconds = 0.6
    yield p
    p.stop()


def _by_fault(portal: Portal, name: str) -> list[dict]:  # type: ignore[type-arg]
    return [f for f in portal.faults if f["fault"] == name]


def test_fault_names_parse_and_unknown_ones_are_refused() -> None:
    assert parse_faults("all") == frozenset(ALL_FAULTS)
    assert parse_faults("503, slow") == {"503", "slow"}
    assert parse_faults(None) == frozenset()
    with pytest.raises(ValueError, match="unknown portal fault"):
        parse_faults("503,teapot")


def test_transient_faults_are_deterministic_and_about_the_stated_rate() -> None:
    paths = [f"/p/{i}.html" for i in range(4000)]
    a = plan_transient(1, frozenset({"503"}), paths)
    assert a == plan_transient(1, frozenset({"503"}), paths)
    assert a != plan_transient(2, frozenset({"503"}), paths)
    assert 0.035 < len(a) / len(paths) < 0.065


def test_every_fault_is_listed(portal: Portal) -> None:
    assert {f["fault"] for f in portal.faults} == set(ALL_FAULTS)
    crawl = set(portal.all_urls())
    for fault in portal.faults:
        if fault["fault"] in ("503", "slow", "reset", "short_body"):
            assert fault["url"] in crawl and fault["failures"] == 1


def test_every_transient_fault_is_delivered_once() -> None:
    p = start_portal(seed=1, faults="503,reset,short_body,slow", reports_per_site=20, slow_seconds=0.3)
    try:
        transient = [f for f in p.faults if f["fault"] in ("503", "reset", "short_body", "slow")]
        assert any("?" in f["url"] for f in transient), "query URLs (dataproxy, JSON API) get faults too"
        for fault in transient:
            started = time.perf_counter()
            try:
                status = fetch(fault["url"], headers={"Accept-Encoding": "identity"})[0]
            except (ConnectionResetError, http.client.RemoteDisconnected, http.client.IncompleteRead) as e:
                status = type(e).__name__
            took = time.perf_counter() - started
            expected = {"503": 503, "reset": ("ConnectionResetError", "RemoteDisconnected"),
                        "short_body": ("IncompleteRead",)}.get(fault["fault"])
            if fault["fault"] == "slow":
                assert took >= 0.3, fault
            elif isinstance(expected, tuple):
                assert status in expected, fault
            else:
                assert status == expected, fault
            assert fetch(fault["url"])[0] in (200, 301, 404), fault
    finally:
        p.stop()


def test_503_then_success(portal: Portal) -> None:
    url = _by_fault(portal, "503")[0]["url"]
    status, headers, _ = fetch(url)
    assert status == 503 and headers["retry-after"] == "1"
    assert fetch(url)[0] in (200, 301, 404)


def test_slow_answer_then_fast(portal: Portal) -> None:
    url = _by_fault(portal, "slow")[0]["url"]
    started = time.perf_counter()
    fetch(url)
    assert time.perf_counter() - started >= 0.6
    started = time.perf_counter()
    fetch(url)
    assert time.perf_counter() - started < 0.5


def test_connection_reset_then_success(portal: Portal) -> None:
    url = _by_fault(portal, "reset")[0]["url"]
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        fetch(url)
    assert fetch(url)[0] in (200, 301, 404)


def test_short_body_then_full(portal: Portal) -> None:
    url = _by_fault(portal, "short_body")[0]["url"]
    with pytest.raises(http.client.IncompleteRead):
        fetch(url, headers={"Accept-Encoding": "identity"})
    status, headers, body = fetch(url, headers={"Accept-Encoding": "identity"})
    assert int(headers["content-length"]) == len(body)


def test_wrong_charset_sends_utf8_bytes_labelled_gbk(portal: Portal) -> None:
    url = _by_fault(portal, "wrong_charset")[0]["url"]
    _, headers, body = fetch(url, headers={"Accept-Encoding": "identity"})
    assert headers["content-type"] == "text/html; charset=gbk"
    assert "TRS_Editor" in body.decode("utf-8")


def test_redirect_loop(portal: Portal) -> None:
    url = _by_fault(portal, "redirect_loop")[0]["url"]
    status, headers, _ = fetch(url)
    assert status == 302
    back = fetch(portal.url + headers["location"])[1]["location"]
    assert portal.url + back == url


def test_gzip_bomb_is_small_on_the_wire_and_huge_inflated(portal: Portal) -> None:
    fault = _by_fault(portal, "gzip_bomb")[0]
    status, headers, body = fetch(fault["url"])
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert len(body) < 2_000_000
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert len(inflater.decompress(body, 50_000_000)) == 50_000_000, "inflates past 50 MB (bounded read here)"


def test_billion_laughs_on_the_hanweb_proxy(portal: Portal) -> None:
    site = next(s for s in portal.sites if s.name == "hanweb")
    hostile = site.columns[1]
    form = {"col": "1", "appid": "1", "webid": "27", "path": "/", "columnid": str(hostile.col),
            "sourceContentType": "1", "unitid": str(hostile.unit), "webname": site.agency, "permissiontype": "0"}
    query = urlencode({"startrecord": 11, "endrecord": 20, "perpage": 5})
    _, _, body = fetch(f"{portal.url}{PROXY}?{query}", "POST", body=urlencode(form).encode())
    assert b"<!ENTITY lol9" in body and len(body) < 2000
    with pytest.raises(DefusedXmlException):
        SafeET.fromstring(body)
    assert any(e["source"] == "hanweb-hostile" for e in portal.ground_truth)


def test_endless_column_never_ends(portal: Portal) -> None:
    column = portal.special["endless:endless_column"]
    page = column.replace("index.html", "index_5000.html")
    status, _, body = fetch(page)
    assert status == 200 and b'href="index_5001.html">\xe4\xb8\x8b\xe4\xb8\x80\xe9\xa1\xb5' in body
    endless = [e for e in portal.ground_truth if e["site"] == "endless"]
    assert endless and all(urlsplit(e["url"]).path.startswith("/endless/") for e in endless)
