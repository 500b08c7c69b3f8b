"""A process's record is the coroutine its asyncio task runs (issue 9, item 5).

What that design owes: no wrapper coroutine (one GC-tracked object per process more than a
bare asyncio task, the record), nothing else may drive a process, and a cancel from outside
that comes before the first step still does the exit bookkeeping.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from support import SAFETY, forever
from taskvisor import Process, Task, TaskExit, TaskSupervisor
from taskvisor.testing import asyncio_task_of, live_processes

N = 500
_gate = asyncio.Event()  # set nowhere: the idle bodies below take no arguments


async def _idle() -> None:
    await _gate.wait()


def _tracked_per_n(start: Any) -> int:
    """GC-tracked objects that N more idle things cost: what ``start(2 * N)`` keeps alive
    minus what ``start(N)`` does (so one-time costs, a table's first entry, cancel out)."""
    counts = []
    for n in (N, 2 * N):
        gc.collect()
        before = len(gc.get_objects())
        kept = start(n)
        gc.collect()
        counts.append(len(gc.get_objects()) - before)
        del kept
    return counts[1] - counts[0]


async def _release(others: int = 0) -> None:
    """Let the idle things end; wait until only the test's own (adopted) task and `others`
    processes are left."""
    global _gate
    _gate.set()
    while live_processes() > 1 + others:
        await asyncio.sleep(0)
    _gate = asyncio.Event()


class TestOneObjectMoreThanABareTask:
    """Per process, at most one GC-tracked object more than a bare asyncio task (the record);
    the list of pids kept stands in for the list of bare tasks kept."""

    async def test_task_start(self) -> None:
        loop = asyncio.get_running_loop()
        bare = _tracked_per_n(lambda n: [loop.create_task(_idle()) for _ in range(n)])
        await _release()
        ours = _tracked_per_n(lambda n: [Task.start(_idle) for _ in range(n)])
        await _release()
        assert ours - bare <= N

    async def test_start_child(self) -> None:
        loop = asyncio.get_running_loop()
        bare = _tracked_per_n(lambda n: [loop.create_task(_idle()) for _ in range(n)])
        await _release()
        async with TaskSupervisor() as sup:
            ours = _tracked_per_n(
                lambda n: [TaskSupervisor.start_child(sup, _idle) for _ in range(n)]
            )
            await _release(others=1)  # the supervisor
        assert ours - bare <= N


class TestOnlyItsOwnTaskDrivesIt:
    async def test_a_task_handed_to_gather_is_refused_and_runs_on(self) -> None:
        task = Task.async_(asyncio.sleep, 0, "reply")
        with pytest.raises(TypeError, match=r"Task\.await_"):
            await asyncio.gather(task)  # type: ignore[call-overload]
        assert await Task.await_(task, SAFETY) == "reply"

    async def test_awaiting_a_task_directly_is_a_type_error(self) -> None:
        task = Task.async_(forever)
        with pytest.raises(TypeError):
            await task  # type: ignore[misc]
        await Task.shutdown(task, "brutal_kill")


class TestOutsideCancelBeforeTheFirstStep:
    async def test_the_process_exits_shutdown_without_running(self) -> None:
        Process.flag("trap_exit", True)
        ran: list[str] = []

        async def record() -> None:
            ran.append("ran")

        task = Task.async_(record)
        assert task.pid is not None
        aio = asyncio_task_of(task.pid)
        assert aio is not None
        aio.cancel()  # someone else's cancel, before the task's first step
        with pytest.raises(TaskExit) as info:
            await Task.await_(task, SAFETY)
        assert info.value.reason == "shutdown"
        assert ran == []
        assert not Process.alive(task.pid)
