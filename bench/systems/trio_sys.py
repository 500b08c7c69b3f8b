"""trio: nurseries and CapacityLimiter (trio's own run loop)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import trio
import trio.lowlevel


async def work(x: Any) -> Any:
    return x


async def work_sleep0(x: Any) -> Any:
    await trio.lowlevel.checkpoint()
    return x


WORK = {"ret": work, "sleep0": work_sleep0}


def spawn(n: int, variant: str) -> float:
    """A nursery has no per-task result: each task stores its result by index."""
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = [None] * n

        async def collect(i: int) -> None:
            out[i] = await work(i)

        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            start_soon = nursery.start_soon
            for i in range(n):
                start_soon(collect, i)
        return time.perf_counter() - t0, out

    elapsed, out = trio.run(main)
    _check(out, n)
    return elapsed


def stream(n: int, variant: str) -> float:
    """As anyio's: a producer-side CapacityLimiter window of 100, reorder buffer."""
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        limiter = trio.CapacityLimiter(100)
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
        async with trio.open_nursery() as nursery:
            for i in range(n):
                await limiter.acquire_on_behalf_of(i)
                nursery.start_soon(run, i)
        return time.perf_counter() - t0, out

    elapsed, out = trio.run(main)
    _check(out, n)
    return elapsed


def start(n: int, variant: str) -> float:
    checkpoint = variant == "sleep0"

    async def main() -> float:
        done = trio.Event()
        left = n

        async def body(x: Any) -> Any:
            nonlocal left
            if checkpoint:
                await trio.lowlevel.checkpoint()
            left -= 1
            if not left:
                done.set()
            return x

        async with trio.open_nursery() as nursery:
            start_soon = nursery.start_soon
            t0 = time.perf_counter()
            for i in range(n):
                start_soon(body, i)
            await done.wait()
            return time.perf_counter() - t0

    return trio.run(main)  # type: ignore[no-any-return]


def idle(n: int, measure: Callable[[], None]) -> None:
    async def wait_event(ev: trio.Event, blocked: list[int]) -> None:
        blocked[0] += 1
        await ev.wait()

    async def main() -> None:
        async def round_(k: int, measured: bool) -> None:
            ev, blocked = trio.Event(), [0]
            async with trio.open_nursery() as nursery:
                if measured:
                    measure()
                for _ in range(k):
                    nursery.start_soon(wait_event, ev, blocked)
                while blocked[0] < k:
                    await trio.lowlevel.checkpoint()
                await trio.testing.wait_all_tasks_blocked()
                if measured:
                    measure()
                ev.set()

        await round_(200, False)  # warm-up
        await round_(n, True)

    import trio.testing

    trio.run(main)


def _check(out: list[Any], n: int) -> None:
    if out != list(range(n)):
        raise AssertionError(f"wrong results: {len(out)} items")
