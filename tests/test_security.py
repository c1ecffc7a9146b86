"""The address guard (crawler/security.py): non-public addresses are refused by literal, after DNS and on every
redirect hop, unless the source allows private addresses; cloud metadata is refused even then."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from crawler.security import classify, literal_ip
from tests.test_ops_probe import FaultServer, run_probe

ALLOW = {"nianbao_allow_private": True}


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "cloud-metadata"),
        ("100.100.100.200", "cloud-metadata"),
        ("169.254.0.23", "cloud-metadata"),
        ("fd00:ec2::254", "cloud-metadata"),
        ("::ffff:169.254.169.254", "cloud-metadata"),
        ("64:ff9b::a9fe:a9fe", "cloud-metadata"),
        ("2002:a9fe:a9fe::1", "cloud-metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.1.1", "shared"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),
        ("8.8.8.8", None),
        ("202.108.22.5", None),
        ("2400:da00::6666", None),
    ],
)
def test_classify(address: str, category: str | None) -> None:
    assert classify(address) == category


@pytest.mark.parametrize(
    ("host", "ip"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0xA9FEA9FE", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("www.gov.cn", None),
    ],
)
def test_literal_ip_spellings(host: str, ip: str | None) -> None:
    got = literal_ip(host)
    assert (str(got) if got else None) == (str(ipaddress.ip_address(ip)) if ip else None)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, list[str], list[str]]:
    tmp = tmp_path_factory.mktemp("guard")
    with FaultServer() as a, FaultServer() as b:
        port = a.server_address[1]
        cases = [
            {"name": "allowed", "url": f"{a.base}/page", "meta": ALLOW},
            {"name": "redirect_same_host", "url": f"{a.base}/redirect?to=/page", "meta": ALLOW},
            {"name": "loopback_literal", "url": f"{b.base}/page"},
            {"name": "loopback_dns", "url": f"http://localhost:{b.server_address[1]}/page"},
            {"name": "loopback_decimal", "url": f"http://2130706433:{b.server_address[1]}/page"},
            {"name": "dot_localhost", "url": f"http://portal.localhost:{b.server_address[1]}/page"},
            {"name": "private", "url": "http://10.255.255.1/"},
            {"name": "metadata", "url": "http://169.254.169.254/latest/meta-data/", "meta": ALLOW},
            {"name": "metadata_v6", "url": "http://[fd00:ec2::254]/latest/meta-data/", "meta": ALLOW},
            {"name": "metadata_mapped", "url": "http://[::ffff:169.254.169.254]/", "meta": ALLOW},
            {"name": "redirect_to_metadata",
             "url": f"{a.base}/redirect?to=http://169.254.169.254/latest/meta-data/iam/", "meta": ALLOW},
            {"name": "redirect_to_other_private", "url": f"{a.base}/redirect?to={b.base}/page", "meta": ALLOW},
            {"name": "file", "url": "file:///etc/passwd"},
        ]
        data = run_probe(cases, tmp, DOWNLOAD_TIMEOUT=3, RETRY_ENABLED=False)
        hits_a, hits_b = list(a.hits), list(b.hits)
    return data, f"127.0.0.1:{port}", hits_a, hits_b


REFUSED = {
    "loopback_literal": "loopback",
    "loopback_dns": "loopback",
    "loopback_decimal": "loopback",
    "dot_localhost": "loopback",
    "private": "private",
    "metadata": "cloud-metadata",
    "metadata_v6": "cloud-metadata",
    "metadata_mapped": "cloud-metadata",
    "redirect_to_metadata": "cloud-metadata",
    "redirect_to_other_private": "loopback",
    "file": "local-file",
}


def test_allowed_source_is_fetched_with_its_redirects(guarded) -> None:
    data, _, hits_a, _ = guarded
    assert data["results"]["allowed"]["status"] == 200
    assert data["results"]["redirect_same_host"]["status"] == 200
    assert data["results"]["redirect_same_host"]["url"].endswith("/page")
    assert "/redirect?to=/page" in hits_a


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(guarded, case: str) -> None:
    data, _, _, _ = guarded
    result = data["results"][case]
    assert result.get("error") == "RefusedAddress", result
    assert REFUSED[case] in result["reason"]
    assert "\n" not in result["reason"]


def test_refused_hosts_were_never_contacted(guarded) -> None:
    _, _, _, hits_b = guarded
    assert hits_b == [], "a non-allowed private host was contacted (directly, by DNS name, or by redirect)"


def test_redirect_refusals_name_the_hop(guarded) -> None:
    data, netloc, _, _ = guarded
    reason = data["results"]["redirect_to_metadata"]["reason"]
    assert "redirected from" in reason and netloc in reason
    assert "even for private sources" in reason
    assert "leaves the hosts the source asked for" in data["results"]["redirect_to_other_private"]["reason"]


def test_refusals_counted_and_logged(guarded) -> None:
    data, _, _, _ = guarded
    stats = data["stats"]
    assert stats["nianbao/security/refused"] == len(REFUSED)
    assert stats["nianbao/security/refused/cloud-metadata"] == 4
    assert stats["nianbao/security/refused/loopback"] == 5
    refused = [e for e in data["log"] if e["event"] == "refused"]
    assert len(refused) == len(REFUSED)
    assert {e["url"] for e in refused} >= {"http://169.254.169.254/latest/meta-data/iam/", "file:///etc/passwd"}
    assert all(e["reason"].startswith("refused ") for e in refused)
    assert sum("refused" in line and "WARNING" in line for line in data["stderr"].splitlines()) == len(REFUSED)


def test_allow_private_setting_keeps_metadata_refused(tmp_path: Path) -> None:
    with FaultServer() as srv:
        data = run_probe([{"name": "p", "url": f"{srv.base}/page"}, {"name": "m", "url": "http://169.254.169.254/x"}],
                         tmp_path, NIANBAO_ALLOW_PRIVATE=True, DOWNLOAD_TIMEOUT=2, RETRY_ENABLED=False)
    assert data["results"]["p"]["status"] == 200
    assert data["results"]["m"]["error"] == "RefusedAddress", "metadata stays refused with NIANBAO_ALLOW_PRIVATE"


@pytest.mark.browser
def test_rendered_pages_own_requests_pass_the_guard(tmp_path: Path) -> None:
    """JavaScript on a crawled page cannot reach the metadata service or another local host: Chromium's requests go
    through PLAYWRIGHT_ABORT_REQUEST = crawler.security.abort_browser_request."""
    with FaultServer() as a, FaultServer() as b:
        data = run_probe([{"name": "js", "url": f"{a.base}/js?other={b.base}",
                           "meta": {"nianbao_allow_private": True, "playwright": True}}], tmp_path)
        hits_a, hits_b = list(a.hits), list(b.hits)
    assert data["results"]["js"]["status"] == 200, data["results"]
    assert "/page?xhr=1" in hits_a, "the page's request to its own origin was blocked"
    assert hits_b == [], "the page's script reached another local host"
    refused = [e for e in data["log"] if e["event"] == "refused"]
    assert {e["category"] for e in refused} >= {"cloud-metadata", "loopback"}
    assert all(e["reason"].startswith("refused browser request") and e["page"] for e in refused)
