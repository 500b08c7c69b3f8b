"""taskvisor: Task.async_ + Task.await_many, Task.async_stream, Task.start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from taskvisor import Task

from . import _bodies
from ._bodies import START, WORK, check_ordered, run_on, wait_event


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
            append(result.value)
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed


def start(n: int, variant: str, loop: str = "asyncio") -> float:
    body = START[variant]

    async def main() -> float:
        cd = _bodies.cd = _bodies.Countdown(n)
        start_ = Task.start
        t0 = time.perf_counter()
        for i in range(n):
            start_(body, i)
        await cd.event.wait()
        elapsed = time.perf_counter() - t0
        _bodies.cd = None
        return elapsed

    return run_on(loop, main)  # type: ignore[no-any-return]


def idle(n: int, measure: Callable[[], None], loop: str = "asyncio") -> None:
    from taskvisor._runtime._proc import live  # only to know when every process has ended

    async def main() -> None:
        async def spawn_all(k: int, ev: asyncio.Event, blocked: list[int]) -> None:
            for _ in range(k):
                Task.start(wait_event, ev, blocked)
            while blocked[0] < k:
                await asyncio.sleep(0)

        async def drain() -> None:
            while len(live) > 1:  # the main task (adopted) is the one left
                await asyncio.sleep(0)

        ev, blocked = asyncio.Event(), [0]
        await spawn_all(200, ev, blocked)  # warm-up
        ev.set()
        await drain()

        ev, blocked = asyncio.Event(), [0]
        measure()
        await spawn_all(n, ev, blocked)
        await asyncio.sleep(0)
        measure()
        ev.set()
        await drain()

    run_on(loop, main)
