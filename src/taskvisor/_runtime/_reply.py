"""The reply record: a process whose owner monitors it, and the owner's view of its result.

A `Monitored` process (the public `Task` is one) replies to its owner when it returns, or
leaves its exit reason as a DOWN when it ends otherwise. The owner's monitor is a small state
machine (`Reply`); its reads and changes live here and in `_waiting`, so the public `Task`
facade and the stream engine only call named functions.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Callable
from typing import Any, TypeVar

from .._callables import describe_fn
from .._errors import NotOwnerError
from .._types import Exit, ExitReason, Ok, make_ok
from ._adopt import live_caller
from ._calling import off_loop, running_loop
from ._proc import DEAD, Proc

__all__ = [
    "CLOSED",
    "DOWN",
    "LISTENING",
    "REPLIED",
    "Monitored",
    "Reply",
    "arrival_order",
    "cause",
    "complete",
    "next_arrival",
    "owner_of",
    "spawn_task",
    "take",
    "task_owner",
]

M = TypeVar("M", bound="Monitored")


class Reply(enum.Enum):
    """What the owner's monitor of a task holds.

    LISTENING -> REPLIED | DOWN     the task ended (a task that replied is REPLIED: reply wins)
    REPLIED | DOWN -> CLOSED        the owner took the result (await_, yield_, ignore, shutdown)
    LISTENING -> CLOSED             the owner stopped listening: a late reply is dropped
    """

    LISTENING = "listening"  # the owner monitors a running task; nothing has arrived
    REPLIED = "replied"  # the reply is here, unread
    DOWN = "down"  # the task ended without replying; its exit reason is here, unread
    CLOSED = "closed"  # taken, or no longer listened for


LISTENING, REPLIED, DOWN, CLOSED = Reply.LISTENING, Reply.REPLIED, Reply.DOWN, Reply.CLOSED


class Monitored(Proc):
    """The record of a process monitored by its owner (the public `Task` subclasses it)."""

    __slots__ = ("_arrival", "_owner", "_reply", "_value", "_waiter")

    _arrival: int  # when the reply or DOWN arrived, in arrival order (set on delivery)
    _owner: Proc
    _reply: Reply
    _value: Any  # the reply, or the exit reason when DOWN
    _waiter: Any  # the owner's pending wait: an asyncio.Future, or an object with wake(task)

    def _deliver(self, reason: ExitReason, replied: bool, value: Any) -> None:
        if self._reply is not LISTENING:
            return  # the owner stopped listening: the late reply is dropped
        if replied:
            self._reply = REPLIED
            self._value = value
        else:
            self._reply = DOWN
            self._value = reason
        waiter = self._waiter
        if waiter is None:  # nobody waits: the result may wait unread, so note its arrival
            self._arrival = next(_arrivals)
        else:
            self._waiter = None
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiter.wake(self)

    def _describe(self) -> str:
        """What the task is, without its changing state (for error messages)."""
        fn = "completed" if self._fn is None else describe_fn(self._fn)
        pid = None if self._fn is None else self._get_pid()
        return f"Task(pid={pid!r}, owner={self._owner._get_pid()!r}, fn={fn})"

    def __repr__(self) -> str:
        return f"{self._describe()[:-1]}, state={self._state.value}, reply={self._reply.value})"


def spawn_task(
    cls: type[M],
    owner: Proc,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    runner: Callable[[Callable[..., Any], tuple[Any, ...]], Any] | None,
    loop: asyncio.AbstractEventLoop | None,
    waiter: Any = None,
    link: bool = False,
    parent: Proc | None = None,
) -> M:
    """Start `fn(*args)` as a task of `cls` monitored by `owner`, linked to it if `link`.

    `parent` is the spawner when it is not the owner (a supervisor). `waiter` is woken by
    its result (a stream). Without a `loop`, the record is made but not started (the
    blocking API starts it on its loop). The spawn hot path of every task: keep it flat.
    """
    task = cls.__new__(cls)
    task._owner = owner
    task._reply = LISTENING
    task._value = None
    task._waiter = waiter
    task._setup(fn, args, owner, runner, loop, owner if link else None, parent)
    return task


def complete(cls: type[M], value: Any) -> M:
    """A task of `cls` that has already replied `value`, with no process behind it, owned
    by the caller (`Task.completed`)."""
    owner = live_caller(None, "Task.completed", (value,))
    task = cls.__new__(cls)
    task._setup(None, (), owner, None)
    task._state = DEAD
    task._reason = "normal"
    task._owner = owner
    task._reply = REPLIED
    task._value = value
    task._waiter = None
    task._arrival = next(_arrivals)
    return task


def owner_of(task: Any, call: tuple[str, tuple[Any, ...]]) -> Proc:
    """The caller, once it is known to own `task` and to be alive (Elixir checks first)."""
    if not isinstance(task, Monitored):
        raise TypeError(f"task must be a Task, got {task!r}")
    loop = running_loop(call[0])
    me = live_caller(loop, call[0], call[1])
    if task._owner is not me:
        owner_task = task._owner._aio
        if owner_task is not None and owner_task.get_loop() is not loop:
            raise off_loop(call[0], task)
        raise NotOwnerError(
            f"task {task!r} must be queried from the owner but was queried from {me._get_pid()!r}"
        )
    return me


def task_owner(task: Monitored) -> Proc:
    return task._owner


_arrivals = itertools.count()


def next_arrival() -> int:
    return next(_arrivals)


def arrival_order(task: Monitored) -> int:
    """Sort key: the order in which ended tasks' replies or DOWNs arrived (Elixir's mailbox).

    A result delivered to a waiting owner is not stamped (it is taken at once); if that
    owner was cancelled before taking it, it counts as the earliest.
    """
    return getattr(task, "_arrival", -1)


def take(task: Monitored) -> Ok[Any] | Exit | None:
    """Take a task's result if one has arrived; the task is then no longer listened for."""
    reply = task._reply
    if reply is LISTENING or reply is CLOSED:
        return None
    value = task._value
    task._reply = CLOSED
    task._value = None
    return make_ok(value) if reply is REPLIED else Exit(value)


def cause(reason: ExitReason) -> BaseException | None:
    return reason if isinstance(reason, BaseException) else None
