"""Exceptions raised by taskvisor.

Exception
 ├── TaskExit                 a process exit seen by the caller: .reason, .call
 │    └── TaskTimeout         reason "timeout"; also a TimeoutError
 ├── RuntimeError
 │    ├── NotOwnerError       a task queried from a process that does not own it
 │    ├── MaxChildrenError    a supervisor at its max_children
 │    └── WorkerCrashedError  a worker (a process pool's, Ray's) died while running a call
 ├── RemoteError              a worker's exception that could not travel as itself
 └── RemoteTraceback          the worker's traceback, as the __cause__ of its exception
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

from ._types import ExitReason

if TYPE_CHECKING:
    from ._runtime._pid import Pid

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
    ``("Task.await_", (task, 5.0))``, or is ``None``. `sender` is the pid of the process whose
    exit signal sealed the caller's fate (a linked task that crashed, the sender of
    `Process.exit`), and ``None`` when the exception is the awaited task's own exit or a
    timeout. `detail` is one more line of explanation, or ``None``. ``TaskExit("timeout")``
    builds a `TaskTimeout`, which is also a `TimeoutError`.

    The text says which of these it is, as Elixir's does::

        exited in: Task.await_(Task(pid=<0.70.0>, ...), 5.0)
            ** (EXIT) an exception was raised: KeyError: 'id'       # the task's own crash
        ** (EXIT from <0.66.0>) an exception was raised: KeyError: 'id'
            (the signal interrupted Task.await_(Task(pid=<0.71.0>, ...), 5.0))
        <0.64.0> is exiting: ** (EXIT from <0.66.0>) an exception was raised: KeyError: 'id'
            Task.async_(fetch, 2) was refused: a process whose exit is decided can make no
            more taskvisor calls                                 # a call after the signal
    """

    reason: ExitReason
    call: tuple[str, tuple[Any, ...]] | None
    sender: Pid | None
    detail: str | None
    exiting: Pid | None
    """The pid of the calling process when the call was refused because that process is
    already exiting (its fate sealed by an earlier signal); else ``None``."""

    def __new__(
        cls,
        reason: ExitReason = "normal",
        call: tuple[str, tuple[Any, ...]] | None = None,
        **kwargs: Any,
    ) -> TaskExit:
        if cls is TaskExit and isinstance(reason, str) and reason == "timeout":
            cls = TaskTimeout
        return super().__new__(cls)

    def __init__(
        self,
        reason: ExitReason = "normal",
        call: tuple[str, tuple[Any, ...]] | None = None,
        *,
        sender: Pid | None = None,
        detail: str | None = None,
        exiting: Pid | None = None,
    ) -> None:
        super().__init__(reason, call)
        self.reason = reason
        self.call = call
        self.sender = sender
        self.detail = detail
        self.exiting = exiting

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason, self.call), self.__dict__)

    def __str__(self) -> str:
        reason = _format_reason(self.reason)
        sender = self.sender
        signal = f"** (EXIT from {sender!r}) {reason}" if sender is not None else None
        call = self.call
        called = None if call is None else f"{call[0]}({', '.join(map(repr, call[1]))})"
        if self.exiting is not None:
            text = f"{self.exiting!r} is exiting: {signal or f'** (EXIT) {reason}'}"
            if called is not None:
                text += (
                    f"\n    {called} was refused: a process whose exit is decided can make no "
                    "more taskvisor calls"
                )
        elif signal is not None:
            text = signal if called is None else f"{signal}\n    (the signal interrupted {called})"
        elif called is None:
            text = reason
        else:
            text = f"exited in: {called}\n    ** (EXIT) {reason}"
        if self.detail:
            text += f"\n    {self.detail}"
        return text


class TaskTimeout(TaskExit, TimeoutError):
    """A `TaskExit` whose reason is ``"timeout"``; catch it as `TimeoutError` too."""


class NotOwnerError(RuntimeError):
    """A task was awaited, yielded, ignored or shut down by a process that does not own it."""


class MaxChildrenError(RuntimeError):
    """A supervisor refused a child because it already runs `max_children` of them.

    `supervisor` is the supervisor's pid and `max_children` its limit; the message names
    both, then says what Elixir says.
    """

    supervisor: Pid | None
    max_children: int | None

    def __init__(
        self, message: str, supervisor: Pid | None = None, max_children: int | None = None
    ) -> None:
        super().__init__(message)
        self.supervisor = supervisor
        self.max_children = max_children

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.supervisor, self.max_children))


class WorkerCrashedError(RuntimeError):
    """The worker process running a call died before it answered; the pool replaced it.

    A segfault, ``os._exit``, a SIGKILL from outside the pool or the OOM killer: the task
    running the call ends with this exception as its exit reason. `fn` names the function,
    `pid` is the worker's OS pid (None where the place does not say: a Ray worker) and
    `exitcode` its exit status (negative: the number of the signal that killed it; None:
    unknown). `detail` is what the place said instead of an exit status (Ray's own words),
    or None.
    """

    fn: str
    pid: int | None
    exitcode: int | None
    detail: str | None

    def __init__(
        self, fn: str, pid: int | None, exitcode: int | None, detail: str | None = None
    ) -> None:
        worker = "the worker" if pid is None else f"the worker process {pid}"
        super().__init__(f"{worker} running {fn} died: {detail or _how(exitcode)}")
        self.fn = fn
        self.pid = pid
        self.exitcode = exitcode
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.fn, self.pid, self.exitcode, self.detail))


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
    if reason == "noproc":
        return (
            "no process: the process is not alive or there's no process currently associated "
            "with the given name, possibly because its application isn't started"
        )
    if reason == "noconnection":
        return "no connection"
    if isinstance(reason, tuple) and len(reason) == 2 and reason[0] == "shutdown":
        return f"shutdown: {reason[1]!r}"
    if isinstance(reason, tuple) and len(reason) == 2 and reason[0] == "nodedown":
        return f"no connection to {reason[1]}"
    return reason if isinstance(reason, str) else repr(reason)
