"""Elixir's ``lib/elixir/test/elixir/dynamic_supervisor_test.exs``, the part that applies to a
task supervisor, ported to taskvisor.

A ``Task.Supervisor`` is a ``DynamicSupervisor`` of tasks, so its options (max_children,
max_restarts/max_seconds), its restart strategies, ``terminate_child``, ``count_children``/
``which_children`` and the way it stops its children are DynamicSupervisor's, tested there.
Each Elixir test here is ported with `TaskSupervisor.start_child` in place of a child spec:
Elixir's ``sleepy_worker()`` is a child running `forever`, and ``current_module_worker`` one
whose run says how it ends. One class per Elixir ``describe`` (top-level tests in
`TestDynamicSupervisor`), each test named after the Elixir test, whose name its docstring
quotes. Tests about child-spec formats, ``init/1`` callbacks, code upgrades and start
functions that fail have no task-supervisor meaning; ``tests/README.md`` lists them with the
reason. `TestSpecRules` is not from Elixir's file: it checks the rules of
``elixir-task-spec.md`` §5 (restart strategies, restart intensity, max_children, stop
ordering, parent exits) that its tests leave implicit.

A child's exit is observed by linking to it while trapping exits (Elixir's
``Process.monitor``), never through elapsed time.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from support import (
    SAFETY,
    Mailbox,
    forever,
    logged_warnings,
    next_exit,
    reply,
    settle,
    wait_until_down,
)
from taskvisor import (
    ChildInfo,
    ChildSpec,
    Exit,
    MaxChildrenError,
    Pid,
    Process,
    Supervisor,
    Task,
    TaskExit,
    TaskSupervisor,
)


async def assert_kill(pid: Pid, reason: Any) -> None:
    """Elixir's ``assert_kill/2``: send exit `reason` to `pid` and wait until it is dead."""
    Process.exit(pid, reason)
    await wait_until_down(pid)


def counts(sup: TaskSupervisor) -> tuple[int, int]:
    """``(workers, active)`` from count_children."""
    counted = TaskSupervisor.count_children(sup)
    return counted["workers"], counted["active"]


async def exits_of(pids: list[Pid]) -> dict[Pid, Any]:
    """The next ``len(pids)`` exit signals, which must come from `pids`: ``{pid: reason}``."""
    got = dict([await next_exit() for _ in pids])
    assert set(got) == set(pids)
    return got


async def crash_on(go: asyncio.Event) -> None:
    await go.wait()
    raise RuntimeError("crash on go")


class RestartFails:
    """Elixir's ``current_module_worker([:restart, :error])``: the first run lives on; every
    later run (a restart) fails at once, as a start returning ``{:error, :found}`` does."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        if self.runs > 1:
            raise TaskExit("found")
        await forever()


async def trap_then_exit(ready: Mailbox, reason: Any) -> None:
    """A child that traps exits, says ready, and exits with `reason` on the first signal."""
    Process.flag("trap_exit", True)
    ready.send("ready")
    await Process.receive_exit(None)
    raise TaskExit(reason)


async def trap_forever(ready: Mailbox) -> None:
    """A child that traps exits (so ``"shutdown"`` does not stop it) and never ends."""
    Process.flag("trap_exit", True)
    ready.send("ready")
    await forever()


# -- top-level tests ----------------------------------------------------------------------


class TestDynamicSupervisor:
    async def test_can_be_supervised_directly(self) -> None:
        """test "can be supervised directly" """
        name = "dyn_sup_spec_test"
        tree = await Supervisor.start_link([TaskSupervisor.child_spec(name)])
        try:
            assert TaskSupervisor.which_children(name) == []
        finally:
            await tree.stop()


# -- use/2 --------------------------------------------------------------------------------


class TestUse:
    def test_generates_child_spec_1(self) -> None:
        """test "generates child_spec/1" (``use DynamicSupervisor`` becomes
        `TaskSupervisor.child_spec`, its options `ChildSpec.replace`)"""
        spec = TaskSupervisor.child_spec()
        assert spec.id is TaskSupervisor
        assert spec.type == "supervisor"
        assert spec.restart == "permanent"
        assert spec.shutdown is None  # a supervisor is given all the time it needs

        def other_start() -> None:
            pass

        custom = spec.replace(id="id", restart="temporary", shutdown=None, start=(other_start, ()))
        assert custom == ChildSpec(
            id="id",
            start=(other_start, ()),
            restart="temporary",
            shutdown=None,
            type="supervisor",
        )


# -- init/1 -------------------------------------------------------------------------------


class TestInit:
    def test_set_default_options(self) -> None:
        """test "set default options" (strategy is always one_for_one; no extra_arguments)"""
        for fn in (TaskSupervisor.start_link, TaskSupervisor, TaskSupervisor.child_spec):
            params = inspect.signature(fn).parameters
            assert params["max_restarts"].default == 3
            assert params["max_seconds"].default == 5.0
            assert params["max_children"].default is None


# -- start_link/3 -------------------------------------------------------------------------


class TestStartLink:
    @pytest.mark.parametrize(
        ("option", "value"),
        [("max_restarts", -1), ("max_seconds", 0), ("max_children", -1)],
        ids=["invalid_intensity", "invalid_period", "invalid_max_children"],
    )
    async def test_with_non_ok_init(self, option: str, value: Any) -> None:
        """test "with non-ok init" (the invalid intensity, period and max_children rows; the
        other rows are about init/1 callbacks)"""
        with pytest.raises(ValueError, match=option):
            await TaskSupervisor.start_link(**{option: value})
        with pytest.raises(ValueError, match=option):
            TaskSupervisor(**{option: value})

    async def test_with_registered_process(self) -> None:
        """test "with registered process" """
        name = "DynamicSupervisorTest"
        Process.flag("trap_exit", True)  # to see the link
        sup = await TaskSupervisor.start_link(name)
        assert isinstance(sup.pid, Pid)
        assert sup.name == name
        assert TaskSupervisor.children(name) == []  # reachable by its name

        assert await TaskSupervisor.stop(name) is None
        assert not Process.alive(sup.pid)
        assert await next_exit() == (sup.pid, "normal")  # it was linked to its starter
        with pytest.raises(TaskExit) as info:  # and its name is free
            TaskSupervisor.children(name)
        assert info.value.reason == "noproc"


# -- start_child/2 ------------------------------------------------------------------------


class TestStartChild:
    async def test_with_max_children(self) -> None:
        """test "with max_children" """
        async with TaskSupervisor(max_children=0) as sup:
            with pytest.raises(MaxChildrenError, match="reached the maximum number of tasks"):
                TaskSupervisor.start_child(sup, forever)
            assert TaskSupervisor.children(sup) == []

    async def test_temporary_child_is_not_restarted_regardless_of_reason(self) -> None:
        """test "temporary child is not restarted regardless of reason" """
        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, forever, restart="temporary")
            await assert_kill(child, "shutdown")
            assert counts(sup) == (0, 0)

            child = TaskSupervisor.start_child(sup, forever, restart="temporary")
            await assert_kill(child, "whatever")
            assert counts(sup) == (0, 0)

    async def test_transient_child_is_restarted_unless_normal_shutdown_shutdown(self) -> None:
        """test "transient child is restarted unless normal/shutdown/{shutdown, _}" """
        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, forever, restart="transient")
            await assert_kill(child, "shutdown")
            assert counts(sup) == (0, 0)

            child = TaskSupervisor.start_child(sup, forever, restart="transient")
            await assert_kill(child, ("shutdown", "signal"))
            assert counts(sup) == (0, 0)

            child = TaskSupervisor.start_child(sup, forever, restart="transient")
            await assert_kill(child, "whatever")
            assert counts(sup) == (1, 1)
            assert TaskSupervisor.children(sup) != [child]  # a new process

    async def test_permanent_child_is_restarted_regardless_of_reason(self) -> None:
        """test "permanent child is restarted regardless of reason" """
        async with TaskSupervisor(max_restarts=100_000) as sup:
            child = TaskSupervisor.start_child(sup, forever, restart="permanent")
            await assert_kill(child, "shutdown")
            assert counts(sup) == (1, 1)

            child = TaskSupervisor.start_child(sup, forever, restart="permanent")
            await assert_kill(child, ("shutdown", "signal"))
            assert counts(sup) == (2, 2)

            child = TaskSupervisor.start_child(sup, forever, restart="permanent")
            await assert_kill(child, "whatever")
            assert counts(sup) == (3, 3)

    async def test_child_is_restarted_with_different_values(self) -> None:
        """test "child is restarted with different values" (the which_children rows of
        restarted children; a task's restart cannot return :ignore or an error, so the rows
        for a child left :restarting have no equivalent)"""
        async with TaskSupervisor(max_restarts=100_000) as sup:
            child1 = TaskSupervisor.start_child(sup, forever, restart="permanent")
            assert TaskSupervisor.which_children(sup) == [
                ChildInfo(None, child1, "worker", [forever])
            ]
            await assert_kill(child1, "shutdown")
            assert counts(sup) == (1, 1)
            [row] = TaskSupervisor.which_children(sup)
            assert row.pid != child1
            assert row[2:] == ("worker", [forever])

            child2 = TaskSupervisor.start_child(sup, forever, restart="permanent")
            rows = TaskSupervisor.which_children(sup)
            assert len(rows) == 2
            assert rows[-1] == ChildInfo(None, child2, "worker", [forever])
            await assert_kill(child2, "shutdown")
            assert counts(sup) == (2, 2)
            assert child2 not in [r.pid for r in TaskSupervisor.which_children(sup)]

    async def test_restarting_on_exit_children_counted_in_max_children(self) -> None:
        """test "restarting on exit children counted in max_children" """
        async with TaskSupervisor(max_children=1, max_restarts=100_000) as sup:
            child = TaskSupervisor.start_child(sup, forever, restart="permanent")
            await assert_kill(child, "shutdown")
            assert counts(sup) == (1, 1)
            with pytest.raises(MaxChildrenError):
                TaskSupervisor.start_child(sup, forever, restart="permanent")

    async def test_restarting_a_child_with_extra_arguments_successfully_restarts_child(
        self,
    ) -> None:
        """test "restarting a child with extra_arguments successfully restarts child" (no
        extra_arguments: the child's own arguments are the ones kept for its restart)"""
        parent = Mailbox()

        async def fun(to: Mailbox, message: str) -> None:
            to.send(message)
            await forever()

        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, fun, parent, "from_child", restart="transient")
            assert isinstance(child, Pid)
            assert await parent.receive() == "from_child"
            assert counts(sup) == (1, 1)
            await assert_kill(child, "oops")
            assert await parent.receive() == "from_child"
            assert counts(sup) == (1, 1)

    async def test_child_triggers_maximum_restarts(self) -> None:
        """test "child triggers maximum restarts" """
        Process.flag("trap_exit", True)
        worker = RestartFails()
        sup = await TaskSupervisor.start_link(max_restarts=1)
        child = TaskSupervisor.start_child(sup, worker.run, restart="permanent")
        await settle()
        await assert_kill(child, "shutdown")
        assert await next_exit() == (sup.pid, "shutdown")
        assert worker.runs == 2  # the first run and one restart; the second was refused

    async def test_child_triggers_maximum_intensity_when_trying_again(self) -> None:
        """test "child triggers maximum intensity when trying again" """
        Process.flag("trap_exit", True)
        worker = RestartFails()
        sup = await TaskSupervisor.start_link(max_restarts=10)
        child = TaskSupervisor.start_child(sup, worker.run, restart="permanent")
        await settle()
        await assert_kill(child, "shutdown")
        assert await next_exit() == (sup.pid, "shutdown")
        assert worker.runs == 11

    @pytest.mark.parametrize("shutdown", [0, 0.001])
    async def test_with_valid_shutdown(self, shutdown: float) -> None:
        """test "with valid shutdown" (0 and 1 ms)"""
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, forever, shutdown=shutdown)
            Process.link(child)
            Process.exit(child, "shutdown")
            assert await next_exit() == (child, "shutdown")

    async def test_with_invalid_valid_shutdown(self) -> None:
        """test "with invalid valid shutdown" """
        async with TaskSupervisor() as sup:
            with pytest.raises(ValueError, match="shutdown"):
                TaskSupervisor.start_child(sup, forever, shutdown=-1)
            assert TaskSupervisor.children(sup) == []


# -- terminate/2 --------------------------------------------------------------------------


class TestTerminate:
    """describe "terminate/2": the supervisor exits ``"shutdown"`` and stops its children.

    Each test traps exits (the supervisor is linked to the test), links to the children (for
    Elixir's monitors), sends the supervisor exit ``"shutdown"`` and reads the children's
    exits, then the supervisor's: children first.
    """

    async def _stop_sup_and_read(self, sup: TaskSupervisor, children: list[Pid]) -> dict[Pid, Any]:
        for child in children:
            Process.link(child)
        Process.exit(sup.pid, "shutdown")
        got = await exits_of(children)
        assert await next_exit() == (sup.pid, "shutdown")
        return got

    async def test_terminates_children_with_brutal_kill(self) -> None:
        """test "terminates children with brutal kill" """
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        children = [TaskSupervisor.start_child(sup, forever, shutdown="brutal_kill") for _ in "123"]
        await settle()
        got = await self._stop_sup_and_read(sup, children)
        assert got == dict.fromkeys(children, "killed")

    async def test_terminates_children_with_infinity_shutdown(self) -> None:
        """test "terminates children with infinity shutdown" """
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        children = [TaskSupervisor.start_child(sup, forever, shutdown=None) for _ in "123"]
        await settle()
        got = await self._stop_sup_and_read(sup, children)
        assert got == dict.fromkeys(children, "shutdown")

    async def test_terminates_children_with_infinity_shutdown_and_abnormal_reason(self) -> None:
        """test "terminates children with infinity shutdown and abnormal reason" """
        Process.flag("trap_exit", True)
        ready = Mailbox()
        sup = await TaskSupervisor.start_link()
        reason = ("shutdown", "oops")
        children = [
            TaskSupervisor.start_child(sup, trap_then_exit, ready, reason, shutdown=None)
            for _ in "123"
        ]
        for _ in children:
            assert await ready.receive() == "ready"
        got = await self._stop_sup_and_read(sup, children)
        assert got == dict.fromkeys(children, reason)

    async def test_terminates_children_with_integer_shutdown(self) -> None:
        """test "terminates children with integer shutdown" """
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        children = [TaskSupervisor.start_child(sup, forever, shutdown=1.0) for _ in "123"]
        await settle()
        got = await self._stop_sup_and_read(sup, children)
        assert got == dict.fromkeys(children, "shutdown")

    async def test_terminates_children_with_integer_shutdown_and_abnormal_reason(self) -> None:
        """test "terminates children with integer shutdown and abnormal reason" """
        Process.flag("trap_exit", True)
        ready = Mailbox()
        sup = await TaskSupervisor.start_link()
        reason = ("shutdown", "oops")
        children = [
            TaskSupervisor.start_child(sup, trap_then_exit, ready, reason, shutdown=SAFETY)
            for _ in "123"
        ]
        for _ in children:
            assert await ready.receive() == "ready"
        got = await self._stop_sup_and_read(sup, children)
        assert got == dict.fromkeys(children, reason)

    async def test_terminates_children_with_expired_integer_shutdown(self) -> None:
        """test "terminates children with expired integer shutdown" (and a warning names the
        child that had to be killed)"""
        Process.flag("trap_exit", True)
        ready = Mailbox()
        sup = await TaskSupervisor.start_link()
        child1 = TaskSupervisor.start_child(sup, forever, shutdown=0.001)
        child2 = TaskSupervisor.start_child(sup, trap_forever, ready, shutdown=0.001)
        child3 = TaskSupervisor.start_child(sup, forever, shutdown=0.001)
        assert await ready.receive() == "ready"
        with logged_warnings(None) as caught:
            got = await self._stop_sup_and_read(sup, [child1, child2, child3])
        assert got == {child1: "shutdown", child2: "killed", child3: "shutdown"}
        killed = [r.getMessage() for r in caught]
        assert any(repr(child2) in message for message in killed), killed
        assert not any(repr(child1) in m or repr(child3) in m for m in killed), killed

    async def test_terminates_children_with_permanent_restart_and_normal_reason(self) -> None:
        """test "terminates children with permanent restart and normal reason" """
        Process.flag("trap_exit", True)
        ready = Mailbox()
        sup = await TaskSupervisor.start_link()
        children = [
            TaskSupervisor.start_child(
                sup, trap_then_exit, ready, "normal", shutdown=None, restart="permanent"
            )
            for _ in "123"
        ]
        for _ in children:
            assert await ready.receive() == "ready"
        got = await self._stop_sup_and_read(sup, children)
        assert got == dict.fromkeys(children, "normal")  # and none was restarted

    async def test_terminates_with_mixed_children(self) -> None:
        """test "terminates with mixed children" """
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        child1 = TaskSupervisor.start_child(sup, forever, shutdown=None)
        child2 = TaskSupervisor.start_child(sup, forever, shutdown="brutal_kill")
        await settle()
        got = await self._stop_sup_and_read(sup, [child1, child2])
        assert got == {child1: "shutdown", child2: "killed"}


# -- terminate_child/2 --------------------------------------------------------------------


class TestTerminateChild:
    async def test_terminates_child_with_brutal_kill(self) -> None:
        """test "terminates child with brutal kill" """
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, forever, shutdown="brutal_kill")
            Process.link(child)
            assert await TaskSupervisor.terminate_child(sup, child) is None
            assert await next_exit() == (child, "killed")

            with pytest.raises(LookupError):
                await TaskSupervisor.terminate_child(sup, child)
            assert counts(sup) == (0, 0)

    async def test_terminates_child_with_integer_shutdown(self) -> None:
        """test "terminates child with integer shutdown" """
        Process.flag("trap_exit", True)
        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, forever, shutdown=1.0)
            Process.link(child)
            assert await TaskSupervisor.terminate_child(sup, child) is None
            assert await next_exit() == (child, "shutdown")

            with pytest.raises(LookupError):
                await TaskSupervisor.terminate_child(sup, child)
            assert counts(sup) == (0, 0)


# -- not in Elixir's file: rules of the spec ----------------------------------------------


class Ending:
    """A child whose first run ends as told; its restarts report and wait forever."""

    def __init__(self, how: str, runs: Mailbox) -> None:
        self.how = how
        self.runs = runs
        self.count = 0

    async def run(self) -> None:
        self.count += 1
        self.runs.send(Process.self())
        if self.count == 1:
            await settle()
            match self.how:
                case "return":
                    return
                case "crash":
                    raise RuntimeError("crash")
                case "kill":
                    Process.exit(Process.self(), "kill")
                case "exit shutdown":
                    raise TaskExit("shutdown")
                case "exit shutdown tuple":
                    raise TaskExit(("shutdown", "detail"))
                case "exit abnormal":
                    raise TaskExit("abnormal")
        await forever()


class TestSpecRules:
    """``elixir-task-spec.md`` §5, beyond Elixir's own tests."""

    @pytest.mark.parametrize(
        ("how", "restarted"),
        [
            ("return", False),
            ("exit shutdown", False),
            ("exit shutdown tuple", False),
            ("kill", True),
            ("crash", True),
            ("exit abnormal", True),
        ],
    )
    async def test_transient_restart_depends_on_the_exit_reason(
        self, how: str, restarted: bool
    ) -> None:
        """§5.2: transient is not restarted after "normal", "shutdown" or ("shutdown", x);
        it is after "killed" and after crashes."""
        runs = Mailbox()
        child = Ending(how, runs)
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(sup, child.run, restart="transient")
            assert await runs.receive() == pid
            await wait_until_down(pid)
            if restarted:
                new = await runs.receive()
                assert new != pid
                assert TaskSupervisor.children(sup) == [new]
            else:
                await settle()
                assert runs.received() == []
                assert TaskSupervisor.children(sup) == []

    @pytest.mark.parametrize("how", ["return", "exit shutdown", "kill", "crash"])
    async def test_permanent_is_restarted_even_after_a_normal_exit(self, how: str) -> None:
        """§5.2: permanent is always restarted."""
        runs = Mailbox()
        child = Ending(how, runs)
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(sup, child.run, restart="permanent")
            assert await runs.receive() == pid
            new = await runs.receive()
            assert new != pid
            assert TaskSupervisor.children(sup) == [new]

    async def test_temporary_is_never_restarted(self) -> None:
        """§5.2: temporary (the default) is never restarted, not even after a crash."""
        runs = Mailbox()
        child = Ending("crash", runs)
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(sup, child.run)
            assert await runs.receive() == pid
            await wait_until_down(pid)
            await settle()
            assert runs.received() == []
            assert TaskSupervisor.children(sup) == []

    async def test_max_restarts_0_stops_at_the_first_restart(self) -> None:
        """§5.3: with max_restarts=0 the first restart stops the supervisor."""
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link(max_restarts=0)
        child = TaskSupervisor.start_child(sup, forever, restart="permanent")
        Process.link(child)
        Process.exit(child, "boom")
        assert await next_exit() == (child, "boom")
        assert await next_exit() == (sup.pid, "shutdown")
        assert not Process.alive(sup.pid)

    @pytest.mark.parametrize("make", ["TaskSupervisor", "Supervisor"])
    async def test_max_restarts_none_means_no_limit(self, make: str) -> None:
        """Not Elixir's (it wants an integer): ``max_restarts=None`` never stops the
        supervisor, however often its children restart."""
        runs = Mailbox()

        async def restarted() -> None:
            runs.send(Process.self())
            await forever()

        if make == "TaskSupervisor":
            sup: Any = await TaskSupervisor.start_link(max_restarts=None, max_seconds=1.0)
            TaskSupervisor.start_child(sup, restarted, restart="permanent")
        else:
            spec = Task.child_spec(restarted).replace(restart="permanent")
            sup = await Supervisor.start_link([spec], max_restarts=None, max_seconds=1.0)
        for _ in range(25):
            Process.exit(await runs.receive(), "kill")
        assert await runs.receive()  # restarted once more
        assert Process.alive(sup.pid)
        await sup.stop()

    async def test_too_many_restarts_stop_the_children_then_the_supervisor(
        self, caplog_taskvisor: pytest.LogCaptureFixture
    ) -> None:
        """§5.3: more than max_restarts restarts within max_seconds: the supervisor stops its
        other children, then exits "shutdown", which its linked starter receives; it logs
        one error (docs/supervisors.md)."""
        Process.flag("trap_exit", True)
        runs = Mailbox()

        async def restarted() -> None:
            runs.send(Process.self())
            await forever()

        sup = await TaskSupervisor.start_link(max_restarts=2)
        bystander = TaskSupervisor.start_child(sup, forever)
        task = TaskSupervisor.async_(sup, forever)  # linked to this (trapping) caller
        Process.link(bystander)
        TaskSupervisor.start_child(sup, restarted, restart="permanent")
        for _ in range(3):
            pid = await runs.receive()
            Process.exit(pid, "kill")
        got = await exits_of([bystander, task.pid])
        assert got == {bystander: "shutdown", task.pid: "shutdown"}
        assert await next_exit() == (sup.pid, "shutdown")
        assert runs.received() == []  # the third kill was not followed by a restart
        [record] = [r for r in caplog_taskvisor.records if r.name == "taskvisor"]
        assert record.levelno == logging.ERROR
        assert repr(sup.pid) in record.getMessage()

    async def test_a_starter_that_does_not_trap_exits_dies_with_the_supervisor(self) -> None:
        """§5.3: the start_link caller gets the supervisor's "shutdown" and, not trapping,
        dies of it."""
        Process.flag("trap_exit", True)
        mailbox = Mailbox()

        async def starter() -> None:
            sup = await TaskSupervisor.start_link(max_restarts=0)
            mailbox.send(TaskSupervisor.start_child(sup, forever, restart="permanent"))
            mailbox.send(sup.pid)
            await forever()

        starter_pid = Task.start(starter)
        child = await mailbox.receive()
        sup_pid = await mailbox.receive()
        Process.link(starter_pid)
        Process.exit(child, "kill")
        assert await next_exit() == (starter_pid, "shutdown")
        assert not Process.alive(sup_pid)

    async def test_restarts_older_than_max_seconds_do_not_count(self) -> None:
        """§5.3: only restarts within the last max_seconds count."""
        runs = Mailbox()

        async def restarted() -> None:
            runs.send(Process.self())
            await forever()

        async with TaskSupervisor(max_restarts=1, max_seconds=0.05) as sup:
            TaskSupervisor.start_child(sup, restarted, restart="permanent")
            Process.exit(await runs.receive(), "kill")  # restart 1
            pid = await runs.receive()
            await asyncio.sleep(0.1)  # more than max_seconds: restart 1 leaves the window
            Process.exit(pid, "kill")  # restart 2, alone in its window
            assert await runs.receive() != pid
            assert Process.alive(sup.pid)

    @pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is 3.12+")
    def test_restarts_of_a_child_that_ends_at_once_do_not_recurse_under_an_eager_factory(
        self,
    ) -> None:
        """A permanent child that ends without ever suspending is restarted again and again
        (within its intensity); with an eager task factory each restart runs inside the
        previous one's exit unless the supervisor defers it. Run in a subprocess: a deep
        recursion can take the interpreter down with it."""
        code = textwrap.dedent(
            """
            import asyncio
            from taskvisor import TaskSupervisor

            async def main():
                asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
                runs = 0

                async def quick():
                    nonlocal runs
                    runs += 1
                    if runs > 3000:
                        await asyncio.Event().wait()

                async with TaskSupervisor(max_restarts=100_000) as sup:
                    sup.start_child(quick, restart="permanent")
                    for _ in range(100_000):
                        if runs > 3000:
                            break
                        await asyncio.sleep(0)
                    print(runs, len(sup.children()))

            asyncio.run(main())
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == ["3001", "1"], done.stderr[-2000:]

    async def test_max_children_counts_running_children(self) -> None:
        """§5.4: a child that has ended frees its place."""
        go = asyncio.Event()

        async def until_go() -> None:
            await go.wait()

        async with TaskSupervisor(max_children=2) as sup:
            first = TaskSupervisor.start_child(sup, until_go)
            task = TaskSupervisor.async_nolink(sup, forever)
            with pytest.raises(MaxChildrenError):
                TaskSupervisor.start_child(sup, forever)
            with pytest.raises(MaxChildrenError):
                TaskSupervisor.async_nolink(sup, forever)
            go.set()
            await wait_until_down(first)
            second = TaskSupervisor.start_child(sup, forever)
            await Task.shutdown(task)
            third = TaskSupervisor.start_child(sup, forever)
            assert set(TaskSupervisor.children(sup)) == {second, third}
            await TaskSupervisor.terminate_child(sup, second)
            assert await Task.await_(TaskSupervisor.async_(sup, reply, "fits")) == "fits"

    @pytest.mark.parametrize("parent_ends", ["normally", "with a crash"])
    async def test_a_supervisor_stops_when_its_parent_exits(self, parent_ends: str) -> None:
        """A supervisor is linked to its starter: when the starter exits, for any reason,
        the supervisor stops its children, then exits with the starter's reason."""
        Process.flag("trap_exit", True)
        mailbox = Mailbox()
        go = asyncio.Event()

        async def parent() -> None:
            sup = await TaskSupervisor.start_link()
            mailbox.send((sup.pid, TaskSupervisor.start_child(sup, forever)))
            await go.wait()
            if parent_ends == "with a crash":
                raise RuntimeError("parent crashed")

        parent_pid = Task.start(parent)
        sup_pid, child = await mailbox.receive()
        for pid in (parent_pid, sup_pid, child):
            Process.link(pid)
        go.set()
        got_pid, reason = await next_exit()
        assert got_pid == parent_pid
        assert await next_exit() == (child, "shutdown")
        assert await next_exit() == (sup_pid, reason)
        if parent_ends == "normally":
            assert reason == "normal"
        else:
            assert isinstance(reason, RuntimeError)

    async def test_a_killed_supervisor_takes_its_children_with_it(self) -> None:
        """A supervisor killed (exit "kill") has no time to stop its children: they get its
        "killed" through their links and die of it (those that do not trap exits)."""
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        children = [TaskSupervisor.start_child(sup, forever) for _ in "12"]
        task = TaskSupervisor.async_nolink(sup, forever)
        await settle()
        for child in children:
            Process.link(child)
        Process.exit(sup.pid, "kill")
        assert await next_exit() == (sup.pid, "killed")
        assert await exits_of(children) == dict.fromkeys(children, "killed")
        assert await Task.yield_(task, SAFETY) == Exit("killed")

    async def test_stop_stops_the_children_first(self) -> None:
        """Leaving ``async with`` stops the children (each within its shutdown), then the
        supervisor, whose "normal" exit its trapping starter receives last."""
        Process.flag("trap_exit", True)
        ready = Mailbox()
        async with TaskSupervisor() as sup:
            slow = TaskSupervisor.start_child(sup, trap_then_exit, ready, "shutdown")
            fast = TaskSupervisor.start_child(sup, forever)
            assert await ready.receive() == "ready"
            Process.link(slow)
            Process.link(fast)
        assert not Process.alive(sup.pid)
        assert not Process.alive(slow) and not Process.alive(fast)
        assert await exits_of([slow, fast]) == {slow: "shutdown", fast: "shutdown"}
        assert await next_exit() == (sup.pid, "normal")

    @pytest.mark.parametrize("how", ["exception", "outside cancel"])
    async def test_leaving_async_with_by_an_exception_stops_the_supervisor(self, how: str) -> None:
        """DESIGN §2: ``async with`` stops the supervisor on exit, however the block ends
        (an ``asyncio.timeout`` cancel is only the trigger here, not a measure)."""
        pids: list[Pid] = []
        with pytest.raises(ValueError if how == "exception" else TimeoutError):
            async with asyncio.timeout(None if how == "exception" else 0.01):
                async with TaskSupervisor() as sup:
                    pids += [sup.pid, TaskSupervisor.start_child(sup, forever)]
                    if how == "exception":
                        raise ValueError("the block failed")
                    await forever()
        assert not any(Process.alive(pid) for pid in pids)

    async def test_leaving_async_with_after_a_linked_crash_stops_the_supervisor(self) -> None:
        """DESIGN §2: ``async with`` stops the supervisor on exit, also when the owner's own
        exit was just decided by a linked crash (it does not trap exits): the block is left
        with the owner's `TaskExit` and nothing the supervisor ran is left behind."""
        mailbox = Mailbox()
        go = asyncio.Event()

        async def owner() -> None:
            pids: list[Pid] = []
            try:
                async with TaskSupervisor() as sup:
                    pids += [sup.pid, TaskSupervisor.start_child(sup, forever)]
                    TaskSupervisor.async_(sup, crash_on, go)  # linked to this owner
                    await forever()
            except BaseException as exc:
                mailbox.send((type(exc), [Process.alive(pid) for pid in pids]))
                raise

        Process.flag("trap_exit", True)
        owner_pid = Task.start_link(owner)
        await settle()
        go.set()
        error, alive = await mailbox.receive()
        assert issubclass(error, TaskExit | asyncio.CancelledError)
        assert alive == [False, False], "the supervisor and its child outlived `async with`"
        got_pid, reason = await next_exit()
        assert got_pid == owner_pid
        assert isinstance(reason, RuntimeError)

    async def test_an_async_caller_that_does_not_trap_exits_dies_with_its_task(self) -> None:
        """§4.3: an async_ caller linked to a task that the supervisor shuts down gets the
        task's "shutdown" and, not trapping, dies of it."""
        Process.flag("trap_exit", True)
        mailbox = Mailbox()
        async with TaskSupervisor() as sup:

            async def client() -> None:
                mailbox.send(TaskSupervisor.async_(sup, forever).pid)
                await forever()

            client_pid = Task.start(client)
            task_pid = await mailbox.receive()
            Process.link(client_pid)
        assert await next_exit() == (client_pid, "shutdown")
        assert not Process.alive(task_pid)
        assert await next_exit() == (sup.pid, "normal")

    async def test_terminate_child_does_not_restart_a_permanent_child(self) -> None:
        """§2.2: a terminated child is removed, whatever its restart."""
        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, forever, restart="permanent")
            await TaskSupervisor.terminate_child(sup, child)
            await settle()
            assert TaskSupervisor.children(sup) == []

    async def test_stop_with_a_reason(self) -> None:
        """``stop(reason)``: the children get "shutdown", the links get `reason`."""
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        child = TaskSupervisor.start_child(sup, forever)
        Process.link(child)
        await sup.stop(("shutdown", "bye"))
        assert await next_exit() == (child, "shutdown")
        assert await next_exit() == (sup.pid, ("shutdown", "bye"))

    async def test_stop_is_idempotent_and_can_be_called_from_several_processes(self) -> None:
        async with TaskSupervisor() as sup:
            TaskSupervisor.start_child(sup, forever)

            async def stopper() -> None:
                await sup.stop()

            tasks = [Task.async_(stopper) for _ in range(3)]
            await sup.stop()
            assert await Task.await_many(tasks, SAFETY) == [None, None, None]
            assert not Process.alive(sup.pid)
            await sup.stop()

    async def test_a_child_can_stop_its_own_supervisor(self) -> None:
        """The child asking is stopped like the others ("shutdown"): no deadlock."""
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        go = asyncio.Event()

        async def stopper() -> None:
            await go.wait()
            await sup.stop()

        child = TaskSupervisor.start_child(sup, stopper)
        Process.link(child)
        go.set()
        assert await next_exit() == (child, "shutdown")
        assert await next_exit() == (sup.pid, "normal")

    async def test_terminate_child_kills_a_child_that_swallows_cancellation(self) -> None:
        """terminate_child ends within the child's shutdown and the kill's grace."""
        Process.flag("trap_exit", True)
        ready = asyncio.Event()

        async def stubborn() -> None:
            ready.set()
            while True:
                try:
                    await forever()
                except asyncio.CancelledError:
                    continue

        async with TaskSupervisor() as sup:
            child = TaskSupervisor.start_child(sup, stubborn, shutdown=0.01)
            await ready.wait()
            Process.link(child)
            with logged_warnings(None) as caught:
                async with asyncio.timeout(SAFETY):  # a guard against hanging, not a measure
                    await TaskSupervisor.terminate_child(sup, child)
            assert not Process.alive(child)
            assert await next_exit() == (child, "killed")
            messages = [r.getMessage() for r in caught]
            assert any(repr(child) in m for m in messages), messages

    async def test_a_child_that_swallows_cancellation_is_killed_with_a_warning(self) -> None:
        """Stopping a supervisor whose child catches ``CancelledError`` and keeps waiting
        ends (within the child's shutdown and the kill's grace) and warns, naming the child."""
        Process.flag("trap_exit", True)
        ready = asyncio.Event()

        async def stubborn() -> None:
            ready.set()
            while True:
                try:
                    await forever()
                except asyncio.CancelledError:
                    continue

        sup = await TaskSupervisor.start_link()
        child = TaskSupervisor.start_child(sup, stubborn, shutdown=0.01)
        polite = TaskSupervisor.start_child(sup, forever)
        await ready.wait()
        Process.link(child)
        with logged_warnings(None) as caught:
            async with asyncio.timeout(SAFETY):  # a guard against hanging, not a measure
                await sup.stop()
        assert not Process.alive(child)
        assert not Process.alive(polite)
        assert await next_exit() == (child, "killed")
        assert await next_exit() == (sup.pid, "normal")
        messages = [r.getMessage() for r in caught]
        assert any(repr(child) in m for m in messages), messages
        assert not any(repr(polite) in m for m in messages), messages
