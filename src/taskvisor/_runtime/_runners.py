"""Where a process's function runs: coroutines on the loop, plain functions in threads.

`runner_for` picks once, at spawn: ``None`` means "await the coroutine function directly on
the loop" (the fast path); otherwise a coroutine function `runner(fn, args)` runs it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import os
import threading
import warnings
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

from .._validate import check_choice, check_fn, describe_fn

__all__ = ["ExecutorName", "runner_for", "thread_pool"]

ExecutorName: TypeAlias = Literal["loop", "thread"]
Runner: TypeAlias = Callable[[Callable[..., Any], tuple[Any, ...]], Any]

_CO_COROUTINE = inspect.CO_COROUTINE
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def thread_pool() -> concurrent.futures.ThreadPoolExecutor:
    """The shared pool for plain functions, made on first use (as many threads as asyncio's)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=min(32, (os.cpu_count() or 1) + 4),
                thread_name_prefix="taskvisor",
            )
        return _pool


def is_coroutine_function(fn: Callable[..., Any]) -> bool:
    code = getattr(fn, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )


async def _await_if_awaitable(value: Any) -> Any:
    # `Task.async_(lambda: fetch(x))`: the lambda is plain but hands back a coroutine.
    return (await value) if inspect.isawaitable(value) else value


async def in_thread(
    fn: Callable[..., Any], args: tuple[Any, ...], shown: Callable[..., Any] | None = None
) -> Any:
    """Run a plain function in the shared thread pool, in a copy of the caller's context.

    A thread cannot be stopped: if the process is stopped while its function runs, the
    process dies as asked and the thread is abandoned, with a warning that names both.
    """
    context = contextvars.copy_context()
    future = thread_pool().submit(context.run, fn, *args)
    try:
        value = await asyncio.wrap_future(future)
    except (asyncio.CancelledError, GeneratorExit):
        if not future.cancel() and not future.done():  # it started: it cannot be stopped
            _warn_abandoned(shown or fn, asyncio.current_task())
        raise
    return await _await_if_awaitable(value)


def _warn_abandoned(fn: Callable[..., Any], task: asyncio.Task[Any] | None) -> None:
    from ._proc import live

    who = live.get(task) if task is not None else None
    name = repr(who) if who is not None else describe_fn(fn)
    warnings.warn(
        f"{name} was stopped while {describe_fn(fn)} ran in a thread; a thread cannot be "
        "stopped, so it runs on until the function returns, and its result is dropped",
        RuntimeWarning,
        stacklevel=1,
    )


async def on_loop(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Call a plain function on the loop itself (``executor="loop"``): it must not block."""
    return await _await_if_awaitable(fn(*args))


async def coroutine_in_thread(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run a coroutine function on a private event loop in a thread (``executor="thread"``)."""

    def run() -> Any:
        return asyncio.run(fn(*args))

    return await in_thread(run, (), fn)


def runner_for(fn: Callable[..., Any], executor: str | None) -> Runner | None:
    """Check `fn` and `executor` and pick how `fn` runs (None: await it on the loop)."""
    if executor is None:
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_flags & _CO_COROUTINE:
            return None  # the hot path: a plain coroutine function
    elif executor != "loop" and executor != "thread":
        check_choice(executor, "executor", ("loop", "thread"))
    check_fn(fn)
    if is_coroutine_function(fn):
        return coroutine_in_thread if executor == "thread" else None
    return on_loop if executor == "loop" else in_thread
