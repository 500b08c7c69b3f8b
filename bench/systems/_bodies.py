"""The task bodies shared by every asyncio-based system (asyncio, taskvisor, uvloop, aiometer).

The same function objects are handed to bare asyncio and to taskvisor, so the body is
byte-for-byte the same on both sides.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

T = TypeVar("T")


async def work(x: Any) -> Any:
    return x


async def work_sleep0(x: Any) -> Any:
    await asyncio.sleep(0)
    return x


WORK = {"ret": work, "sleep0": work_sleep0}


# Plain (sync) bodies, for the stream of a plain function on a thread pool: "sleep0" gives
# the thread up once (time.sleep(0) releases the GIL), the thread's analogue of a checkpoint.
def plain(x: Any) -> Any:
    return x


def plain_sleep0(x: Any) -> Any:
    time.sleep(0)
    return x


PLAIN = {"ret": plain, "sleep0": plain_sleep0}

# The size of the thread pools in that stream: asyncio's default executor's and taskvisor's
# default ThreadPool's (`taskvisor_sys.stream_thread` checks that taskvisor's agrees).
THREAD_WORKERS = min(32, (os.cpu_count() or 1) + 4)


class Countdown:
    """Fire-and-forget bookkeeping: the last body to run sets the event."""

    __slots__ = ("event", "left")

    def __init__(self, n: int) -> None:
        self.left = n
        self.event = asyncio.Event()


# One countdown at a time (a measurement runs alone on its loop).
cd: Countdown | None = None


async def start_body(x: Any) -> Any:
    c = cd
    c.left -= 1  # type: ignore[union-attr]
    if not c.left:  # type: ignore[union-attr]
        c.event.set()  # type: ignore[union-attr]
    return x


async def start_body_sleep0(x: Any) -> Any:
    await asyncio.sleep(0)
    c = cd
    c.left -= 1  # type: ignore[union-attr]
    if not c.left:  # type: ignore[union-attr]
        c.event.set()  # type: ignore[union-attr]
    return x


START = {"ret": start_body, "sleep0": start_body_sleep0}


def time_start(
    n: int,
    variant: str,
    loop: str,
    start_all: Callable[[Callable[[Any], Any], int], None],
) -> float:
    """Time fire and forget on a fresh `loop`: `start_all(body, n)` starts `body(i)` for each
    i in range(n) and returns; the clock stops when the last body has run (the countdown set
    its event)."""
    body = START[variant]

    async def main() -> float:
        global cd
        countdown = cd = Countdown(n)
        t0 = time.perf_counter()
        start_all(body, n)
        await countdown.event.wait()
        elapsed = time.perf_counter() - t0
        cd = None
        return elapsed

    return run_on(loop, main)


def time_start_child(
    n: int,
    variant: str,
    loop: str,
    open_: Callable[[], AbstractAsyncContextManager[Any]],
    start_all: Callable[[Any, Callable[[Any], Any], int], Awaitable[None]],
    left: Callable[[Any], int],
) -> float:
    """Time N supervised fire-and-forget children on a fresh `loop`, until all have ended.

    ``async with open_() as owner`` sets up the owner of the children (a task supervisor, a
    scheduler, a strong-reference set) outside the clock. Inside the clock:
    ``await start_all(owner, body, n)`` starts ``body(i)`` for each i in range(n); then the
    wait for the countdown's event (set by the last body to run), then ``left(owner)`` is
    polled (one `asyncio.sleep(0)` between polls) until the owner holds no child: the clock
    stops once the owner itself has seen every child end. Leaving the owner's context (its
    shutdown) is not timed.
    """
    body = START[variant]

    async def main() -> float:
        global cd
        async with open_() as owner:
            countdown = cd = Countdown(n)
            t0 = time.perf_counter()
            await start_all(owner, body, n)
            await countdown.event.wait()
            while left(owner):
                await asyncio.sleep(0)
            elapsed = time.perf_counter() - t0
            cd = None
        return elapsed

    return run_on(loop, main)


async def wait_event(ev: asyncio.Event, blocked: list[int]) -> None:
    """The idle body for the memory probe: count itself as blocked, then wait."""
    blocked[0] += 1
    await ev.wait()


async def idle_rounds(
    n: int,
    measure: Callable[[], None],
    start_all: Callable[[int, asyncio.Event, list[int]], None],
    drain: Callable[[], Awaitable[None]],
) -> None:
    """The memory probe's rounds for an asyncio-based system.

    `start_all(k, ev, blocked)` starts k `wait_event` tasks. First the same path with 200
    tasks (a warm-up, so one-time allocations are not counted); then `measure()`, N tasks,
    a wait until all are blocked and one more loop turn, `measure()`. Each round ends by
    setting the event and `drain()`, which returns once those tasks have all ended.
    """

    async def spawn_all(k: int, ev: asyncio.Event, blocked: list[int]) -> None:
        start_all(k, ev, blocked)
        while blocked[0] < k:
            await asyncio.sleep(0)

    ev, blocked = asyncio.Event(), [0]
    await spawn_all(200, ev, blocked)  # warm-up
    ev.set()
    await drain()

    ev, blocked = asyncio.Event(), [0]
    measure()  # baseline
    await spawn_all(n, ev, blocked)
    await asyncio.sleep(0)
    measure()  # all blocked
    ev.set()
    await drain()


def run_on(loop: str, main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run `main()` on a fresh loop: the default asyncio loop or uvloop."""
    factory = None
    if loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    elif loop != "asyncio":
        raise ValueError(loop)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def check_ordered(out: list[Any], n: int) -> None:
    if len(out) != n or out != list(range(n)):
        raise AssertionError(f"wrong results: {len(out)} items, first {out[:5]!r}")
