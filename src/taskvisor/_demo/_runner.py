"""Run the demo's steps in order, each as a task of its own, then check nothing is left."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from taskvisor import Task, TaskExit

from ._logging import configure_logging
from ._narrate import Narrator
from ._step import Step

__all__ = ["run_demo"]

STEP_TIMEOUT = 30.0
"""Seconds a step may take; the whole demo takes a few."""


async def run_demo(steps: Sequence[Step]) -> int:
    """Narrate and run `steps`; return the exit status (0 when every step went through).

    Each step runs in its own task, so a flag it sets (``trap_exit``) stays with it.
    """
    configure_logging()
    say = Narrator()
    say.line("taskvisor demo: Elixir's Task, with Elixir's semantics, on asyncio")
    for number, step in enumerate(steps, 1):
        say.title(number, len(steps), step.title)
        say.code("Elixir", step.elixir)
        say.code("taskvisor", step.python)
        say.restart_clock()
        try:
            await Task.await_(Task.async_(step.run, say), timeout=STEP_TIMEOUT)
        except TaskExit as exc:
            say.line(f"\nstep {number} failed: {exc}")
            return 1
    leftovers = await _leftover_tasks()
    if leftovers:
        say.line(f"\nthe demo left tasks running: {leftovers}")
        return 1
    say.line("\ndemo finished")
    return 0


async def _leftover_tasks() -> list[asyncio.Task[object]]:
    """asyncio tasks other than this one, after letting finished ones wind down."""
    for _ in range(3):
        await asyncio.sleep(0)
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not me]
