"""Mending WARCs a crash left `.open`: cut back to the last complete record, close, index, log."""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from .cdxj import index_warc
from .naming import OPEN_SUFFIX, parse_warc_name, safe_host

logger = logging.getLogger("archive.mend")


@dataclass
class MendResult:
    open_path: Path
    path: Path | None          # the closed file, None when nothing complete was left (file removed)
    records: int
    kept_bytes: int
    cut_bytes: int


def _record_complete(data: bytes) -> bool:
    if not data.startswith(b"WARC/1."):
        return False
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = None
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return False
    return length is not None and len(data) >= end + 4 + length + 4


def complete_prefix(path: Path) -> tuple[int, int]:
    """(bytes, records) of the longest prefix of whole gzip members that each hold one complete record."""
    good = 0
    records = 0
    with open(path, "rb") as fh:
        pos = 0
        d = zlib.decompressobj(zlib.MAX_WBITS + 16)
        out = bytearray()
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            data = chunk
            while data:
                try:
                    out += d.decompress(data)
                except zlib.error:
                    return good, records
                if d.eof:
                    used = len(data) - len(d.unused_data)
                    member_end = pos + used
                    if not _record_complete(bytes(out)):
                        return good, records
                    good, records = member_end, records + 1
                    data = d.unused_data
                    pos = member_end
                    d = zlib.decompressobj(zlib.MAX_WBITS + 16)
                    out = bytearray()
                else:
                    pos += len(data)
                    data = b""
    return good, records


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mend_open_file(open_path: Path, index_dir: Path | None) -> MendResult:
    size = open_path.stat().st_size
    good, records = complete_prefix(open_path)
    if good < size:
        with open(open_path, "r+b") as fh:
            fh.truncate(good)
            fh.flush()
            os.fsync(fh.fileno())
    final = open_path.with_name(open_path.name[: -len(OPEN_SUFFIX)])
    if records == 0:
        open_path.unlink()
        logger.warning("archive: removed %s: no complete record in it (%d bytes)", open_path.name, size)
        return MendResult(open_path, None, 0, 0, size)
    os.replace(open_path, final)
    if index_dir is not None:
        index_warc(final, index_dir)
    logger.warning("archive: mended %s: kept %d records (%d bytes), cut %d bytes", final.name, records, good,
                   size - good)
    return MendResult(open_path, final, records, good, size - good)


def mend_open_files(warc_dir: Path, index_dir: Path | None = None) -> list[MendResult]:
    """Mend every `.open` WARC under `warc_dir` left by a crawler that is no longer running on this host.

    Files of a live process, or of another host (it may still be writing to a shared folder), are left alone.
    """
    results = []
    host = safe_host()
    for path in sorted(Path(warc_dir).glob("*" + OPEN_SUFFIX)):
        parts = parse_warc_name(path.name)
        if parts is not None and (parts.host != host or _pid_alive(parts.pid)):
            logger.info("archive: %s is still being written by %s pid %d; not mended", path.name, parts.host,
                        parts.pid)
            continue
        results.append(mend_open_file(path, index_dir))
    return results
