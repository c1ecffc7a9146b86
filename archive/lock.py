"""One writer at a time on an ``ARCHIVE_DIR``: an advisory lock (``flock``) on ``<ARCHIVE_DIR>/state/archive.lock``.

A crawl (with the resume's mend and catch-up), ``scrapy rebuild``, ``scrapy index`` and ``scrapy export`` hold it
while they run; a second one refuses at once with one line naming the holder (:class:`ArchiveBusy`): what it is,
its pid and host, and since when. Two crawls on one folder would fetch everything twice and split the catalog's
rows between them; a rebuild under a live crawl would swap the catalog out from under its writer.

The kernel drops a ``flock`` when the holding process dies, ``kill -9`` included, so a crash never leaves a stale
lock behind; the file stays, and only says who held it last. Within one process the lock is shared: the command
that starts a crawl takes it, and the crawl's own components (which also run under Scrapyd or a test's crawler
runner, without the command) take it again; it is released when the last of them lets go.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "state/archive.lock"


class ArchiveBusy(RuntimeError):
    """The lock is held by another process; the message is one line naming it."""


@dataclass
class _Held:
    fd: int
    count: int


_held: dict[str, _Held] = {}
_guard = threading.Lock()


def lock_path(archive_dir: str | os.PathLike[str]) -> Path:
    return Path(archive_dir) / LOCK_NAME


def holder(path: Path) -> str:
    """Who holds (or last held) the lock at ``path``, as written there: ``scrapy crawl (pid 4711 on host, since
    …)``."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0] if text else "another process (it wrote nothing in the lock file)"


class ArchiveLock:
    """A handle on the lock of one folder; :meth:`release` (or leaving the ``with`` block) lets go of it."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self._key = key
        self._released = False

    @classmethod
    def acquire(cls, archive_dir: str | os.PathLike[str], what: str, *, path: Path | None = None) -> ArchiveLock:
        """Take the lock of ``archive_dir`` for ``what`` (``"scrapy crawl"``…), or raise :class:`ArchiveBusy`."""
        target = path if path is not None else lock_path(archive_dir)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ArchiveBusy(f"{archive_dir}: cannot create {target.parent} for the lock ({e.strerror or e})") from e
        key = os.path.realpath(target)
        with _guard:
            held = _held.get(key)
            if held is not None:
                held.count += 1
                return cls(target, key)
            try:
                fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as e:
                raise ArchiveBusy(f"{archive_dir}: cannot open the lock file {target} ({e.strerror or e})") from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ArchiveBusy(f"{archive_dir} is in use by {holder(target)}; wait for it to end, or stop "
                                  "that process (a killed one lets go by itself)") from None
            _say_who(fd, what)
            _held[key] = _Held(fd, 1)
        return cls(target, key)

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        with _guard:
            held = _held.get(self._key)
            if held is None:
                return
            held.count -= 1
            if held.count == 0:
                del _held[self._key]
                os.close(held.fd)  # closing the descriptor drops the flock

    def __enter__(self) -> ArchiveLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _say_who(fd: int, what: str) -> None:
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    line = f"{what} (pid {os.getpid()} on {socket.gethostname()}, since {since})\n".encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, line, 0)
    except OSError:
        pass  # a full disk: the lock holds all the same (a flock needs no space), the refusal names no pid


__all__ = ["LOCK_NAME", "ArchiveBusy", "ArchiveLock", "holder", "lock_path"]
