"""Threads: plain functions run in a pool of threads, so they never block the loop.

A thread cannot be stopped from outside. A polite stop of a plain function does nothing (the
process waits for it, up to its shutdown timeout); a kill abandons it: the process dies
``"killed"`` at once, its late result is dropped, and a warning names the process and says
its thread runs on. A coroutine function sent to a thread runs on a private event loop there,
and a polite stop cancels it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any

from .._callables import await_if_awaitable, describe_fn
from .._reports import log_event
from .._runtime._proc import live
from .._validate import check_positive_int
from ._base import Executor
from ._loop import is_coroutine_function

__all__ = ["ThreadPool", "default_thread_pool", "set_default"]


class _ThreadCall:
    """One call in a pool thread."""

    __slots__ = ("_done", "_fn", "_inner", "future")

    def __init__(
        self, pool: concurrent.futures.ThreadPoolExecutor, fn: Callable[..., Any], args: Any
    ) -> None:
        self._fn = fn
        self._inner: _InnerLoop | None = None
        context = contextvars.copy_context()
        if is_coroutine_function(fn):
            self._inner = _InnerLoop(fn, args)
            self._done = pool.submit(context.run, self._inner.run)
        else:
            self._done = pool.submit(context.run, fn, *args)
        self.future = asyncio.wrap_future(self._done)

    def stop(self) -> None:
        if self._inner is not None:
            self._inner.cancel()

    def kill(self) -> None:
        if not self._done.cancel() and not self._done.done():  # it runs: it cannot be stopped
            _warn_abandoned(self._fn)
        self.future.cancel()  # the late result, or error, is dropped


class _InnerLoop:
    """A coroutine function on a private event loop in a pool thread; cancellable from outside."""

    __slots__ = ("_args", "_fn", "_loop", "_main", "_stopped")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._fn = fn
        self._args = args
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[Any] | None = None
        self._stopped = False

    def run(self) -> Any:
        return asyncio.run(self._run())

    async def _run(self) -> Any:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        if self._stopped:
            raise asyncio.CancelledError
        return await self._fn(*self._args)

    def cancel(self) -> None:
        self._stopped = True
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            loop.call_soon_threadsafe(main.cancel)


class ThreadPool(Executor):
    """A pool of threads for plain (blocking) functions.

    Args:
        max_workers: how many calls run at once; default ``min(32, os.cpu_count() + 4)``,
            as asyncio's default executor.

    Cancellation: a thread cannot be interrupted. A polite stop waits for a plain function
    (a coroutine function in a thread is cancelled); a kill abandons the call, with a warning
    that names the process, and its thread runs on until the function returns.
    """

    name = "thread"

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None:
            check_positive_int(max_workers, "max_workers")
        self._max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def max_workers(self) -> int:
        return self._max_workers

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> _ThreadCall:
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self._max_workers, thread_name_prefix="taskvisor"
                    )
                pool = self._pool
        return _ThreadCall(pool, fn, args)

    async def run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        # a plain function may hand back a coroutine (`lambda: fetch(x)`): it runs on the loop
        return await await_if_awaitable(await super().run(fn, args))

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking calls; with `wait`, block until the running ones return."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)

    def __repr__(self) -> str:
        return f"ThreadPool(max_workers={self._max_workers})"


_default: ThreadPool | None = None


def default_thread_pool() -> ThreadPool:
    """The shared pool behind ``executor="thread"`` and plain functions, made on first use."""
    global _default
    if _default is None:
        _default = ThreadPool()
    return _default


def set_default(pool: ThreadPool) -> None:
    """Replace the shared pool (see `set_default_executor`)."""
    global _default
    _default = pool


def _warn_abandoned(fn: Callable[..., Any]) -> None:
    task = asyncio.current_task()
    who = live.get(task) if task is not None else None
    name = repr(who) if who is not None else describe_fn(fn)
    log_event(
        who,
        "abandoned_thread",
        f"{name} was killed while {describe_fn(fn)} ran in a thread; a thread cannot be "
        "stopped, so it runs on until the function returns, and its result is dropped",
    )
