"""Step 1: sequential code made concurrent with ``Task.async_`` and ``Task.await_``."""

from __future__ import annotations

import asyncio

from taskvisor import Process, Task

from ._narrate import Narrator
from ._step import Step

__all__ = ["STEP"]

WORK_SECONDS = 0.3
OTHER_WORK_SECONDS = 0.2


async def do_some_work() -> int:
    """The work handed to a task: a slow lookup that answers 40."""
    await asyncio.sleep(WORK_SECONDS)
    return 40


async def do_some_other_work() -> int:
    """What the caller does meanwhile: another slow lookup, answering 2."""
    await asyncio.sleep(OTHER_WORK_SECONDS)
    return 2


async def run(say: Narrator) -> None:
    task = Task.async_(do_some_work)
    say.say(f"Task.async_ started {task.pid} for do_some_work; caller {Process.self()} goes on")
    res = await do_some_other_work()
    say.say(f"caller's own do_some_other_work() returned {res}")
    total = res + await Task.await_(task)
    elapsed = say.elapsed()
    say.say(f"res + await Task.await_(task) = {total}")
    say.note(
        f"elapsed {elapsed:.2f}s: about max({WORK_SECONDS}, {OTHER_WORK_SECONDS}), "
        f"not the sequential sum {WORK_SECONDS + OTHER_WORK_SECONDS:.1f}"
    )


STEP = Step(
    title="Sequential code made concurrent (Task.async / Task.await)",
    elixir="""
        task = Task.async(fn -> do_some_work() end)
        res = do_some_other_work()
        res + Task.await(task)
    """,
    python="""
        task = Task.async_(do_some_work)
        res = await do_some_other_work()
        res + await Task.await_(task)
    """,
    run=run,
)
