"""A pytest-asyncio fixture that yields a live `TaskSupervisor`: see docs/recipes.md.

It needs pytest-asyncio (in its default strict mode), with ``asyncio_default_fixture_loop_scope
= "function"`` in the pytest configuration. This repository's own suite runs with
``-p no:asyncio``, so here run it with::

    pytest -p asyncio -o asyncio_default_fixture_loop_scope=function \\
        examples/recipes/test_supervisor_fixture.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import pytest_asyncio

from taskvisor import Process, Task, TaskExit, TaskSupervisor


@asynccontextmanager
async def running(sup: TaskSupervisor) -> AsyncIterator[TaskSupervisor]:
    """Run `sup` in an asyncio task of its own until the block ends.

    A supervisor stops when the process that started it exits. This task is that process,
    and it lives until the block ends, whichever tasks enter and leave the block.
    """
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    leave = asyncio.Event()

    async def parent() -> None:
        async with sup:
            started.set_result(None)
            await leave.wait()

    task = asyncio.create_task(parent())
    await asyncio.wait([started, task], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # it could not start (a name already taken, ...): raise why
    try:
        yield sup
    finally:
        leave.set()
        await task  # leaving `async with sup` stops its children, each within its shutdown


@pytest_asyncio.fixture
async def task_supervisor() -> AsyncIterator[TaskSupervisor]:
    """A live task supervisor for one test, stopped (children first) after it."""
    async with running(TaskSupervisor(name="tests.tasks")) as sup:
        yield sup


@pytest_asyncio.fixture
async def dead_on_arrival() -> AsyncIterator[TaskSupervisor]:
    """The obvious fixture. It does not work: pytest-asyncio runs this setup in an asyncio
    task that ends once it yields, and the supervisor, linked to that task, stops with it."""
    async with TaskSupervisor() as sup:
        yield sup


async def double(n: int) -> int:
    await asyncio.sleep(0)
    return 2 * n


@pytest.mark.asyncio
async def test_the_obvious_fixture_yields_a_dead_supervisor(
    dead_on_arrival: TaskSupervisor,
) -> None:
    assert not Process.alive(dead_on_arrival.pid)
    with pytest.raises(TaskExit) as exc_info:
        TaskSupervisor.start_child(dead_on_arrival, double, 1)
    assert exc_info.value.reason == "noproc"


@pytest.mark.asyncio
async def test_the_fixture_yields_a_live_supervisor(task_supervisor: TaskSupervisor) -> None:
    assert Process.alive(task_supervisor.pid)
    assert await Task.await_(task_supervisor.async_(double, 21)) == 42
    pid = TaskSupervisor.start_child("tests.tasks", asyncio.sleep, 3600)
    assert TaskSupervisor.children("tests.tasks") == [pid]  # stopped at teardown
