"""anyio 4 on its asyncio backend (default loop): task groups and CapacityLimiter."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel


async def work(x: Any) -> Any:
    return x


async def work_sleep0(x: Any) -> Any:
    await anyio.lowlevel.checkpoint()
    return x


WORK = {"ret": work, "sleep0": work_sleep0}


def _run(main: Any) -> Any:
    return anyio.run(main, backend="asyncio")


def spawn(n: int, variant: str) -> float:
    """A task group has no per-task result: each task stores its result by index."""
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = [None] * n

        async def collect(i: int) -> None:
            out[i] = await work(i)

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            start_soon = tg.start_soon
            for i in range(n):
                start_soon(collect, i)
        return time.perf_counter() - t0, out

    elapsed, out = _run(main)
    _check(out, n)
    return elapsed


def stream(n: int, variant: str) -> float:
    """A window of at most 100 tasks: the producer takes a CapacityLimiter token before
    starting each task, the task gives it back when done; results are emitted in input
    order through a reorder buffer."""
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        limiter = anyio.CapacityLimiter(100)
        out: list[Any] = []
        ready: dict[int, Any] = {}
        nxt = 0

        async def run(i: int) -> None:
            nonlocal nxt
            try:
                value = await work(i)
            finally:
                limiter.release_on_behalf_of(i)
            ready[i] = value
            while nxt in ready:
                out.append(ready.pop(nxt))
                nxt += 1

        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(n):
                await limiter.acquire_on_behalf_of(i)
                tg.start_soon(run, i)
        return time.perf_counter() - t0, out

    elapsed, out = _run(main)
    _check(out, n)
    return elapsed


def start(n: int, variant: str) -> float:
    """Fire and forget into a task group; a countdown sets an event when all have run."""
    checkpoint = variant == "sleep0"

    async def main() -> float:
        done = anyio.Event()
        left = n

        async def body(x: Any) -> Any:
            nonlocal left
            if checkpoint:
                await anyio.lowlevel.checkpoint()
            left -= 1
            if not left:
                done.set()
            return x

        async with anyio.create_task_group() as tg:
            start_soon = tg.start_soon
            t0 = time.perf_counter()
            for i in range(n):
                start_soon(body, i)
            await done.wait()
            return time.perf_counter() - t0

    return _run(main)  # type: ignore[no-any-return]


def idle(n: int, measure: Callable[[], None]) -> None:
    async def wait_event(ev: anyio.Event, blocked: list[int]) -> None:
        blocked[0] += 1
        await ev.wait()

    async def main() -> None:
        async def round_(k: int, measured: bool) -> None:
            ev, blocked = anyio.Event(), [0]
            async with anyio.create_task_group() as tg:
                if measured:
                    measure()
                for _ in range(k):
                    tg.start_soon(wait_event, ev, blocked)
                while blocked[0] < k:
                    await anyio.lowlevel.checkpoint()
                await anyio.lowlevel.checkpoint()
                if measured:
                    measure()
                ev.set()

        await round_(200, False)  # warm-up
        await round_(n, True)

    _run(main)


def _check(out: list[Any], n: int) -> None:
    if out != list(range(n)):
        raise AssertionError(f"wrong results: {len(out)} items")
