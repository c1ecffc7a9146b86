"""The dedup store learns where each original payload lies (its WARC offset) even when the writer thread writes the
group before the crawl thread has remembered the payload: the offset used to be lost then (None in dedup.sqlite),
and a later revisit's original had to be searched for."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archive.config import ArchiveConfig
from archive.dedup import DedupStore
from archive.reader import iter_captures
from archive.recorder import Recorder, build_group
from archive.records import Exchange
from archive.writer import RotatingWarcWriter


def _config(root: Path) -> ArchiveConfig:
    return ArchiveConfig(enabled=True, archive_dir=root, max_size=10**9, gzip_level=1, dedup=True, conditional=True,
                         mend_on_start=False, operator="test", browser_capture=False, revisit_full=False)


def _exchange(i: int) -> Exchange:
    body = f"<html><body>report {i}</body></html>".encode()
    return Exchange(url=f"http://127.0.0.1/r/{i}.html", method="GET", request_headers=[("Host", "127.0.0.1")],
                    request_body=b"", status=200, response_headers=[("Content-Type", "text/html")], body=body,
                    date="2026-12-06T00:00:00Z")


@pytest.mark.parametrize("writer_first", [True, False], ids=["writer-first", "crawl-first"])
def test_every_original_payload_has_its_offset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               writer_first: bool) -> None:
    if writer_first:  # a writer so fast that each group is on disk before submit() returns
        submit = RotatingWarcWriter.submit

        def submit_and_wait(self: RotatingWarcWriter, builder: Any, raw_size: int,
                            on_written: Callable[[Any], None] | None = None) -> str:
            done = threading.Event()

            def written(records: Any) -> None:
                if on_written is not None:
                    on_written(records)
                done.set()

            name = submit(self, builder, raw_size, written)
            assert done.wait(10)
            return name

        monkeypatch.setattr(RotatingWarcWriter, "submit", submit_and_wait)
    cfg = _config(tmp_path / "data")
    recorder = Recorder(cfg, lambda key, n: None, [])
    for i in range(5):
        ex = _exchange(i)
        recorder.dedup_exchange(ex)
        name, _ = recorder.submit(lambda ex=ex: build_group(ex, None, True), len(ex.body) + 2048, (ex,),
                                  stamp_of=(ex.record_id, ex.date))
        recorder.remember_url(ex, None, None, name)
    recorder.close()
    offsets = {cap.record_id: cap.offset for cap in iter_captures(sorted(cfg.warc_dir.glob("*.warc.gz")))
               if cap.record_type == "response"}
    store = DedupStore(cfg.state_dir / "dedup.sqlite")  # as saved to disk
    refs = list(store.payloads.values())
    assert len(refs) == 5
    assert all(ref.offset is not None and ref.offset == offsets[ref.record_id] for ref in refs)
