"""anyio 4 on its asyncio backend (default loop): task groups and CapacityLimiter.

The cases themselves are shared with trio (``_structured``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel

from . import _structured

WORK = _structured.bodies(anyio)


def _run(main: Any) -> Any:
    return anyio.run(main, backend="asyncio")


ANYIO = _structured.Library(
    module=anyio, open_group=anyio.create_task_group, run=_run, system=__name__
)


def spawn(n: int, variant: str) -> float:
    """A task group has no per-task result: each task stores its result by index."""
    return _structured.spawn(ANYIO, n, WORK[variant])


def stream(n: int, variant: str) -> float:
    """A window of at most 100 tasks: the producer takes a CapacityLimiter token before
    starting each task, the task gives it back when done; results are emitted in input
    order through a reorder buffer."""
    return _structured.stream(ANYIO, n, WORK[variant])


def start(n: int, variant: str) -> float:
    """Fire and forget into a task group; a countdown sets an event when all have run."""
    return _structured.start(ANYIO, n, checkpoint=variant == "sleep0")


def idle(n: int, measure: Callable[[], None]) -> None:
    """Once every task is blocked: one more checkpoint, then measure."""
    _structured.idle(ANYIO, n, measure, settle=anyio.lowlevel.checkpoint)
