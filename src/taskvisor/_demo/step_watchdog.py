"""Step: a coroutine that blocks the event loop, named by the loop watchdog; then the fix.

The demo runs under a `LoopWatchdog` with `WATCHDOG_THRESHOLD` (``python -m taskvisor demo``
starts it). This step calls ``time.sleep`` inside a coroutine on purpose, three thresholds
long: a heartbeat task stops ticking, and the watchdog's WARNING, written from its own thread
while the loop is stuck, names the process, its function and the line. The same work as a
plain function with ``executor="thread"`` leaves the loop free.
"""

from __future__ import annotations

import asyncio
import time

from taskvisor import Task

from ._narrate import Narrator
from ._step import Step

__all__ = ["STEP", "WATCHDOG_THRESHOLD"]

WATCHDOG_THRESHOLD = 0.5
"""The demo's watchdog threshold: no other step holds the loop this long, even on a slow
machine, and this step's blocking is three times as long."""

BLOCK_SECONDS = 3 * WATCHDOG_THRESHOLD
BEAT_SECONDS = 0.1


async def make_thumbnail(path: str) -> str:
    """A coroutine with a blocking call inside (an image library, ``requests``): the mistake."""
    time.sleep(BLOCK_SECONDS)
    return f"{path}.thumb.png"


def make_thumbnail_sync(path: str) -> str:
    """The same work as a plain function, for a thread."""
    time.sleep(BLOCK_SECONDS)
    return f"{path}.thumb.png"


async def heartbeat(beats: list[float]) -> None:
    """Tick every `BEAT_SECONDS` until shut down: a stand-in for every other task on the loop."""
    while True:
        await asyncio.sleep(BEAT_SECONDS)
        beats.append(time.monotonic())


async def run(say: Narrator) -> None:
    beats: list[float] = []
    beat = Task.async_(heartbeat, beats)
    say.say(f"a heartbeat task ticks every {BEAT_SECONDS}s; the demo's loop has a watchdog")

    task = Task.async_(make_thumbnail, "cat.jpg")
    say.say(f"{task.pid} runs make_thumbnail, a coroutine that calls time.sleep({BLOCK_SECONDS})")
    before = len(beats)
    await Task.await_(task)
    say.say(f"it returned; meanwhile the heartbeat ticked {len(beats) - before} time(s)")
    say.note("the loop was frozen; the WARNING above came from the watchdog's thread")

    say.part(
        "the fix: blocking work in a thread, and the loop stays free",
        "Task.async(fn -> make_thumbnail(path) end)  # the BEAM preempts; nothing to fix",
        'Task.async_(make_thumbnail_sync, path, executor="thread")',
    )
    task = Task.async_(make_thumbnail_sync, "cat.jpg", executor="thread")
    before = len(beats)
    result = await Task.await_(task)
    say.say(f"{result!r}; meanwhile the heartbeat ticked {len(beats) - before} times, no warning")
    await Task.shutdown(beat)


STEP = Step(
    title="A coroutine that blocks the loop is named by the watchdog",
    elixir="""
        # a busy BEAM process is preempted: it cannot stall the others
        Task.async(fn -> make_thumbnail(path) end) |> Task.await()
    """,
    python="""
        with LoopWatchdog(0.5):   # python -m taskvisor demo runs under one
            await Task.await_(Task.async_(make_thumbnail, path))  # time.sleep inside: warned
            await Task.await_(Task.async_(make_thumbnail_sync, path, executor="thread"))
    """,
    run=run,
)
