"""Checking WARC files the way archivists will: `warcio check` (digests) and FastWARC's digest verification."""

from __future__ import annotations

import os
from pathlib import Path

from fastwarc.warc import ArchiveIterator as FastIterator
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed


def warcio_problems(path: str | os.PathLike[str]) -> list[str]:
    """What `warcio check` would report for `path` (empty when it passes)."""
    problems: list[str] = []
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh, check_digests=True)
            for record in it:
                stream = record.content_stream()
                while stream.read(1 << 20):
                    pass
                if record.digest_checker.passed is False:
                    rid = record.rec_headers.get_header("WARC-Record-ID")
                    problems += [f"{path}@{it.get_record_offset()} {rid}: {p}" for p in record.digest_checker.problems]
    except ArchiveLoadFailed as exc:
        problems.append(f"{path}: warcio cannot read it: {str(exc).strip()}")
    return problems


def fastwarc_problems(path: str | os.PathLike[str]) -> list[str]:
    """Records FastWARC drops with `verify_digests=True` (it skips those whose digests do not match)."""
    with open(path, "rb") as fh:
        total = sum(1 for _ in FastIterator(fh, parse_http=False))
    with open(path, "rb") as fh:
        verified = sum(1 for _ in FastIterator(fh, parse_http=False, verify_digests=True))
    if verified != total:
        return [f"{path}: FastWARC verified {verified} of {total} records"]
    if total == 0 and Path(path).stat().st_size > 0:
        return [f"{path}: FastWARC read no record"]
    return []


def verify_warc(path: str | os.PathLike[str]) -> list[str]:
    return warcio_problems(path) + fastwarc_problems(path)
