"""The cases shared by anyio and trio: one structured-concurrency program, either library.

anyio's task group and trio's nursery have the same shape (``start_soon``, ``Event``,
``CapacityLimiter`` with ``acquire_on_behalf_of``/``release_on_behalf_of``,
``lowlevel.checkpoint()``), so each case is written once here and handed a `Library`.
``anyio_sys`` and ``trio_sys`` each define their `Library` and call these.

Each call in a timed region is the library's own: ``lib.module.lowlevel.checkpoint()`` is
``anyio.lowlevel.checkpoint()`` or ``trio.lowlevel.checkpoint()``, looked up the same way.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Library:
    """What differs between anyio and trio."""

    module: ModuleType  # anyio or trio: .Event, .CapacityLimiter, .lowlevel.checkpoint
    open_group: Callable[[], Any]  # anyio.create_task_group or trio.open_nursery
    run: Callable[[Callable[[], Awaitable[Any]]], Any]  # run main() to the end on a fresh loop
    system: str  # the system module's __name__: systems.anyio_sys or systems.trio_sys

    def named(self, fn: F) -> F:
        """Name a task function as if the system module defined it.

        anyio and trio name each task ``f"{fn.__module__}.{fn.__qualname__}"``, and that name
        is part of what a task costs (the idle-memory figure counts it): with this, every task
        started here has the very name it had when each system spelled these cases out.
        """
        fn.__module__ = self.system
        return fn


def bodies(module: ModuleType) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    """The task bodies on this library: "ret" returns at once, "sleep0" awaits its checkpoint
    (``anyio.lowlevel.checkpoint()`` or ``trio.lowlevel.checkpoint()``) first."""

    async def work(x: Any) -> Any:
        return x

    async def work_sleep0(x: Any) -> Any:
        await module.lowlevel.checkpoint()
        return x

    return {"ret": work, "sleep0": work_sleep0}


def spawn(lib: Library, n: int, work: Callable[[Any], Awaitable[Any]]) -> float:
    """A group has no per-task result: each task stores its result by index."""
    open_group = lib.open_group

    async def main() -> tuple[float, list[Any]]:
        out: list[Any] = [None] * n

        @lib.named
        async def collect(i: int) -> None:
            out[i] = await work(i)

        t0 = time.perf_counter()
        async with open_group() as tg:
            start_soon = tg.start_soon
            for i in range(n):
                start_soon(collect, i)
        return time.perf_counter() - t0, out

    elapsed, out = lib.run(main)
    check(out, n)
    return elapsed  # type: ignore[no-any-return]


def stream(lib: Library, n: int, work: Callable[[Any], Awaitable[Any]]) -> float:
    """A window of at most 100 tasks: the producer takes a CapacityLimiter token before
    starting each task, the task gives it back when done; results are emitted in input
    order through a reorder buffer."""
    module, open_group = lib.module, lib.open_group

    async def main() -> tuple[float, list[Any]]:
        limiter = module.CapacityLimiter(100)
        out: list[Any] = []
        ready: dict[int, Any] = {}
        nxt = 0

        @lib.named
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
        async with open_group() as tg:
            for i in range(n):
                await limiter.acquire_on_behalf_of(i)
                tg.start_soon(run, i)
        return time.perf_counter() - t0, out

    elapsed, out = lib.run(main)
    check(out, n)
    return elapsed  # type: ignore[no-any-return]


def start(lib: Library, n: int, checkpoint: bool) -> float:
    """Fire and forget into a group; a countdown sets an event when all have run.

    With `checkpoint`, each body first awaits the library's checkpoint (the sleep0 variant).
    """
    module, open_group = lib.module, lib.open_group

    async def main() -> float:
        done = module.Event()
        left = n

        @lib.named
        async def body(x: Any) -> Any:
            nonlocal left
            if checkpoint:
                await module.lowlevel.checkpoint()
            left -= 1
            if not left:
                done.set()
            return x

        async with open_group() as tg:
            start_soon = tg.start_soon
            t0 = time.perf_counter()
            for i in range(n):
                start_soon(body, i)
            await done.wait()
            return time.perf_counter() - t0

    return lib.run(main)  # type: ignore[no-any-return]


def idle(
    lib: Library, n: int, measure: Callable[[], None], settle: Callable[[], Awaitable[Any]]
) -> None:
    """N tasks in a group, each blocked on one event: `measure()` before the spawn and once
    all are blocked and `settle()` has returned (after the same path with 200, a warm-up)."""
    module, open_group = lib.module, lib.open_group

    @lib.named
    async def wait_event(ev: Any, blocked: list[int]) -> None:
        blocked[0] += 1
        await ev.wait()

    async def main() -> None:
        async def round_(k: int, measured: bool) -> None:
            ev, blocked = module.Event(), [0]
            async with open_group() as tg:
                if measured:
                    measure()
                for _ in range(k):
                    tg.start_soon(wait_event, ev, blocked)
                while blocked[0] < k:
                    await module.lowlevel.checkpoint()
                await settle()
                if measured:
                    measure()
                ev.set()

        await round_(200, False)  # warm-up
        await round_(n, True)

    lib.run(main)


def check(out: list[Any], n: int) -> None:
    if out != list(range(n)):
        raise AssertionError(f"wrong results: {len(out)} items")
