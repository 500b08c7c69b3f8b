"""`taskvisor.blocking.Process`, `checkpoint` and `process`: a thread as a process.

A thread is adopted as a process on its first blocking call (a pid, links, monitors,
``trap_exit``) and exits ``"normal"`` when it ends. A thread cannot be interrupted mid-call:
an exit signal wakes it at once from a taskvisor wait (`TaskExit`), else reaches it at its
next taskvisor call, or at `checkpoint()`; with ``trap_exit`` it reads exits with
`Process.receive_exit`. `process()` scopes a process for threads that are reused (one per
request): what was linked in one scope can never interrupt the next.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal, final

from .._errors import TaskExit
from .._executors._thread import call_origin
from .._process import Process as _AsyncProcess
from .._runtime._api import loop_of
from .._runtime._pid import Pid, lookup
from .._runtime._threads import exit_for, pending_exit
from .._types import ExitReason, Timeout
from ._bridge import (
    Loop,
    end_scope,
    home_loop,
    origin_process,
    refuse_on_a_loop,
    run,
    thread_record,
)
from ._loop import loop_if_started

__all__ = ["Process", "checkpoint", "process"]


def _where_pid(pid: Any) -> Loop:
    target = lookup(pid) if type(pid) is Pid else None
    loop = None if target is None else loop_of(target)
    return home_loop() if loop is None else loop


@final
class Process:
    """`taskvisor.Process` for sync code: the calling thread is the process; not
    instantiated."""

    def __init__(self) -> None:
        raise TypeError("Process is a namespace of functions; call Process.self() etc.")

    @staticmethod
    def self() -> Pid:
        """The pid of the calling thread's process (adopted on its first call).

        Raises:
            RuntimeError: called from a thread that runs an event loop.
            TaskExit: the thread's process died of a signal since its last call.
        """
        return run(home_loop(), "Process.self", _AsyncProcess.self)  # type: ignore[no-any-return]

    @staticmethod
    def alive(pid: Pid) -> bool:
        """Whether `pid` is a live process. Raises as `taskvisor.Process.alive`."""
        return run(_where_pid(pid), "Process.alive", _AsyncProcess.alive, pid)  # type: ignore[no-any-return]

    @staticmethod
    def exit(pid: Pid, reason: ExitReason) -> None:
        """Send exit signal `reason` to `pid` from the calling thread's process.

        Raises as `taskvisor.Process.exit`; a thread that signals itself to death gets its
        `TaskExit` from this call (it could not be interrupted later).
        """
        loop = _where_pid(pid)
        run(loop, "Process.exit", _AsyncProcess.exit, pid, reason)
        told = exit_for(thread_record(loop), ("Process.exit", (pid, reason)))
        if told is not None:
            raise told

    @staticmethod
    def link(pid: Pid) -> None:
        """Link the calling thread's process and `pid`. Raises as `taskvisor.Process.link`."""
        run(_where_pid(pid), "Process.link", _AsyncProcess.link, pid)

    @staticmethod
    def unlink(pid: Pid) -> None:
        """Remove the link between the thread's process and `pid`, if any."""
        run(_where_pid(pid), "Process.unlink", _AsyncProcess.unlink, pid)

    @staticmethod
    def flag(flag: Literal["trap_exit"], value: bool) -> bool:
        """Set ``trap_exit`` for the calling thread's process; return the previous value.

        Raises as `taskvisor.Process.flag`.
        """
        return run(home_loop(), "Process.flag", _AsyncProcess.flag, flag, value)  # type: ignore[no-any-return]

    @staticmethod
    def receive_exit(timeout: Timeout = 5.0) -> tuple[Pid | None, ExitReason] | None:
        """Block until a kept exit signal arrives (or `timeout` passes): ``(pid, reason)``,
        or ``None``. Raises as `taskvisor.Process.receive_exit`."""
        return run(home_loop(), "Process.receive_exit", _AsyncProcess.receive_exit, timeout)  # type: ignore[no-any-return]

    @staticmethod
    def callers() -> list[Pid]:
        """Who started the calling thread's process, nearest first (none for a thread)."""
        return run(home_loop(), "Process.callers", _AsyncProcess.callers)  # type: ignore[no-any-return]

    @staticmethod
    def ancestors() -> list[Pid]:
        """Who spawned the calling thread's process, nearest first (none for a thread)."""
        return run(home_loop(), "Process.ancestors", _AsyncProcess.ancestors)  # type: ignore[no-any-return]


def checkpoint() -> None:
    """Raise the `TaskExit` the calling thread's process got from an exit signal, if any.

    For loops that never call taskvisor: a thread cannot be interrupted mid-call, so a
    linked crash reaches it at its next taskvisor call; call this where that may be long.
    Cheap: it does not cross to the loop. In a function that taskvisor runs in a thread, it
    raises once that function's process is exiting.

    Raises:
        TaskExit: the thread's process died of a signal (told once: the next call gets a
            new process), or the process it acts for is exiting.
    """
    refuse_on_a_loop("checkpoint")
    call = ("checkpoint", ())
    origin = call_origin()
    if origin is not None:
        proc = origin_process(origin[1])
        if proc is not None:
            told = pending_exit(proc, call)
            if told is not None:
                raise told
        return
    loop = loop_if_started()
    if loop is None:
        return  # nothing ever linked to this thread
    told = exit_for(thread_record(loop), call)
    if told is not None:
        raise told


@contextlib.contextmanager
def process() -> Iterator[Pid]:
    """Scope a process for the calling thread: a new one within the block, which exits
    when the block ends, ``"normal"``, or with the exception that escaped it (a `TaskExit`
    with its reason, as a task's function does: ``raise TaskExit(reason)`` is Elixir's
    ``exit(reason)``).

    For threads that are reused (a request handler's): a task linked in one scope can never
    interrupt a later one. What the process started and linked is stopped when it exits
    abnormally. Yields the scope's pid.

    Raises:
        RuntimeError: entered from a thread that runs an event loop.
    """
    refuse_on_a_loop("process")
    end_scope("normal")
    pid = Process.self()
    reason: ExitReason = "normal"
    try:
        yield pid
    except BaseException as exc:
        reason = exc.reason if isinstance(exc, TaskExit) else exc
        raise
    finally:
        end_scope(reason)
