"""The demo portal: several sites of different CMS families on one loopback port, with ground truth."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawler.portal.copies import plant_copies
from crawler.portal.endless import EndlessSite
from crawler.portal.faults import TRANSIENT, TransientFault, parse_faults, plan_transient
from crawler.portal.govcn import GovcnSite
from crawler.portal.hanweb import HanwebSite
from crawler.portal.image_reports import PictureSite
from crawler.portal.jsapp import JsAppSite
from crawler.portal.mirror import MirrorSite
from crawler.portal.samples import load_samples
from crawler.portal.server import PortalServer, serve_in_thread
from crawler.portal.site import Request, Response, Site, not_found
from crawler.portal.trs import TrsSite
from crawler.portal.ucap import UcapSite

DEFAULT_REPORTS_PER_SITE = 12

# site name -> (family, path prefix, agency); the order is the order of sources.toml (gov.cn last: it links
# to the columns of all the others)
SITE_TABLE: dict[str, tuple[str, str, str]] = {
    "trs": ("trs", "/trs", "平潭综合实验区"),
    "trs2": ("trs", "/trs2", "岚城县"),
    "hanweb": ("hanweb", "/hanweb", "江城市"),
    "jsapp": ("jsapi", "/jsapp", "云溪区"),
    "ucap": ("ucap", "/ucap", "江南市"),
    "mirror": ("mirror", "/mirror", "青山县"),
    "endless": ("endless", "/endless", "白沙镇"),
    "pic": ("generic", "/pic", "石溪县"),
    "govcn": ("govcn", "/govcn", "国务院办公厅"),
}
# sites that exist only when their fault is switched on
FAULT_SITES = {"endless": "endless_pagination"}


def _build_site(name: str, seed: int | str, size: int, faults: frozenset[str], built: list[Site]) -> Site:
    family, prefix, agency = SITE_TABLE[name]
    if family == "trs":
        # the real samples live on the first TRS site; the second shows the newer GB2312 template
        if name == "trs":
            return TrsSite(name, prefix, agency, seed, size, samples=load_samples(), faults=faults)
        return TrsSite(name, prefix, agency, seed, size, faults=frozenset(), style="newer")
    if family == "govcn":
        others = [(title, path) for site in built for title, path in site.column_titles()]
        return GovcnSite(name, prefix, agency, seed, size, faults=faults, other_columns=others)
    classes: dict[str, type[Site]] = {"hanweb": HanwebSite, "jsapi": JsAppSite, "ucap": UcapSite,
                                      "mirror": MirrorSite, "endless": EndlessSite, "generic": PictureSite}
    return classes[family](name, prefix, agency, seed, size, faults=faults)


class Portal:
    """Sites planned at start-up, pages rendered on first request and cached (same seed, same bytes)."""

    slow_seconds = 3.0
    latency_seconds = 0.0

    def __init__(self, url: str, seed: int | str = 1, sites: Iterable[str] | None = None,
                 faults: Iterable[str] | str | None = None, reports_per_site: int | None = None) -> None:
        self.url = url.rstrip("/")
        self.seed = seed
        self.faults_enabled = parse_faults(faults)
        if sites is None:
            names = [n for n in SITE_TABLE if n not in FAULT_SITES or FAULT_SITES[n] in self.faults_enabled]
        else:
            names = list(sites)
        unknown = [n for n in names if n not in SITE_TABLE]
        if unknown:
            raise ValueError(f"unknown portal site(s) {', '.join(unknown)}: expected any of {', '.join(SITE_TABLE)}")
        names.sort(key=list(SITE_TABLE).index)
        size = DEFAULT_REPORTS_PER_SITE if reports_per_site is None else reports_per_site
        self.sites: list[Site] = []
        for name in names:
            self.sites.append(_build_site(name, seed, size, self.faults_enabled, self.sites))
        plant_copies(self.sites, self.url)  # a corrected re-issue, a repost, a mirror copy (crawler/portal/copies.py)
        self._by_prefix = sorted(((s.prefix + "/", s) for s in self.sites), key=lambda p: -len(p[0]))
        self._cache: dict[tuple[str, str, str], Response] = {}
        self._lock = threading.Lock()
        self.hits: Counter[str] = Counter()  # requests per path, for tests
        self._fault_seen: Counter[str] = Counter()
        self._transient: dict[str, list[TransientFault]] = {
            path: [fault] for path, fault in plan_transient(seed, self.faults_enabled, self._crawl_paths()).items()}
        self._server: PortalServer | None = None

    # --- serving --------------------------------------------------------------------------------
    def respond(self, request: Request) -> Response:
        with self._lock:
            self.hits[request.path] += 1
        if request.path == "/robots.txt":
            return Response(body=self.robots_txt().encode(), content_type="text/plain; charset=utf-8")
        key = (request.method if request.method != "HEAD" else "GET", request.path,
               repr(sorted(request.query.items())) + repr(sorted(request.form.items())))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        response = None
        for prefix, site in self._by_prefix:
            if request.path.startswith(prefix) or request.path + "/" == prefix:
                response = site.handle(request)
                break
        if response is None:
            owner = next((s for s in self.sites if request.path in s.global_paths), None)
            response = owner.handle(request) if owner is not None else None
        if response is None:
            response = not_found()
        if response.cacheable:
            self._cache[key] = response
        return response

    def warm(self) -> int:
        """Render every page a complete crawl fetches, in-process (benchmarks: so the first crawl does not
        pay for PDF/DOCX rendering the second one gets from the cache). Returns the number of pages."""
        count = 0
        for path in self._crawl_paths():
            split = urlsplit(path)
            self.respond(Request(method="GET", path=split.path, query=parse_qs(split.query), form={}, headers={}))
            count += 1
        with self._lock:
            self.hits.clear()
        return count

    def advance(self, new_reports: int = 2) -> dict[str, list[str]]:
        """Publish the next edition of the sites that support it (the TRS column): new reports listed
        first, one known report corrected. Returns full URLs ``{"new": [...], "changed": [...]}``; the
        ground truth and all_urls() follow."""
        out: dict[str, list[str]] = {"new": [], "changed": []}
        for site in self.sites:
            if isinstance(site, TrsSite):
                paths = site.advance(new_reports)
                for key in out:
                    out[key].extend(self.url + p for p in paths[key])
        with self._lock:
            self._cache.clear()
        self.__dict__.pop("ground_truth", None)
        return out

    def take_fault(self, path: str) -> str | None:
        """The transient fault a request for ``path`` (with its query, as requested) meets, if any: each
        faulty URL fails its first requests (with its faults in the order they were planned or placed)."""
        faults = self._transient.get(path)
        if not faults:
            return None
        with self._lock:
            seen = self._fault_seen[path]
            self._fault_seen[path] += 1
        for fault in faults:
            if seen < fault.failures:
                return fault.fault
            seen -= fault.failures
        return None

    def place_fault(self, path: str, fault: str, failures: int = 1) -> None:
        """Make the next ``failures`` requests for ``path`` (with its query) meet transient ``fault``, after
        any fault already there. Tests use it for requests the seed's plan cannot aim at, such as the ones a
        browser makes while it renders a page (the JS column's shell and its first API call)."""
        if fault not in TRANSIENT:
            raise ValueError(f"place_fault: {fault!r} is not a transient fault ({', '.join(TRANSIENT)})")
        if failures < 1:
            raise ValueError(f"place_fault: failures must be >= 1, got {failures}")
        with self._lock:
            self._transient.setdefault(path, []).append(TransientFault(fault, path, failures))

    def robots_txt(self) -> str:
        lines = ["# nianbao demo portal: one robots.txt for every site on this host", "User-agent: *"]
        for site in self.sites:
            lines.extend(f"Disallow: {path}" for path in site.robots_disallow)
        lines.append("")
        return "\n".join(lines)

    # --- ground truth ---------------------------------------------------------------------------
    def _crawl_paths(self) -> list[str]:
        paths = ["/robots.txt"]
        for site in self.sites:
            paths.extend(site.crawl_paths())
        return paths

    def all_urls(self) -> list[str]:
        """Every URL a complete, polite crawl fetches: robots.txt, listings, details, attachments,
        the redirect and the 404 (not notice pages, not robots-disallowed pages)."""
        return [self.url + p for p in self._crawl_paths()]

    @cached_property
    def ground_truth(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for site in self.sites:
            source = site.sources()[0].name
            out.extend(plan.ground_truth(self.url, plan.extra.get("source", source)) for plan in site.reports)
        return out

    @property
    def notices(self) -> list[str]:
        return [self.url + n.path for site in self.sites for n in site.notices]

    @property
    def special(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for site in self.sites:
            for key, value in site.special.items():
                full = [self.url + v for v in value] if isinstance(value, list) else self.url + value
                out[key if site.name == "trs" else f"{site.name}:{key}"] = full
        return out

    @property
    def faults(self) -> list[dict[str, Any]]:
        """Every fault switched on, with the URL it affects (transient ones: how many failures)."""
        out: list[dict[str, Any]] = [
            {"fault": f.fault, "url": self.url + f.path, "failures": f.failures}
            for path in sorted(self._transient) for f in self._transient[path]
        ]
        for site in self.sites:
            out.extend({**entry, "url": self.url + entry["url"]} for entry in site.fault_entries)
        return out

    # --- sources --------------------------------------------------------------------------------
    def sources_toml(self) -> str:
        lines = [f"# nianbao demo portal at {self.url} (seed {self.seed}); written by `scrapy portal`", ""]
        for site in self.sites:
            for entry in site.sources():
                lines += [
                    "[[source]]",
                    f"name = {json.dumps(entry.name, ensure_ascii=False)}",
                    f"agency = {json.dumps(entry.agency, ensure_ascii=False)}",
                    'level = "other"',
                    *([f"family = {json.dumps(entry.family)}"] if entry.family else []),
                    "urls = [" + ", ".join(json.dumps(self.url + c) for c in entry.columns) + "]",
                    'allowed_domains = ["127.0.0.1"]',
                    f"seen_at = {json.dumps(self.url + '/')}",
                    "verified = true",
                    "allow_private = true",
                ]
                if entry.notes:
                    lines.append(f"notes = {json.dumps(entry.notes, ensure_ascii=False)}")
                lines.append("")
        return "\n".join(lines)

    def write_sources(self, path: str | Path) -> Path:
        """Write sources.toml at ``path`` and ground_truth.json beside it; returns the ground-truth path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.sources_toml(), encoding="utf-8")
        truth = target.with_name("ground_truth.json")
        payload = {"portal": self.url, "seed": self.seed, "reports": self.ground_truth, "notices": self.notices,
                   "special": self.special, "faults": self.faults, "all_urls": self.all_urls()}
        truth.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        return truth

    # --- life cycle -----------------------------------------------------------------------------
    def attach(self, server: PortalServer) -> None:
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Portal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_portal(host: str = "127.0.0.1", port: int = 0, seed: int | str = 1, sites: Iterable[str] | None = None,
                 faults: Iterable[str] | str | None = None, reports_per_site: int | None = None,
                 slow_seconds: float = 3.0, latency_seconds: float = 0.0) -> Portal:
    """Bind, plan the sites, serve in a daemon thread; ``portal.stop()`` ends it. ``slow_seconds``: how
    long the ``slow`` fault keeps a request waiting (set it past the crawler's DOWNLOAD_TIMEOUT).
    ``latency_seconds``: every answer waits this long first, like a server across a real network (benchmarks)."""
    server = PortalServer((host, port))
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    try:
        portal = Portal(f"http://{bound_host}:{bound_port}", seed=seed, sites=sites, faults=faults,
                        reports_per_site=reports_per_site)
    except BaseException:
        server.server_close()
        raise
    portal.slow_seconds = slow_seconds
    portal.latency_seconds = latency_seconds
    server.portal = portal
    portal.attach(server)
    serve_in_thread(server)
    return portal
