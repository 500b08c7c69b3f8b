"""The static `Supervisor`: start order, stop order, restarts, strategies, intensity, specs.

Children here are driven by the test through `Kids`: each start and each exit of a child is
recorded in one list, in the order it happened, and a child exits only when the test orders
it to (or when its supervisor stops it). Every check is on that record, on exit signals kept
by a trapping test process, or on `which_children`/`count_children`; nothing is timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

import pytest

from support import SAFETY, forever, logged_warnings, next_exit, settle, wait_until_down
from taskvisor import (
    ChildInfo,
    ChildSpec,
    Pid,
    Process,
    Supervisor,
    Task,
    TaskExit,
    TaskSupervisor,
)


class Kids:
    """Children that record their lives in `log` and exit when the test says.

    ``log`` holds ``("up", id)`` when a child's function starts and ``("down", id)`` when it
    ends (its ``finally``), in order. `order` tells the running child `id` how to end:
    ``"normal"`` (return), ``"crash"`` (raise) or any other exit reason (``raise TaskExit``).
    """

    def __init__(self) -> None:
        self.log: list[tuple[str, Hashable]] = []
        self.pids: dict[Hashable, Pid] = {}
        self.ancestry: dict[Hashable, tuple[list[Pid], list[Pid]]] = {}
        self._orders: dict[Hashable, asyncio.Queue[Any]] = {}
        self._changed = asyncio.Event()

    def _queue(self, id: Hashable) -> asyncio.Queue[Any]:
        return self._orders.setdefault(id, asyncio.Queue())

    def note(self, what: str, id: Hashable) -> None:
        self.log.append((what, id))
        self._changed.set()

    async def body(self, id: Hashable) -> None:
        self.pids[id] = Process.self()
        self.ancestry[id] = (Process.ancestors(), Process.callers())
        self.note("up", id)
        try:
            order = await self._queue(id).get()
        finally:
            self.note("down", id)
        if order == "crash":
            raise RuntimeError(f"{id} crashed")
        if order != "normal":
            raise TaskExit(order)

    def order(self, id: Hashable, how: Any) -> None:
        self._queue(id).put_nowait(how)

    def spec(self, id: Hashable, **changes: Any) -> ChildSpec:
        """A child that runs `body(id)` via ``Task.start_link``; permanent unless changed."""
        changes.setdefault("restart", "permanent")
        return Task.child_spec(self.body, id).replace(id=id, **changes)

    def synced_spec(self, id: Hashable, **changes: Any) -> ChildSpec:
        """As `spec`, but its start function returns only once the child runs (as an Elixir
        ``start_link`` returns after ``init``)."""

        async def start() -> Pid:
            pid = Task.start_link(self.body, id)
            await self.until(("up", id), self.log.count(("up", id)) + 1)
            return pid

        changes.setdefault("restart", "permanent")
        return ChildSpec(id=id, start=(start, ()), **changes)

    async def seen(self, count: int) -> list[tuple[str, Hashable]]:
        """Wait until `count` events are in the log; return the log."""
        async with asyncio.timeout(SAFETY):
            while len(self.log) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.log

    async def until(self, event: tuple[str, Hashable], times: int = 1) -> None:
        """Wait until `event` has happened `times` times in all."""
        async with asyncio.timeout(SAFETY):
            while self.log.count(event) < times:
                self._changed.clear()
                await self._changed.wait()


async def watch_exits(pids: list[Pid]) -> None:
    """Trap exits and link to `pids`, to read their exit reasons with `next_exit`."""
    Process.flag("trap_exit", True)
    for pid in pids:
        Process.link(pid)


def ups(*ids: Hashable) -> list[tuple[str, Hashable]]:
    return [("up", id) for id in ids]


def downs(*ids: Hashable) -> list[tuple[str, Hashable]]:
    return [("down", id) for id in ids]


async def barrier(kids: Kids, probe: Hashable = "probe") -> None:
    """Let the supervisor handle every exit that happened before now.

    The supervisor handles its children's exits in the order they came: crashing the
    permanent child `probe` and waiting for its restart means every earlier exit is handled.
    """
    ups_before = kids.log.count(("up", probe))
    kids.order(probe, "crash")
    await kids.until(("up", probe), ups_before + 1)


# -- start and stop order -----------------------------------------------------------------


class TestStartAndStopOrder:
    async def test_children_start_in_order_and_stop_in_reverse_order(self) -> None:
        started: list[Hashable] = []
        kids = Kids()

        async def start(id: Hashable) -> Pid:
            started.append(id)  # the start function runs in the supervisor, one at a time
            running = [c.id for c in Supervisor.which_children("order-tree") if c.pid]
            assert running == started[:-1]
            return Task.start_link(kids.body, id)

        specs = [ChildSpec(id=id, start=(start, (id,))) for id in "abc"]
        sup = await Supervisor.start_link(specs, name="order-tree")
        assert started == ["a", "b", "c"]
        assert await kids.seen(3) == ups("a", "b", "c")
        await sup.stop()
        assert kids.log == ups("a", "b", "c") + downs("c", "b", "a")
        assert not Process.alive(sup.pid)

    async def test_start_link_returns_once_every_child_has_started(self) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec(id) for id in "abc"])
        children = sup.which_children()
        assert [c.id for c in children] == ["a", "b", "c"]
        assert all(c.pid is not None and Process.alive(c.pid) for c in children)
        await sup.stop()

    async def test_each_child_is_stopped_within_its_own_shutdown_one_after_another(
        self,
    ) -> None:
        """Children stop one by one in reverse order: a child that takes long to clean up is
        waited for up to its own shutdown (here long enough), and its elder sibling is not
        stopped until it is dead; a child that overruns its own (short) shutdown is killed."""
        log: list[str] = []
        release = asyncio.Event()
        cleaning = asyncio.Event()

        async def child(id: str, cleanup: str) -> None:
            log.append(f"up {id}")
            try:
                await forever()
            finally:
                log.append(f"stopping {id}")
                if cleanup == "slow":
                    cleaning.set()
                    await release.wait()
                elif cleanup == "hangs":
                    await forever()  # only a kill ends this
                log.append(f"stopped {id}")

        Process.flag("trap_exit", True)
        specs = [
            Task.child_spec(child, "a", "quick").replace(id="a"),
            Task.child_spec(child, "b", "slow").replace(id="b", shutdown=SAFETY * 3),
            Task.child_spec(child, "c", "hangs").replace(id="c", shutdown=0.05),
        ]
        sup = await Supervisor.start_link(specs)
        pids = {c.id: c.pid for c in sup.which_children()}
        for pid in pids.values():
            Process.link(pid)
        await settle()
        assert log == ["up a", "up b", "up c"]

        with logged_warnings() as warned:
            stopper = asyncio.ensure_future(sup.stop())
            async with asyncio.timeout(SAFETY):
                await cleaning.wait()
            # c was killed after its 0.05 s; b is cleaning up; a has not been asked to stop
            assert log == ["up a", "up b", "up c", "stopping c", "stopping b"]
            await settle()
            assert "stopping a" not in log
            release.set()
            async with asyncio.timeout(SAFETY):
                await stopper
        assert log == [
            *["up a", "up b", "up c"],
            *["stopping c", "stopping b", "stopped b", "stopping a", "stopped a"],
        ]
        exits = dict([await next_exit() for _ in range(4)])
        assert exits == {
            pids["c"]: "killed",
            pids["b"]: "shutdown",
            pids["a"]: "shutdown",
            sup.pid: "normal",
        }
        messages = [w.getMessage() for w in warned]
        assert any(repr(pids["c"]) in m for m in messages)
        assert not any(repr(pids["b"]) in m or repr(pids["a"]) in m for m in messages)

    async def test_children_get_exit_shutdown_from_the_supervisor(self) -> None:
        got: list[tuple[Pid | None, Any]] = []

        async def trapping() -> None:
            Process.flag("trap_exit", True)
            signal = await Process.receive_exit(None)
            assert signal is not None
            got.append(signal)

        sup = await Supervisor.start_link([Task.child_spec(trapping).replace(shutdown=SAFETY)])
        await settle()
        await sup.stop()
        assert got == [(sup.pid, "shutdown")]


# -- restart values -------------------------------------------------------------------------


class TestRestart:
    @pytest.mark.parametrize("how", ["normal", "crash", "shutdown", ("shutdown", "bye"), "boom"])
    async def test_a_temporary_child_is_never_restarted_and_is_removed(self, how: Any) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("t", restart="temporary"), kids.spec("probe")])
        await kids.seen(2)
        kids.order("t", how)
        await wait_until_down(kids.pids["t"])
        await barrier(kids)
        assert kids.log.count(("up", "t")) == 1
        assert [c.id for c in sup.which_children()] == ["probe"]
        assert sup.count_children()["specs"] == 1
        await sup.stop()

    @pytest.mark.parametrize("how", ["normal", "shutdown", ("shutdown", "bye")])
    async def test_a_transient_child_is_not_restarted_after_a_clean_exit(self, how: Any) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("t", restart="transient"), kids.spec("probe")])
        await kids.seen(2)
        kids.order("t", how)
        await wait_until_down(kids.pids["t"])
        await barrier(kids)
        assert kids.log.count(("up", "t")) == 1
        # the spec stays, without a process
        assert sup.which_children()[0] == ChildInfo("t", None, "worker", [Task.start_link])
        assert sup.count_children() == {"specs": 2, "active": 1, "supervisors": 0, "workers": 2}
        await sup.stop()

    @pytest.mark.parametrize("how", ["crash", "boom", ("boom", 1), "killed"])
    async def test_a_transient_child_is_restarted_after_an_abnormal_exit(self, how: Any) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("t", restart="transient")])
        await kids.seen(1)
        first = kids.pids["t"]
        kids.order("t", how)
        await kids.until(("up", "t"), 2)
        assert kids.pids["t"] != first
        assert sup.which_children() == [ChildInfo("t", kids.pids["t"], "worker", [Task.start_link])]
        await sup.stop()

    @pytest.mark.parametrize("how", ["normal", "crash", "shutdown", ("shutdown", "bye")])
    async def test_a_permanent_child_is_always_restarted(self, how: Any) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("p", restart="permanent")])
        await kids.seen(1)
        first = kids.pids["p"]
        kids.order("p", how)
        await kids.until(("up", "p"), 2)
        assert kids.pids["p"] != first
        assert Process.alive(kids.pids["p"])
        assert sup.which_children()[0].pid == kids.pids["p"]
        await sup.stop()

    async def test_a_child_killed_from_outside_is_restarted(self) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("p")])
        await kids.seen(1)
        first = kids.pids["p"]
        Process.exit(first, "kill")
        await kids.until(("up", "p"), 2)
        assert kids.pids["p"] != first
        await sup.stop()

    async def test_a_restarted_child_has_the_same_ancestors_and_callers(self) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("p")])
        await kids.seen(1)
        before = kids.ancestry["p"]
        kids.order("p", "crash")
        await kids.until(("up", "p"), 2)
        assert kids.ancestry["p"] == before
        await sup.stop()


# -- strategies -----------------------------------------------------------------------------


class TestStrategies:
    async def _crash(
        self, strategy: str, crashed: str, expected: list[tuple[str, Hashable]]
    ) -> tuple[Kids, dict[Hashable, Pid], dict[Hashable, Pid]]:
        """Start a, b, c (permanent) under `strategy`, crash one, and check what follows."""
        kids = Kids()
        sup = await Supervisor.start_link(
            [kids.spec(id) for id in "abc"], strategy=strategy, max_restarts=10
        )
        await kids.seen(3)
        before = dict(kids.pids)
        kids.order(crashed, "crash")
        await kids.seen(3 + len(expected))
        await sup.stop()
        assert kids.log == ups("a", "b", "c") + expected + downs("c", "b", "a")
        return kids, before, dict(kids.pids)

    async def test_one_for_one_restarts_only_the_crashed_child(self) -> None:
        _, before, after = await self._crash("one_for_one", "b", downs("b") + ups("b"))
        assert after["a"] == before["a"] and after["c"] == before["c"]
        assert after["b"] != before["b"]

    async def test_one_for_all_stops_the_others_in_reverse_order_then_restarts_all(
        self,
    ) -> None:
        expected = downs("b") + downs("c", "a") + ups("a", "b", "c")
        _, before, after = await self._crash("one_for_all", "b", expected)
        assert all(after[id] != before[id] for id in "abc")

    @pytest.mark.parametrize(
        ("crashed", "expected"),
        [
            ("a", downs("a") + downs("c", "b") + ups("a", "b", "c")),
            ("b", downs("b") + downs("c") + ups("b", "c")),
            ("c", downs("c") + ups("c")),
        ],
    )
    async def test_rest_for_one_restarts_the_crashed_child_and_those_after_it(
        self, crashed: str, expected: list[tuple[str, Hashable]]
    ) -> None:
        _, before, after = await self._crash("rest_for_one", crashed, expected)
        restarted = "abc"["abc".index(crashed) :]
        for id in "abc":
            assert (after[id] != before[id]) == (id in restarted), id

    async def test_one_for_all_does_not_restart_a_temporary_sibling_it_stopped(self) -> None:
        """As Elixir: a temporary child stopped for a restart of its siblings is removed."""
        kids = Kids()
        specs = [kids.spec("a"), kids.spec("tmp", restart="temporary"), kids.spec("c")]
        sup = await Supervisor.start_link(specs, strategy="one_for_all", max_restarts=10)
        await kids.seen(3)
        kids.order("c", "crash")
        await kids.seen(3 + 5)
        assert kids.log[3:] == downs("c") + downs("tmp", "a") + ups("a", "c")
        assert [c.id for c in sup.which_children()] == ["a", "c"]
        await sup.stop()
        assert kids.log[8:] == downs("c", "a")

    async def test_a_transient_child_that_ended_normally_is_restarted_by_one_for_all(
        self,
    ) -> None:
        """Elixir's one_for_all restarts every child it keeps a spec for, running or not."""
        kids = Kids()
        specs = [kids.spec("t", restart="transient"), kids.spec("p")]
        sup = await Supervisor.start_link(specs, strategy="one_for_all", max_restarts=10)
        await kids.seen(2)
        kids.order("t", "normal")
        await wait_until_down(kids.pids["t"])
        kids.order("p", "crash")
        await kids.until(("up", "p"), 2)
        await settle()
        assert kids.log == ups("t", "p") + downs("t", "p") + ups("t", "p")
        await sup.stop()

    @pytest.mark.parametrize(
        ("restart", "how"),
        [("temporary", "crash"), ("temporary", "normal"), ("transient", "normal")],
    )
    @pytest.mark.parametrize("strategy", ["one_for_all", "rest_for_one"])
    async def test_an_exit_that_restarts_nothing_leaves_the_siblings_alone(
        self, strategy: str, restart: str, how: str
    ) -> None:
        """A temporary child's exit, or a transient child's clean exit, is no restart: the
        strategy does not touch its siblings."""
        kids = Kids()
        specs = [kids.spec("x", restart=restart), kids.spec("b"), kids.spec("probe")]
        sup = await Supervisor.start_link(specs, strategy=strategy, max_restarts=10)
        await kids.seen(3)
        before = dict(kids.pids)
        kids.order("x", how)
        await wait_until_down(kids.pids["x"])
        if strategy == "rest_for_one":
            await barrier(kids)  # the probe is last: its crash restarts it alone
            assert kids.log == ups("x", "b", "probe") + downs("x", "probe") + ups("probe")
        else:
            await settle(50)  # a wrongful restart would stop "probe" first, within a few turns
            assert kids.log == ups("x", "b", "probe") + downs("x")
        assert kids.pids["b"] == before["b"]
        await sup.stop()

    async def test_a_nested_supervisor_that_dies_is_restarted_with_its_children(self) -> None:
        kids = Kids()
        inners: list[Supervisor] = []

        async def start_inner() -> Supervisor:
            inner = await Supervisor.start_link([kids.spec("x"), kids.spec("y")], max_restarts=0)
            inners.append(inner)
            return inner

        specs = [
            kids.spec("a"),
            ChildSpec(id="inner", start=(start_inner, ()), type="supervisor", shutdown=None),
        ]
        sup = await Supervisor.start_link(specs)
        await kids.seen(3)
        kids.order("x", "crash")  # the inner tree's intensity is 0: it exits "shutdown"
        await kids.until(("up", "y"), 2)
        assert kids.log == ups("a", "x", "y") + downs("x", "y") + ups("x", "y")
        assert len(inners) == 2 and not Process.alive(inners[0].pid)
        assert sup.which_children()[1].pid == inners[1].pid
        await sup.stop()
        assert kids.log[-3:] == downs("y", "x", "a")


# -- restart intensity -----------------------------------------------------------------------


class TestRestartIntensity:
    async def test_too_many_restarts_stop_the_tree_with_shutdown(
        self, caplog_taskvisor: pytest.LogCaptureFixture
    ) -> None:
        """More than max_restarts restarts in max_seconds: the children are stopped in
        reverse order, the tree exits "shutdown", and its linked starter gets that signal."""
        Process.flag("trap_exit", True)
        kids = Kids()
        specs = [kids.spec("a"), kids.spec("b"), kids.spec("c")]
        sup = await Supervisor.start_link(specs, max_restarts=1, max_seconds=3600)
        sup_pid = sup.pid
        await kids.seen(3)
        kids.order("b", "crash")
        await kids.until(("up", "b"), 2)
        kids.order("b", "crash")
        assert await next_exit() == (sup_pid, "shutdown")
        assert not Process.alive(sup_pid)
        assert kids.log == ups("a", "b", "c") + downs("b") + ups("b") + downs("b", "c", "a")
        assert any(
            getattr(r, "reason", None) == "reached_max_restart_intensity"
            for r in caplog_taskvisor.records
        )
        with pytest.raises(TaskExit) as info:
            sup.which_children()
        assert info.value.reason == "noproc"

    async def test_max_restarts_zero_stops_the_tree_at_the_first_exit(self) -> None:
        Process.flag("trap_exit", True)
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("a")], max_restarts=0)
        await kids.seen(1)
        kids.order("a", "normal")
        assert await next_exit() == (sup.pid, "shutdown")
        assert kids.log == ups("a") + downs("a")

    async def test_a_starter_that_does_not_trap_exits_dies_with_the_tree(self) -> None:
        Process.flag("trap_exit", True)
        kids = Kids()
        trees: asyncio.Queue[Supervisor] = asyncio.Queue()

        async def starter() -> None:
            trees.put_nowait(await Supervisor.start_link([kids.spec("a")], max_restarts=0))
            await forever()

        pid = Task.start_link(starter)
        async with asyncio.timeout(SAFETY):
            sup = await trees.get()
        await kids.seen(1)
        kids.order("a", "crash")
        assert await next_exit() == (pid, "shutdown")
        assert not Process.alive(sup.pid)

    async def test_a_restart_that_fails_to_start_is_retried_and_counts(self) -> None:
        """As Elixir's supervisors: a failed restart is tried again, each attempt counting
        toward the intensity; past it, the tree exits "shutdown"."""
        Process.flag("trap_exit", True)
        kids = Kids()
        attempts: list[int] = []

        def start() -> Pid:
            attempts.append(len(attempts))
            if len(attempts) > 1:
                raise OSError("cannot come back")
            return Task.start_link(kids.body, "p")

        specs = [kids.spec("a"), ChildSpec(id="p", start=(start, ()))]
        sup = await Supervisor.start_link(specs, max_restarts=3, max_seconds=3600)
        await kids.seen(2)
        kids.order("p", "crash")
        assert await next_exit() == (sup.pid, "shutdown")
        assert len(attempts) == 1 + 3  # the first start, then one attempt per allowed restart
        assert kids.log == ups("a", "p") + downs("p", "a")

    async def test_restarts_outside_the_window_do_not_count(self) -> None:
        """max_restarts=1 within a window: a restart counts only while it is in the window;
        two crashes separated by more than max_seconds keep the tree up."""
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("p")], max_restarts=1, max_seconds=0.01)
        await kids.seen(1)
        for n in range(2, 5):
            marker = asyncio.get_running_loop().time()
            while asyncio.get_running_loop().time() <= marker + 0.02:  # leave the window
                await asyncio.sleep(0.01)
            kids.order("p", "crash")
            await kids.until(("up", "p"), n)
        assert Process.alive(sup.pid)
        await sup.stop()


# -- which_children and count_children -------------------------------------------------------


class TestIntrospection:
    async def test_which_children_and_count_children(self) -> None:
        kids = Kids()
        inner_ancestors: list[list[Pid]] = []

        async def in_inner() -> None:
            inner_ancestors.append(Process.ancestors())

        specs = [
            kids.spec("a"),
            TaskSupervisor.child_spec(name="intro-inner"),
            kids.spec("t", restart="transient"),
        ]
        sup = await Supervisor.start_link(specs, name="intro-tree")
        await kids.seen(2)
        kids.order("t", "normal")
        await wait_until_down(kids.pids["t"])

        children = sup.which_children()
        assert [tuple(c)[:1] + tuple(c)[2:3] for c in children] == [
            ("a", "worker"),
            ("intro-inner", "supervisor"),
            ("t", "worker"),
        ]
        assert all(isinstance(c, ChildInfo) for c in children)
        a, inner, t = children
        assert a.pid == kids.pids["a"]
        assert a.modules == [Task.start_link]
        assert t.pid is None
        assert inner.pid is not None and Process.alive(inner.pid)
        # the pid listed is the task supervisor's own: its children name it as ancestor
        TaskSupervisor.start_child("intro-inner", in_inner)
        async with asyncio.timeout(SAFETY):
            while not inner_ancestors:
                await asyncio.sleep(0)
        assert inner_ancestors[0][:2] == [inner.pid, sup.pid]

        expected = {"specs": 3, "active": 2, "supervisors": 1, "workers": 2}
        assert sup.count_children() == expected
        assert Supervisor.count_children("intro-tree") == expected
        assert Supervisor.which_children("intro-tree") == children
        await sup.stop()
        assert not Process.alive(inner.pid)
        for query in (Supervisor.which_children, Supervisor.count_children):
            with pytest.raises(TaskExit) as info:
                query(sup)
            assert info.value.reason == "noproc"

    async def test_an_empty_tree(self) -> None:
        async with Supervisor([]) as sup:
            assert sup.which_children() == []
            assert sup.count_children() == {
                "specs": 0,
                "active": 0,
                "supervisors": 0,
                "workers": 0,
            }

    async def test_which_children_of_a_supervisor_not_started_is_refused(self) -> None:
        sup = Supervisor([])
        with pytest.raises((TaskExit, RuntimeError)):
            sup.which_children()


# -- child spec forms ----------------------------------------------------------------------


class Worker:
    """A user's class that says how to run it under a supervisor (``child_spec``)."""

    kids: Kids | None = None

    @classmethod
    def child_spec(cls, name: str = "worker", *, restart: str = "permanent") -> ChildSpec:
        assert cls.kids is not None
        return ChildSpec(
            id=("Worker", name), start=(Task.start_link, (cls.kids.body, name)), restart=restart
        )


class Bare:
    """A class whose ``child_spec()`` takes no argument: listed bare in the children."""

    kids: Kids | None = None

    @classmethod
    def child_spec(cls) -> ChildSpec:
        assert cls.kids is not None
        return ChildSpec(id=Bare, start=(Task.start_link, (cls.kids.body, "bare")))


class TestChildSpecForms:
    async def test_every_form_of_child(self, monkeypatch: pytest.MonkeyPatch) -> None:
        kids = Kids()
        monkeypatch.setattr(Worker, "kids", kids)
        monkeypatch.setattr(Bare, "kids", kids)
        children: list[Any] = [
            ChildSpec(id="spec", start=(Task.start_link, (kids.body, "spec"))),
            {"id": "map", "start": (Task.start_link, (kids.body, "map")), "restart": "transient"},
            (Worker, {"name": "kw", "restart": "transient"}),
            (Worker, "positional"),
            Bare,
        ]
        sup = await Supervisor.start_link(children)
        await kids.seen(5)
        assert kids.log == ups("spec", "map", "kw", "positional", "bare")
        ids = [c.id for c in sup.which_children()]
        assert ids == ["spec", "map", ("Worker", "kw"), ("Worker", "positional"), Bare]
        # the options reached the spec: the transient "kw" is not restarted after "normal"
        kids.order("kw", "normal")
        await wait_until_down(kids.pids["kw"])
        kids.order("positional", "normal")  # permanent: restarted
        await kids.until(("up", "positional"), 2)
        assert sup.which_children()[2].pid is None
        await sup.stop()

    async def test_a_start_function_may_be_async_or_return_an_object_with_a_pid(self) -> None:
        kids = Kids()

        async def start_async(id: str) -> Pid:
            await asyncio.sleep(0)
            return Task.start_link(kids.body, id)

        async def start_task_supervisor() -> TaskSupervisor:
            return await TaskSupervisor.start_link()

        specs = [
            ChildSpec(id="async", start=(start_async, ("async",))),
            ChildSpec(id="ts", start=(start_task_supervisor, ()), type="supervisor"),
        ]
        sup = await Supervisor.start_link(specs)
        await kids.seen(1)
        assert all(c.pid is not None and Process.alive(c.pid) for c in sup.which_children())
        await sup.stop()

    async def test_a_start_function_returning_none_is_ignored(self) -> None:
        """Elixir's ``:ignore``: the child is listed without a process and not restarted."""
        kids = Kids()
        specs = [ChildSpec(id="ignored", start=(lambda: None, ())), kids.spec("a")]
        sup = await Supervisor.start_link(specs)
        await kids.seen(1)
        assert [(c.id, c.pid) for c in sup.which_children()] == [
            ("ignored", None),
            ("a", kids.pids["a"]),
        ]
        assert sup.count_children()["active"] == 1
        await sup.stop()

    def test_a_bad_child_is_refused_naming_it(self) -> None:
        with pytest.raises(TypeError, match=r"children\[1\]"):
            Supervisor([Task.child_spec(forever), 42])

        class Wrong:
            @staticmethod
            def child_spec() -> Any:
                return {"id": "x"}

        with pytest.raises(TypeError, match="child_spec"):
            Supervisor([Wrong])
        with pytest.raises(TypeError, match="children"):
            Supervisor("abc")
        with pytest.raises(TypeError):
            Supervisor([{"id": "x", "start": "not a function"}])

    async def test_duplicate_ids_are_refused_before_anything_starts(self) -> None:
        ran: list[str] = []

        async def note() -> None:
            ran.append("ran")

        with pytest.raises(ValueError, match=r"\bid\b") as info:
            Supervisor([Task.child_spec(note), Task.child_spec(forever)])
        assert "Task" in str(info.value)
        with pytest.raises(ValueError, match="'x'"):
            await Supervisor.start_link(
                [
                    ChildSpec(id="x", start=(Task.start_link, (note,))),
                    ChildSpec(id="x", start=(Task.start_link, (note,))),
                ]
            )
        await settle()
        assert ran == []

    @pytest.mark.parametrize(
        ("option", "value", "error"),
        [
            ("strategy", "one_for_none", ValueError),
            ("strategy", None, ValueError),
            ("strategy", "simple_one_for_one", ValueError),
            ("max_restarts", -1, ValueError),
            ("max_restarts", "3", TypeError),
            ("max_restarts", 1.5, TypeError),
            ("max_restarts", True, TypeError),
            ("max_seconds", 0, ValueError),
            ("max_seconds", -1.0, ValueError),
            ("max_seconds", "5", TypeError),
            ("max_seconds", None, ValueError),
        ],
    )
    async def test_a_bad_option_is_refused_at_call_time_naming_it(
        self, option: str, value: Any, error: type[Exception]
    ) -> None:
        kids = Kids()
        with pytest.raises((TypeError, ValueError), match=option) as info:
            Supervisor([kids.spec("a")], **{option: value})
        assert isinstance(info.value, error)
        with pytest.raises(error, match=option):
            await Supervisor.start_link([kids.spec("a")], **{option: value})
        await settle()
        assert kids.log == []


# -- a child that fails to start -----------------------------------------------------------


class TestFailedStart:
    async def test_a_child_that_fails_to_start_stops_the_ones_before_it(self) -> None:
        kids = Kids()
        error = ValueError("no b today")

        def fail() -> Pid:
            raise error

        specs = [
            kids.synced_spec("a"),
            kids.synced_spec("a2"),
            ChildSpec(id="b", start=(fail, ())),
            kids.spec("c"),
        ]
        with pytest.raises(TaskExit) as info:
            await Supervisor.start_link(specs, name="failing-tree")
        assert info.value.reason == ("shutdown", ("failed_to_start_child", "b", error))
        await settle()
        assert kids.log == ups("a", "a2") + downs("a2", "a")  # c never started
        # the caller is unharmed, and the name is free again
        sup = await Supervisor.start_link([kids.spec("d")], name="failing-tree")
        await sup.stop()

    async def test_a_start_function_returning_nonsense_is_a_failed_start(self) -> None:
        specs = [ChildSpec(id="odd", start=(lambda: "not a pid", ()))]
        with pytest.raises(TaskExit) as info:
            await Supervisor.start_link(specs)
        shutdown, (what, id, error) = info.value.reason
        assert (shutdown, what, id) == ("shutdown", "failed_to_start_child", "odd")
        assert isinstance(error, TypeError)

    async def test_a_failed_start_under_async_with_raises_task_exit(self) -> None:
        def fail() -> Pid:
            raise OSError("port taken")

        with pytest.raises(TaskExit) as info:
            async with Supervisor([ChildSpec(id="x", start=(fail, ()))]):
                raise AssertionError("not reached")
        assert info.value.reason[1][:2] == ("failed_to_start_child", "x")


# -- processes: ancestry, parent, names --------------------------------------------------


class TestProcesses:
    async def test_ancestors_and_callers_of_a_child_start_with_the_supervisor(self) -> None:
        kids = Kids()
        me = Process.self()
        sup = await Supervisor.start_link([kids.spec("a")])
        await kids.seen(1)
        ancestors, callers = kids.ancestry["a"]
        assert ancestors[:2] == [sup.pid, me]
        assert callers[0] == sup.pid
        await sup.stop()

    async def test_children_of_a_nested_task_supervisor_name_the_whole_chain(self) -> None:
        got: list[list[Pid]] = []

        async def leaf() -> None:
            got.append(Process.ancestors())

        sup = await Supervisor.start_link([TaskSupervisor.child_spec(name="chain-inner")])
        TaskSupervisor.start_child("chain-inner", leaf)
        async with asyncio.timeout(SAFETY):
            while not got:
                await asyncio.sleep(0)
        inner = sup.which_children()[0].pid
        assert got[0][:3] == [inner, sup.pid, Process.self()]
        await sup.stop()

    @pytest.mark.parametrize("how", ["normal", "crash", "kill"])
    async def test_the_supervisor_stops_when_its_parent_exits(self, how: str) -> None:
        kids = Kids()
        trees: asyncio.Queue[Supervisor] = asyncio.Queue()
        go = asyncio.Event()

        async def parent() -> None:
            trees.put_nowait(await Supervisor.start_link([kids.spec("a"), kids.spec("b")]))
            await go.wait()
            if how == "crash":
                raise RuntimeError("parent crashed")
            if how == "kill":
                await forever()

        pid = Task.start(parent)
        async with asyncio.timeout(SAFETY):
            sup = await trees.get()
        sup_pid = sup.pid
        await kids.seen(2)
        if how == "kill":
            Process.exit(pid, "kill")
        else:
            go.set()
        await wait_until_down(sup_pid)
        assert kids.log == ups("a", "b") + downs("b", "a")
        assert not Process.alive(kids.pids["a"]) and not Process.alive(kids.pids["b"])

    async def test_the_supervisor_stops_when_a_linked_process_crashes(self) -> None:
        Process.flag("trap_exit", True)
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("a")])
        await kids.seen(1)
        sup_pid = sup.pid

        async def linked() -> None:
            Process.link(sup_pid)
            raise RuntimeError("linked crash")

        Task.start(linked)
        got = await next_exit()
        assert got[0] == sup_pid and isinstance(got[1], RuntimeError)
        assert kids.log == ups("a") + downs("a")

    @pytest.mark.parametrize("reason", ["shutdown", ("shutdown", "bye"), "boom"])
    async def test_an_exit_signal_stops_the_tree_in_order_with_that_reason(
        self, reason: Any
    ) -> None:
        Process.flag("trap_exit", True)
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec(id) for id in "abc"])
        await kids.seen(3)
        Process.exit(sup.pid, reason)
        assert await next_exit() == (sup.pid, reason)
        assert kids.log == ups("a", "b", "c") + downs("c", "b", "a")

    async def test_an_exit_signal_normal_from_another_process_is_ignored(self) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("a")])
        await kids.seen(1)

        async def send() -> None:
            Process.exit(sup.pid, "normal")

        await Task.await_(Task.async_(send), SAFETY)
        await settle()
        assert Process.alive(sup.pid)
        assert kids.log == ups("a")
        await sup.stop()

    async def test_a_killed_supervisor_takes_its_children_with_it(self) -> None:
        """The kill cannot be trapped: the tree dies "killed" at once, and its links (the
        children) get that signal and die of it."""
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("a"), kids.spec("b")])
        await kids.seen(2)
        await watch_exits([kids.pids["a"], kids.pids["b"]])
        Process.exit(sup.pid, "kill")
        got = dict([await next_exit() for _ in range(3)])
        assert got == {sup.pid: "killed", kids.pids["a"]: "killed", kids.pids["b"]: "killed"}
        assert sorted(kids.log[2:]) == sorted(downs("a", "b"))

    async def test_a_normal_stop_does_not_stop_the_starter_and_others_reasons_do(self) -> None:
        Process.flag("trap_exit", True)
        sup = await Supervisor.start_link([])
        await sup.stop()
        assert await next_exit() == (sup.pid, "normal")
        sup = await Supervisor.start_link([])
        await sup.stop("shutdown")
        assert await next_exit() == (sup.pid, "shutdown")
        await sup.stop()  # stopping a dead supervisor does nothing

    async def test_a_registered_supervisor_is_reached_by_name(self) -> None:
        kids = Kids()
        sup = await Supervisor.start_link([kids.spec("a")], name="MyApp.Tree")
        assert sup.name == "MyApp.Tree"
        await kids.seen(1)
        assert Supervisor.which_children("MyApp.Tree") == sup.which_children()
        assert Supervisor.count_children("MyApp.Tree")["active"] == 1
        await Supervisor.stop("MyApp.Tree")  # type: ignore[arg-type]
        assert not Process.alive(sup.pid)
        assert kids.log == ups("a") + downs("a")
        with pytest.raises(TaskExit) as info:
            Supervisor.which_children("MyApp.Tree")
        assert info.value.reason == "noproc"

    async def test_a_second_supervisor_with_the_same_name_is_refused(self) -> None:
        kids = Kids()
        first = await Supervisor.start_link([kids.spec("a")], name="MyApp.Only")
        with pytest.raises(ValueError, match=r"MyApp\.Only"):
            await Supervisor.start_link([kids.spec("b")], name="MyApp.Only")
        with pytest.raises(ValueError, match=r"MyApp\.Only"):
            await TaskSupervisor.start_link(name="MyApp.Only")
        with pytest.raises(ValueError, match=r"MyApp\.Only"):
            async with Supervisor([kids.spec("c")], name="MyApp.Only"):
                raise AssertionError("not reached")
        await settle()
        assert kids.log == ups("a")  # the refused trees started nothing
        assert Supervisor.which_children("MyApp.Only") == first.which_children()
        await first.stop()
        # once the first is gone, the name is free
        again = await Supervisor.start_link([], name="MyApp.Only")
        await again.stop()

    async def test_async_with_starts_the_tree_and_stops_it_on_exit(self) -> None:
        kids = Kids()
        tree = Supervisor([kids.spec(id) for id in "abc"], name="MyApp.With")
        async with tree as sup:
            assert sup is tree
            await kids.seen(3)
            assert len(Supervisor.which_children("MyApp.With")) == 3
        assert kids.log == ups("a", "b", "c") + downs("c", "b", "a")
        assert not Process.alive(tree.pid)
        with pytest.raises(RuntimeError, match="start"):
            await tree.__aenter__()  # a supervisor starts once

    async def test_async_with_stops_the_tree_when_the_body_raises(self) -> None:
        kids = Kids()
        with pytest.raises(KeyError):
            async with Supervisor([kids.spec("a"), kids.spec("b")]):
                await kids.seen(2)
                raise KeyError("body failed")
        assert kids.log == ups("a", "b") + downs("b", "a")
