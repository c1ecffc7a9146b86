"""Extension: a crawl holds the lock of its ``ARCHIVE_DIR`` (:mod:`archive.lock`), and of its ``JOBDIR``.

Taken when the crawler is configured, before the engine opens: the resume's mend and catch-up
(:mod:`crawler.resume`, in the scheduler's ``open``), the WARC writer, the catalog writer, the incremental state and
``crawl.log`` all write under the lock. A second crawl on the same folder (or the same ``JOBDIR``), a ``scrapy
rebuild`` or a ``scrapy export`` refuses with one line naming this crawl's pid. ``scrapy crawl`` takes the lock
before it starts the crawl, so the refusal is its one line and exit status; a crawl started another way (Scrapyd, a
crawler runner) fails to start with :class:`archive.lock.ArchiveBusy`. Released when the engine has stopped; the
catalog writer holds it on until its last rows and ``crawl_runs`` are in (:mod:`pipelines.store_pipeline`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scrapy import signals

from archive.lock import ArchiveLock

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

JOBDIR_LOCK = "jobdir.lock"


def crawl_locks(settings: BaseSettings, what: str = "scrapy crawl") -> list[ArchiveLock]:
    """Take the locks a crawl with ``settings`` needs: ``ARCHIVE_DIR``'s, and ``JOBDIR``'s when it is set (two
    crawls must not share a frontier either). Raises :class:`archive.lock.ArchiveBusy`, holding nothing then."""
    archive_dir = Path(settings.get("ARCHIVE_DIR") or "data")
    locks = [ArchiveLock.acquire(archive_dir, what)]
    jobdir = settings.get("JOBDIR")
    if jobdir:
        try:
            locks.append(ArchiveLock.acquire(jobdir, what, path=Path(jobdir) / JOBDIR_LOCK))
        except BaseException:
            locks[0].release()
            raise
    return locks


class ArchiveDirLock:
    def __init__(self, locks: list[ArchiveLock]) -> None:
        self.locks = locks

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawl_locks(crawler.settings, f"scrapy crawl {getattr(crawler.spidercls, 'name', '')}".strip()))
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_stopped(self) -> None:
        for lock in self.locks:
            lock.release()


__all__ = ["ArchiveDirLock", "crawl_locks"]
