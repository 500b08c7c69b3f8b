"""Elixir's ``lib/elixir/test/elixir/task/supervisor_test.exs``, ported to taskvisor.

One test per Elixir test that has a Python meaning, in one class per Elixir ``describe``
(top-level tests in `TestTaskSupervisor`), each named after the Elixir test and quoting its
name in the docstring. The skipped ones are listed, with the reason, in ``tests/README.md``.
`TestSpecRules` is not from Elixir's file: it checks rules of the spec
(``elixir-task-spec.md`` §4 to §6) that the Elixir tests leave to other files.

Elixir's ``setup`` starts a supervisor linked to the test process; here each test starts
its own with ``async with TaskSupervisor() as sup`` (the supervisor needs the test's event
loop), which also stops it, children first, when the test ends. What Elixir reads from the
mailbox is read from what a Python user can observe: return values, exceptions, exit signals
kept by a process that traps exits (`Process.receive_exit`; linking to a pid while trapping
stands for Elixir's ``Process.monitor``), ``children``/``which_children`` and log records.
No test waits for time to pass except to let a real timeout fire (a task that never ends).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from typing import Any

import pytest

from support import (
    SAFETY,
    Mailbox,
    Sleeper,
    crash,
    exit_with,
    forever,
    next_exit,
    reply,
    settle,
    take,
    to_list,
    wait_and_send,
    wait_then,
    wait_until_down,
)
from taskvisor import (
    ChildInfo,
    Exit,
    MaxChildrenError,
    Ok,
    Pid,
    Process,
    Supervisor,
    Task,
    TaskExit,
    TaskSupervisor,
    TaskTimeout,
)

MAX_CHILDREN = "reached the maximum number of tasks"

Caplog = pytest.LogCaptureFixture


async def exit_str(n: int) -> None:
    """``&yield_and_exit(Integer.to_string(&1))``: exit with the item as a string."""
    await asyncio.sleep(0)
    raise TaskExit(str(n))


async def identity(x: Any) -> Any:
    return x


def reports(caplog: Caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "taskvisor" and r.levelno >= logging.ERROR]


# -- top-level tests ----------------------------------------------------------------------


class TestTaskSupervisor:
    async def test_can_be_supervised_directly(self) -> None:
        """test "can be supervised directly" """
        name = "test can be supervised directly"
        tree = await Supervisor.start_link(
            [TaskSupervisor.child_spec(name)], strategy="one_for_one"
        )
        try:
            assert TaskSupervisor.children(name) == []  # Process.whereis(config.test)
        finally:
            await tree.stop()

    async def test_multiple_supervisors_can_be_supervised_and_identified_with_simple_child_spec(
        self,
    ) -> None:
        """test "multiple supervisors can be supervised and identified with simple child spec"
        (names are any hashable: no ``{:global, _}``/``{:via, _, _}``; a static `Supervisor`
        has no start_child, so the unnamed one is in the list, and a second unnamed one is
        refused for its id when the tree is built, as Elixir's ``{:already_started, _}``)"""
        names: list[Any] = ["simple_name", ("tuple", "name")]
        specs = [TaskSupervisor.child_spec(name) for name in names]
        unnamed = TaskSupervisor.child_spec()
        assert [spec.id for spec in specs] == names
        assert unnamed.id is TaskSupervisor

        tree = await Supervisor.start_link([*specs, unnamed], strategy="one_for_one")
        try:
            for name in names:
                assert TaskSupervisor.children(name) == []
            [no_name_dynsup] = [c.pid for c in tree.which_children() if c.id is TaskSupervisor]
            assert isinstance(no_name_dynsup, Pid)
        finally:
            await tree.stop()

        with pytest.raises(ValueError, match="id"):
            await Supervisor.start_link([unnamed, TaskSupervisor.child_spec()])

    async def test_counts_and_returns_children(self) -> None:
        """test "counts and returns children" """
        async with TaskSupervisor() as sup:
            assert TaskSupervisor.children(sup) == []
            assert TaskSupervisor.count_children(sup) == {
                "active": 0,
                "specs": 0,
                "supervisors": 0,
                "workers": 0,
            }
            assert TaskSupervisor.which_children(sup) == []

    async def test_async_3(self) -> None:
        """test "async/3" """
        parent = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_(sup, wait_and_send, parent, go, "done")
            assert TaskSupervisor.children(sup) == [task.pid]

            assert await parent.receive() == "ready"
            assert task.fn is wait_and_send
            assert task.mfa == ("support", "wait_and_send", 3)  # the module that defines it

            go.set()
            assert isinstance(task, Task)
            assert await Task.await_(task) == "done"

    async def test_async_nolink_3(self) -> None:
        """test "async_nolink/3" """
        parent = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_nolink(sup, wait_and_send, parent, go, "done")
            assert TaskSupervisor.children(sup) == [task.pid]

            assert await parent.receive() == "ready"
            assert task.mfa == ("support", "wait_and_send", 3)  # the module that defines it

            go.set()
            assert isinstance(task, Task)
            assert await Task.await_(task) == "done"

    async def test_start_child_1(self) -> None:
        """test "start_child/1" """
        parent = Mailbox()
        go = asyncio.Event()

        async def fun() -> None:
            await wait_and_send(parent, go, "done")

        Process.flag("trap_exit", True)  # only to see that no link signal comes
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(sup, fun)
            assert isinstance(pid, Pid)
            assert TaskSupervisor.children(sup) == [pid]

            assert await parent.receive() == "ready"
            # the initial call, as which_children reports it
            assert TaskSupervisor.which_children(sup) == [ChildInfo(None, pid, "worker", [fun])]

            go.set()
            assert await parent.receive() == "done"
            await wait_until_down(pid)
            assert await Process.receive_exit(timeout=0) is None  # not linked to the caller

    async def test_start_child_3(self) -> None:
        """test "start_child/3" """
        parent = Mailbox()
        go = asyncio.Event()
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(sup, wait_and_send, parent, go, "done")
            assert TaskSupervisor.children(sup) == [pid]

            assert await parent.receive() == "ready"
            assert TaskSupervisor.which_children(sup) == [
                ChildInfo(None, pid, "worker", [wait_and_send])
            ]

            go.set()
            assert await parent.receive() == "done"
            await wait_until_down(pid)
            assert await Process.receive_exit(timeout=0) is None

    async def test_start_child_1_with_custom_shutdown(self) -> None:
        """test "start_child/1 with custom shutdown" """
        Process.flag("trap_exit", True)
        parent = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(
                sup, wait_and_send, parent, go, "done", shutdown="brutal_kill"
            )
            assert await parent.receive() == "ready"
            Process.link(pid)  # Elixir's Process.monitor(pid)
            Process.exit(sup.pid, "shutdown")
            assert await next_exit() == (pid, "killed")
            assert await next_exit() == (sup.pid, "shutdown")

    async def test_start_child_1_with_custom_restart(self) -> None:
        """test "start_child/1 with custom restart" """
        parent = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(
                sup, wait_and_send, parent, go, "done", restart="permanent"
            )
            assert await parent.receive() == "ready"
            Process.flag("trap_exit", True)
            Process.link(pid)  # Elixir's Process.monitor(pid)
            Process.exit(pid, "shutdown")
            assert await next_exit() == (pid, "shutdown")
            assert await parent.receive() == "ready"  # it runs again
            [new_pid] = TaskSupervisor.children(sup)
            assert new_pid != pid

    async def test_start_child_1_with_callers(self) -> None:
        """test "start_child/1 with $callers" """
        mailbox = Mailbox()
        async with TaskSupervisor() as sup:
            grandparent = Process.self()

            async def outer() -> None:
                parent = Process.self()
                mailbox.send(("outer", Process.callers(), Process.ancestors()))

                async def inner() -> None:
                    mailbox.send(("inner", parent, Process.callers(), Process.ancestors()))

                TaskSupervisor.start_child(sup, inner)

            TaskSupervisor.start_child(sup, outer)
            assert await mailbox.receive() == ("outer", [grandparent], [sup.pid, grandparent])
            _, parent, callers, ancestors = await mailbox.receive()
            assert callers == [parent, grandparent]
            assert ancestors == [sup.pid, grandparent]

    async def test_terminate_child_2(self) -> None:
        """test "terminate_child/2" """
        parent = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(sup, wait_and_send, parent, go, "done")
            assert TaskSupervisor.children(sup) == [pid]
            assert await TaskSupervisor.terminate_child(sup, pid) is None
            assert TaskSupervisor.children(sup) == []
            assert not Process.alive(pid)
            with pytest.raises(LookupError):  # Elixir's {:error, :not_found}
                await TaskSupervisor.terminate_child(sup, pid)


# -- async/1 ------------------------------------------------------------------------------


class TestAsync:
    async def test_spawns_tasks_under_the_supervisor(self) -> None:
        """test "spawns tasks under the supervisor" """
        parent = Mailbox()
        go = asyncio.Event()

        async def fun() -> Any:
            return await wait_and_send(parent, go, "done")

        Process.flag("trap_exit", True)  # only to observe the link when the task exits
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_(sup, fun)
            assert TaskSupervisor.children(sup) == [task.pid]

            assert isinstance(task, Task)
            assert isinstance(task.pid, Pid)
            assert task.owner == Process.self()
            assert task.fn is fun
            assert task.mfa[2] == 0

            assert await parent.receive() == "ready"
            go.set()
            assert await Task.await_(task) == "done"
            assert await parent.receive() == "done"
            await wait_until_down(task.pid)
            # the link: the trapping caller gets the exit of the task linked to it
            assert await Process.receive_exit(timeout=0) == (task.pid, "normal")

    async def test_with_custom_shutdown(self) -> None:
        """test "with custom shutdown" """
        Process.flag("trap_exit", True)
        parent = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_(
                sup, wait_and_send, parent, go, "done", shutdown="brutal_kill"
            )
            assert await parent.receive() == "ready"
            Process.exit(sup.pid, "shutdown")
            assert await Task.yield_(task, SAFETY) == Exit("killed")  # the DOWN
            # the task is stopped first (the caller is linked to it), then the supervisor
            assert await next_exit() == (task.pid, "killed")
            assert await next_exit() == (sup.pid, "shutdown")

    async def test_raises_when_max_children_is_reached(self) -> None:
        """test "raises when :max_children is reached" """
        Process.flag("trap_exit", True)  # the running task is stopped with the supervisor
        async with TaskSupervisor(max_children=1) as sup:
            TaskSupervisor.async_(sup, forever)
            with pytest.raises(MaxChildrenError, match=MAX_CHILDREN):
                TaskSupervisor.async_(sup, reply, "ok")

    async def test_with_callers(self) -> None:
        """test "with $callers" """
        async with TaskSupervisor() as sup:
            grandparent = Process.self()

            async def outer() -> tuple[Any, ...]:
                parent = Process.self()

                async def inner() -> tuple[list[Pid], list[Pid]]:
                    return Process.callers(), Process.ancestors()

                inner_seen = await Task.await_(TaskSupervisor.async_(sup, inner))
                return parent, Process.callers(), Process.ancestors(), inner_seen

            parent, callers, ancestors, inner_seen = await Task.await_(
                TaskSupervisor.async_(sup, outer)
            )
            assert callers == [grandparent]
            assert ancestors == [sup.pid, grandparent]
            assert inner_seen == ([parent, grandparent], [sup.pid, grandparent])


# -- async_nolink/1 -----------------------------------------------------------------------


class TestAsyncNolink:
    async def test_spawns_a_task_under_the_supervisor_without_linking_to_the_caller(
        self,
    ) -> None:
        """test "spawns a task under the supervisor without linking to the caller" """
        parent = Mailbox()
        go = asyncio.Event()

        async def fun() -> Any:
            return await wait_and_send(parent, go, "done")

        Process.flag("trap_exit", True)  # only to see that no link signal comes
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_nolink(sup, fun)
            assert TaskSupervisor.children(sup) == [task.pid]

            assert isinstance(task, Task)
            assert isinstance(task.pid, Pid)
            assert task.owner == Process.self()
            assert task.fn is fun
            assert task.mfa[2] == 0

            assert await parent.receive() == "ready"
            go.set()
            assert await Task.await_(task) == "done"
            assert await parent.receive() == "done"
            await wait_until_down(task.pid)
            assert await Process.receive_exit(timeout=0) is None  # no link

    async def test_with_custom_shutdown(self) -> None:
        """test "with custom shutdown" """
        Process.flag("trap_exit", True)
        parent = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_nolink(
                sup, wait_and_send, parent, go, "done", shutdown="brutal_kill"
            )
            assert await parent.receive() == "ready"
            Process.exit(sup.pid, "shutdown")
            assert await Task.yield_(task, SAFETY) == Exit("killed")  # the DOWN
            assert await next_exit() == (sup.pid, "shutdown")  # and nothing from the task
            assert await Process.receive_exit(timeout=0) is None

    async def test_raises_when_max_children_is_reached(self) -> None:
        """test "raises when :max_children is reached" """
        async with TaskSupervisor(max_children=1) as sup:
            TaskSupervisor.async_nolink(sup, forever)
            with pytest.raises(MaxChildrenError, match=MAX_CHILDREN):
                TaskSupervisor.async_nolink(sup, reply, "ok")


# -- await/1 ------------------------------------------------------------------------------


class TestAwait:
    async def test_demonitors_and_unalias_on_timeout(self) -> None:
        """test "demonitors and unalias on timeout" """
        go = asyncio.Event()
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_(sup, wait_then, go, "done")
            with pytest.raises(TaskTimeout) as info:
                await Task.await_(task, timeout=0)
            assert info.value.reason == "timeout"
            assert info.value.call == ("Task.await_", (task, 0))
            assert Process.alive(task.pid)

            go.set()
            await wait_until_down(task.pid)
            # the late reply and the exit were dropped: nothing is left to collect
            assert await Task.yield_(task, timeout=0) is None

    async def test_exits_on_task_error(self) -> None:
        """test "exits on task error" """
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_(sup, crash, "oops")
            with pytest.raises(TaskExit) as info:
                await Task.await_(task)
            assert isinstance(info.value.reason, RuntimeError)
            assert str(info.value.reason) == "oops"
            assert info.value.call == ("Task.await_", (task, 5.0))

    async def test_exits_on_task_exit(self) -> None:
        """test "exits on task exit" """
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_(sup, exit_with, "unknown")
            with pytest.raises(TaskExit) as info:
                await Task.await_(task)
            assert info.value.reason == "unknown"
            assert info.value.call == ("Task.await_", (task, 5.0))


# -- async_stream -------------------------------------------------------------------------


class TestAsyncStream:
    """describe "async_stream" (``@opts []``: the default max_concurrency)."""

    async def test_streams_an_enumerable_with_fun(self) -> None:
        """test "streams an enumerable with fun" """
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream(sup, range(1, 5), sleeper.sleep)
            assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]

    async def test_streams_an_enumerable_without_leaking_tasks(self) -> None:
        """test "streams an enumerable without leaking tasks" """
        Process.flag("trap_exit", True)  # a leaked exit signal would be kept here
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream(sup, range(1, 5), sleeper.sleep)
            assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]
            assert sleeper.all_dead()
            assert TaskSupervisor.children(sup) == []
            assert await Process.receive_exit(timeout=0) is None

    async def test_streams_an_enumerable_with_slowest_first(self) -> None:
        """test "streams an enumerable with slowest first" """
        Process.flag("trap_exit", True)
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream(sup, range(4, 0, -1), sleeper.sleep)
            assert await to_list(stream) == [Ok(4), Ok(3), Ok(2), Ok(1)]

    async def test_streams_an_enumerable_with_exits(self) -> None:
        """test "streams an enumerable with exits" """
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream(sup, range(1, 5), exit_str)
            assert await to_list(stream) == [Exit("1"), Exit("2"), Exit("3"), Exit("4")]

    async def test_shuts_down_unused_tasks(self) -> None:
        """test "shuts down unused tasks" """
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            items = [0, math.inf, math.inf, math.inf]
            stream = TaskSupervisor.async_stream(sup, items, sleeper.sleep)
            assert await take(stream, 1) == [Ok(0)]
            # Elixir: the caller's only link left is to the supervisor
            assert sleeper.all_dead()
            assert TaskSupervisor.children(sup) == []

    async def test_shuts_down_unused_tasks_without_leaking_messages(self) -> None:
        """test "shuts down unused tasks without leaking messages" """
        Process.flag("trap_exit", True)  # a leaked exit signal would be kept here
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            items = [0, math.inf, math.inf, math.inf]
            stream = TaskSupervisor.async_stream(sup, items, sleeper.sleep)
            assert await take(stream, 1) == [Ok(0)]
            await settle()
            assert await Process.receive_exit(timeout=0) is None

    async def test_raises_an_error_if_max_children_is_reached_with_clean_stream_shutdown(
        self,
    ) -> None:
        """test "raises an error if :max_children is reached with clean stream shutdown" """
        Process.flag("trap_exit", True)  # a leaked exit signal would be kept here
        sleeper = Sleeper()
        async with TaskSupervisor(max_children=1) as sup:
            items = [math.inf, math.inf, math.inf]
            stream = TaskSupervisor.async_stream(sup, items, sleeper.sleep, max_concurrency=2)
            with pytest.raises(MaxChildrenError, match=MAX_CHILDREN) as info:
                await to_list(stream)
            assert "max_concurrency" in str(info.value)  # the stream variant of the message
            # the stream was closed before the error: its task is gone, nothing leaked
            assert TaskSupervisor.children(sup) == []
            assert not any(Process.alive(pid) for pid in sleeper.pids)
            await settle()
            assert await Process.receive_exit(timeout=0) is None

    async def test_with_callers(self) -> None:
        """test "with $callers" """
        mailbox = Mailbox()
        async with TaskSupervisor() as sup:
            grandparent = Process.self()

            async def outer(_: int) -> None:
                parent = Process.self()
                mailbox.send(("outer", Process.callers(), Process.ancestors()))

                async def inner(_: int) -> None:
                    mailbox.send(("inner", parent, Process.callers(), Process.ancestors()))

                await to_list(TaskSupervisor.async_stream(sup, [1], inner))

            await to_list(TaskSupervisor.async_stream(sup, [1], outer))
            assert await mailbox.receive() == ("outer", [grandparent], [sup.pid, grandparent])
            _, parent, callers, ancestors = await mailbox.receive()
            assert callers == [parent, grandparent]
            assert ancestors == [sup.pid, grandparent]

    async def test_consuming_from_another_process(self) -> None:
        """test "consuming from another process" """
        parent = Mailbox()

        async def send(x: int) -> None:
            parent.send(x)

        async def run(stream: Any) -> None:
            await to_list(stream)

        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream(sup, [1, 2, 3], send)
            pid = Task.start(run, stream)
            assert {await parent.receive() for _ in range(3)} == {1, 2, 3}
            await wait_until_down(pid)

    async def test_with_timeout_and_zip_input_on_exit_set_to_true(self) -> None:
        """test "with timeout and :zip_input_on_exit set to true" """
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream(
                sup,
                [1, 100],
                sleeper.stall,
                zip_input_on_exit=True,
                on_timeout="kill_task",
                timeout=0.05,
            )
            assert await to_list(stream) == [Ok(1), Exit((100, "timeout"))]

    async def test_with_outer_halt_on_failure_and_zip_input_on_exit(self) -> None:
        """test "with outer halt on failure and :zip_input_on_exit" """
        Process.flag("trap_exit", True)
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream(
                sup, range(1, 9), sleeper.exit, zip_input_on_exit=True
            )
            assert await take(stream, 4) == [
                Exit((1, 1)),
                Exit((2, 2)),
                Exit((3, 3)),
                Exit((4, 4)),
            ]

    async def test_does_not_allow_streaming_with_invalid_shutdown(self) -> None:
        """test "does not allow streaming with invalid :shutdown" """
        async with TaskSupervisor() as sup:
            with pytest.raises(ValueError, match="shutdown"):
                TaskSupervisor.async_stream(sup, [], identity, shutdown="unknown")  # type: ignore[arg-type]


# -- async_stream_nolink ------------------------------------------------------------------


class TestAsyncStreamNolink:
    """describe "async_stream_nolink" (``@opts [max_concurrency: 4]``)."""

    async def test_streams_an_enumerable_with_fun(self) -> None:
        """test "streams an enumerable with fun" """
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream_nolink(
                sup, range(1, 5), sleeper.sleep, max_concurrency=4
            )
            assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]

    async def test_streams_an_enumerable_without_leaking_tasks(self) -> None:
        """test "streams an enumerable without leaking tasks" """
        Process.flag("trap_exit", True)  # a leaked exit signal would be kept here
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream_nolink(
                sup, range(1, 5), sleeper.sleep, max_concurrency=4
            )
            assert await to_list(stream) == [Ok(1), Ok(2), Ok(3), Ok(4)]
            assert sleeper.all_dead()
            assert TaskSupervisor.children(sup) == []
            assert await Process.receive_exit(timeout=0) is None

    async def test_streams_an_enumerable_with_slowest_first(self) -> None:
        """test "streams an enumerable with slowest first" """
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream_nolink(
                sup, range(4, 0, -1), sleeper.sleep, max_concurrency=4
            )
            assert await to_list(stream) == [Ok(4), Ok(3), Ok(2), Ok(1)]

    async def test_streams_an_enumerable_with_exits(self) -> None:
        """test "streams an enumerable with exits" (no trap_exit: nolink crashes are results)"""
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            stream = TaskSupervisor.async_stream_nolink(
                sup, range(1, 5), sleeper.exit, max_concurrency=4
            )
            assert await to_list(stream) == [Exit(1), Exit(2), Exit(3), Exit(4)]

    async def test_shuts_down_unused_tasks(self) -> None:
        """test "shuts down unused tasks" """
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            items = [0, math.inf, math.inf, math.inf]
            stream = TaskSupervisor.async_stream_nolink(
                sup, items, sleeper.sleep, max_concurrency=4
            )
            assert await take(stream, 1) == [Ok(0)]
            assert sleeper.all_dead()
            assert TaskSupervisor.children(sup) == []

    async def test_shuts_down_unused_tasks_without_leaking_messages(self) -> None:
        """test "shuts down unused tasks without leaking messages" """
        Process.flag("trap_exit", True)  # a leaked exit signal would be kept here
        sleeper = Sleeper()
        async with TaskSupervisor() as sup:
            items = [0, math.inf, math.inf, math.inf]
            stream = TaskSupervisor.async_stream_nolink(
                sup, items, sleeper.sleep, max_concurrency=4
            )
            assert await take(stream, 1) == [Ok(0)]
            await settle()
            assert await Process.receive_exit(timeout=0) is None

    async def test_raises_an_error_if_max_children_is_reached_with_clean_stream_shutdown(
        self,
    ) -> None:
        """test "raises an error if :max_children is reached with clean stream shutdown" """
        Process.flag("trap_exit", True)  # a leaked exit signal would be kept here
        sleeper = Sleeper()
        async with TaskSupervisor(max_children=1) as sup:
            items = [math.inf, math.inf, math.inf]
            stream = TaskSupervisor.async_stream_nolink(
                sup, items, sleeper.sleep, max_concurrency=2
            )
            with pytest.raises(MaxChildrenError, match=MAX_CHILDREN) as info:
                await to_list(stream)
            assert "max_concurrency" in str(info.value)
            assert TaskSupervisor.children(sup) == []
            assert not any(Process.alive(pid) for pid in sleeper.pids)
            await settle()
            assert await Process.receive_exit(timeout=0) is None


# -- not in Elixir's file: rules of the spec ----------------------------------------------


class TestSpecRules:
    """Rules of ``elixir-task-spec.md`` §4 to §6 for supervised tasks, beyond Elixir's tests."""

    async def test_a_restarted_child_keeps_its_original_callers(self) -> None:
        """§5.2: a restarted task runs with the original owner and callers."""
        mailbox = Mailbox()
        async with TaskSupervisor() as sup:
            main = Process.self()

            async def child() -> None:
                mailbox.send((Process.self(), Process.callers(), Process.ancestors()))
                await forever()

            async def client() -> Pid:
                TaskSupervisor.start_child(sup, child, restart="permanent")
                return Process.self()

            client_pid = await Task.await_(Task.async_(client))
            await wait_until_down(client_pid)  # the client is gone before the restart

            first, callers, ancestors = await mailbox.receive()
            assert callers == [client_pid, main]
            assert ancestors == [sup.pid, main]
            Process.exit(first, "kill")
            second, callers, ancestors = await mailbox.receive()
            assert second != first
            assert callers == [client_pid, main]
            assert ancestors == [sup.pid, main]

    async def test_a_supervised_crash_is_reported_with_the_client_as_starter(
        self, caplog_taskvisor: Caplog
    ) -> None:
        """§6.2: one crash record per supervised crash; its starter is the client."""
        async with TaskSupervisor() as sup:
            main = Process.self()
            task = TaskSupervisor.async_nolink(sup, crash, "oops")
            result = await Task.yield_(task, SAFETY)
            assert isinstance(result, Exit)
            await settle()
            [record] = reports(caplog_taskvisor)
            assert record.task_pid == task.pid  # type: ignore[attr-defined]
            assert record.starter == main  # type: ignore[attr-defined]
            assert record.callers == [main]  # type: ignore[attr-defined]
            assert record.reason is result.reason  # type: ignore[attr-defined]
            assert record.getMessage().startswith(
                f"Task {task.pid!r} started from {main!r} terminating\n** (RuntimeError) oops"
            )

    async def test_a_start_child_crash_names_the_client_that_started_it(
        self, caplog_taskvisor: Caplog
    ) -> None:
        """§6.2: the starter of a start_child task is the process that called start_child."""
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            go = asyncio.Event()

            async def crash_on_go() -> None:
                await go.wait()
                raise RuntimeError("late")

            async def client() -> Pid:
                return TaskSupervisor.start_child(sup, crash_on_go)

            client_task = Task.async_(client)
            pid = await Task.await_(client_task)
            assert await next_exit() == (client_task.pid, "normal")  # the client has ended
            Process.link(pid)  # only to learn when it died
            go.set()
            got_pid, reason = await next_exit()
            assert got_pid == pid
            assert isinstance(reason, RuntimeError)
            await settle()
            [record] = reports(caplog_taskvisor)
            assert record.task_pid == pid  # type: ignore[attr-defined]
            assert record.starter == client_task.pid  # type: ignore[attr-defined]
            assert record.callers == [client_task.pid, Process.self()]  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        "reason",
        ["normal", "shutdown", ("shutdown", "detail")],
        ids=["normal", "shutdown", "tuple"],
    )
    async def test_no_report_for_normal_and_shutdown_exits(
        self, caplog_taskvisor: Caplog, reason: Any
    ) -> None:
        """§6.2: a quiet exit, a terminate_child or the supervisor's stop logs nothing."""
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_nolink(sup, exit_with, reason)
            assert await Task.yield_(task, SAFETY) == Exit(reason)
            pid = TaskSupervisor.start_child(sup, exit_with, reason)
            await wait_until_down(pid)
            pid = TaskSupervisor.start_child(sup, forever)
            await settle()
            await TaskSupervisor.terminate_child(sup, pid)
            TaskSupervisor.start_child(sup, forever)
            TaskSupervisor.start_child(sup, forever, shutdown="brutal_kill")
            await settle()
        await settle()
        assert reports(caplog_taskvisor) == []

    async def test_a_restarted_childs_crash_report_names_the_original_starter(
        self, caplog_taskvisor: Caplog
    ) -> None:
        """§5.2, §6.2: a restart runs with the original owner, who stays the starter."""
        runs = Mailbox()
        async with TaskSupervisor() as sup:
            count = 0

            async def child() -> None:
                nonlocal count
                count += 1
                runs.send(Process.self())
                if count == 2:
                    await settle()
                    raise RuntimeError("second run")
                await forever()

            async def client() -> Pid:
                TaskSupervisor.start_child(sup, child, restart="permanent")
                return Process.self()

            client_pid = await Task.await_(Task.async_(client))
            first = await runs.receive()
            Process.exit(first, "kill")  # quiet: no report
            second = await runs.receive()
            await runs.receive()  # the third run: the crash was handled
            await settle()
            [record] = reports(caplog_taskvisor)
            assert record.task_pid == second  # type: ignore[attr-defined]
            assert record.starter == client_pid  # type: ignore[attr-defined]
            assert record.callers == [client_pid, Process.self()]  # type: ignore[attr-defined]

    async def test_a_callers_crash_stops_its_async_tasks_only(self) -> None:
        """§4.3: the caller's abnormal exit stops its ``async_`` tasks (linked), not its
        ``async_nolink`` tasks nor its ``start_child`` children."""
        mailbox = Mailbox()
        go = asyncio.Event()
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:

            async def client() -> None:
                linked = TaskSupervisor.async_(sup, forever)
                nolink = TaskSupervisor.async_nolink(sup, forever)
                child = TaskSupervisor.start_child(sup, forever)
                mailbox.send((linked.pid, nolink.pid, child))
                await go.wait()
                raise RuntimeError("client crashed")

            client_pid = Task.start(client)
            linked, nolink, child = await mailbox.receive()
            for pid in (client_pid, linked, nolink, child):
                Process.link(pid)
            go.set()
            got_pid, reason = await next_exit()
            assert got_pid == client_pid
            assert await next_exit() == (linked, reason)
            await settle()
            assert Process.alive(nolink) and Process.alive(child)
            assert set(TaskSupervisor.children(sup)) == {nolink, child}

    async def test_a_callers_normal_exit_leaves_its_async_tasks_running(self) -> None:
        """§7.2: a caller exiting "normal" does not stop its ``async_`` tasks."""
        mailbox = Mailbox()
        go = asyncio.Event()
        async with TaskSupervisor() as sup:

            async def client() -> None:
                mailbox.send(TaskSupervisor.async_(sup, wait_then, go, "late").pid)

            client_pid = Task.start(client)
            task_pid = await mailbox.receive()
            await wait_until_down(client_pid)
            await settle()
            assert Process.alive(task_pid)
            go.set()
            await wait_until_down(task_pid)  # it ran to its end; its reply is dropped
            assert TaskSupervisor.children(sup) == []

    async def test_async_stream_nolink_yields_exit_for_crashes_without_trap_exit(self) -> None:
        """§2.2: a nolink stream's crash is an ``Exit`` result, even without trap_exit."""

        async def crash_on_two(n: int) -> int:
            if n == 2:
                raise RuntimeError("two")
            return n

        async with TaskSupervisor() as sup:
            results = await to_list(
                TaskSupervisor.async_stream_nolink(sup, [1, 2, 3], crash_on_two)
            )
            assert results[0] == Ok(1) and results[2] == Ok(3)
            assert isinstance(results[1], Exit)
            assert isinstance(results[1].reason, RuntimeError)
            assert Process.alive(Process.self())

    async def test_a_linked_stream_crash_stops_a_consumer_that_does_not_trap_exits(
        self,
    ) -> None:
        """§4.2: async_stream tasks are linked to the consumer through the stream."""

        async def crash_on_two(n: int) -> int:
            if n == 2:
                raise RuntimeError("two")
            await forever()
            return n

        async def consumer(sup: TaskSupervisor) -> None:
            await to_list(TaskSupervisor.async_stream(sup, [1, 2, 3], crash_on_two))

        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_nolink(sup, consumer, sup)
            result = await Task.yield_(task, SAFETY)
            assert isinstance(result, Exit)
            assert isinstance(result.reason, RuntimeError)
            await settle()
            assert TaskSupervisor.children(sup) == []  # the stream's other tasks died too

    async def test_every_function_takes_the_registered_name(self) -> None:
        """§2.2: a supervisor can be named wherever it is expected."""
        name = "MyApp.TaskSupervisor"
        async with TaskSupervisor(name) as sup:
            assert sup.name == name
            pid = TaskSupervisor.start_child(name, forever)
            task = TaskSupervisor.async_nolink(name, reply, 1)
            assert await Task.await_(task) == 1
            task = TaskSupervisor.async_(name, reply, 2)
            assert await Task.await_(task) == 2
            assert await to_list(TaskSupervisor.async_stream(name, [3], identity)) == [Ok(3)]
            assert await to_list(TaskSupervisor.async_stream_nolink(name, [4], identity)) == [Ok(4)]
            assert TaskSupervisor.children(name) == [pid]
            assert TaskSupervisor.count_children(name)["active"] == 1
            assert [c.pid for c in TaskSupervisor.which_children(name)] == [pid]
            await TaskSupervisor.terminate_child(name, pid)
            assert TaskSupervisor.children(name) == []
        with pytest.raises(TaskExit) as info:  # the name is free once it has stopped
            TaskSupervisor.children(name)
        assert info.value.reason == "noproc"

    async def test_methods_are_the_same_functions(self) -> None:
        """DESIGN §2: a supervisor instance offers the same functions as methods."""
        async with TaskSupervisor() as sup:
            pid = sup.start_child(forever)
            assert await Task.await_(sup.async_(reply, 1)) == 1
            assert await Task.await_(sup.async_nolink(reply, 2)) == 2
            assert sup.children() == [pid]
            assert sup.count_children()["workers"] == 1
            await sup.terminate_child(pid)
            assert sup.children() == []

    async def test_a_plain_function_child_runs_in_a_thread(self) -> None:
        """DESIGN §2: a plain function runs in a thread unless told otherwise."""

        def where() -> int:
            return threading.get_ident()

        async with TaskSupervisor() as sup:
            ident = await Task.await_(sup.async_nolink(where), SAFETY)
            assert ident != threading.get_ident()
