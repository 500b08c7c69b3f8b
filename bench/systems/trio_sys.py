"""trio: nurseries and CapacityLimiter (trio's own run loop).

The cases themselves are shared with anyio (``_structured``).
"""

from __future__ import annotations

from collections.abc import Callable

import trio
import trio.lowlevel

from . import _structured

WORK = _structured.bodies(trio)

TRIO = _structured.Library(module=trio, open_group=trio.open_nursery, run=trio.run, system=__name__)


def spawn(n: int, variant: str) -> float:
    """A nursery has no per-task result: each task stores its result by index."""
    return _structured.spawn(TRIO, n, WORK[variant])


def stream(n: int, variant: str) -> float:
    """As anyio's: a producer-side CapacityLimiter window of 100, reorder buffer."""
    return _structured.stream(TRIO, n, WORK[variant])


def start(n: int, variant: str) -> float:
    """Fire and forget into a nursery; a countdown sets an event when all have run."""
    return _structured.start(TRIO, n, checkpoint=variant == "sleep0")


def idle(n: int, measure: Callable[[], None]) -> None:
    """Once every task is blocked: wait until trio sees every task blocked, then measure."""
    import trio.testing

    _structured.idle(TRIO, n, measure, settle=trio.testing.wait_all_tasks_blocked)
