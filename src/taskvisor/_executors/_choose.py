"""Choosing where a process's function runs, once, at spawn.

`runner_for` returns ``None`` for "await the coroutine function directly in the process's own
task" (the fast path), or a coroutine function ``runner(fn, args)`` that runs it elsewhere.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

from .._validate import check_choice, check_fn
from . import _process, _thread
from ._base import Executor
from ._loop import LoopExecutor, is_coroutine_function, on_loop
from ._process import ProcessPool
from ._thread import ThreadPool, default_thread_pool

__all__ = [
    "ExecutorArg",
    "Runner",
    "check_executor",
    "executor_of",
    "runner_for",
    "set_default_executor",
]

ExecutorArg: TypeAlias = Literal["loop", "thread", "process"] | Executor | None
"""The ``executor=`` option: a place by name, an executor object, or None for the default
(coroutine functions on the loop, plain functions in the shared thread pool)."""

Runner: TypeAlias = Callable[[Callable[..., Any], tuple[Any, ...]], Any]

_CO_COROUTINE = inspect.CO_COROUTINE
_NAMES = ("loop", "thread", "process")


def check_executor(executor: Any, name: str = "executor") -> ExecutorArg:
    """Refuse anything but a place's name, an `Executor` or None, naming the argument."""
    if executor is None or isinstance(executor, Executor):
        return executor
    if isinstance(executor, str) and executor in _NAMES:
        return executor  # type: ignore[return-value]
    raise ValueError(
        f"{name} must be 'loop', 'thread', 'process', an Executor or None, got {executor!r}"
    )


def runner_for(fn: Callable[..., Any], executor: ExecutorArg) -> Runner | None:
    """Check `fn` and `executor` and pick how `fn` runs (None: await it in the process)."""
    if executor is None:
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_flags & _CO_COROUTINE:
            return None  # the hot path: a plain coroutine function
    else:
        check_executor(executor)
    check_fn(fn)
    if executor is None or executor == "loop" or isinstance(executor, LoopExecutor):
        if is_coroutine_function(fn):
            return None
        return on_loop if executor is not None else default_thread_pool().run
    if executor == "thread":
        return default_thread_pool().run
    if executor == "process":
        return _process.default_process_pool().run
    assert isinstance(executor, Executor)
    runner: Runner = executor.run
    return runner


def executor_of(runner: Runner | None) -> Executor | None:
    """The executor whose workers run calls for `runner` (a pool's bound `run`), or None for
    a function that runs on the loop itself."""
    owner = getattr(runner, "__self__", None)
    if isinstance(owner, Executor) and not isinstance(owner, LoopExecutor):
        return owner
    return None


def set_default_executor(
    kind: Literal["thread", "process"], executor: ThreadPool | ProcessPool | Executor
) -> None:
    """Put your own pool behind ``executor="thread"`` (and plain functions by default) or
    ``executor="process"``, e.g. ``set_default_executor("thread", ThreadPool(64))``.

    Behind ``"process"`` goes a `ProcessPool` or any executor that runs calls outside this
    process, e.g. ``set_default_executor("process", RayNode())``: code written with
    ``executor="process"`` then runs on a Ray cluster.

    Tasks already running keep the pool they started on; the previous pool is not shut down.

    Raises:
        ValueError: `kind` is not ``"thread"`` or ``"process"``.
        TypeError: `executor` is not a `ThreadPool` (for threads), or, for processes, is not
            an `Executor` or is a `ThreadPool` or the loop.

    Cancellation: not a wait; nothing to cancel.
    """
    check_choice(kind, "kind", ("thread", "process"))
    if kind == "thread":
        if not isinstance(executor, ThreadPool):
            raise TypeError(f"executor must be a ThreadPool for 'thread', got {executor!r}")
        _thread.set_default(executor)
    else:
        if not isinstance(executor, Executor) or isinstance(executor, ThreadPool | LoopExecutor):
            raise TypeError(
                "executor must be a ProcessPool or another executor that runs calls outside "
                f"this process (a RayNode) for 'process', got {executor!r}"
            )
        _process.set_default(executor)
