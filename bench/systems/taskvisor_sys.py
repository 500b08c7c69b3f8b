"""taskvisor: Task.async_ + Task.await_many, Task.async_stream, Task.start,
TaskSupervisor.start_child."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from taskvisor import Task, TaskSupervisor, ThreadPool

from ._bodies import (
    PLAIN,
    THREAD_WORKERS,
    WORK,
    check_ordered,
    idle_rounds,
    run_on,
    time_start,
    time_start_child,
    wait_event,
)


def spawn(n: int, variant: str, loop: str = "asyncio") -> float:
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        async_ = Task.async_
        t0 = time.perf_counter()
        tasks = [async_(work, i) for i in range(n)]
        out = await Task.await_many(tasks, timeout=None)
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed


def stream(n: int, variant: str, loop: str = "asyncio", timeout: float | None = 5.0) -> float:
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = []
        append = out.append
        t0 = time.perf_counter()
        async for result in Task.async_stream(
            range(n), work, max_concurrency=100, ordered=True, timeout=timeout
        ):
            append(result.value)  # type: ignore[union-attr]  # an Exit fails here, loudly
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed


def stream_thread(n: int, variant: str, loop: str = "asyncio") -> float:
    """`Task.async_stream` of a plain function (so on the shared default thread pool),
    `max_concurrency=100`, ordered, `timeout=None`."""
    # the baseline's pool has the default size of taskvisor's (no set_default_executor here)
    assert ThreadPool().max_workers == THREAD_WORKERS
    fn = PLAIN[variant]

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = []
        append = out.append
        t0 = time.perf_counter()
        async for result in Task.async_stream(
            range(n), fn, max_concurrency=100, ordered=True, timeout=None
        ):
            append(result.value)  # type: ignore[union-attr]  # an Exit fails here, loudly
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed


def start(n: int, variant: str, loop: str = "asyncio") -> float:
    def start_all(body: Callable[[Any], Any], n: int) -> None:
        start_ = Task.start
        for i in range(n):
            start_(body, i)

    return time_start(n, variant, loop, start_all)


def _supervisor() -> TaskSupervisor:
    return TaskSupervisor()


async def _start_children(sup: TaskSupervisor, body: Callable[[Any], Any], n: int) -> None:
    start_child = TaskSupervisor.start_child
    for i in range(n):
        start_child(sup, body, i)


def _children_left(sup: TaskSupervisor) -> int:
    return len(TaskSupervisor.children(sup))


def start_child(n: int, variant: str, loop: str = "asyncio") -> float:
    """`TaskSupervisor.start_child(sup, body, i)` (restart="temporary", the default) under
    one supervisor started outside the clock; timed until `children(sup)` is empty."""
    return time_start_child(n, variant, loop, _supervisor, _start_children, _children_left)


def idle(n: int, measure: Callable[[], None], loop: str = "asyncio", how: str = "start") -> None:
    """N idle processes for the memory probe: ``how`` is "start" (`Task.start`, the memory
    row), "start_child" (`TaskSupervisor.start_child` under one supervisor) or "async_"
    (`Task.async_`, awaited with `Task.await_many` once the event is set)."""
    from taskvisor.testing import live_processes  # only to know when every process has ended

    async def main() -> None:
        def start_all(k: int, ev: asyncio.Event, blocked: list[int]) -> None:
            for _ in range(k):
                Task.start(wait_event, ev, blocked)

        async def drain() -> None:
            while live_processes() > 1:  # the main task (adopted) is the one left
                await asyncio.sleep(0)

        await idle_rounds(n, measure, start_all, drain)

    async def main_start_child() -> None:
        async with TaskSupervisor() as sup:

            def start_all(k: int, ev: asyncio.Event, blocked: list[int]) -> None:
                for _ in range(k):
                    TaskSupervisor.start_child(sup, wait_event, ev, blocked)

            async def drain() -> None:
                while TaskSupervisor.children(sup):
                    await asyncio.sleep(0)

            await idle_rounds(n, measure, start_all, drain)

    async def main_async() -> None:
        tasks: list[Task[None]] = []

        def start_all(k: int, ev: asyncio.Event, blocked: list[int]) -> None:
            async_ = Task.async_
            tasks.extend(async_(wait_event, ev, blocked) for _ in range(k))

        async def drain() -> None:
            await Task.await_many(tasks, timeout=None)
            tasks.clear()

        await idle_rounds(n, measure, start_all, drain)

    mains = {"start": main, "start_child": main_start_child, "async_": main_async}
    run_on(loop, mains[how])
