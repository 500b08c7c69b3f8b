"""Stopping a supervisor is bounded, whatever its children do (issue 3, item 4).

A child that swallows its cancellation, or a plain function blocked in a thread, cannot make
`stop()` hang: each child gets its ``shutdown`` and is then killed (a coroutine is closed, a
thread is abandoned), with a WARNING on the `taskvisor` logger that names it.
``"brutal_kill"`` children are killed without being asked, and nested trees stop from the
leaves up.

Shutdown values are small (0.05 s) so the kills come soon; nothing here measures time: the
tests check that `stop()` returns, who is dead, with what reason, and what was warned.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from support import SAFETY, forever, logged_warnings, next_exit, settle
from taskvisor import ChildSpec, Exit, Pid, Process, Supervisor, Task, TaskSupervisor

SHORT = 0.05
"""A child's shutdown when the test expects it to be killed."""


async def swallow_cancels(ready: asyncio.Event, log: list[str], name: str) -> None:
    """A badly written child: it catches every cancellation and goes on waiting."""
    log.append(f"up {name}")
    ready.set()
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            log.append(f"swallowed {name}")


def blocked_in_thread(started: threading.Event, release: threading.Event) -> str:
    """A plain function (so it runs in a thread) that blocks until the test releases it."""
    started.set()
    release.wait(SAFETY * 6)
    return "late"


async def in_thread(started: threading.Event) -> None:
    """Wait, off the loop, until a thread-backed child runs."""
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, started.wait, SAFETY)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event that frees blocked threads when the test ends, pass or fail."""
    event = threading.Event()
    yield event
    event.set()


async def stop_bounded(stop: Callable[[], Any]) -> None:
    """Run a stop; the guard only turns a hang into a failure, it is not a timing check."""
    async with asyncio.timeout(SAFETY * 3):
        await stop()


def named(messages: list[str], pid: Pid) -> list[str]:
    return [m for m in messages if re.search(re.escape(repr(pid)) + r"(?!\d)", m)]


def warned_kill_of(records: list[logging.LogRecord], pids: list[Pid]) -> None:
    """Every pid is named by a warning about a kill on the taskvisor logger."""
    messages = [r.getMessage() for r in records]
    for pid in pids:
        about = named(messages, pid)
        assert about, f"no warning names {pid!r}: {messages}"
        assert any("kill" in m for m in about), about


async def watch(pids: list[Pid]) -> None:
    """Link the (trapping) test process to `pids`, to read their exit reasons."""
    Process.flag("trap_exit", True)
    for pid in pids:
        Process.link(pid)


async def exits(count: int) -> dict[Pid | None, Any]:
    return dict([await next_exit(SAFETY * 3) for _ in range(count)])


# -- children that swallow their cancellation ------------------------------------------------


class TestSwallowedCancellation:
    async def test_a_task_supervisor_kills_children_that_swallow_cancellation(self) -> None:
        log: list[str] = []
        sup = await TaskSupervisor.start_link()
        pids = []
        for name in ("x", "y", "z"):
            ready = asyncio.Event()
            pids.append(sup.start_child(swallow_cancels, ready, log, name, shutdown=SHORT))
            async with asyncio.timeout(SAFETY):
                await ready.wait()
        await watch(pids)
        with logged_warnings() as warned:
            await stop_bounded(sup.stop)
        assert not any(Process.alive(pid) for pid in pids)
        assert not Process.alive(sup.pid)
        warned_kill_of(list(warned), pids)
        assert set(log) >= {"swallowed x", "swallowed y", "swallowed z"}  # they were asked
        got = await exits(4)
        assert got == {pids[0]: "killed", pids[1]: "killed", pids[2]: "killed", sup.pid: "normal"}

    async def test_a_supervisor_kills_children_that_swallow_cancellation(self) -> None:
        log: list[str] = []
        readies = {name: asyncio.Event() for name in "abc"}
        specs = [
            Task.child_spec(swallow_cancels, readies[name], log, name).replace(
                id=name, shutdown=SHORT
            )
            for name in "abc"
        ]
        sup = await Supervisor.start_link(specs)
        async with asyncio.timeout(SAFETY):
            for ready in readies.values():
                await ready.wait()
        pids = [c.pid for c in sup.which_children()]
        await watch(pids)
        with logged_warnings() as warned:
            await stop_bounded(sup.stop)
        assert not any(Process.alive(pid) for pid in pids)
        assert not Process.alive(sup.pid)
        warned_kill_of(list(warned), pids)
        # asked one by one in reverse order, each killed before the next was asked
        assert [e for e in log if e.startswith("swallowed")][:1] == ["swallowed c"]
        assert log.index("swallowed c") < log.index("swallowed b") < log.index("swallowed a")
        got = await exits(4)
        assert got == {pids[0]: "killed", pids[1]: "killed", pids[2]: "killed", sup.pid: "normal"}

    async def test_a_well_behaved_sibling_is_not_warned_about(self) -> None:
        log: list[str] = []
        ready = asyncio.Event()
        specs = [
            Task.child_spec(forever).replace(id="fine", shutdown=SHORT),
            Task.child_spec(swallow_cancels, ready, log, "bad").replace(id="bad", shutdown=SHORT),
        ]
        sup = await Supervisor.start_link(specs)
        async with asyncio.timeout(SAFETY):
            await ready.wait()
        fine, bad = (c.pid for c in sup.which_children())
        with logged_warnings() as warned:
            await stop_bounded(sup.stop)
        warned_kill_of(list(warned), [bad])
        assert not named([w.getMessage() for w in warned], fine)
        assert not Process.alive(fine) and not Process.alive(bad)

    async def test_supervised_tasks_that_swallow_cancellation_are_killed_too(self) -> None:
        """`async_nolink` tasks are children like any other: the stop kills them after their
        shutdown, and their owner reads the kill through its monitor."""
        log: list[str] = []
        ready = asyncio.Event()
        sup = await TaskSupervisor.start_link()
        task = sup.async_nolink(swallow_cancels, ready, log, "t", shutdown=SHORT)
        async with asyncio.timeout(SAFETY):
            await ready.wait()
        assert task.pid is not None
        with logged_warnings() as warned:
            await stop_bounded(sup.stop)
        warned_kill_of(list(warned), [task.pid])
        assert await Task.yield_(task, SAFETY) == Exit("killed")

    async def test_terminate_child_of_a_child_that_swallows_cancellation_returns(self) -> None:
        log: list[str] = []
        ready = asyncio.Event()
        async with TaskSupervisor() as sup:
            pid = sup.start_child(swallow_cancels, ready, log, "x", shutdown=SHORT)
            async with asyncio.timeout(SAFETY):
                await ready.wait()
            with logged_warnings(re.escape(repr(pid))):
                await stop_bounded(lambda: sup.terminate_child(pid))
            assert not Process.alive(pid)
            assert sup.children() == []


# -- plain functions blocked in a thread ------------------------------------------------------


class TestBlockedThread:
    async def test_a_task_supervisor_abandons_a_blocked_thread_and_says_so(
        self, release: threading.Event
    ) -> None:
        started = threading.Event()
        sup = await TaskSupervisor.start_link()
        pid = sup.start_child(blocked_in_thread, started, release, shutdown=SHORT)
        await in_thread(started)
        await watch([pid])
        with logged_warnings() as warned:
            await stop_bounded(sup.stop)
        assert not Process.alive(pid)
        messages = named([w.getMessage() for w in warned], pid)
        assert any("blocked_in_thread" in m and "thread" in m for m in messages), messages
        assert await exits(2) == {pid: "killed", sup.pid: "normal"}

    async def test_a_supervisor_abandons_a_blocked_thread_and_says_so(
        self, release: threading.Event
    ) -> None:
        started = threading.Event()
        specs = [
            Task.child_spec(forever).replace(id="before"),
            Task.child_spec(blocked_in_thread, started, release).replace(
                id="blocked", shutdown=SHORT
            ),
        ]
        sup = await Supervisor.start_link(specs)
        await in_thread(started)
        before, blocked = (c.pid for c in sup.which_children())
        await watch([before, blocked])
        with logged_warnings() as warned:
            await stop_bounded(sup.stop)
        assert not Process.alive(blocked) and not Process.alive(before)
        messages = named([w.getMessage() for w in warned], blocked)
        assert any("blocked_in_thread" in m and "thread" in m for m in messages), messages
        assert await exits(3) == {blocked: "killed", before: "shutdown", sup.pid: "normal"}

    async def test_a_brutal_kill_abandons_a_blocked_thread_at_once(
        self, release: threading.Event
    ) -> None:
        started = threading.Event()
        sup = await TaskSupervisor.start_link()
        pid = sup.start_child(blocked_in_thread, started, release, shutdown="brutal_kill")
        await in_thread(started)
        with logged_warnings("blocked_in_thread"):
            await stop_bounded(sup.stop)
        assert not Process.alive(pid)


# -- brutal_kill -------------------------------------------------------------------------------


async def ignore_exits(ready: asyncio.Event, log: list[str], name: str) -> None:
    """Trap exits and ignore every signal, noting it: only a kill stops this child."""
    Process.flag("trap_exit", True)
    ready.set()
    while True:
        got = await Process.receive_exit(None)
        log.append(f"{name} got {got}")


class TestBrutalKill:
    async def test_task_supervisor_brutal_kill_children_are_killed_without_being_asked(
        self,
    ) -> None:
        log: list[str] = []
        sup = await TaskSupervisor.start_link()
        pids = []
        for name in ("x", "y"):
            ready = asyncio.Event()
            pids.append(sup.start_child(ignore_exits, ready, log, name, shutdown="brutal_kill"))
            async with asyncio.timeout(SAFETY):
                await ready.wait()
        await watch(pids)
        with logged_warnings(None) as warned:
            await stop_bounded(sup.stop)
        assert log == []  # no "shutdown" signal reached them
        assert not warned
        assert await exits(3) == {pids[0]: "killed", pids[1]: "killed", sup.pid: "normal"}

    async def test_supervisor_brutal_kill_children_are_killed_without_being_asked(self) -> None:
        log: list[str] = []
        readies = {name: asyncio.Event() for name in ("brutal", "polite")}
        specs = [
            Task.child_spec(ignore_exits, readies["brutal"], log, "brutal").replace(
                id="brutal", shutdown="brutal_kill"
            ),
            Task.child_spec(ignore_exits, readies["polite"], log, "polite").replace(
                id="polite", shutdown=SHORT
            ),
        ]
        sup = await Supervisor.start_link(specs)
        async with asyncio.timeout(SAFETY):
            for ready in readies.values():
                await ready.wait()
        brutal, polite = (c.pid for c in sup.which_children())
        await watch([brutal, polite])
        with logged_warnings() as warned:
            await stop_bounded(sup.stop)
        # the polite one was asked (and killed after its shutdown), the brutal one was not
        assert log == [f"polite got {(sup.pid, 'shutdown')}"]
        warned_kill_of(list(warned), [polite])
        assert not named([w.getMessage() for w in warned], brutal)
        assert await exits(3) == {brutal: "killed", polite: "killed", sup.pid: "normal"}


# -- nested trees -------------------------------------------------------------------------------


async def leaf(log: list[str], name: str, ready: asyncio.Event | None = None) -> None:
    log.append(f"up {name}")
    if ready is not None:
        ready.set()
    try:
        await forever()
    finally:
        log.append(f"down {name}")


class TestNestedTrees:
    async def test_nested_trees_stop_from_the_leaves_up_in_reverse_order(self) -> None:
        """outer = [a, inner = [x, y], tasks (a TaskSupervisor with t1, t2), b]: b stops
        first, then the task supervisor's children, then inner's y and x, and a last; every
        supervisor is dead once outer's stop returns."""
        log: list[str] = []

        async def start_inner() -> Supervisor:
            return await Supervisor.start_link(
                [
                    Task.child_spec(leaf, log, "x").replace(id="x"),
                    Task.child_spec(leaf, log, "y").replace(id="y"),
                ]
            )

        specs = [
            Task.child_spec(leaf, log, "a").replace(id="a"),
            ChildSpec(id="inner", start=(start_inner, ()), shutdown=None, type="supervisor"),
            TaskSupervisor.child_spec(name="nested-tasks"),
            Task.child_spec(leaf, log, "b").replace(id="b"),
        ]
        outer = await Supervisor.start_link(specs)
        ready = asyncio.Event()
        TaskSupervisor.start_child("nested-tasks", leaf, log, "t1")
        TaskSupervisor.start_child("nested-tasks", leaf, log, "t2", ready)
        async with asyncio.timeout(SAFETY):
            await ready.wait()
        await settle()
        assert sorted(log) == sorted(["up a", "up x", "up y", "up b", "up t1", "up t2"])
        supervisors = [c.pid for c in outer.which_children() if c.type == "supervisor"]
        assert len(supervisors) == 2
        await stop_bounded(outer.stop)
        downs = [e for e in log if e.startswith("down")]
        assert downs[0] == "down b"
        assert set(downs[1:3]) == {"down t1", "down t2"}  # a task supervisor stops them at once
        assert downs[3:] == ["down y", "down x", "down a"]
        assert not any(Process.alive(pid) for pid in [*supervisors, outer.pid])

    async def test_a_nested_child_that_swallows_cancellation_does_not_hang_the_tree(
        self, release: threading.Event
    ) -> None:
        """The inner task supervisor is given all the time it needs (shutdown None), but it
        bounds its own children, so the whole tree still stops."""
        log: list[str] = []
        ready = asyncio.Event()
        started = threading.Event()
        specs = [
            Task.child_spec(leaf, log, "a").replace(id="a"),
            TaskSupervisor.child_spec(name="nested-bad"),
        ]
        outer = await Supervisor.start_link(specs)
        bad = TaskSupervisor.start_child("nested-bad", swallow_cancels, ready, log, "bad",
                                         shutdown=SHORT)  # fmt: skip
        stuck = TaskSupervisor.start_child(
            "nested-bad", blocked_in_thread, started, release, shutdown=SHORT
        )
        async with asyncio.timeout(SAFETY):
            await ready.wait()
        await in_thread(started)
        inner = outer.which_children()[1].pid
        with logged_warnings() as warned:
            await stop_bounded(outer.stop)
        warned_kill_of(list(warned), [bad, stuck])
        assert not any(Process.alive(pid) for pid in (bad, stuck, inner, outer.pid))
        assert log[-1] == "down a"  # a, started first, stopped last, after the inner tree
