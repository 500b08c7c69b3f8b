"""Elixir's ``lib/elixir/test/elixir/task_test.exs``, ported to taskvisor.

One test per Elixir test that has a Python meaning, in one class per Elixir ``describe``
(top-level tests in `TestTask`), each named after the Elixir test and quoting its name in the
docstring. The skipped ones are listed, with the reason, in ``tests/README.md``.

What Elixir reads from the mailbox is read here from what a Python user can observe:
return values, exceptions and their reasons, ``Process.alive``, exit signals kept by a process
that traps exits (`Process.receive_exit`), and log records. "A reply and a DOWN in the message
queue" means the task has already ended: the test lets it end first, deterministically.

Timing: nothing here waits for time to pass except to prove that something does *not* happen
before a short timeout (an event that never fires). Elixir's ``sleep(n)`` tests use `Sleeper`,
a virtual clock: ``sleep(n)`` returns once every running ``sleep(m)`` with ``m < n`` has
returned, so "the slowest first" is a fact of ordering, not of wall-clock time.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import itertools
import logging
import math
import sys
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

import pytest

from support import (
    Mailbox,
    Sleeper,
    crash,
    exit_with,
    forever,
    reply,
    settle,
    take,
    to_list,
    wait_and_send,
    wait_then,
    wait_until_down,
)
from taskvisor import (
    ChildSpec,
    Exit,
    NotOwnerError,
    Ok,
    Pid,
    Process,
    Task,
    TaskExit,
    TaskTimeout,
)
from taskvisor.testing import LOCAL_NODE

# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def collect_garbage() -> Iterator[None]:
    """Collect what a failing test leaves behind (an asyncio task whose exception nobody
    read) now, not during a later import: on CPython 3.11 a finalizer that runs inside
    ``ast.parse`` (pytest's assertion rewriting) raises SystemError."""
    yield
    gc.collect()


async def create_task_in_other_process() -> Task[None]:
    """A finished task owned by another (finished) process."""

    async def make() -> Task[None]:
        return Task.async_(reply, None)

    task = await Task.await_(Task.async_(make))
    await wait_until_down(task.pid)
    return task


def not_owner_message(task: Task[Any]) -> str:
    return f"task {task!r} must be queried from the owner but was queried from {Process.self()!r}"


async def zip_elem1(left: AsyncIterator[Any], right: AsyncIterator[Any]) -> list[Any]:
    """Elixir's ``Enum.zip(s, s)`` over ``Stream.map(&elem(&1, 1))``: two enumerations at once."""

    def elem1(r: Ok[Any] | Exit) -> Any:
        return r.value if isinstance(r, Ok) else r.reason

    out = []
    while True:
        try:
            a = await anext(left)
            b = await anext(right)
        except StopAsyncIteration:
            return out
        out.append((elem1(a), elem1(b)))


async def identity(x: Any) -> Any:
    return x


this_module = sys.modules[__name__]


# -- top-level tests ----------------------------------------------------------------------


class TestTask:
    async def test_can_be_supervised_directly(self) -> None:
        """test "can be supervised directly" (started from its child spec, as a supervisor does)"""
        done = asyncio.Event()

        async def work() -> None:
            done.set()

        spec = Task.child_spec(work)
        start, args = spec.start
        pid = start(*args)
        assert isinstance(pid, Pid)
        await done.wait()
        await wait_until_down(pid)

    def test_generates_child_spec_1(self) -> None:
        """test "generates child_spec/1" """

        async def work(arg: Any) -> None:
            pass

        spec = Task.child_spec(work, "hello")
        assert spec == ChildSpec(
            id=Task,
            start=(Task.start_link, (work, "hello")),
            restart="temporary",
            shutdown=5.0,
            type="worker",
        )

        def other_start() -> None:
            pass

        custom = spec.replace(id="id", restart="permanent", shutdown=None, start=(other_start, ()))
        assert custom == ChildSpec(
            id="id", start=(other_start, ()), restart="permanent", shutdown=None
        )

    async def test_async_1(self) -> None:
        """test "async/1" """
        parent = Mailbox()
        go = asyncio.Event()

        async def fun() -> Any:
            return await wait_and_send(parent, go, "done")

        Process.flag("trap_exit", True)  # only to observe the link when the task exits
        task = Task.async_(fun)

        assert isinstance(task, Task)
        assert isinstance(task.pid, Pid)
        assert task.owner == Process.self()
        assert task.fn is fun
        assert task.mfa[2] == 0

        assert await parent.receive() == "ready"
        assert Process.alive(task.pid)
        go.set()

        assert await Task.await_(task) == "done"
        assert await parent.receive() == "done"
        await wait_until_down(task.pid)
        # the link: a process trapping exits gets the exit of the processes linked to it
        assert await Process.receive_exit(timeout=0) == (task.pid, "normal")

    async def test_async_3(self) -> None:
        """test "async/3" """
        parent = Mailbox()
        go = asyncio.Event()
        Process.flag("trap_exit", True)
        task = Task.async_(wait_and_send, parent, go, "done")

        assert isinstance(task, Task)
        assert task.fn is wait_and_send
        assert task.mfa == ("support", "wait_and_send", 3)  # the module that defines it

        assert await parent.receive() == "ready"
        go.set()
        assert await Task.await_(task) == "done"
        assert await parent.receive() == "done"
        await wait_until_down(task.pid)
        assert await Process.receive_exit(timeout=0) == (task.pid, "normal")

    async def test_async_with_callers(self) -> None:
        """test "async with $callers" """
        grandparent = Process.self()

        async def outer() -> tuple[Pid, list[Pid], list[Pid]]:
            parent = Process.self()

            async def inner() -> list[Pid]:
                return Process.callers()

            inner_callers = await Task.await_(Task.async_(inner))
            return parent, Process.callers(), inner_callers

        parent, outer_callers, inner_callers = await Task.await_(Task.async_(outer))
        assert outer_callers == [grandparent]
        assert inner_callers == [parent, grandparent]

    async def test_start_1(self) -> None:
        """test "start/1" """
        parent = Mailbox()
        go = asyncio.Event()

        async def fun() -> None:
            await wait_and_send(parent, go, "done")

        Process.flag("trap_exit", True)
        pid = Task.start(fun)
        assert isinstance(pid, Pid)

        assert await parent.receive() == "ready"
        go.set()
        assert await parent.receive() == "done"
        await wait_until_down(pid)
        assert await Process.receive_exit(timeout=0) is None  # not linked

    async def test_start_3(self) -> None:
        """test "start/3" """
        parent = Mailbox()
        go = asyncio.Event()
        Process.flag("trap_exit", True)
        pid = Task.start(wait_and_send, parent, go, "done")

        assert await parent.receive() == "ready"
        go.set()
        assert await parent.receive() == "done"
        await wait_until_down(pid)
        assert await Process.receive_exit(timeout=0) is None  # not linked

    async def test_completed_1(self) -> None:
        """test "completed/1" """
        task = Task.completed("done")
        assert isinstance(task, Task)
        assert task.pid is None
        assert await Task.await_(task) == "done"

    async def test_start_link_1(self) -> None:
        """test "start_link/1" """
        parent = Mailbox()
        go = asyncio.Event()

        async def fun() -> None:
            await wait_and_send(parent, go, "done")

        Process.flag("trap_exit", True)
        pid = Task.start_link(fun)

        assert await parent.receive() == "ready"
        go.set()
        assert await parent.receive() == "done"
        await wait_until_down(pid)
        assert await Process.receive_exit(timeout=0) == (pid, "normal")  # linked

    async def test_start_link_3(self) -> None:
        """test "start_link/3" """
        parent = Mailbox()
        go = asyncio.Event()
        Process.flag("trap_exit", True)
        pid = Task.start_link(wait_and_send, parent, go, "done")

        assert await parent.receive() == "ready"
        go.set()
        assert await parent.receive() == "done"
        await wait_until_down(pid)
        assert await Process.receive_exit(timeout=0) == (pid, "normal")  # linked

    async def test_start_link_with_callers(self) -> None:
        """test "start_link with $callers" """
        grandparent = Process.self()
        mailbox = Mailbox()

        async def outer() -> None:
            parent = Process.self()
            mailbox.send(("parent", parent, Process.callers()))

            async def inner() -> None:
                mailbox.send(("inner", Process.callers()))

            Task.start_link(inner)

        outer_pid = Task.start_link(outer)
        _, parent, parent_callers = await mailbox.receive()
        assert parent == outer_pid
        assert parent_callers == [grandparent]
        assert await mailbox.receive() == ("inner", [parent, grandparent])


# -- ignore/1 -----------------------------------------------------------------------------


class TestIgnore:
    async def test_discards_on_time_replies(self) -> None:
        """test "discards on time replies" """
        task = Task.async_(reply, "ok")
        await wait_until_down(task.pid)
        assert Task.ignore(task) == Ok("ok")
        with pytest.raises(TaskTimeout) as info:
            await Task.await_(task, timeout=0)
        assert info.value.reason == "timeout"
        assert info.value.call == ("Task.await_", (task, 0))

    async def test_discards_late_replies(self) -> None:
        """test "discards late replies" """
        go = asyncio.Event()
        task = Task.async_(wait_then, go, "ok")
        assert Task.ignore(task) is None
        go.set()
        await wait_until_down(task.pid)
        with pytest.raises(TaskTimeout) as info:
            await Task.await_(task, timeout=0)
        assert info.value.call == ("Task.await_", (task, 0))

    async def test_discards_on_time_failures(self) -> None:
        """test "discards on-time failures" """
        Process.flag("trap_exit", True)
        task = Task.async_(exit_with, "oops")
        await wait_until_down(task.pid)
        assert Task.ignore(task) == Exit("oops")
        with pytest.raises(TaskTimeout) as info:
            await Task.await_(task, timeout=0)
        assert info.value.call == ("Task.await_", (task, 0))

    async def test_discards_late_failures(self) -> None:
        """test "discards late failures" """
        go = asyncio.Event()

        async def fail_on_go() -> None:
            await go.wait()
            raise TaskExit("oops")

        task = Task.async_(fail_on_go)
        assert Task.ignore(task) is None
        go.set()
        await wait_until_down(task.pid)
        await settle()  # ignored means unlinked: the crash does not interrupt us
        with pytest.raises(TaskTimeout) as info:
            await Task.await_(task, timeout=0)
        assert info.value.call == ("Task.await_", (task, 0))

    async def test_can_ignore_completed_tasks(self) -> None:
        """test "can ignore completed tasks" """
        assert Task.ignore(Task.completed("done")) == Ok("done")

    async def test_exits_on_noconnection(self) -> None:
        """test "exits on :noconnection" (the DOWN of a task that exited "noconnection"; the
        node is this one, Elixir's ``node()``: a lost remote node is in tests/ray/)"""
        Process.flag("trap_exit", True)
        task = await dead_task("noconnection")
        with pytest.raises(TaskExit) as info:
            Task.ignore(task)
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        assert info.value.call == ("Task.ignore", (task,))
        assert await Process.receive_exit(timeout=0) == (task.pid, "noconnection")


# -- await/2 ------------------------------------------------------------------------------


class TestAwait:
    async def test_demonitors_and_unalias_on_timeout(self) -> None:
        """test "demonitors and unalias on timeout" """
        go = asyncio.Event()
        task = Task.async_(wait_then, go, "done")

        with pytest.raises(TaskTimeout) as info:
            await Task.await_(task, timeout=0)
        assert info.value.reason == "timeout"
        assert info.value.call == ("Task.await_", (task, 0))
        assert Process.alive(task.pid)  # a timeout does not stop the task

        go.set()
        await wait_until_down(task.pid)
        # the late reply and the exit were dropped: nothing is left to collect
        assert await Task.yield_(task, timeout=0) is None
        assert Task.ignore(task) is None

    async def test_exits_on_timeout(self) -> None:
        """test "exits on timeout" """
        task = Task.async_(forever)
        with pytest.raises(TaskTimeout) as info:
            await Task.await_(task, timeout=0.05)
        assert isinstance(info.value, TimeoutError)
        assert info.value.reason == "timeout"
        assert info.value.call == ("Task.await_", (task, 0.05))
        assert await Task.shutdown(task, "brutal_kill") is None

    async def test_exits_on_normal_exit(self) -> None:
        """test "exits on normal exit" """
        task = Task.async_(exit_with, "normal")
        with pytest.raises(TaskExit) as info:
            await Task.await_(task)
        assert not isinstance(info.value, TaskTimeout)
        assert info.value.reason == "normal"
        assert info.value.call == ("Task.await_", (task, 5.0))

    async def test_exits_on_task_error(self) -> None:
        """test "exits on task error" """
        Process.flag("trap_exit", True)
        task = Task.async_(crash, "oops")
        with pytest.raises(TaskExit) as info:
            await Task.await_(task)
        reason = info.value.reason
        assert isinstance(reason, RuntimeError)
        assert str(reason) == "oops"
        assert reason.__traceback__ is not None  # Elixir's {exception, stacktrace}
        assert info.value.__cause__ is reason
        assert info.value.call == ("Task.await_", (task, 5.0))

    async def test_exits_on_task_undef_module_error(self) -> None:
        """test "exits on task undef module error" """

        async def call_undef_module() -> Any:
            return importlib.import_module("module_does_not_exist").undef()

        Process.flag("trap_exit", True)
        task = Task.async_(call_undef_module)
        with pytest.raises(TaskExit) as info:
            await Task.await_(task)
        reason = info.value.reason
        assert isinstance(reason, ModuleNotFoundError)
        assert reason.name == "module_does_not_exist"
        assert info.value.call == ("Task.await_", (task, 5.0))

    async def test_exits_on_task_undef_function_error(self) -> None:
        """test "exits on task undef function error" """

        async def call_undef_function() -> Any:
            return this_module.undef()

        Process.flag("trap_exit", True)
        task = Task.async_(call_undef_function)
        with pytest.raises(TaskExit) as info:
            await Task.await_(task)
        reason = info.value.reason
        assert isinstance(reason, AttributeError)
        assert "undef" in str(reason)
        assert info.value.call == ("Task.await_", (task, 5.0))

    async def test_exits_on_task_exit(self) -> None:
        """test "exits on task exit" """
        Process.flag("trap_exit", True)
        task = Task.async_(exit_with, "unknown")
        with pytest.raises(TaskExit) as info:
            await Task.await_(task)
        assert info.value.reason == "unknown"
        assert info.value.call == ("Task.await_", (task, 5.0))

    async def test_exits_on_noconnection(self) -> None:
        """test "exits on :noconnection" (the DOWN of a task that exited "noconnection"; the
        node is this one, Elixir's ``node()``: a lost remote node is in tests/ray/)"""
        Process.flag("trap_exit", True)
        task = await dead_task("noconnection")
        with pytest.raises(TaskExit) as info:
            await Task.await_(task)
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        assert info.value.call == ("Task.await_", (task, 5.0))
        assert await Process.receive_exit(timeout=0) == (task.pid, "noconnection")

    async def test_raises_when_invoked_from_a_non_owner_process(self) -> None:
        """test "raises when invoked from a non-owner process" """
        task = await create_task_in_other_process()
        with pytest.raises(NotOwnerError) as info:
            await Task.await_(task, timeout=0.001)
        assert str(info.value) == not_owner_message(task)


# -- await_many/2 -------------------------------------------------------------------------


class TestAwaitMany:
    async def test_returns_list_of_replies(self) -> None:
        """test "returns list of replies" """
        tasks = [Task.async_(reply, val) for val in [1, 3, 9]]
        assert await Task.await_many(tasks) == [1, 3, 9]

    async def test_returns_replies_in_input_order_ignoring_response_order(self) -> None:
        """test "returns replies in input order ignoring response order" """
        events = [asyncio.Event() for _ in range(3)]
        tasks = [Task.async_(wait_then, ev, val) for ev, val in zip(events, [1, 3, 9], strict=True)]

        async def release_in_order_2_3_1() -> None:
            for i in (1, 2, 0):
                events[i].set()
                await wait_until_down(tasks[i].pid)

        releaser = Task.start(release_in_order_2_3_1)
        assert await Task.await_many(tasks) == [1, 3, 9]
        await wait_until_down(releaser)

    async def test_returns_an_empty_list_immediately(self) -> None:
        """test "returns an empty list immediately" """
        assert await Task.await_many([]) == []

    async def test_ignores_messages_from_other_processes(self) -> None:
        """test "ignores messages from other processes" """
        other = Task.async_(reply, "z")
        await wait_until_down(other.pid)  # its reply is waiting, unrelated to the call below
        tasks = [Task.async_(reply, val) for val in ["a", "b"]]
        assert await Task.await_many(tasks) == ["a", "b"]
        assert await Task.await_(other, timeout=0) == "z"  # left in place

    async def test_exits_on_timeout(self) -> None:
        """test "exits on timeout" """
        tasks = [Task.async_(forever)]
        with pytest.raises(TaskTimeout) as info:
            await Task.await_many(tasks, timeout=0)
        assert info.value.reason == "timeout"
        assert info.value.call == ("Task.await_many", (tasks, 0))
        assert await Task.shutdown(tasks[0], "brutal_kill") is None

    async def test_exits_with_same_reason_when_task_exits(self) -> None:
        """test "exits with same reason when task exits" """
        tasks = [Task.async_(exit_with, "normal")]
        with pytest.raises(TaskExit) as info:
            await Task.await_many(tasks)
        assert info.value.reason == "normal"
        assert info.value.call == ("Task.await_many", (tasks, 5.0))

    async def test_exits_immediately_when_any_task_exits(self) -> None:
        """test "exits immediately when any task exits" """
        tasks = [Task.async_(forever), Task.async_(exit_with, "normal")]
        with pytest.raises(TaskExit) as info:
            await Task.await_many(tasks)  # a timeout would be a TaskTimeout
        assert info.value.reason == "normal"
        assert info.value.call == ("Task.await_many", (tasks, 5.0))
        assert Process.alive(tasks[0].pid)
        assert await Task.shutdown(tasks[0]) is None

    async def test_exits_immediately_on_noconnection(self) -> None:
        """test "exits immediately on :noconnection" """
        Process.flag("trap_exit", True)
        tasks = [Task.async_(forever), Task.async_(exit_with, "noconnection")]
        with pytest.raises(TaskExit) as info:
            await Task.await_many(tasks)  # at once: a timeout would be a TaskTimeout
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        assert info.value.call == ("Task.await_many", (tasks, 5.0))
        assert Process.alive(tasks[0].pid)
        Process.exit(tasks[0].pid, "kill")

    async def test_exits_immediately_when_any_task_crashes(self) -> None:
        """test "exits immediately when any task crashes" """
        Process.flag("trap_exit", True)
        tasks = [Task.async_(forever), Task.async_(exit_with, "unknown")]
        with pytest.raises(TaskExit) as info:
            await Task.await_many(tasks)
        assert info.value.reason == "unknown"
        assert info.value.call == ("Task.await_many", (tasks, 5.0))

        # every task is no longer listened for: killing them leaves nothing to collect
        for task in tasks:
            Process.exit(task.pid, "kill")
        for task in tasks:
            await wait_until_down(task.pid)
        for task in tasks:
            assert await Task.yield_(task, timeout=0) is None

    async def test_exits_immediately_on_any_task_error(self) -> None:
        """test "exits immediately on any task error" """
        Process.flag("trap_exit", True)
        tasks = [Task.async_(forever), Task.async_(crash, "oops")]
        with pytest.raises(TaskExit) as info:
            await Task.await_many(tasks)
        assert isinstance(info.value.reason, RuntimeError)
        assert str(info.value.reason) == "oops"
        assert info.value.call == ("Task.await_many", (tasks, 5.0))
        assert await Task.shutdown(tasks[0], "brutal_kill") is None

    @pytest.mark.usefixtures("collect_garbage")
    async def test_raises_when_invoked_from_a_non_owner_process(self) -> None:
        """test "raises when invoked from a non-owner process" """
        bad_task = await create_task_in_other_process()
        tasks = [Task.async_(forever), bad_task]
        with pytest.raises(NotOwnerError) as info:
            await Task.await_many(tasks, timeout=0.001)
        assert str(info.value) == not_owner_message(bad_task)
        # checked before any wait: the other task is untouched, and can still be shut down
        async with asyncio.timeout(2.0):  # a guard against hanging, never reached when green
            assert await Task.shutdown(tasks[0]) is None


# -- yield/2 ------------------------------------------------------------------------------


class TestYield:
    async def test_returns_ok_result_when_reply_and_down_in_message_queue(self) -> None:
        """test "returns {:ok, result} when reply and :DOWN in message queue" """
        task = Task.async_(reply, "result")
        await wait_until_down(task.pid)
        assert await Task.yield_(task, timeout=0) == Ok("result")
        assert await Task.yield_(task, timeout=0) is None  # the exit is not seen after it

    async def test_returns_nil_on_timeout(self) -> None:
        """test "returns nil on timeout" """
        go = asyncio.Event()
        task = Task.async_(wait_then, go, "result")
        assert await Task.yield_(task, timeout=0) is None
        assert await Task.yield_(task, timeout=0.05) is None
        # still monitored: it can be yielded again
        go.set()
        assert await Task.yield_(task) == Ok("result")

    async def test_return_exit_on_normal_exit(self) -> None:
        """test "return exit on normal exit" """
        task = Task.async_(exit_with, "normal")
        assert await Task.yield_(task) == Exit("normal")

    async def test_exits_on_noconnection(self) -> None:
        """test "exits on :noconnection" (the DOWN of a task that exited "noconnection"; the
        node is this one, Elixir's ``node()``: a lost remote node is in tests/ray/)"""
        Process.flag("trap_exit", True)
        task = await dead_task("noconnection")
        with pytest.raises(TaskExit) as info:
            await Task.yield_(task)
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        assert info.value.call == ("Task.yield_", (task, 5.0))
        assert await Process.receive_exit(timeout=0) == (task.pid, "noconnection")

    async def test_raises_when_invoked_from_a_non_owner_process(self) -> None:
        """test "raises when invoked from a non-owner process" """
        task = await create_task_in_other_process()
        with pytest.raises(NotOwnerError) as info:
            await Task.yield_(task, timeout=0.001)
        assert str(info.value) == not_owner_message(task)


# -- yield_many/2 -------------------------------------------------------------------------


class TestYieldMany:
    async def test_returns_ok_result_when_reply_and_down_in_message_queue(self) -> None:
        """test "returns {:ok, result} when reply and :DOWN in message queue" """
        task = Task.async_(reply, "result")
        await wait_until_down(task.pid)
        assert await Task.yield_many([task], timeout=0) == [(task, Ok("result"))]
        assert await Task.yield_(task, timeout=0) is None

    async def test_returns_nil_on_timeout_by_default(self) -> None:
        """test "returns nil on timeout by default" """
        task = Task.async_(forever)
        assert await Task.yield_many([task], timeout=0) == [(task, None)]
        assert Process.alive(task.pid)
        assert await Task.shutdown(task) is None  # still monitored

    async def test_shuts_down_on_timeout_when_configured(self) -> None:
        """test "shuts down on timeout when configured" """
        Process.flag("trap_exit", True)
        task = Task.async_(forever)
        assert await Task.yield_many([task], timeout=0, on_timeout="kill_task") == [(task, None)]
        assert not Process.alive(task.pid)

    async def test_ignores_on_timeout_when_configured(self) -> None:
        """test "ignores on timeout when configured" """
        done = asyncio.Event()
        task = Task.async_(wait_then, done, "ok")
        assert await Task.yield_many([task], timeout=0, on_timeout="ignore") == [(task, None)]
        assert Process.alive(task.pid)

        done.set()
        await wait_until_down(task.pid)
        assert await Task.yield_(task, timeout=0) is None

    async def test_return_exit_on_normal_exit(self) -> None:
        """test "return exit on normal exit" """
        task = Task.async_(exit_with, "normal")
        assert await Task.yield_many([task]) == [(task, Exit("normal"))]

    async def test_exits_on_noconnection(self) -> None:
        """test "exits on :noconnection" (also while it waits: at once, not at the timeout)"""
        Process.flag("trap_exit", True)
        task = await dead_task("noconnection")
        with pytest.raises(TaskExit) as info:
            await Task.yield_many([task])
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        assert info.value.call == ("Task.yield_many", ([task], 5.0))
        go = asyncio.Event()
        tasks = [Task.async_(forever), Task.async_(exit_after, go, "noconnection")]
        go.set()
        # a guard against hanging, never reached when green: with no timeout, only the lost
        # node can end this wait
        async with asyncio.timeout(20.0):
            with pytest.raises(TaskExit) as info:
                await Task.yield_many(tasks, timeout=None)
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        Process.exit(tasks[0].pid, "kill")

    async def test_raises_when_invoked_from_a_non_owner_process(self) -> None:
        """test "raises when invoked from a non-owner process" """
        task = await create_task_in_other_process()
        with pytest.raises(NotOwnerError) as info:
            await Task.yield_many([task], timeout=0.001)
        assert str(info.value) == not_owner_message(task)

    async def _three_tasks(self) -> tuple[Task[Any], Task[Any], Task[Any]]:
        """task1 has replied, task2 runs on, task3 has exited normally, in that order."""
        go3 = asyncio.Event()

        async def exit_normal_on_go() -> None:
            await go3.wait()
            raise TaskExit("normal")

        task1 = Task.async_(reply, "result")
        task2 = Task.async_(forever)
        task3 = Task.async_(exit_normal_on_go)
        await wait_until_down(task1.pid)
        go3.set()
        await wait_until_down(task3.pid)
        return task1, task2, task3

    async def test_returns_results_from_multiple_tasks(self) -> None:
        """test "returns results from multiple tasks" """
        task1, task2, task3 = await self._three_tasks()
        assert await Task.yield_many([task1, task2, task3], timeout=0) == [
            (task1, Ok("result")),
            (task2, None),
            (task3, Exit("normal")),
        ]
        assert await Task.shutdown(task2) is None

    async def test_returns_results_from_multiple_tasks_with_limit(self) -> None:
        """test "returns results from multiple tasks with limit" """
        task1, task2, task3 = await self._three_tasks()
        assert await Task.yield_many([task1, task2, task3], limit=1, timeout=None) == [
            (task1, Ok("result")),
            (task2, None),
            (task3, None),
        ]
        assert await Task.yield_many([task2, task3], limit=1, timeout=None) == [
            (task2, None),
            (task3, Exit("normal")),
        ]
        assert await Task.shutdown(task2) is None

    async def test_returns_once_all_tasks_have_replied_below_limit(self) -> None:
        """test "returns once all tasks have replied below limit" """
        task = Task.async_(reply, "done")
        async with asyncio.timeout(5.0):  # a guard against hanging, never reached when green
            result = await Task.yield_many([task], limit=2, timeout=None)
        assert result == [(task, Ok("done"))]

    async def test_returns_results_from_multiple_tasks_with_limit_and_on_timeout(self) -> None:
        """test "returns results from multiple tasks with limit and on timeout" """
        Process.flag("trap_exit", True)
        task1 = Task.async_(forever)
        task2 = Task.async_(reply, "done")

        assert await Task.yield_many(
            [task1, task2], timeout=None, on_timeout="kill_task", limit=1
        ) == [(task1, None), (task2, Ok("done"))]
        assert Process.alive(task1.pid)  # the limit was reached: no on_timeout action

        assert await Task.yield_many([task1], timeout=0, on_timeout="kill_task", limit=1) == [
            (task1, None)
        ]
        assert not Process.alive(task1.pid)

    async def test_returns_results_on_infinity_timeout(self) -> None:
        """test "returns results on infinity timeout" """
        task1 = Task.async_(reply, "result")
        task2 = Task.async_(reply, "result")
        task3 = Task.async_(exit_with, "normal")
        assert await Task.yield_many([task1, task2, task3], timeout=None) == [
            (task1, Ok("result")),
            (task2, Ok("result")),
            (task3, Exit("normal")),
        ]


# -- shutdown/2 ---------------------------------------------------------------------------


async def exit_after(event: asyncio.Event, reason: Any) -> None:
    await event.wait()
    raise TaskExit(reason)


async def dead_task(reason: Any) -> Task[Any]:
    """Elixir's ``create_dummy_task/1`` with its DOWN in the queue: a task that has exited
    with `reason` (the caller traps exits, as the dummy is not linked in Elixir)."""
    if reason == "killed":
        task = Task.async_(forever)
        await settle()
        Process.exit(task.pid, "kill")
    else:
        task = Task.async_(exit_with, reason)
    await wait_until_down(task.pid)
    return task


async def handled_task() -> Task[Any]:
    """Elixir's ``create_dummy_task(:noproc)``: a dead task whose exit was already taken."""
    task = Task.async_(exit_with, "normal")
    await wait_until_down(task.pid)
    assert await Task.yield_(task, timeout=0) == Exit("normal")
    return task


async def trapping_task(ready: asyncio.Event) -> None:
    """A task that traps exits (so exit "shutdown" does not stop it) and waits forever."""
    Process.flag("trap_exit", True)
    ready.set()
    await forever()


class TestShutdown:
    async def test_returns_ok_result_when_reply_and_normal_down_in_message_queue(self) -> None:
        """test "returns {:ok, result} when reply and normal :DOWN in message queue" """
        task = Task.async_(reply, "result")
        await wait_until_down(task.pid)
        assert await Task.shutdown(task) == Ok("result")
        assert await Task.yield_(task, timeout=0) is None

    async def test_returns_nil_on_shutting_down_task(self) -> None:
        """test "returns nil on shutting down task" """
        task = Task.async_(forever)
        assert await Task.shutdown(task) is None
        assert not Process.alive(task.pid)

    async def test_exits_on_noconnection_down_in_message_queue(self) -> None:
        """test "exits on noconnection :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("noconnection")
        with pytest.raises(TaskExit) as info:
            await Task.shutdown(task)
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        assert info.value.call == ("Task.shutdown", (task, 5.0))

    async def test_returns_exit_on_abnormal_down_in_message_queue(self) -> None:
        """test "returns exit on abnormal :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("abnormal")
        assert await Task.shutdown(task) == Exit("abnormal")

    async def test_returns_exit_on_normal_down_in_message_queue(self) -> None:
        """test "returns exit on normal :DOWN in message queue" """
        task = await dead_task("normal")
        assert await Task.shutdown(task) == Exit("normal")

    async def test_returns_nil_on_shutdown_down_in_message_queue(self) -> None:
        """test "returns nil on shutdown :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("shutdown")
        assert await Task.shutdown(task) is None

    async def test_returns_exit_on_killed_down_in_message_queue(self) -> None:
        """test "returns exit on killed :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("killed")
        assert await Task.shutdown(task) == Exit("killed")

    async def test_ignores_if_task_pid_is_nil(self) -> None:
        """test "ignores if task PID is nil" """
        assert await Task.shutdown(Task.completed("done")) == Ok("done")

    async def test_raises_when_invoked_from_a_non_owner_process(self) -> None:
        """test "raises when invoked from a non-owner process" """
        task = await create_task_in_other_process()
        with pytest.raises(NotOwnerError) as info:
            await Task.shutdown(task)
        assert str(info.value) == not_owner_message(task)

    async def test_returns_nil_on_killing_task(self) -> None:
        """test "returns nil on killing task" """
        ready = asyncio.Event()
        task = Task.async_(trapping_task, ready)
        await ready.wait()
        assert await Task.shutdown(task, "brutal_kill") is None
        assert not Process.alive(task.pid)
        assert await Task.yield_(task, timeout=0) is None  # no exit left behind

    async def test_returns_exit_noproc_if_task_handled(self) -> None:
        """test "returns {:exit, :noproc} if task handled" """
        task = await handled_task()
        assert await Task.shutdown(task) == Exit("noproc")


class TestShutdownWithBrutalKill:
    async def test_returns_ok_result_when_reply_and_normal_down_in_message_queue(self) -> None:
        """test "returns {:ok, result} when reply and normal :DOWN in message queue" """
        task = Task.async_(reply, "result")
        await wait_until_down(task.pid)
        assert await Task.shutdown(task, "brutal_kill") == Ok("result")
        assert await Task.yield_(task, timeout=0) is None

    async def test_returns_nil_on_killed_down_in_message_queue(self) -> None:
        """test "returns nil on killed :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("killed")
        assert await Task.shutdown(task, "brutal_kill") is None

    async def test_exits_on_noconnection_down_in_message_queue(self) -> None:
        """test "exits on noconnection :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("noconnection")
        with pytest.raises(TaskExit) as info:
            await Task.shutdown(task, "brutal_kill")
        assert info.value.reason == ("nodedown", LOCAL_NODE)
        assert info.value.call == ("Task.shutdown", (task, "brutal_kill"))

    async def test_returns_exit_on_abnormal_down_in_message_queue(self) -> None:
        """test "returns exit on abnormal :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("abnormal")
        assert await Task.shutdown(task, "brutal_kill") == Exit("abnormal")

    async def test_returns_exit_on_normal_down_in_message_queue(self) -> None:
        """test "returns exit on normal :DOWN in message queue" """
        task = await dead_task("normal")
        assert await Task.shutdown(task, "brutal_kill") == Exit("normal")

    async def test_returns_exit_on_shutdown_down_in_message_queue(self) -> None:
        """test "returns exit on shutdown :DOWN in message queue" """
        Process.flag("trap_exit", True)
        task = await dead_task("shutdown")
        assert await Task.shutdown(task, "brutal_kill") == Exit("shutdown")

    async def test_returns_exit_on_killing_task_after_shutdown_timeout(self) -> None:
        """test "returns exit on killing task after shutdown timeout" """
        ready = asyncio.Event()
        task = Task.async_(trapping_task, ready)
        await ready.wait()
        assert await Task.shutdown(task, 0.01) == Exit("killed")
        assert not Process.alive(task.pid)

    async def test_returns_exit_noproc_if_task_handled(self) -> None:
        """test "returns {:exit, :noproc} if task handled" """
        task = await handled_task()
        assert await Task.shutdown(task, "brutal_kill") == Exit("noproc")


# -- async_stream/2 -----------------------------------------------------------------------


class TestAsyncStream:
    async def test_timeout(self) -> None:
        """test "timeout" """
        sleeper = Sleeper()
        stream = Task.async_stream([math.inf], sleeper.sleep, timeout=0)
        with pytest.raises(TaskTimeout) as info:
            await to_list(stream)
        assert info.value.reason == "timeout"
        assert info.value.call == ("Task.async_stream", (0,))
        assert sleeper.all_dead()

    async def test_streams_an_enumerable_with_ordered_false(self) -> None:
        """test "streams an enumerable with ordered: false" """
        sleeper = Sleeper()
        stream = Task.async_stream([4, 3, 2, 1], sleeper.sleep, max_concurrency=1, ordered=False)
        assert await to_list(stream) == [Ok(4), Ok(3), Ok(2), Ok(1)]

        sleeper = Sleeper()
        stream = Task.async_stream([4, 3, 2, 1], sleeper.sleep, max_concurrency=4, ordered=False)
        assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]

    async def test_streams_an_enumerable_with_ordered_false_on_timeout_kill_task(self) -> None:
        """test "streams an enumerable with ordered: false, on_timeout: :kill_task" """
        sleeper = Sleeper()
        stream = Task.async_stream(
            [100, 1, 100, 1],
            sleeper.stall,
            max_concurrency=4,
            ordered=False,
            on_timeout="kill_task",
            timeout=0.05,
        )
        assert await to_list(stream) == [Ok(1), Ok(1), Exit("timeout"), Exit("timeout")]
        assert sleeper.all_dead()

    async def test_streams_an_enumerable_with_infinite_timeout(self) -> None:
        """test "streams an enumerable with infinite timeout" """

        async def ok(_: Any) -> str:
            return "ok"

        assert await to_list(Task.async_stream([1], ok, timeout=None)) == [Ok("ok")]

    def test_does_not_allow_streaming_with_max_concurrency_0(self) -> None:
        """test "does not allow streaming with max_concurrency = 0" """
        with pytest.raises(ValueError, match="max_concurrency"):
            Task.async_stream([1], identity, max_concurrency=0)

    def test_does_not_allow_streaming_with_invalid_on_timeout(self) -> None:
        """test "does not allow streaming with invalid :on_timeout" """
        with pytest.raises(ValueError, match="on_timeout"):
            Task.async_stream([1], identity, on_timeout="unknown")  # type: ignore[arg-type]

    def test_does_not_allow_streaming_with_invalid_timeout(self) -> None:
        """test "does not allow streaming with invalid :timeout" """
        with pytest.raises(TypeError, match="timeout"):
            Task.async_stream([1], identity, timeout="unknown")  # type: ignore[arg-type]

    async def test_with_callers(self) -> None:
        """test "with $callers" """
        grandparent = Process.self()
        mailbox = Mailbox()

        async def outer(_: int) -> None:
            parent = Process.self()
            mailbox.send(("outer", Process.callers()))

            async def inner(_: int) -> None:
                mailbox.send(("inner", Process.callers(), parent))

            await to_list(Task.async_stream([1], inner))

        await to_list(Task.async_stream([1], outer))
        assert await mailbox.receive() == ("outer", [grandparent])
        tag, callers, parent = await mailbox.receive()
        assert tag == "inner"
        assert callers == [parent, grandparent]

    async def test_consuming_from_another_process(self) -> None:
        """test "consuming from another process" """
        parent = Mailbox()

        async def send(x: int) -> None:
            parent.send(x)

        async def run(stream: Any) -> None:
            await to_list(stream)

        stream = Task.async_stream([1, 2, 3], send)
        pid = Task.start(run, stream)
        got = {await parent.receive() for _ in range(3)}
        assert got == {1, 2, 3}
        await wait_until_down(pid)

    async def test_wrapping_a_flat_map_concat_with_a_haltable_stream(self) -> None:
        """test "wrapping a flat_map/concat with a haltable stream" """
        items = itertools.chain(itertools.islice(["foo", "bar"], 1), [1, 2])
        assert await to_list(Task.async_stream(items, identity)) == [Ok("foo"), Ok(1), Ok(2)]


@pytest.mark.parametrize("concurrency", [4, 2, 8], ids=["==", "<", ">"])
class TestAsyncStreamWithMaxConcurrency:
    """describe "async_stream with max_concurrency #{desc} tasks" for ==: 4, <: 2, >: 8."""

    async def test_streams_an_enumerable_with_fun(self, concurrency: int) -> None:
        """test "streams an enumerable with fun" """
        sleeper = Sleeper()
        stream = Task.async_stream(range(1, 5), sleeper.sleep, max_concurrency=concurrency)
        assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]

    async def test_streams_an_enumerable_without_leaking_tasks(self, concurrency: int) -> None:
        """test "streams an enumerable without leaking tasks" """
        Process.flag("trap_exit", True)  # only to see any exit signal that would reach us
        sleeper = Sleeper()
        stream = Task.async_stream(range(1, 5), sleeper.sleep, max_concurrency=concurrency)
        assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]
        assert sleeper.all_dead()
        assert await Process.receive_exit(timeout=0) is None

    async def test_streams_an_enumerable_with_slowest_first(self, concurrency: int) -> None:
        """test "streams an enumerable with slowest first" """
        Process.flag("trap_exit", True)
        sleeper = Sleeper()
        stream = Task.async_stream(range(4, 0, -1), sleeper.sleep, max_concurrency=concurrency)
        assert await to_list(stream) == [Ok(4), Ok(3), Ok(2), Ok(1)]

    async def test_streams_an_enumerable_with_exits(self, concurrency: int) -> None:
        """test "streams an enumerable with exits" """
        Process.flag("trap_exit", True)
        sleeper = Sleeper()
        stream = Task.async_stream(range(1, 5), sleeper.exit, max_concurrency=concurrency)
        assert await to_list(stream) == [Exit(1), Exit(2), Exit(3), Exit(4)]
        assert await Process.receive_exit(timeout=0) is None

    async def test_shuts_down_unused_tasks(self, concurrency: int) -> None:
        """test "shuts down unused tasks" """
        sleeper = Sleeper()
        stream = Task.async_stream(
            [0, math.inf, math.inf, math.inf], sleeper.sleep, max_concurrency=concurrency
        )
        assert await take(stream, 1) == [Ok(0)]
        assert sleeper.all_dead()

    async def test_shuts_down_unused_tasks_without_leaking_messages(self, concurrency: int) -> None:
        """test "shuts down unused tasks without leaking messages" """
        Process.flag("trap_exit", True)  # a leaked exit signal would be kept here
        sleeper = Sleeper()
        stream = Task.async_stream(
            [0, math.inf, math.inf, math.inf], sleeper.sleep, max_concurrency=concurrency
        )
        assert await take(stream, 1) == [Ok(0)]
        await settle()
        assert await Process.receive_exit(timeout=0) is None

    async def test_is_zippable_on_success(self, concurrency: int) -> None:
        """test "is zippable on success" """
        left, right = Sleeper(), Sleeper()
        assert await zip_elem1(
            Task.async_stream(range(1, 5), left.sleep, max_concurrency=concurrency),
            Task.async_stream(range(1, 5), right.sleep, max_concurrency=concurrency),
        ) == [(1, 1), (2, 2), (3, 3), (4, 4)]

    async def test_is_zippable_on_failure(self, concurrency: int) -> None:
        """test "is zippable on failure" """
        Process.flag("trap_exit", True)
        left, right = Sleeper(), Sleeper()
        assert await zip_elem1(
            Task.async_stream(range(1, 5), left.exit, max_concurrency=concurrency),
            Task.async_stream(range(1, 5), right.exit, max_concurrency=concurrency),
        ) == [(1, 1), (2, 2), (3, 3), (4, 4)]

    async def test_is_zippable_with_slowest_first(self, concurrency: int) -> None:
        """test "is zippable with slowest first" """
        left, right = Sleeper(), Sleeper()
        assert await zip_elem1(
            Task.async_stream(range(4, 0, -1), left.sleep, max_concurrency=concurrency),
            Task.async_stream(range(4, 0, -1), right.sleep, max_concurrency=concurrency),
        ) == [(4, 4), (3, 3), (2, 2), (1, 1)]

    async def test_with_inner_halt_on_success(self, concurrency: int) -> None:
        """test "with inner halt on success" """
        sleeper = Sleeper()
        items = itertools.islice(range(1, 9), 4)
        stream = Task.async_stream(items, sleeper.sleep, max_concurrency=concurrency)
        assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]

    async def test_with_inner_halt_on_failure(self, concurrency: int) -> None:
        """test "with inner halt on failure" """
        Process.flag("trap_exit", True)
        sleeper = Sleeper()
        items = itertools.islice(range(1, 9), 4)
        stream = Task.async_stream(items, sleeper.exit, max_concurrency=concurrency)
        assert await to_list(stream) == [Exit(1), Exit(2), Exit(3), Exit(4)]

    async def test_with_inner_halt_and_slowest_first(self, concurrency: int) -> None:
        """test "with inner halt and slowest first" """
        sleeper = Sleeper()
        items = itertools.islice(range(8, 0, -1), 4)
        stream = Task.async_stream(items, sleeper.sleep, max_concurrency=concurrency)
        assert await to_list(stream) == [Ok(8), Ok(7), Ok(6), Ok(5)]

    async def test_with_outer_halt_on_success(self, concurrency: int) -> None:
        """test "with outer halt on success" """
        sleeper = Sleeper()
        stream = Task.async_stream(range(1, 9), sleeper.sleep, max_concurrency=concurrency)
        assert await take(stream, 4) == [Ok(1), Ok(2), Ok(3), Ok(4)]
        assert sleeper.all_dead()

    async def test_with_outer_halt_on_failure(self, concurrency: int) -> None:
        """test "with outer halt on failure" """
        Process.flag("trap_exit", True)
        sleeper = Sleeper()
        stream = Task.async_stream(range(1, 9), sleeper.exit, max_concurrency=concurrency)
        assert await take(stream, 4) == [Exit(1), Exit(2), Exit(3), Exit(4)]
        assert sleeper.all_dead()

    async def test_with_outer_halt_and_slowest_first(self, concurrency: int) -> None:
        """test "with outer halt and slowest first" """
        sleeper = Sleeper()
        stream = Task.async_stream(range(8, 0, -1), sleeper.sleep, max_concurrency=concurrency)
        assert await take(stream, 4) == [Ok(8), Ok(7), Ok(6), Ok(5)]
        assert sleeper.all_dead()

    async def test_terminates_inner_effect(self, concurrency: int) -> None:
        """test "terminates inner effect" """
        sleeper = Sleeper()
        terminated: list[bool] = []

        async def transform(results: AsyncIterable[Any]) -> AsyncIterator[Any]:
            try:
                async for r in results:
                    yield r
            finally:
                terminated.append(True)

        stream = Task.async_stream(range(1, 5), sleeper.sleep, max_concurrency=concurrency)
        assert await to_list(transform(stream)) == [Ok(1), Ok(2), Ok(3), Ok(4)]
        assert terminated == [True]

    async def test_terminates_outer_effect(self, concurrency: int) -> None:
        """test "terminates outer effect" """
        sleeper = Sleeper()
        terminated: list[bool] = []

        async def items() -> AsyncIterator[int]:
            try:
                for i in range(1, 5):
                    yield i
            finally:
                terminated.append(True)

        stream = Task.async_stream(items(), sleeper.sleep, max_concurrency=concurrency)
        assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]
        assert terminated == [True]

    async def test_with_on_timeout_set_to_kill_task(self, concurrency: int) -> None:
        """test "with :on_timeout set to :kill_task" """
        sleeper = Sleeper()
        stream = Task.async_stream(
            [100, 1, 100, 1],
            sleeper.stall,
            max_concurrency=concurrency,
            on_timeout="kill_task",
            timeout=0.05,
        )
        assert await to_list(stream) == [Exit("timeout"), Ok(1), Exit("timeout"), Ok(1)]
        assert sleeper.all_dead()

    async def test_with_timeout_and_zip_input_on_exit_set_to_true(self, concurrency: int) -> None:
        """test "with timeout and :zip_input_on_exit set to true" """
        sleeper = Sleeper()
        stream = Task.async_stream(
            [1, 100],
            sleeper.stall,
            max_concurrency=concurrency,
            zip_input_on_exit=True,
            on_timeout="kill_task",
            timeout=0.05,
        )
        assert await to_list(stream) == [Ok(1), Exit((100, "timeout"))]

    async def test_with_outer_halt_on_failure_and_zip_input_on_exit(self, concurrency: int) -> None:
        """test "with outer halt on failure and :zip_input_on_exit" """
        Process.flag("trap_exit", True)
        sleeper = Sleeper()
        stream = Task.async_stream(
            range(1, 9), sleeper.exit, max_concurrency=concurrency, zip_input_on_exit=True
        )
        assert await take(stream, 4) == [Exit((1, 1)), Exit((2, 2)), Exit((3, 3)), Exit((4, 4))]


# -- default :logger reporter -------------------------------------------------------------


async def task(parent: Pid, go: asyncio.Event) -> None:
    """Elixir's ``TaskTest.task/1``: leave the parent, wait for go, then crash."""
    Process.unlink(parent)
    await go.wait()
    raise RuntimeError("oops")


class TestDefaultLoggerReporter:
    async def test_logs_a_terminated_task(self, caplog_taskvisor: pytest.LogCaptureFixture) -> None:
        """test "logs a terminated task" """
        parent = Process.self()
        go = asyncio.Event()
        pid = Task.start_link(task, parent, go)
        go.set()
        await wait_until_down(pid)

        records = [r for r in caplog_taskvisor.records if r.name == "taskvisor"]
        assert len(records) == 1
        record = records[0]
        assert record.levelno == logging.ERROR
        message = record.getMessage()
        assert message.startswith(
            f"Task {pid!r} started from {parent!r} terminating\n** (RuntimeError) oops\n"
        )
        assert "Traceback (most recent call last):" in message
        assert message.endswith(f"Function: {__name__}.task\n    Args: {[parent, go]!r}")

        assert record.task_pid == pid  # type: ignore[attr-defined]
        assert record.starter == parent  # type: ignore[attr-defined]
        assert record.function == f"{__name__}.task"  # type: ignore[attr-defined]
        assert record.task_args == (parent, go)  # type: ignore[attr-defined]
        assert isinstance(record.reason, RuntimeError)  # type: ignore[attr-defined]
        assert str(record.reason) == "oops"  # type: ignore[attr-defined]
        assert record.callers == [parent]  # type: ignore[attr-defined]
        assert "RuntimeError: oops" in record.traceback  # type: ignore[attr-defined]
        assert record.crash_report.task_pid == pid  # type: ignore[attr-defined]
