"""aiometer (on anyio's asyncio backend, default loop): run_all, unbounded and max_at_once=100.

aiometer has no fire-and-forget API and no idle-task notion of its own, so it only appears
in spawn+await and stream.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import aiometer

from ._bodies import WORK, check_ordered, run_on


def spawn(n: int, variant: str, loop: str = "asyncio") -> float:
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        t0 = time.perf_counter()
        out = await aiometer.run_all([functools.partial(work, i) for i in range(n)])
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed


def stream(n: int, variant: str, loop: str = "asyncio") -> float:
    """run_all(max_at_once=100): results come back in input order (as one list at the end;
    aiometer's streaming amap yields in completion order, so run_all is its ordered form)."""
    work = WORK[variant]

    async def main() -> tuple[float, list[Any]]:
        t0 = time.perf_counter()
        out = await aiometer.run_all(
            [functools.partial(work, i) for i in range(n)], max_at_once=100
        )
        return time.perf_counter() - t0, out

    elapsed, out = run_on(loop, main)
    check_ordered(out, n)
    return elapsed
