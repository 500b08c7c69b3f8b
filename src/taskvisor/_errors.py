"""Exceptions raised by taskvisor.

Exception
 ├── TaskExit                 a process exit seen by the caller: .reason, .call
 │    └── TaskTimeout         reason "timeout"; also a TimeoutError
 ├── RuntimeError
 │    ├── NotOwnerError       a task queried from a process that does not own it
 │    └── MaxChildrenError    a supervisor at its max_children
"""

from __future__ import annotations

from typing import Any

from ._types import ExitReason

__all__ = ["MaxChildrenError", "NotOwnerError", "TaskExit", "TaskTimeout"]


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
