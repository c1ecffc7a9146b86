"""A time limit for the parse of one capture (``CATALOG_PARSE_TIME_LIMIT``), so that no input, however hostile, holds a
parse worker for ever.

Two stages:

- **soft**, at the limit: ``SIGALRM`` raises :class:`ParseTimeLimit` in the parsing thread as soon as it runs Python
  again; :func:`pipelines.catalog.processing.process_capture` turns it into a failed capture with the reason. The
  worker is reused.
- **hard**, :data:`HARD_GRACE` seconds later, only in a worker process (``hard=True``): code stuck inside a C
  extension never runs Python, so a watchdog thread ends the process (exit status :data:`EXIT_TIME_LIMIT`). The
  pool that owned it sees a dead worker and stores the capture as failed (after one retry, as for any worker that
  dies: :class:`pipelines.parse_pipeline.ParseReportPipeline`, :func:`pipelines.catalog.rebuild.rebuild`).

A signal can only be handled by a process's main thread: elsewhere (``CATALOG_PARSE_WORKERS=0``, the parse thread in
the crawl process) the limit is not enforced, and :func:`time_limit` says so by returning ``False``. The worker
processes of a crawl and of a rebuild run their jobs on their main thread.

A capture that ran out of time is not lost: its bytes are in the WARC, and ``scrapy rebuild -s
CATALOG_PARSE_TIME_LIMIT=…`` reads it again with a longer limit. The limit makes the result depend on the machine's
speed for inputs near it; the default leaves two orders of magnitude between a real report's parse (a few ms for a
page, seconds for a long PDF, 60 s at most for OCR and for LibreOffice each) and the limit.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

DEFAULT_PARSE_TIME_LIMIT = 300.0
HARD_GRACE = 30.0
EXIT_TIME_LIMIT = 86


class ParseTimeLimit(Exception):
    """The parse of one capture ran past its time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"parse time limit of {seconds:g} s ran out")
        self.seconds = seconds


def parse_time_limit(setting: object) -> float | None:
    """``CATALOG_PARSE_TIME_LIMIT`` as seconds: ``None``/``""`` → the default; ``0`` → no limit (``None``)."""
    if setting is None or (isinstance(setting, str) and not setting.strip()):
        return DEFAULT_PARSE_TIME_LIMIT
    try:
        seconds = float(setting)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"CATALOG_PARSE_TIME_LIMIT={setting!r}: expected seconds (a number >= 0)") from None
    if seconds != seconds or seconds < 0:
        raise ValueError(f"CATALOG_PARSE_TIME_LIMIT={setting!r}: expected seconds (a number >= 0)")
    return seconds or None


@contextmanager
def time_limit(seconds: float | None, *, hard: bool = False) -> Iterator[bool]:
    """Run the block under a limit of ``seconds`` (``None``: none). Yields whether the limit is enforced. A timer or
    ``SIGALRM`` handler set by the caller is put back afterwards (the remaining time is not adjusted)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield False
        return

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise ParseTimeLimit(seconds)

    watchdog: threading.Timer | None = None
    if hard:
        watchdog = threading.Timer(seconds + HARD_GRACE, os._exit, (EXIT_TIME_LIMIT,))
        watchdog.daemon = True
        watchdog.start()
    previous = signal.signal(signal.SIGALRM, alarm)
    earlier = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield True
    finally:
        while True:  # the timer first: an alarm with the default handler would end the process
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except ParseTimeLimit:  # it rang as the block ended: the caller's except sees the first one
                continue
        signal.signal(signal.SIGALRM, previous)
        if earlier[0]:
            signal.setitimer(signal.ITIMER_REAL, *earlier)
        if watchdog is not None:
            watchdog.cancel()


def died_reason(exc: BaseException, seconds: float | None, elapsed: float) -> str:
    """The failed capture's reason when a worker process died on it a second time (``exc``: the pool's error,
    ``elapsed``: how long that attempt ran), the same words for a crawl and a rebuild."""
    why = f"{exc or type(exc).__name__}"
    if seconds and elapsed >= seconds:
        why = f"past the parse time limit of {seconds:g} s ({why})"
    return f"parse worker died on this document: {why}"
