"""A full disk stops the crawl cleanly: one line says so, and the same command resumes once space is freed.

Everything a crawl writes lives under ``ARCHIVE_DIR`` (WARCs, the catalog, the frontier, crawl.log, the incremental
state), so when that disk fills every writer fails at about the same moment. Each of them (the WARC writer, the
catalog writer, the frontier, crawl.log, the incremental state) tells its failure apart with :func:`is_out_of_space`,
stops writing and calls :func:`stop_crawl`: the first call logs one line naming the disk and what could not be
written, sets the stat ``nianbao/disk_full``, and closes the spider with the reason ``disk_full`` from the reactor
thread (it may be called from any thread); later calls do nothing. Nothing half-written is kept: the WARC writer cuts
its file back to the last whole record group and leaves it ``.open`` for the mend, SQLite rolls back what it could
not commit, and the frontier keeps every request that was not done (``crawler/resume.py``). ``scrapy crawl`` prints
the line again as its last and exits with status 1 (:func:`stopped`).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import weakref
from typing import TYPE_CHECKING

from scrapy.utils.defer import deferred_from_coro

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

REASON = "disk_full"
WRITE_FAILED = "write_failed"
_SQLITE_FULL = 13
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)

_stopped: weakref.WeakKeyDictionary[Crawler, str] = weakref.WeakKeyDictionary()
_last: list[str] = []  # the line of the last crawl this process stopped, for `scrapy crawl`
_lock = threading.Lock()


def is_out_of_space(exc: BaseException) -> bool:
    """True for a write that failed for want of space: ENOSPC, a quota, a file-size limit, SQLite's SQLITE_FULL."""
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL or "disk is full" in str(exc)
    return False


def stop_crawl(crawler: Crawler, what: str, exc: BaseException) -> None:
    """``what`` could not be written under ``ARCHIVE_DIR`` (a full disk, or another I/O error): stop the crawl,
    once. Safe from any thread."""
    full = is_out_of_space(exc)
    with _lock:
        if crawler in _stopped:
            return
        where = crawler.settings.get("ARCHIVE_DIR") or "data"
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        if full:
            line = (f"crawl stopped: no space left on the disk of {where} ({what}: {why}); every complete record "
                    "is kept: free some space and run the same command again to resume")
        else:
            line = (f"crawl stopped: cannot write under {where} ({what}: {why}); every complete record is kept: "
                    "fix it and run the same command again to resume")
        _stopped[crawler] = line
        _last[:] = [line]
    logger.critical(line)
    if crawler.stats is not None:
        crawler.stats.set_value("nianbao/disk_full" if full else "nianbao/write_failed", what)
    # imported here, not at the top: importing twisted.internet.reactor installs the default reactor, and this
    # module is imported before Scrapy installs the asyncio one
    from twisted.internet import reactor

    reactor.callFromThread(_close, crawler, REASON if full else WRITE_FAILED)  # type: ignore[attr-defined]


def _close(crawler: Crawler, reason: str) -> None:
    engine = crawler.engine
    if engine is None or engine.spider is None or not engine.running:
        return
    deferred_from_coro(engine.close_spider_async(reason=reason))


def is_stopped(crawler: Crawler) -> bool:
    return crawler in _stopped


def stopped() -> str | None:
    """The one line of the last crawl of this process that a full disk stopped, or None."""
    return _last[0] if _last else None


__all__ = ["REASON", "is_out_of_space", "is_stopped", "stop_crawl", "stopped"]
