"""The resume's catalog catch-up (pipelines/catalog/catchup.py) on a small hand-made archive: two finished runs and a killed
third one whose items were only partly stored. Only the killed run's file is read, only the missing record is parsed,
its revisit's original (in an older file) is found through the catalog, a row whose record the kill lost is removed,
and the result is the catalog a full rebuild makes. When the original cannot be found, it says a rebuild is needed."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from pipelines.catalog import open_catalog, store_entries
from pipelines.catalog.catchup import catch_up
from pipelines.catalog.processing import process_capture
from pipelines.catalog.rebuild import rebuild
from pipelines.catalog.runs import refresh_runs
from pipelines.parse_pipeline import capture_from_item
from tests.conftest import catalog_dump
from tests.test_rebuild import (
    FILE_1,
    FILE_2,
    FILE_3,
    SEEDS,
    Exchange,
    _exchanges,
    _item,
    _meta,
    _recrawl,
    _write_warc,
)


def _entries(exchanges: list[Exchange], name: str, offsets: list[int] | None = None) -> list:  # type: ignore[type-arg]
    """Catalog entries of the items among ``exchanges``; ``offsets``: where the archive writer reported their
    records (None: the run was killed before it did)."""
    out = []
    for i, ex in enumerate(exchanges):
        if ex.is_item:
            info, body, ctype = capture_from_item(_item(ex, name, offsets[i] if offsets is not None else None))
            out.append(process_capture(body, info, ctype))
    return out


@pytest.fixture()
def killed(tmp_path: Path) -> dict[str, object]:
    warc = tmp_path / "warc"
    warc.mkdir()
    one, two, _ = _exchanges()
    three = _recrawl(one, two)
    offsets_1 = _write_warc(warc / FILE_1, one, 0)
    offsets_2 = _write_warc(warc / FILE_2, two, 20, fields=False)
    _write_warc(warc / FILE_3, three, 60)  # the killed run's file (mended: complete records only)
    catalog = tmp_path / "catalog.sqlite"
    conn = open_catalog(catalog)
    store_entries(conn, _entries(one, FILE_1, offsets_1) + _entries(two, FILE_2, offsets_2))  # two finished runs ...
    refresh_runs(conn, warc)
    stored, missing = _entries(three, FILE_3)  # ... and the killed one: its first item was stored, live
    store_entries(conn, [stored])
    lost = Exchange("http://portal.test/gk/202503/t20250311_7.htm", SEEDS[-1].read_bytes(),
                    "text/plain; charset=utf-8", is_item=True, record_id="<urn:uuid:lost-in-the-writer-queue>",
                    date="2025-03-10T07:36:30Z",
                    meta=_meta("detail", ["http://portal.test/gk/index.html"], list_title="2021年度政府信息公开工作年度报告"))
    store_entries(conn, _entries([lost], FILE_3))  # stored, but the kill cut its record from the WARC
    conn.close()
    return {"warc": warc, "catalog": catalog, "missing": missing.capture.record_id, "lost": lost.url,
            "root": tmp_path}


def test_catch_up_parses_only_the_missing_record_and_equals_a_rebuild(killed) -> None:
    warc, catalog = Path(killed["warc"]), Path(killed["catalog"])  # type: ignore[arg-type]
    result = catch_up([warc / FILE_3], catalog, warc)
    assert result.needs_rebuild is None
    assert (result.files, result.records, result.known) == (1, 2, 1)
    assert (result.parsed, result.stored) == (1, 1), "only the record the catalog lacked"
    assert (result.offsets_filled, result.stale) == (1, 1)
    con = sqlite3.connect(catalog)
    assert con.execute("SELECT count(*) FROM captures WHERE record_id = ?", (killed["missing"],)).fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM reports WHERE url = ?", (killed["lost"],)).fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM captures WHERE warc_offset IS NULL").fetchone() == (0,)
    con.close()
    rebuilt = Path(killed["root"]) / "rebuilt.sqlite"  # type: ignore[arg-type]
    rebuild(warc, rebuilt)
    assert catalog_dump(catalog) == catalog_dump(rebuilt)


def test_catch_up_asks_for_a_rebuild_when_an_original_is_unknown(killed, tmp_path: Path) -> None:
    warc = Path(killed["warc"])  # type: ignore[arg-type]
    empty = tmp_path / "empty.sqlite"
    open_catalog(empty).close()
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(warc / FILE_3, alone / FILE_3)  # the killed run's revisits; their originals known to no one
    result = catch_up([alone / FILE_3], empty, alone)
    assert result.needs_rebuild and "original" in result.needs_rebuild


def test_the_original_of_a_revisit_is_found_past_a_dedup_store_a_kill_left_mid_write(tmp_path: Path) -> None:
    """A kill while the dedup store takes in what a mended WARC holds (``DedupStore.absorb``, one transaction)
    leaves ``dedup.sqlite-journal`` behind, a hot rollback journal. The catch-up looked the originals of revisits up
    on a read-only connection, which cannot roll a journal back: "attempt to write a readonly database", a
    traceback, and every later resume of the crawl failed the same way (bench/chaos.py, kill at a resume's start).
    The store must read as it was before the interrupted transaction."""
    import os

    from archive.dedup import DedupStore, PayloadRef
    from pipelines.catalog.catchup import _OriginalFinder

    warc_dir = tmp_path / "warc"
    warc_dir.mkdir()
    (warc_dir / "A.warc.gz").write_bytes(b"")
    dedup = tmp_path / "dedup.sqlite"
    store = DedupStore(dedup)
    store.remember_payload(PayloadRef("sha1:AAA", "http://example.org/a", "2026-01-01T00:00:00Z", "<urn:a>",
                                      "A.warc.gz", 1234))
    store.save_file("A.warc.gz")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - dies mid-transaction, as a SIGKILL during absorb leaves it
        con = sqlite3.connect(dedup)
        con.execute("PRAGMA cache_size=1")  # spill to the file: the journal is hot, not just in memory
        con.executemany("INSERT INTO payloads VALUES (?,?,?,?,?,?)",
                        [(f"sha1:{i:040d}", "http://example.org/x" * 20, "d", f"<urn:{i}>", "B.warc.gz", i)
                         for i in range(3000)])
        os._exit(9)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9
    assert (tmp_path / "dedup.sqlite-journal").exists()  # the hot journal the kill left
    catalog = open_catalog(tmp_path / "catalog.sqlite")
    try:
        finder = _OriginalFinder(catalog, warc_dir, dedup)
        assert finder.find("<urn:a>", "sha1:AAA") == (warc_dir / "A.warc.gz", 1234)
        assert finder.find(None, f"sha1:{1:040d}") is None  # the interrupted transaction's rows are not there
    finally:
        catalog.close()
