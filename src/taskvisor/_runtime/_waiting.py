"""Waiting on tasks: one future and at most one timer per call, however many tasks.

The owner's side of the monitor (`_reply`): await, yield, ignore, shut down. Each waited task
points at the call's waiter (`Monitored._waiter`); a task's exit path wakes it inline.
`await_many` and `yield_many` share one `_Batch` waiter: a counter, a fail-fast flag and the
arrival order, instead of a future or a `wait_for` per task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .._errors import TaskExit
from .._reasons import is_noconnection, nodedown
from .._types import Exit, ExitReason, Ok, ShutdownTimeout
from .._validate import check_choice, check_positive_int
from ._proc import DEAD, Proc
from ._reply import (
    CLOSED,
    DOWN,
    LISTENING,
    REPLIED,
    Monitored,
    arrival_order,
    cause,
    next_arrival,
    owner_of,
    take,
)
from ._stopping import stop
from ._suspend import suspend, wake

__all__ = [
    "await_many",
    "ignore",
    "shutdown",
    "take_awaited",
    "take_result",
    "wait_one",
    "waiting_for",
    "yield_many",
]

Call = tuple[str, tuple[Any, ...]]
Task = Monitored  # the record behind the public `Task`


def waiting_for(task: Task) -> bool:
    """The owner listens and nothing has arrived yet: awaiting it means waiting."""
    return task._reply is LISTENING


def take_awaited(task: Task, call: Call) -> Any:
    """`Task.await_`'s outcome once any wait is over: the reply, or `TaskExit`; the task is
    no longer listened for."""
    reply = task._reply
    value = task._value
    task._reply = CLOSED
    task._value = None
    if reply is REPLIED:
        return value
    if reply is DOWN:
        raise TaskExit(nodedown(value), call) from cause(value)
    raise TaskExit("timeout", call)


def take_result(task: Task, call: Call) -> Ok[Any] | Exit | None:
    """`take` for `call` (yield, ignore, shutdown): the result that has arrived, or None;
    a task whose node went down raises ``TaskExit(("nodedown", node), call)`` instead of
    returning ``Exit("noconnection")``, Elixir's rule for every wait."""
    if task._reply is DOWN and is_noconnection(task._value):
        reason = task._value
        task._reply = CLOSED
        task._value = None
        raise TaskExit(nodedown(reason), call)
    return take(task)


def ignore(task: Task) -> Ok[Any] | Exit | None:
    """`Task.ignore`: unlink and stop listening, or take the result that has arrived."""
    owner_of(task, ("Task.ignore", (task,)))
    if task._reply is LISTENING:  # unlink and stop listening: a late reply is dropped
        task._unlink(task._owner)
        task._reply = CLOSED
        return None
    return take_result(task, ("Task.ignore", (task,)))


async def wait_one(me: Proc, task: Task, timeout: float | None, call: Call) -> None:
    """Wait until `task` replies or ends, or `timeout` passes; the caller reads the outcome."""
    future = asyncio.get_running_loop().create_future()
    task._waiter = future
    try:
        await suspend(me, future, call, timeout)
    finally:
        if task._waiter is future:
            task._waiter = None


_PENDING: Any = object()  # marks a task already listed while await_many scans its input


class _Batch:
    """The waiter of one await_many/yield_many call, woken inline by each task's exit."""

    __slots__ = ("arrived", "fail_fast", "failed", "future", "remaining")

    def __init__(self, future: asyncio.Future[None], remaining: int, fail_fast: bool) -> None:
        self.future = future
        self.remaining = remaining
        self.fail_fast = fail_fast
        self.failed: Task | None = None
        # yield_many reads results in arrival order; await_many reads them in input order
        self.arrived: list[Task] | None = None if fail_fast else []

    def wake(self, task: Task) -> None:
        if self.arrived is not None:  # yield_many: a result past `limit` may wait unread
            task._arrival = next_arrival()
            self.arrived.append(task)
        self.remaining -= 1
        failed = task._reply is DOWN and (self.fail_fast or is_noconnection(task._value))
        if failed and self.failed is None:  # yield_many too stops at a lost node, at once
            self.failed = task
            wake(self.future)
        elif self.remaining <= 0:
            wake(self.future)


async def _wait_batch(
    me: Proc, pending: list[Task], batch: _Batch, timeout: float | None, call: Call
) -> None:
    for task in pending:
        task._waiter = batch
    try:
        await suspend(me, batch.future, call, timeout)
    finally:
        for task in pending:
            if task._waiter is batch:
                task._waiter = None


def _close(tasks: Sequence[Task]) -> None:
    for task in tasks:
        task._reply = CLOSED
        task._value = None


async def await_many(tasks: Sequence[Task], timeout: float | None) -> list[Any]:
    call: Call = ("Task.await_many", (tasks, timeout))
    if not tasks:
        return []
    me = owner_of(tasks[0], call)
    for task in tasks:  # every task is checked before anything is touched, as Elixir does
        if not isinstance(task, Monitored) or task._owner is not me:
            owner_of(task, call)  # raises the right error
    failed = None
    pending = []
    for task in tasks:
        reply = task._reply
        if reply is LISTENING:
            if task._waiter is None:  # a task listed twice is waited for once
                task._waiter = _PENDING
                pending.append(task)
        elif reply is DOWN and (failed is None or arrival_order(task) < arrival_order(failed)):
            failed = task  # of those that ended before the call, the first to end (Elixir)
    for task in pending:
        task._waiter = None
    if failed is None and pending and timeout != 0:
        loop = asyncio.get_running_loop()
        batch = _Batch(loop.create_future(), len(pending), fail_fast=True)
        await _wait_batch(me, pending, batch, timeout, call)
        failed = batch.failed
    if failed is not None:
        reason = failed._value
        _close(tasks)
        raise TaskExit(nodedown(reason), call) from cause(reason)
    values = []
    for task in tasks:
        if task._reply is not REPLIED:
            _close(tasks)
            raise TaskExit("timeout", call)
        values.append(task._value)
    _close(tasks)
    return values


async def yield_many(
    tasks: Sequence[Task], timeout: float | None, limit: int | None, on_timeout: str
) -> list[tuple[Task, Ok[Any] | Exit | None]]:
    check_choice(on_timeout, "on_timeout", ("nothing", "ignore", "kill_task"))
    if limit is not None:
        check_positive_int(limit, "limit")
    call: Call = ("Task.yield_many", (tasks, timeout))
    me = None
    for task in tasks:
        me = owner_of(task, call)
    if me is None:
        return []
    unique = list(dict.fromkeys(tasks))
    wanted = len(unique) if limit is None else min(limit, len(unique))
    results: dict[Task, Ok[Any] | Exit | None] = {}
    ended = [t for t in unique if t._reply is REPLIED or t._reply is DOWN]
    ended.sort(key=arrival_order)  # as Elixir reads them from its mailbox: first come first
    for task in ended[:wanted]:
        results[task] = take_result(task, call)
    if len(results) < wanted and timeout != 0:
        pending = [t for t in unique if t._reply is LISTENING]
        batch = _Batch(asyncio.get_running_loop().create_future(), wanted - len(results), False)
        await _wait_batch(me, pending, batch, timeout, call)
        assert batch.arrived is not None
        for task in batch.arrived:  # in arrival order, as Elixir reads its mailbox
            if len(results) < wanted or task is batch.failed:
                results[task] = take_result(task, call)
    if len(results) < wanted:  # the timer fired: only now does on_timeout apply
        for task in unique:
            if task not in results:
                if on_timeout == "ignore":
                    results[task] = ignore(task)
                elif on_timeout == "kill_task":
                    results[task] = await shutdown(task, "brutal_kill")
    return [(task, results.get(task)) for task in tasks]


async def shutdown(task: Task, timeout: ShutdownTimeout) -> Ok[Any] | Exit | None:
    call: Call = ("Task.shutdown", (task, timeout))
    if isinstance(task, Monitored) and task._fn is None:  # Task.completed: nothing to stop
        return ignore(task)
    me = owner_of(task, call)
    brutal = timeout == "brutal_kill"
    if task._reply is REPLIED:
        return take(task)
    if task._reply is DOWN:
        reason = task._value
        take(task)
        return _shutdown_result(reason, brutal, call)
    if task._state is DEAD:  # its DOWN was already taken (awaited, ignored...)
        return Exit("noproc")
    task._unlink(me)  # first, so that the caller never gets the task's shutdown signal
    reason = await stop(me, task, timeout, call)
    if task._reply is REPLIED:  # a reply that arrived first always wins
        return take(task)
    task._reply = CLOSED
    task._value = None
    return _shutdown_result(reason, brutal, call)


def _shutdown_result(reason: ExitReason, brutal: bool, call: Call) -> Exit | None:
    """Elixir's table: the reason you asked for is None, any other is Exit(reason), and a
    lost node is ``TaskExit(("nodedown", node), call)``."""
    if is_noconnection(reason):
        raise TaskExit(nodedown(reason), call)
    expected = "killed" if brutal else "shutdown"
    if isinstance(reason, str) and reason == expected:
        return None
    return Exit(reason)
