"""Small helpers for tests: functions to run as tasks, and event-based sequencing."""

from __future__ import annotations

import asyncio
from typing import Any


async def forever() -> None:
    """Wait on an event that never fires (a task that only ends when stopped)."""
    await asyncio.Event().wait()


async def reply(value: Any) -> Any:
    return value


async def crash(message: str = "oops") -> None:
    raise RuntimeError(message)


async def wait_then(event: asyncio.Event, value: Any) -> Any:
    await event.wait()
    return value


async def settle(turns: int = 5) -> None:
    """Let the loop run a few turns (for effects that take a turn or two, never for timing)."""
    for _ in range(turns):
        await asyncio.sleep(0)
