"""Signals the catalog sends (Scrapy signals are plain objects)."""

from __future__ import annotations

#: Sent once the catalog is complete at the end of a crawl (offsets filled, crawl runs counted); arguments ``path`` (the catalog) and
#: ``record_ids`` (the captures this crawl stored).
catalog_closed = object()
