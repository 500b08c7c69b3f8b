"""A process's telemetry: ``("taskvisor", "task", "start" | "stop" | "exception")``.

While no handler listens to a task event, processes run the plain wrapper (`Proc._main`)
and nothing in the spawn path tests anything. The first attach of a task event swaps in
the observed pair below (`Proc._main` and `Proc._finish`, class attributes, so every kind of
record that runs a function gets them); the last detach swaps the plain pair back. A check
left in the plain path cost about 3 % per task; the swap costs nothing until it happens.

A process started under the observed wrapper emits ``start`` as its function begins, and
``stop`` or ``exception`` as it dies (before its links and monitors fire), in its own
context: ``exception`` when it crashed (its function raised, with a reason that is not
quiet: what writes a crash report), ``stop`` for every other end. Supervisors emit their own
events instead (`Proc.emits_task_events`); adopted tasks and threads emit none.
"""

from __future__ import annotations

import time
from typing import Any

from .._callables import describe_fn
from .._errors import TaskExit
from .._reasons import is_quiet
from .._telemetry import emit, listened, on_change
from .._types import ExitReason
from ._proc import SPAWNED, Proc
from ._reports import user_traceback

__all__ = ["TASK_EXCEPTION", "TASK_START", "TASK_STOP", "observing"]

TASK_START = ("taskvisor", "task", "start")
TASK_STOP = ("taskvisor", "task", "stop")
TASK_EXCEPTION = ("taskvisor", "task", "exception")
_TASK_EVENTS = (TASK_START, TASK_STOP, TASK_EXCEPTION)

_plain_main = Proc._main
_plain_finish = Proc._finish
_started: dict[Proc, tuple[int, dict[str, Any]]] = {}  # started while observed: when, what


async def _observed_main(self: Proc) -> None:
    if self._state is SPAWNED and self.emits_task_events and self._fn is not None:
        now = time.monotonic_ns()
        metadata = _metadata(self)
        _started[self] = (now, metadata)
        emit(TASK_START, {"system_time": time.time_ns(), "monotonic_time": now}, metadata)
    await _plain_main(self)


def _observed_finish(
    self: Proc,
    reason: ExitReason,
    *,
    replied: bool = False,
    value: Any = None,
    crash: BaseException | None = None,
) -> None:
    started = _started.pop(self, None)
    if started is not None:
        _emit_end(started, reason, crash)
    _plain_finish(self, reason, replied=replied, value=value, crash=crash)


def _metadata(proc: Proc) -> dict[str, Any]:
    parent = proc._parent
    caller = proc._caller
    assert proc._fn is not None
    return {
        "pid": proc._get_pid(),
        "function": describe_fn(proc._fn),
        "executor": _executor_name(proc._runner),
        "supervisor": None
        if parent is None
        else (parent._get_pid(), getattr(parent, "name", None)),
        "caller": None if caller is None else caller._get_pid(),
    }


def _executor_name(runner: object) -> str:
    """The name of the executor a process's function runs on (``"loop"`` when none)."""
    name = getattr(getattr(runner, "__self__", None), "name", None)
    return name if isinstance(name, str) else "loop"


def _emit_end(
    started: tuple[int, dict[str, Any]], reason: ExitReason, crash: BaseException | None
) -> None:
    start, metadata = started
    now = time.monotonic_ns()
    measurements = {"duration": now - start, "monotonic_time": now}
    if crash is not None and not is_quiet(reason):
        ended = {
            **metadata,
            "reason": reason,
            "kind": "exit" if isinstance(crash, TaskExit) else "error",
            "exception": crash,
            "traceback": user_traceback(crash),
        }
        emit(TASK_EXCEPTION, measurements, ended)
    else:
        emit(TASK_STOP, measurements, {**metadata, "reason": reason})


def observing() -> bool:
    """Whether processes run the observed wrapper now."""
    return Proc._main is _observed_main


def _update() -> None:
    """Swap the observed pair in while a task event is listened to, the plain one back
    when none is."""
    wanted = any(listened(event) for event in _TASK_EVENTS)
    if wanted and not observing():
        Proc._main = _observed_main  # type: ignore[method-assign]
        Proc._finish = _observed_finish  # type: ignore[method-assign]
    elif not wanted and observing():
        Proc._main = _plain_main  # type: ignore[method-assign]
        Proc._finish = _plain_finish  # type: ignore[method-assign]
        _started.clear()  # those still running end unobserved


on_change(_update)
