"""Worker processes that die with the process that started them (parsing in a crawl or a rebuild, the catalog
writer): a crawl or rebuild killed with SIGKILL leaves no worker behind, holding its catalog, its stderr and memory."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (spawn, not fork: the crawl process runs threads a fork would copy
    mid-flight) that die with the process that made them."""
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
