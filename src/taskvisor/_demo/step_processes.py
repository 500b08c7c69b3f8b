"""CPU-bound work in worker processes: a stream where one item hangs and is killed.

The items are sums computed in the shared process pool (``executor="process"``). One of them
is a busy loop that never returns and never awaits: on the loop it would freeze every task,
in a thread nothing could stop it; in a process, its timeout kills the worker (SIGKILL) while
the other items finish, and the pool starts a new worker in its place.
"""

from __future__ import annotations

import os

from taskvisor import Ok, Task

from ._narrate import Narrator
from ._step import Step

__all__ = ["STEP"]

HANG = -1
"""The item that never finishes."""


def checksum(n: int) -> tuple[int, int]:
    """``sum(i * i for i in range(n))`` and the worker's OS pid; spins forever for HANG."""
    if n == HANG:
        while True:
            pass
    return sum(i * i for i in range(n)), os.getpid()


async def run(say: Narrator) -> None:
    items = [300_000, 200_000, HANG, 100_000]
    stream = Task.async_stream(
        items,
        checksum,
        executor="process",
        max_concurrency=2,
        timeout=1.0,
        on_timeout="kill_task",
    )
    results = [result async for result in stream]  # in input order
    for n, result in zip(items, results, strict=True):
        match result:
            case Ok((total, pid)):
                say.say(f"checksum({n:>7}) -> Ok({total}) in worker process {pid}")
            case _:
                say.say(f"checksum({n:>7}) -> {result!r}: its worker was killed (SIGKILL)")
    total, pid = await Task.await_(Task.async_(checksum, 10, executor="process"))
    say.say(f"the pool serves on: checksum(10) -> {total} in worker process {pid}")
    say.note("a busy loop cannot be stopped on the loop or in a thread; in a process it can")


STEP = Step(
    title="CPU-bound work in processes: a hanging item is killed",
    elixir="""
        Task.async_stream(items, &checksum/1, timeout: 1000, on_timeout: :kill_task)
        #=> [ok: ..., ok: ..., exit: :timeout, ok: ...]
    """,
    python="""
        Task.async_stream(items, checksum, executor="process", timeout=1.0,
                          on_timeout="kill_task")
        #=> [Ok(...), Ok(...), Exit(reason='timeout'), Ok(...)]
    """,
    run=run,
)
