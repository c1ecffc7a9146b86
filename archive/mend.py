"""Mending WARCs a crash left `.open`: cut back to the last complete record group, close, index, log."""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from .cdxj import index_warc
from .dedup import DedupStore
from .naming import OPEN_SUFFIX, parse_warc_name, safe_host

logger = logging.getLogger("archive.mend")


@dataclass
class MendResult:
    open_path: Path
    path: Path | None          # the closed file, None when nothing complete was left (file removed)
    records: int
    kept_bytes: int
    cut_bytes: int


_CAPTURE_TYPES = (b"response", b"resource", b"revisit")


def _record_fields(data: bytes) -> tuple[str, bytes, list[str]] | None:
    """(record id, type, ids named in WARC-Concurrent-To) of one complete record, or None when it is not whole."""
    if not data.startswith(b"WARC/1."):
        return None
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = None
    rid, rtype, concurrent = "", b"", []
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return None
        elif key == b"warc-record-id":
            rid = value.strip().decode("latin-1")
        elif key == b"warc-type":
            rtype = value.strip().lower()
        elif key == b"warc-concurrent-to":
            concurrent.append(value.strip().decode("latin-1"))
    if length is None or len(data) < end + 4 + length + 4:
        return None
    return rid, rtype, concurrent


def complete_prefix(path: Path) -> tuple[int, int]:
    """(bytes, records) of the longest prefix of whole gzip members that each hold one complete record and that
    ends with a whole record group: a capture record naming later records in ``WARC-Concurrent-To`` (its request
    and metadata, :func:`archive.writer.link_group`) is kept only with all of them, so a kill between two records
    of a group never leaves a report's response without the metadata that says it is one."""
    good = 0
    records = 0
    kept = 0  # records read so far, whole
    seen: set[str] = set()
    waiting: set[str] = set()  # ids named by a capture of the open group and not read yet
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
                    fields = _record_fields(bytes(out))
                    if fields is None:
                        return good, records
                    rid, rtype, concurrent = fields
                    kept += 1
                    seen.add(rid)
                    waiting.discard(rid)
                    if rtype in _CAPTURE_TYPES:
                        waiting.update(c for c in concurrent if c not in seen)
                    if not waiting:
                        good, records = member_end, kept
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
    """Cut ``open_path`` back to its last whole record group, close it (rename) and index it. Each step can be
    interrupted: the file stays ``.open`` until the rename, and cutting it again finds nothing more to cut."""
    size = open_path.stat().st_size
    logger.info("archive: mending %s (%d bytes)", open_path.name, size)
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


def mend_open_files(warc_dir: Path, index_dir: Path | None = None,
                    dedup_path: Path | None = None) -> list[MendResult]:
    """Mend every `.open` WARC under `warc_dir` left by a crawler that is no longer running on this host; with
    `dedup_path`, the dedup store learns what each mended file holds (its writer never saved it).

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
        result = mend_open_file(path, index_dir)
        if dedup_path is not None and result.path is not None:
            DedupStore(dedup_path).absorb(result.path)
        results.append(result)
    return results
