"""Crossing: a blocking call runs as a function of the asyncio API on a loop, for the
calling thread's process, while the thread waits.

The thread's process on a loop is made on its first call there and kept in a thread-local
(`_records`); it is replaced once it has died and the thread has been told. In a pool
thread that runs a taskvisor function (``executor="thread"``), calls on that function's loop
act as its process instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
from asyncio.events import _get_running_loop
from collections.abc import Callable
from typing import Any

from .._executors._thread import call_origin
from .._runtime._api import is_running, process_of, reason_of, state_of
from .._runtime._proc import Proc
from .._runtime._threads import (
    Outcome,
    begin_call,
    end_thread_process,
    exit_for,
    new_thread_process,
)
from ._loop import blocking_loop, on_fork, post

__all__ = [
    "Loop",
    "acts_for",
    "caller",
    "end_scope",
    "home_loop",
    "interrupted",
    "origin_process",
    "refuse_on_a_loop",
    "run",
    "thread_record",
    "wait",
]

Loop = asyncio.AbstractEventLoop


class _Records(threading.local):
    """The calling thread's process on each loop it has called on."""

    def __init__(self) -> None:
        self.by_loop: dict[Loop, Any] = {}
        self.ending = _ThreadEnd(self.by_loop)


class _ThreadEnd:
    """Deleted with its thread's local data: the thread's processes exit "normal"."""

    __slots__ = ("by_loop",)

    def __init__(self, by_loop: dict[Loop, Any]) -> None:
        self.by_loop = by_loop

    def __del__(self) -> None:
        for loop, proc in list(self.by_loop.items()):
            _post(loop, end_thread_process, proc, "normal")


_records = _Records()


def _forget_threads() -> None:
    """After a fork, in the child: the parent's threads and their processes are not here
    (and their records must not exit "normal" on a loop that does not exist either)."""
    global _records
    _records.ending.by_loop = {}
    _records = _Records()


on_fork(_forget_threads)


def _post(loop: Loop, fn: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # a closed loop: its processes are gone too
        post(loop, fn, *args)


def home_loop() -> Loop:
    """Where the calling thread's own calls (`Process.*`, `Task.async_`) run: the loop of the
    taskvisor function this thread runs, or the blocking loop."""
    origin = call_origin()
    return blocking_loop() if origin is None else origin[0]


def thread_record(loop: Loop) -> Any:
    """The calling thread's process record on `loop` (a new one once the old is told)."""
    by_loop = _records.by_loop
    proc = by_loop.get(loop)
    if proc is None:
        proc = by_loop[loop] = new_thread_process(loop, by_loop)
    return proc


def caller(loop: Loop, name: str, args: tuple[Any, ...]) -> Any:
    """The calling thread's process for a call on `loop`, once the call may be made.

    Raises:
        RuntimeError: the calling thread runs an event loop (a blocking call would stall it).
        TaskExit: the thread's process died of a signal since its last call (told once;
            the next call gets a new process).
    """
    refuse_on_a_loop(name)
    proc = thread_record(loop)
    if not is_running(proc):
        told = exit_for(proc, (name, args))
        _new_family(reason_of(proc))  # the thread's process is over, on every loop
        proc = thread_record(loop)
        if told is not None:
            raise told
    return proc


def acts_for(loop: Loop) -> object:
    """In a pool thread running a taskvisor function on `loop`: who it runs for (its
    process's asyncio task, or the record of a task this API started), else None."""
    origin = call_origin()
    return None if origin is None or origin[0] is not loop else origin[1]


def run(loop: Loop, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` (an asyncio-API function; it may return an awaitable) on
    `loop` as the calling thread's process, block until it is done, and return its value.

    Raises:
        RuntimeError: the calling thread runs an event loop (a blocking call would stall it).
        whatever the call raised; `TaskExit` if the thread's process died of a signal since
        its last call.
    """
    proc = caller(loop, name, args)
    if kwargs:
        fn = functools.partial(fn, **kwargs)
    outcome = Outcome()
    post(loop, _begin, proc, acts_for(loop), fn, args, outcome, (name, args))
    return wait(loop, proc, outcome)


def wait(loop: Loop, proc: Any, outcome: Outcome) -> Any:
    """Block until the loop has filled in `outcome`; return its value or raise its error.

    Cancellation: Ctrl-C (in the main thread) raises `KeyboardInterrupt` here, and the
    thread's process exits with it, which stops what it is linked to.
    """
    try:
        outcome.done.acquire()
    except BaseException as exc:
        interrupted(loop, proc, exc)
        raise
    error = outcome.error
    if error is not None:
        outcome.error = None
        raise error
    return outcome.value


def interrupted(loop: Loop, proc: Any, exc: BaseException) -> None:
    """The thread's wait was interrupted (Ctrl-C): its process exits with that exception,
    which stops what it is linked to; the thread's next call gets a new process."""
    if _records.by_loop.get(loop) is proc:
        _new_family(exc)


def origin_process(origin: object) -> Proc | None:
    """The process a pool thread's call runs for (see `acts_for`), if it is one."""
    if isinstance(origin, asyncio.Task):
        return process_of(origin)
    return origin if isinstance(origin, Proc) else None


def _begin(
    proc: Any,
    lent: object,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    outcome: Outcome,
    call: tuple[str, tuple[Any, ...]],
    deferred: bool = False,
) -> None:
    if lent is not None:  # a pool thread of a taskvisor function: act as its process
        owner = origin_process(lent)
        if owner is not None and state_of(owner) == "spawned" and not deferred:
            # started from a thread, its function already runs in the pool: its first
            # step is scheduled on this loop before this call (posted first), so it runs
            asyncio.get_running_loop().call_soon(_begin, proc, lent, fn, args, outcome, call, True)
            return
        if owner is not None:
            proc = owner
    begin_call(proc, fn, args, outcome, call)


def end_scope(reason: Any) -> None:
    """End the calling thread's processes (a `blocking.process()` scope closes)."""
    _new_family(reason)


def _new_family(reason: Any) -> None:
    """The calling thread's process has ended (with `reason`): its records on every loop
    end with it, and its next calls make a new family of records, which the old one's late
    deaths never reach."""
    ended = _records.by_loop
    _records.by_loop = _records.ending.by_loop = {}
    for loop, proc in list(ended.items()):
        _post(loop, end_thread_process, proc, reason)


def refuse_on_a_loop(name: str) -> None:
    """Raise the RuntimeError for the blocking call `name` made from a thread that runs an
    event loop (it would stall that loop, or deadlock)."""
    if _get_running_loop() is not None:
        raise _on_a_loop(name)


def _on_a_loop(name: str) -> RuntimeError:
    thread = threading.current_thread().name
    return RuntimeError(
        f"taskvisor.blocking.{name} was called from thread {thread!r}, which runs an event "
        f"loop: a blocking call would stall that loop (or deadlock). In a coroutine, use "
        f"the asyncio API instead: {_async_counterpart(name)}"
    )


def _async_counterpart(name: str) -> str:
    """How the asyncio API spells the call `name` (``"Task.await_"``) in a coroutine."""
    import taskvisor  # the public names (the package is fully imported by now)

    kind, _, method = name.partition(".")
    if method in ("__enter__", "__exit__"):
        return f"async with taskvisor.{kind}(...)"
    target = getattr(getattr(taskvisor, kind, None), method, None)
    if inspect.iscoroutinefunction(target):
        return f"await taskvisor.{name}(...)"
    return f"taskvisor.{name}(...), without await"
