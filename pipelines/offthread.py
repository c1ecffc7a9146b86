"""Await blocking catalog work (parsing, SQLite writes) done off the reactor: on a worker process or a thread."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

T = TypeVar("T")


async def run_in_executor(executor: Executor, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on ``executor`` (a process pool by default, a thread pool when configured so); the result (or
    exception) comes back on the reactor thread."""
    # imported here, not at the top: importing twisted.internet.reactor installs the default reactor, and this
    # module is imported before Scrapy installs the asyncio one
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
