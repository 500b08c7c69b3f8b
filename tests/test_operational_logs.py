"""Operational events are WARNING records on the `taskvisor` logger, never `warnings.warn`.

"Had to kill", "thread abandoned", "coroutine closed", "task abandoned", "exit signals
dropped" are events of a running service: each is one record with structured ``extra``
(``task_pid``, ``function``, ``action``), and none goes through the warnings machinery,
whose registry would keep one entry per unique text (a pid in each) forever.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from support import forever, logged_warnings, next_exit
from taskvisor import Exit, Process, Task, TaskSupervisor
from taskvisor.testing import exit_queue_limit


async def swallow_cancels(ready: asyncio.Event) -> None:
    ready.set()
    while True:
        try:  # noqa: SIM105 - the bad pattern under test
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass


@pytest.fixture
def no_warnings() -> Iterator[None]:
    """Fail if anything is sent through `warnings` while the test runs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert [str(w.message) for w in caught] == []


@pytest.mark.usefixtures("no_warnings")
class TestEvents:
    async def test_a_closed_coroutine(self) -> None:
        ready = asyncio.Event()
        task = Task.async_(swallow_cancels, ready)
        await ready.wait()
        with logged_warnings("closed its coroutine") as records:
            assert await Task.shutdown(task, "brutal_kill") is None
        (record,) = records
        assert record.action == "closed_coroutine"  # type: ignore[attr-defined]
        assert record.task_pid == task.pid  # type: ignore[attr-defined]
        assert record.function.endswith("swallow_cancels")  # type: ignore[attr-defined]

    async def test_many_kills_write_one_record_each(self) -> None:
        with logged_warnings() as records:
            for _ in range(3):
                ready = asyncio.Event()
                task = Task.async_(swallow_cancels, ready)
                await ready.wait()
                assert await Task.shutdown(task, "brutal_kill") is None
        assert [r.action for r in records] == ["closed_coroutine"] * 3  # type: ignore[attr-defined]
        assert len({r.task_pid for r in records}) == 3  # type: ignore[attr-defined]

    async def test_an_abandoned_thread(self) -> None:
        entered, release = threading.Event(), threading.Event()

        def blocking() -> None:
            entered.set()
            release.wait()

        task = Task.async_(blocking)
        await asyncio.to_thread(entered.wait)
        try:
            with logged_warnings("runs on until the function returns") as records:
                assert await Task.shutdown(task, "brutal_kill") is None
        finally:
            release.set()
        assert records[0].action == "abandoned_thread"  # type: ignore[attr-defined]
        assert records[0].task_pid == task.pid  # type: ignore[attr-defined]

    async def test_an_abandoned_adopted_task(self) -> None:
        Process.flag("trap_exit", True)
        ready, release = asyncio.Event(), asyncio.Event()
        pids = []

        async def user_task() -> None:
            pids.append(Process.self())
            ready.set()
            try:
                await forever()
            finally:
                await release.wait()  # a long cleanup: the kill's grace runs out

        aio = asyncio.create_task(user_task())
        await ready.wait()
        Process.link(pids[0])
        with logged_warnings("abandons it") as records:
            Process.exit(pids[0], "kill")
            assert await next_exit() == (pids[0], "killed")
        release.set()
        await asyncio.wait([aio])
        assert records[0].action == "abandoned_task"  # type: ignore[attr-defined]
        assert records[0].task_pid == pids[0]  # type: ignore[attr-defined]
        assert records[0].task is aio  # type: ignore[attr-defined]

    async def test_a_supervisor_that_had_to_kill(self) -> None:
        ready = asyncio.Event()
        sup = await TaskSupervisor.start_link()
        child = sup.start_child(swallow_cancels, ready, shutdown=0.01)
        await ready.wait()
        with logged_warnings("had to kill") as records:
            await sup.stop()
        killed = [r for r in records if r.action == "killed_children"]  # type: ignore[attr-defined]
        assert killed[0].children == [child]  # type: ignore[attr-defined]
        assert killed[0].task_pid == sup.pid  # type: ignore[attr-defined]


class TestExitInboxAtItsLimit:
    async def test_the_oldest_signals_are_dropped_and_the_newest_kept_in_order(
        self, no_warnings: None
    ) -> None:
        with exit_queue_limit(3):
            Process.flag("trap_exit", True)
            me = Process.self()
            with logged_warnings("dropping the oldest") as records:
                for reason in ("r1", "r2", "r3", "r4", "r5"):
                    Process.exit(me, reason)
            got = [await Process.receive_exit(0) for _ in range(4)]
            assert got == [(me, "r3"), (me, "r4"), (me, "r5"), None]
            (record,) = records  # once per inbox, not once per dropped signal
            assert record.action == "dropped_exit_signals"  # type: ignore[attr-defined]
            assert record.task_pid == me  # type: ignore[attr-defined]

    async def test_a_linked_process_exits_are_kept_up_to_the_limit(self) -> None:
        with exit_queue_limit(2):
            Process.flag("trap_exit", True)

            async def fail(reason: Any) -> None:
                raise RuntimeError(reason)

            tasks = [Task.async_(fail, n) for n in range(4)]
            with logged_warnings(None):
                results = [await Task.yield_(t, 5.0) for t in tasks]
            assert all(isinstance(r, Exit) for r in results)
            kept = [await Process.receive_exit(0), await Process.receive_exit(0)]
            assert [pid for pid, _ in kept] == [tasks[2].pid, tasks[3].pid]  # type: ignore[misc]
            assert await Process.receive_exit(0) is None
