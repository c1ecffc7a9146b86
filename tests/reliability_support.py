"""Helpers of the reliability tests (tests/test_reliability_*.py): a small file system that fills up, and a WARC
made with warcio to read back."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``"600k"``) mounted at ``where``, unmounted afterwards; the test is skipped, saying
    why, where one cannot be mounted (not root, no mount namespace: CI runs as root, so it runs there)."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount(8) here: a small file system to fill cannot be made")
    if os.geteuid() != 0:
        pytest.skip("not root: cannot mount a small tmpfs to fill (the disk-full tests need one)")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a {size} tmpfs at {where}: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def write_warc(path: Path, pages: list[tuple[str, bytes]], date: str = "2025-03-11T08:00:00Z") -> None:
    """A gzip WARC of one 200 text/html response per (url, body)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                  ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers,
                                               warc_headers_dict={"WARC-Date": date})
            writer.write_record(record)
