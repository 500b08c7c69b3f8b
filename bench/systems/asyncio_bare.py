"""Bare asyncio: the baselines (on the default loop, and on uvloop)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

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


# -- async_stream of a plain function: a window of run_in_executor futures ----------------


async def executor_window_stream(
    items: Iterable[Any], fn: Callable[[Any], Any], limit: int, executor: Executor
) -> AsyncIterator[Any]:
    """`window_stream` for a plain function: at most `limit` calls in flight, each
    ``loop.run_in_executor(executor, fn, x)`` (a future, no task), results in input order.

    The same loop as `window_stream` (kept apart so that the task window's hot loop has no
    branch for this case).
    """
    loop = asyncio.get_running_loop()
    run_in_executor = loop.run_in_executor
    it = iter(items)
    pending: collections.deque[asyncio.Future[Any]] = collections.deque()  # input order
    running = 0
    waiter: asyncio.Future[None] | None = None
    exhausted = False

    def on_done(_future: asyncio.Future[Any]) -> None:
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
                future = run_in_executor(executor, fn, x)
                future.add_done_callback(on_done)
                running += 1
                pending.append(future)
            while pending and pending[0].done():
                yield pending.popleft().result()
            if not pending:
                return
            if not pending[0].done():
                waiter = loop.create_future()
                await waiter
    finally:
        for future in pending:
            future.cancel()


_thread_pool: ThreadPoolExecutor | None = None


def thread_pool() -> ThreadPoolExecutor:
    """One pool for every measurement (made on first use, its threads started on demand and
    kept), as taskvisor's shared default pool is."""
    global _thread_pool
    if _thread_pool is None:
        _thread_pool = ThreadPoolExecutor(max_workers=THREAD_WORKERS)
    return _thread_pool


def stream_thread(n: int, variant: str, loop: str = "asyncio") -> float:
    """N items of a plain function through `thread_pool()`, 100 in flight, in input order."""
    fn = PLAIN[variant]
    pool = thread_pool()

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = []
        append = out.append
        t0 = time.perf_counter()
        async for value in executor_window_stream(range(n), fn, 100, pool):
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


def idle(n: int, measure: Callable[[], None], loop: str = "asyncio", how: str = "set") -> None:
    """N idle tasks for the memory probe: ``how`` is "set" (`create_task` into a
    strong-reference set with a done-callback discard, the memory row) or "list"
    (`create_task`, the task held in a list and nothing else; awaited once the event is
    set)."""

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

    async def main_list() -> None:
        tasks: list[asyncio.Task[None]] = []

        def start_all(k: int, ev: asyncio.Event, blocked: list[int]) -> None:
            create_task = asyncio.create_task
            tasks.extend(create_task(wait_event(ev, blocked)) for _ in range(k))

        async def drain() -> None:
            for task in tasks:
                await task
            tasks.clear()

        await idle_rounds(n, measure, start_all, drain)

    run_on(loop, {"set": main, "list": main_list}[how])
