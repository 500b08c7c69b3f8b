"""The task bodies shared by every asyncio-based system (asyncio, taskvisor, uvloop, aiometer).

The same function objects are handed to bare asyncio and to taskvisor, so the body is
byte-for-byte the same on both sides.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def work(x: Any) -> Any:
    return x


async def work_sleep0(x: Any) -> Any:
    await asyncio.sleep(0)
    return x


WORK = {"ret": work, "sleep0": work_sleep0}


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


async def wait_event(ev: asyncio.Event, blocked: list[int]) -> None:
    """The idle body for the memory probe: count itself as blocked, then wait."""
    blocked[0] += 1
    await ev.wait()


def run_on(loop: str, main: Any) -> Any:
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
