"""The loop: coroutine functions run on the event loop, inside their process's own task.

A process whose function runs on the loop needs no call object: the process's asyncio task
*is* the call, so taskvisor stops it directly (a cancel, then closing its coroutine). `LOOP`
is the executor object for ``executor="loop"``; its `start` serves direct use of the
interface.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from .._callables import await_if_awaitable
from ._base import Executor

__all__ = ["LOOP", "LoopExecutor", "is_coroutine_function", "on_loop"]

_CO_COROUTINE = inspect.CO_COROUTINE


def is_coroutine_function(fn: Callable[..., Any]) -> bool:
    """Whether calling `fn` makes a coroutine (functions, methods, async ``__call__``)."""
    code = getattr(fn, "__code__", None)
    if code is not None:
        return bool(code.co_flags & _CO_COROUTINE)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    )


async def on_loop(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Call a plain function on the loop itself (``executor="loop"``): it must not block."""
    return await await_if_awaitable(fn(*args))


class _LoopCall:
    """A call running as its own asyncio task."""

    __slots__ = ("future",)

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.future: asyncio.Future[Any] = asyncio.ensure_future(on_loop(fn, args))

    def stop(self) -> None:
        self.future.cancel()

    def kill(self) -> None:
        self.future.cancel()


class LoopExecutor(Executor):
    """Run on the event loop: coroutines as they are, plain functions called in place.

    Cancellation: a stop or a kill cancels the coroutine at its next ``await``; code that
    never awaits cannot be stopped (use ``executor="thread"`` or ``"process"`` for it).
    """

    name = "loop"

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> _LoopCall:
        return _LoopCall(fn, args)

    def __repr__(self) -> str:
        return "LoopExecutor()"


LOOP = LoopExecutor()
