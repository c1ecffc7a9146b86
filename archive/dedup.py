"""What earlier captures hold, for revisits: payload digest → first capture, URL → last capture.

Loaded into memory when a crawl starts; entries are saved to `state/dedup.sqlite` only when the WARC holding
the capture has been closed, so a crash can never leave the store pointing at records a mend cut away. A killed
run's file never closed: once mended, what it holds is saved from the file itself (:meth:`DedupStore.absorb`), so
the next run finds those payloads and validators as if that run had ended well.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from .reader import DamagedRecord, iter_captures

SCHEMA = """
CREATE TABLE IF NOT EXISTS payloads (digest TEXT PRIMARY KEY, uri TEXT NOT NULL, date TEXT NOT NULL,
    record_id TEXT NOT NULL, warc_file TEXT NOT NULL, offset INTEGER);
CREATE TABLE IF NOT EXISTS urls (url TEXT PRIMARY KEY, digest TEXT NOT NULL, uri TEXT NOT NULL, date TEXT NOT NULL,
    record_id TEXT NOT NULL, warc_file TEXT NOT NULL, offset INTEGER, etag TEXT, last_modified TEXT);
"""


@dataclass(slots=True)
class PayloadRef:
    """The capture holding a payload in full (never a revisit)."""

    digest: str
    uri: str
    date: str
    record_id: str
    warc_file: str
    offset: int | None = None


@dataclass(slots=True)
class UrlRef:
    """The last full capture of a URL and its validators, for conditional requests."""

    url: str
    payload: PayloadRef
    etag: str | None = None
    last_modified: str | None = None


class DedupStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.payloads: dict[str, PayloadRef] = {}
        self.urls: dict[str, UrlRef] = {}
        self._unsaved: dict[str, list[PayloadRef | UrlRef]] = {}
        self._lock = threading.Lock()
        with self._connect() as con:
            for digest, uri, date, rid, wf, off in con.execute("SELECT * FROM payloads"):
                self.payloads[digest] = PayloadRef(digest, uri, date, rid, wf, off)
            for url, digest, uri, date, rid, wf, off, etag, lm in con.execute("SELECT * FROM urls"):
                self.urls[url] = UrlRef(url, PayloadRef(digest, uri, date, rid, wf, off), etag, lm)
        con.close()

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.executescript(SCHEMA)
        return con

    def remember_payload(self, ref: PayloadRef) -> None:
        if ref.digest in self.payloads:
            return
        self.payloads[ref.digest] = ref
        with self._lock:
            self._unsaved.setdefault(ref.warc_file, []).append(ref)

    def remember_url(self, ref: UrlRef, warc_file: str) -> None:
        """Remember `ref` as the URL's last capture, saved once `warc_file` (where this capture is) closes."""
        self.urls[ref.url] = ref
        with self._lock:
            self._unsaved.setdefault(warc_file, []).append(ref)

    def save_file(self, warc_name: str) -> int:
        """Persist the entries whose capture lives in `warc_name` (call once that file is closed)."""
        with self._lock:
            refs = self._unsaved.pop(warc_name, [])
        if not refs:
            return 0
        con = self._connect()
        try:
            with con:
                for ref in refs:
                    if isinstance(ref, PayloadRef):
                        con.execute("INSERT OR IGNORE INTO payloads VALUES (?,?,?,?,?,?)",
                                    (ref.digest, ref.uri, ref.date, ref.record_id, ref.warc_file, ref.offset))
                    else:
                        p = ref.payload
                        con.execute("INSERT OR REPLACE INTO urls VALUES (?,?,?,?,?,?,?,?,?)",
                                    (ref.url, p.digest, p.uri, p.date, p.record_id, p.warc_file, p.offset,
                                     ref.etag, ref.last_modified))
        finally:
            con.close()
        return len(refs)

    def absorb(self, warc: Path) -> int:
        """Remember the captures of ``warc`` (a file the mend closed) as its writer would have on closing it: full
        2xx captures as originals, 2xx GET captures (revisits too) with their validators; returns entries saved."""
        name = Path(warc).name

        def ignore(_: DamagedRecord) -> None:  # a mended file is whole; anything else is the catalog's to name
            return None

        for cap in iter_captures(warc, errors=ignore):
            digest = cap.payload_digest
            if (cap.record_type == "resource" or cap.status is None or not 200 <= cap.status < 300
                    or cap.truncated or not digest):
                continue
            if cap.record_type == "response":
                if not cap.raw_payload:
                    continue
                self.remember_payload(PayloadRef(digest, cap.url, cap.captured_at, cap.record_id, name, cap.offset))
                payload = self.payloads[digest]
            else:
                payload = self.payloads.get(digest) or PayloadRef(digest, cap.refers_to_uri or cap.url,
                                                                  cap.refers_to_date or "", cap.refers_to or "", name)
            if cap.method == "GET":
                self.remember_url(UrlRef(cap.url, payload, cap.header("ETag"), cap.header("Last-Modified")), name)
        return self.save_file(name)
