"""Keep library start-up offline.

Scrapy's cookie middleware builds a ``tldextract.TLDExtract`` that, on first use, tries to download the
public-suffix list. Crawls here (and on many operators' machines) have no route to it: the download
stalls or logs warnings, then falls back to the snapshot tldextract ships. We go straight to that
snapshot, so every run is quiet, offline and deterministic.
"""

from __future__ import annotations

from scrapy.downloadermiddlewares import cookies
from tldextract import TLDExtract

_done = False


def use_bundled_suffix_list() -> None:
    global _done
    if _done:
        return
    cookies._split_domain = TLDExtract(  # type: ignore[attr-defined]
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )
    _done = True
