"""Exceptions raised by taskvisor.

Exception
 ├── TaskExit                 a process exit seen by the caller: .reason, .call
 │    └── TaskTimeout         reason "timeout"; also a TimeoutError
 ├── RuntimeError
 │    ├── NotOwnerError       a task queried from a process that does not own it
 │    ├── MaxChildrenError    a supervisor at its max_children
 │    └── WorkerCrashedError  a process-pool worker died while running a call
 ├── RemoteError              a worker's exception that could not travel as itself
 └── RemoteTraceback          the worker's traceback, as the __cause__ of its exception
"""

from __future__ import annotations

import signal
from typing import Any

from ._types import ExitReason

__all__ = [
    "MaxChildrenError",
    "NotOwnerError",
    "RemoteError",
    "RemoteTraceback",
    "TaskExit",
    "TaskTimeout",
    "WorkerCrashedError",
]


class TaskExit(Exception):
    """A process exit surfacing in the caller (Elixir's ``exit({reason, call})``).

    Raised by `Task.await_` when the task crashed or timed out, and by any taskvisor call made
    by a process whose exit was already decided by a signal (a linked crash, `Process.exit`).
    Raise it yourself inside a task to exit with a chosen reason, as Elixir's ``exit(reason)``:
    ``raise TaskExit("shutdown")`` ends the task quietly, without a crash report.

    `reason` is the exit reason; `call` names the call that raised it, e.g.
    ``("Task.await_", (task, 5.0))``, or is ``None``. ``TaskExit("timeout")`` builds a
    `TaskTimeout`, which is also a `TimeoutError`.
    """

    reason: ExitReason
    call: tuple[str, tuple[Any, ...]] | None

    def __new__(
        cls, reason: ExitReason = "normal", call: tuple[str, tuple[Any, ...]] | None = None
    ) -> TaskExit:
        if cls is TaskExit and isinstance(reason, str) and reason == "timeout":
            cls = TaskTimeout
        return super().__new__(cls)

    def __init__(
        self, reason: ExitReason = "normal", call: tuple[str, tuple[Any, ...]] | None = None
    ) -> None:
        super().__init__(reason, call)
        self.reason = reason
        self.call = call

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.call))

    def __str__(self) -> str:
        reason = _format_reason(self.reason)
        if self.call is None:
            return reason
        name, args = self.call
        return f"exited in: {name}({', '.join(map(repr, args))})\n    ** (EXIT) {reason}"


class TaskTimeout(TaskExit, TimeoutError):
    """A `TaskExit` whose reason is ``"timeout"``; catch it as `TimeoutError` too."""


class NotOwnerError(RuntimeError):
    """A task was awaited, yielded, ignored or shut down by a process that does not own it."""


class MaxChildrenError(RuntimeError):
    """A supervisor refused a child because it already runs `max_children` of them."""


class WorkerCrashedError(RuntimeError):
    """The worker process running a call died before it answered; the pool replaced it.

    A segfault, ``os._exit``, a SIGKILL from outside the pool or the OOM killer: the task
    running the call ends with this exception as its exit reason. `fn` names the function,
    `pid` is the worker's OS pid and `exitcode` its exit status (negative: the number of the
    signal that killed it; None: unknown).
    """

    fn: str
    pid: int
    exitcode: int | None

    def __init__(self, fn: str, pid: int, exitcode: int | None) -> None:
        super().__init__(f"the worker process {pid} running {fn} died: {_how(exitcode)}")
        self.fn = fn
        self.pid = pid
        self.exitcode = exitcode

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.fn, self.pid, self.exitcode))


class RemoteError(Exception):
    """An exception raised in a worker process that could not come back as itself.

    It could not be pickled in the worker, or not unpickled here (a class that is not
    importable, an ``__init__`` that pickle cannot call again). It keeps what can always
    travel: the exception's type name, its message and the worker's traceback, as text.
    """

    type_name: str
    message: str
    traceback: str

    def __init__(self, type_name: str, message: str, traceback: str) -> None:
        super().__init__(f"{type_name}: {message}\n\nWorker traceback:\n{traceback}")
        self.type_name = type_name
        self.message = message
        self.traceback = traceback

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.type_name, self.message, self.traceback))


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text.

    Set as the ``__cause__`` of the exception that came back, so that printing it, or a
    crash report, shows where in the worker it was raised (as `concurrent.futures` does).
    """

    def __init__(self, traceback: str) -> None:
        super().__init__(traceback)
        self.traceback = traceback

    def __str__(self) -> str:
        return f'\n"""\n{self.traceback.rstrip()}\n"""'


def _how(exitcode: int | None) -> str:
    if exitcode is None:
        return "exit status unknown"
    if exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def _format_reason(reason: ExitReason) -> str:
    """Render a reason as Elixir's ``Exception.format_exit`` does, made Python."""
    if isinstance(reason, BaseException):
        return f"an exception was raised: {type(reason).__name__}: {reason}"
    if reason == "timeout":
        return "time out"
    if isinstance(reason, tuple) and len(reason) == 2 and reason[0] == "shutdown":
        return f"shutdown: {reason[1]!r}"
    if isinstance(reason, tuple) and len(reason) == 2 and reason[0] == "nodedown":
        return f"no connection to {reason[1]}"
    return reason if isinstance(reason, str) else repr(reason)
