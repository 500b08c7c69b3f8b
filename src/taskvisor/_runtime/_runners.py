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
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

from .._validate import check_choice, check_fn

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


async def in_thread(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run a plain function in the shared thread pool, in a copy of the caller's context."""
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    value = await loop.run_in_executor(thread_pool(), context.run, fn, *args)
    return await _await_if_awaitable(value)


async def on_loop(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Call a plain function on the loop itself (``executor="loop"``): it must not block."""
    return await _await_if_awaitable(fn(*args))


async def coroutine_in_thread(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run a coroutine function on a private event loop in a thread (``executor="thread"``)."""

    def run() -> Any:
        return asyncio.run(fn(*args))

    return await in_thread(run, ())


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
