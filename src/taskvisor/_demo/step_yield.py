"""Step 5: ``Task.yield_(task, timeout) or Task.shutdown(task)``: wait a while, then stop it."""

from __future__ import annotations

import asyncio

from taskvisor import Process, Task

from ._narrate import Narrator
from ._step import Step

__all__ = ["STEP"]


async def build_report(say: Narrator) -> str:
    """A slow task that cleans up when it is shut down (shutdown is a cancel at its await)."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        say.say(f"build_report {Process.self()}: cancelled by shutdown, cleaning up")
        raise
    return "report"


async def lookup_cache(key: str) -> str:
    await asyncio.sleep(0.05)
    return f"cached:{key}"


async def reply_when(ready: asyncio.Event, value: str) -> str:
    await ready.wait()
    return value


async def run(say: Narrator) -> None:
    slow = Task.async_(build_report, say)
    pid = slow.pid
    first = await Task.yield_(slow, timeout=0.2)
    say.say(f"Task.yield_(slow, 0.2) -> {first!r}: still running, still monitored")
    result = first or await Task.shutdown(slow)
    say.say(f"... or Task.shutdown(slow) -> {result!r} (it stopped as asked)")
    say.say(f"Process.alive({pid}) -> {Process.alive(pid)}" if pid else "no pid")

    fast = Task.async_(lookup_cache, "user:42")
    result = await Task.yield_(fast, timeout=1.0) or await Task.shutdown(fast)
    say.say(f"a fast task: yield_ or shutdown -> {result!r} (the reply came within the yield)")

    ready = asyncio.Event()
    late = Task.async_(reply_when, ready, "late reply")
    first = await Task.yield_(late, timeout=0.1)
    say.say(f"a late task: Task.yield_(late, 0.1) -> {first!r}")
    ready.set()
    while late.pid is not None and Process.alive(late.pid):
        await asyncio.sleep(0)  # the task replies before our shutdown
    result = first or await Task.shutdown(late)
    say.say(f"it replied before the shutdown: Task.shutdown(late) -> {result!r} (a reply wins)")


STEP = Step(
    title="Poll, then stop: Task.yield_ or Task.shutdown",
    elixir="""
        case Task.yield(task, 200) || Task.shutdown(task) do
          {:ok, result} -> result
          {:exit, reason} -> reason
          nil -> :timed_out
        end
    """,
    python="""
        match await Task.yield_(task, 0.2) or await Task.shutdown(task):
            case Ok(result): ...
            case Exit(reason): ...
            case None: ...  # timed out and stopped
    """,
    run=run,
)
