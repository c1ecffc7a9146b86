"""Await blocking catalog work (parsing, SQLite writes) done off the reactor: on a worker process or a thread."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Any, TypeVar

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

T = TypeVar("T")


async def run_in_executor(executor: Executor, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on ``executor`` (a process pool by default, a thread pool when configured so); the result (or
    exception) comes back on the reactor thread."""
    from twisted.internet import reactor

    deferred: Deferred[T] = Deferred()

    def done(fut: Future[T]) -> None:
        exc = fut.exception()
        if exc is not None:
            reactor.callFromThread(deferred.errback, exc)  # type: ignore[attr-defined]
        else:
            reactor.callFromThread(deferred.callback, fut.result())  # type: ignore[attr-defined]

    executor.submit(fn, *args).add_done_callback(done)
    return await maybe_deferred_to_future(deferred)


_PR_SET_PDEATHSIG = 1


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (spawn, not fork: the crawl process runs threads a fork would copy
    mid-flight) that die with the process that made them: a crawl killed with SIGKILL leaves no worker behind
    (holding its catalog, its stderr and memory)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def die_with_parent(parent: int) -> None:
    """In a worker process: be killed when ``parent`` ends. Linux's parent-death signal where libc has prctl,
    else a daemon thread that watches the parent's pid once a second."""
    try:  # the running program's symbols: libc's prctl, where there is one (no find_library subprocess)
        armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        armed = False
    if os.getppid() != parent:  # the parent ended before the signal was armed
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="die-with-parent", daemon=True).start()
