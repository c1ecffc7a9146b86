"""The pictures a report page's article shows, gathered from the WARCs so the page is parsed with them as the crawl
parsed it: the step of ``scrapy rebuild`` and catch-up that tables published as pictures need (issue 17).

The spider fetches a report page's article pictures right after the page (:func:`crawler.families.links.
article_pictures`) and archives each with routing role ``resource`` and ``resource_of`` = the page capture's
WARC-Record-ID (a revisit keeps that metadata record too: ``archive_revisit_metadata``). Reading the WARCs in
order, the page comes first: its first parse answers :class:`pipelines.catalog.recognise.Awaiting`, the pictures
are noted as they pass (:meth:`PagePictures.note`, where they are, not their bytes), and once every capture has
been read :meth:`PagePictures.candidates` gives each waiting page again with the bytes of its pictures, for
:func:`pipelines.catalog.recognise.parse_candidate`. Only pages that show pictures wait; memory holds their
places, never their bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from archive.naming import OPEN_SUFFIX, parse_warc_name
from archive.payload import PayloadTooLarge
from archive.reader import Capture, read_capture_at
from pipelines.catalog.recognise import Awaiting, Candidate, Described, Seen, Unresolved, recognise


@dataclass
class PagePictures:
    """Pictures archived for report pages (by the page capture's record id), and the pages waiting for theirs."""

    files: dict[str, Path] = field(default_factory=dict)  # WARC basename (as a CaptureInfo names it) → path
    shown: dict[str, dict[str, tuple[Path, int]]] = field(default_factory=dict)  # page record id → URL → capture
    waiting: dict[str, Awaiting] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)  # waiting pages or pictures that could not be read back

    @classmethod
    def over(cls, files: Iterable[Path]) -> PagePictures:
        """For the WARC files being read."""
        return cls({p.name.removesuffix(OPEN_SUFFIX): p for p in files})

    def note(self, cap: Capture, seen: Mapping[str, Seen]) -> None:
        """Remember where ``cap`` is when it is a picture the crawl fetched for a report page (for a revisit: where
        the bytes it repeats are). Call it for every capture, after :func:`recognise` has seen it."""
        metadata = cap.metadata
        if not metadata or metadata.get("role") != "resource":  # nearly every capture: no routing record built
            return
        described = Described.of(metadata)
        if described is None or not described.routing.resource_of:
            return
        url = described.routing.url or cap.url  # the address the page shows (a redirect's target is captured too)
        where = (Path(cap.warc_file), cap.offset)
        if cap.record_type == "revisit":
            original = seen.get(cap.refers_to or "") or seen.get(f"{cap.refers_to_uri} {cap.refers_to_date}")
            if original is None:
                return
            where = (Path(original.warc_file), original.offset)
        elif cap.status is None or not 200 <= cap.status < 300:
            return  # a redirect hop or an error page: the spider did not take it
        self.shown.setdefault(described.routing.resource_of, {})[url] = where

    def wait(self, page: Awaiting) -> None:
        self.waiting[page.record_id] = page

    def candidates(self, linked: dict[str, str], seen: dict[str, Seen]) -> Iterator[Candidate]:
        """Every waiting page, read back and recognised again, with its pictures' bytes (in URL order)."""
        for record_id in sorted(self.waiting):
            page = self.waiting.pop(record_id)
            path = self.files.get(page.warc_file)
            if path is None or page.offset is None:
                self.unresolved.append(f"{page.warc_file}@{page.offset}: a page with pictures not found again")
                continue
            try:
                cap = read_capture_at(path, page.offset)
                candidate = recognise(cap, linked, seen, parse_warc_name(path.name) is None)
            except (LookupError, OSError, Unresolved) as e:
                self.unresolved.append(f"{page.warc_file}@{page.offset}: {e}")
                continue
            if candidate is None:
                continue
            yield replace(candidate, resources=tuple(sorted(self._bytes(record_id).items())))

    def _bytes(self, record_id: str) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for url, (path, offset) in self.shown.pop(record_id, {}).items():
            try:
                cap = read_capture_at(path, offset)
                if cap.status is not None and 200 <= cap.status < 300:
                    out[url] = cap.payload
            except (LookupError, OSError, PayloadTooLarge) as e:
                self.unresolved.append(f"{path.name}@{offset} {url}: {e}")
        return out


__all__ = ["PagePictures"]
