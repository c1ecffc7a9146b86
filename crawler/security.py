"""Refuse requests to non-public addresses (SSRF guard), by literal IP and after DNS, on every redirect hop.

A page we crawl decides where the crawler goes next: a link, a redirect, an attachment on "another host". A hostile
or compromised government site could point us at ``http://169.254.169.254/`` (the cloud metadata service that hands
out credentials), at ``http://127.0.0.1:6800/`` (our own Scrapyd), or at the operator's intranet. This downloader
middleware checks the address every request would connect to and refuses, with :class:`RefusedAddress` (an
``IgnoreRequest``), anything that is not a public unicast address:

* literal IPs in any spelling the resolver accepts (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``) — names
  that are not literal IPs are resolved through the reactor's (caching) resolver, the same one the download then
  uses, so a DNS answer that changes between our check and the connection is not picked up; the peer address of
  the response is checked again (unless a proxy was used) as a second line;
* every redirect hop (redirects come back through the middleware chain as new requests);
* private (RFC 1918, ULA), loopback, link-local, shared (CGNAT), multicast, reserved, unspecified, IPv4-mapped /
  NAT64 / 6to4 forms of those, and the cloud-metadata endpoints of AWS, GCP, Azure, Alibaba, Tencent, Oracle.

A source may live on a private network (the demo portal does): the spider sets the request meta key
``nianbao_allow_private`` for its requests. That allowance is scoped to the hosts the spider itself asked for (and
their robots.txt); a redirect that leaves them for another private host is still refused. The hosts allowed so far
survive a kill, so a redirect hop queued again by the resume is judged as it would have been: each request the
allowance was granted to carries its host (``nianbao_private_host``, copied onto its redirect hops, through a JOBDIR
or a Redis queue), and with ``JOBDIR`` the set is also kept in ``<JOBDIR>/private_hosts.json`` (emptied when a run
finishes, as the frontier is). Cloud-metadata addresses
are refused even then, unless listed in ``NIANBAO_ALLOWED_NETWORKS``. Settings: ``NIANBAO_ADDRESS_GUARD``,
``NIANBAO_ALLOW_PRIVATE``, ``NIANBAO_ALLOWED_NETWORKS`` (docs/settings.md). Stats: ``nianbao/security/refused`` and
``nianbao/security/refused/<category>``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import DNSLookupError
from twisted.internet.error import TimeoutError as TwistedTimeoutError

from crawler.crawl_events import LOGGED_AS_EVENT, send_event

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

META_ALLOW = "nianbao_allow_private"
META_HOST = "nianbao_private_host"  # the host:port the allowance was granted for, carried on to redirect hops
HOSTS_FILE = "private_hosts.json"

# Instance-metadata endpoints: they hand out cloud credentials to whoever asks from inside the VM.
CLOUD_METADATA: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Huawei, Baidu
        "169.254.169.253",  # AWS VPC DNS
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "169.254.0.23",  # Tencent Cloud (metadata.tencentyun.com)
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS VPC DNS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def classify(address: str | IPAddress) -> str | None:
    """The category of a non-public address (``"loopback"``, ``"cloud-metadata"``, …), or None when public."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return classify(embedded)
        if ip.teredo is not None:
            return classify(ip.teredo[1])
    if ip in CLOUD_METADATA:
        return "cloud-metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def literal_ip(host: str) -> IPAddress | None:
    """``host`` as an address when it is an IP literal in any spelling ``inet_aton`` accepts, else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if "%" in host:  # IPv6 with a zone index: fe80::1%eth0
        try:
            return ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None
    try:  # 2130706433, 0x7f.1, 0177.0.0.1: what the C resolver would connect to
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


_ACTIVE: AddressGuardMiddleware | None = None


async def _getaddrinfo(host: str, port: int | None) -> list[IPAddress]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []  # unresolvable: the browser's own lookup fails too
    out: list[IPAddress] = []
    for *_, sockaddr in infos:
        try:
            out.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        except ValueError:
            continue
    return out


async def abort_browser_request(request: Any) -> bool:
    """``PLAYWRIGHT_ABORT_REQUEST``: abort a rendered page's own request (XHR, fetch, image, iframe, redirect) to a
    non-public address, by the same rules as the middleware — a hostile page's JavaScript is not a way around them."""
    guard = _ACTIVE
    if guard is None:
        return False
    try:
        page_url: str | None = request.frame.url
    except (AttributeError, PlaywrightError):  # a service worker's request has no frame
        page_url = None
    return await guard.browser_verdict(str(request.url), page_url)


class RefusedAddress(IgnoreRequest):
    """A request was refused because it would connect to a non-public address."""

    nianbao_logged = True  # the guard writes its own "refused" line to crawl.log


@dataclass(frozen=True)
class GuardConfig:
    allow_private: bool
    allowed_networks: tuple[IPNetwork, ...]

    @classmethod
    def from_settings(cls, settings: Any) -> GuardConfig:
        nets: list[IPNetwork] = []
        for raw in settings.getlist("NIANBAO_ALLOWED_NETWORKS"):
            try:
                nets.append(ipaddress.ip_network(str(raw).strip(), strict=False))
            except ValueError as e:
                raise ValueError(f"NIANBAO_ALLOWED_NETWORKS: {raw!r} is not a CIDR network like 10.0.0.0/8") from e
        return cls(allow_private=settings.getbool("NIANBAO_ALLOW_PRIVATE"), allowed_networks=tuple(nets))

    def listed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self.allowed_networks)


class AddressGuardMiddleware:
    """Downloader middleware: refuse requests whose address is not public (see the module docstring)."""

    def __init__(self, crawler: Crawler, config: GuardConfig, hosts_file: Path | None = None) -> None:
        self.crawler = crawler
        self.config = config
        # host:port pairs the spider itself asked for with nianbao_allow_private (not reached by a redirect)
        self._private_ok: set[str] = set()
        self._hosts_file = hosts_file
        if hosts_file is not None:
            self._private_ok |= _load_hosts(hosts_file)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        global _ACTIVE
        if not crawler.settings.getbool("NIANBAO_ADDRESS_GUARD", True):
            raise NotConfigured("NIANBAO_ADDRESS_GUARD is off: requests to private addresses are not checked")
        jobdir = crawler.settings.get("JOBDIR")
        guard = cls(crawler, GuardConfig.from_settings(crawler.settings),
                    Path(jobdir) / HOSTS_FILE if jobdir else None)
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        _ACTIVE = guard  # for abort_browser_request, which Playwright calls without a crawler
        return guard

    def spider_closed(self, spider: Any, reason: str) -> None:
        if reason == "finished" and self._hosts_file is not None:  # the next run starts afresh, as the frontier
            self._hosts_file.unlink(missing_ok=True)

    async def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme == "file":
            if not self.config.allow_private:
                why = "a local-file URL reads the local disk; set NIANBAO_ALLOW_PRIVATE to allow it"
                self._refuse(request, "local-file", f"refused {request.url}: {why}")
            return None
        host = (parts.hostname or "").lower()
        if not host:
            return None
        netloc = self._netloc(parts)
        allowed_here = self._allowance(request, netloc)
        ip = literal_ip(host)
        if ip is None:
            if host.endswith(".localhost"):  # RFC 6761: always loopback, whatever DNS says
                ip = ipaddress.ip_address("127.0.0.1")
            else:
                ip = await self._resolve(host)
                if ip is None:  # unresolvable: the download fails with the usual DNS error, retried and logged
                    return None
        self._check(request, host, ip, allowed_here)
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        # Second line: the address the download actually connected to (a proxy's address says nothing).
        ip = response.ip_address
        if ip is None or request.meta.get("proxy"):
            return response
        parts = urlsplit(request.url)
        self._check(request, (parts.hostname or "").lower(), ip, self._allowance(request, self._netloc(parts)))
        return response

    def _allowance(self, request: Request, netloc: str) -> bool:
        if request.meta.get(META_ALLOW) and not request.meta.get("redirect_urls"):
            request.meta[META_HOST] = netloc  # its redirect hops carry it, wherever and whenever they are fetched
            self._allow(netloc)
            return True
        return netloc in self._private_ok or (bool(request.meta.get(META_ALLOW))
                                              and request.meta.get(META_HOST) == netloc)

    def _allow(self, netloc: str) -> None:
        if netloc in self._private_ok:
            return
        self._private_ok.add(netloc)
        if self._hosts_file is not None:
            _save_hosts(self._hosts_file, self._private_ok)

    def _verdict(self, ip: IPAddress, allowed_here: bool) -> str | None:
        """The category that makes ``ip`` refused here, or None when it may be fetched."""
        category = classify(ip)
        if category is None or self.config.listed(ip):
            return None
        if category != "cloud-metadata" and (allowed_here or self.config.allow_private):
            return None
        return category

    def _check(self, request: Request, host: str, ip: IPAddress, allowed_here: bool) -> None:
        category = self._verdict(ip, allowed_here)
        if category is None:
            return
        shown = host if host.strip("[]") == str(ip) else f"{host} ({ip})"
        hops = request.meta.get("redirect_urls") or []
        via = f" (redirected from {hops[-1]})" if hops else ""
        if category == "cloud-metadata":
            how = "metadata endpoints are refused even for private sources; list it in NIANBAO_ALLOWED_NETWORKS"
        elif hops and request.meta.get(META_ALLOW):
            how = "the redirect leaves the hosts the source asked for"
        else:
            how = "set allow_private = true on its source or list it in NIANBAO_ALLOWED_NETWORKS"
        self._refuse(request, category, f"refused {request.url}{via}: {shown} is a {category} address; {how}")

    def _refuse(self, request: Request, category: str, message: str) -> None:
        self._record(request.url, category, message)
        raise RefusedAddress(message)

    def _record(self, url: str, category: str, message: str, **fields: Any) -> None:
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("nianbao/security/refused")
            stats.inc_value(f"nianbao/security/refused/{category}")
        logger.warning(message, extra={LOGGED_AS_EVENT: True})
        send_event(self.crawler, "refused", url, message, category=category, **fields)

    async def browser_verdict(self, url: str, page_url: str | None) -> bool:
        """True when a request made by a rendered page (XHR, image, iframe…) must be aborted."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ws", "wss", "file"):
            return False  # data:, blob:, about: stay inside the browser
        if parts.scheme == "file":
            if self.config.allow_private:
                return False
            self._record(url, "local-file", f"refused browser request {url}: a local-file URL", page=page_url)
            return True
        host = (parts.hostname or "").lower()
        ip = literal_ip(host)
        if ip is None and host.endswith(".localhost"):
            ip = ipaddress.ip_address("127.0.0.1")
        addresses = [ip] if ip is not None else await _getaddrinfo(host, parts.port)
        allowed_here = self._netloc(parts) in self._private_ok
        for address in addresses:
            category = self._verdict(address, allowed_here)
            if category is not None:
                shown = host if host.strip("[]") == str(address) else f"{host} ({address})"
                self._record(url, category, f"refused browser request {url} (from page {page_url}): {shown} is a "
                             f"{category} address", page=page_url)
                return True
        return False

    @staticmethod
    def _netloc(parts: Any) -> str:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
        return f"{(parts.hostname or '').lower()}:{port}"

    async def _resolve(self, host: str) -> IPAddress | None:
        # imported here, not at the top: importing twisted.internet.reactor installs the default reactor, and this
        # module is imported before Scrapy installs the asyncio one
        from twisted.internet import reactor

        try:
            answer = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined,arg-type]
        except (DNSLookupError, TimeoutError, TwistedTimeoutError):
            return None
        try:
            return ipaddress.ip_address(answer)
        except ValueError:
            return None


def _load_hosts(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return set()
    except (OSError, ValueError) as e:
        logger.warning("address guard: %s unreadable (%s); private hosts are allowed again as the spider asks for "
                       "them", path, e)
        return set()
    return {str(h) for h in data} if isinstance(data, list) else set()


def _save_hosts(path: Path, hosts: set[str]) -> None:
    """Written whole and renamed into place (a kill never leaves half a list); a host is added once a run, so this
    is rare."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(sorted(hosts)), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:  # a full disk: the allowance holds for this run; its redirect hops carry their host
        logger.warning("address guard: cannot save %s (%s)", path, e)


__all__ = ["CLOUD_METADATA", "AddressGuardMiddleware", "RefusedAddress", "abort_browser_request", "classify",
           "literal_ip"]
