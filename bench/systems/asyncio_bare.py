"""Bare asyncio: the baselines (on the default loop, and on uvloop)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from ._bodies import (
    WORK,
    check_ordered,
    idle_rounds,
    run_on,
    time_start,
    time_start_child,
    wait_event,
)

# -- spawn + await: create_task + gather --------------------------------------------------


def spawn(n: int, variant: str, loop: str = "asyncio") -> float:
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        create_task = asyncio.create_task
        t0 = time.perf_counter()
        tasks = [create_task(work(i)) for i in range(n)]
        out = await asyncio.gather(*tasks)
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed


# -- async_stream baseline: a hand-written task window -----------------------------------


async def window_stream(
    items: Iterable[Any], fn: Callable[[Any], Any], limit: int
) -> AsyncIterator[Any]:
    """Keep at most `limit` tasks running, start the next as soon as one finishes, and
    yield the results in input order (a finished result waits for the ones before it).

    Written the way a careful user would: one done-callback per task that frees a slot and
    wakes the generator; no asyncio.wait() (which is O(window) per call).
    """
    loop = asyncio.get_running_loop()
    it = iter(items)
    pending: collections.deque[asyncio.Task[Any]] = collections.deque()  # input order
    running = 0
    waiter: asyncio.Future[None] | None = None
    exhausted = False

    def on_done(_task: asyncio.Task[Any]) -> None:
        nonlocal running, waiter
        running -= 1
        w = waiter
        if w is not None:
            waiter = None
            w.set_result(None)

    try:
        while True:
            while running < limit and not exhausted:
                try:
                    x = next(it)
                except StopIteration:
                    exhausted = True
                    break
                task = loop.create_task(fn(x))
                task.add_done_callback(on_done)
                running += 1
                pending.append(task)
            while pending and pending[0].done():
                yield pending.popleft().result()
            if not pending:
                return
            if not pending[0].done():
                waiter = loop.create_future()
                await waiter
    finally:
        for task in pending:
            task.cancel()


def _timed(fn: Callable[[Any], Any], seconds: float) -> Callable[[Any], Any]:
    async def timed(x: Any) -> Any:
        async with asyncio.timeout(seconds):
            return await fn(x)

    return timed


def stream(n: int, variant: str, loop: str = "asyncio", timeout: float | None = None) -> float:
    work = WORK[variant]
    fn = work if timeout is None else _timed(work, timeout)

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = []
        append = out.append
        t0 = time.perf_counter()
        async for value in window_stream(range(n), fn, 100):
            append(value)
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed


# -- fire and forget: create_task with a strong-reference set ------------------------------


def start(n: int, variant: str, loop: str = "asyncio") -> float:
    background: set[asyncio.Task[Any]] = set()

    def start_all(body: Callable[[Any], Any], n: int) -> None:
        create_task = asyncio.create_task
        add, discard = background.add, background.discard
        for i in range(n):
            task = create_task(body(i))
            add(task)
            task.add_done_callback(discard)

    return time_start(n, variant, loop, start_all)


# -- start_child baseline: the same, until the strong-reference set is empty ---------------


@contextlib.asynccontextmanager
async def _strong_refs() -> AsyncIterator[set[asyncio.Task[Any]]]:
    yield set()


async def _start_all(
    background: set[asyncio.Task[Any]], body: Callable[[Any], Any], n: int
) -> None:
    create_task = asyncio.create_task
    add, discard = background.add, background.discard
    for i in range(n):
        task = create_task(body(i))
        add(task)
        task.add_done_callback(discard)


def start_child(n: int, variant: str, loop: str = "asyncio") -> float:
    """The baseline of TaskSupervisor.start_child: `create_task` into a strong-reference set
    with a done-callback discard, timed until the set is empty."""
    return time_start_child(n, variant, loop, _strong_refs, _start_all, len)


# -- idle memory ---------------------------------------------------------------------------


def idle(n: int, measure: Callable[[], None], loop: str = "asyncio") -> None:
    async def main() -> None:
        background: set[asyncio.Task[Any]] = set()

        def start_all(k: int, ev: asyncio.Event, blocked: list[int]) -> None:
            for _ in range(k):
                task = asyncio.create_task(wait_event(ev, blocked))
                background.add(task)
                task.add_done_callback(background.discard)

        async def drain() -> None:
            while background:
                await asyncio.sleep(0)

        await idle_rounds(n, measure, start_all, drain)

    run_on(loop, main)
