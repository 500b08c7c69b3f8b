"""aiojobs (default asyncio loop): `Scheduler.spawn`, the peer of TaskSupervisor.start_child.

aiojobs keeps every spawned job in its scheduler until the job ends, and closes the
remaining ones when the scheduler closes: the closest Python peer of a task supervisor's
fire-and-forget children. The scheduler is made with ``limit=None`` (its default, 100, would
queue all but 100 of the N jobs, which is a different workload).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiojobs

from ._bodies import time_start_child


def _scheduler() -> aiojobs.Scheduler:
    return aiojobs.Scheduler(limit=None)


async def _spawn_all(scheduler: aiojobs.Scheduler, body: Callable[[Any], Any], n: int) -> None:
    spawn = scheduler.spawn
    for i in range(n):
        await spawn(body(i))


def start_child(n: int, variant: str, loop: str = "asyncio") -> float:
    """`await scheduler.spawn(body(i))` for each i; timed until the scheduler holds no job."""
    return time_start_child(n, variant, loop, _scheduler, _spawn_all, len)
