"""What sync code can do with the asyncio API alone (taskvisor.blocking does it for you, see
docs/blocking.md): see docs/recipes.md.

1. A plain thread, while the loop runs in another: ``asyncio.run_coroutine_threadsafe``.
2. A sync program with no loop (a Flask view, a CLI tool): a loop in a thread of its own,
   through anyio's blocking portal.

Run it with ``python examples/recipes/sync_caller.py``.
"""

from __future__ import annotations

import asyncio
import threading

from anyio.from_thread import start_blocking_portal

from taskvisor import Task, TaskExit, TaskSupervisor

TASKS = "sync.tasks"


async def square(n: int) -> int:
    """Stands for the async work the sync code needs done."""
    await asyncio.sleep(0)
    if n < 0:
        raise ValueError(f"negative input: {n}")
    return n * n


async def square_supervised(n: int) -> int:
    """Runs on the loop, in an asyncio task: every taskvisor call is made here."""
    return await Task.await_(TaskSupervisor.async_(TASKS, square, n), timeout=5.0)


# -- 1. a plain thread, while the loop runs in another ---------------------------------------


def worker(loop: asyncio.AbstractEventLoop) -> None:
    """A plain thread (a sync library's callback, a blocking client): it runs no loop."""
    try:
        TaskSupervisor.async_(TASKS, square, 2)
    except RuntimeError as exc:
        print("refused:", exc)
    for n in (2, 3, -1):
        future = asyncio.run_coroutine_threadsafe(square_supervised(n), loop)
        try:
            print(f"square({n}) =", future.result(timeout=10.0))
        except TaskExit as exc:  # the task crashed (or timed out): it comes back as TaskExit
            print(f"square({n}) failed:", repr(exc.reason))


async def main() -> None:
    async with TaskSupervisor(name=TASKS):
        loop = asyncio.get_running_loop()  # the thread cannot find the loop: hand it over
        thread = threading.Thread(target=worker, args=(loop,), name="legacy-worker")
        thread.start()
        await asyncio.to_thread(thread.join)  # wait for it without blocking the loop


# -- 2. no loop at all: a loop in a thread of its own ----------------------------------------


async def watch(feed: str) -> None:
    """Stands for background work that runs until it is stopped."""
    try:
        await asyncio.Event().wait()
    finally:
        print(f"stopped watching {feed}")


def without_a_loop() -> None:
    with start_blocking_portal() as portal:  # a loop in a new thread, until the block ends
        # The supervisor's parent is a task of the portal's that lives until the block ends.
        with portal.wrap_async_context_manager(TaskSupervisor(name=TASKS)):
            print("square(4) =", portal.call(square_supervised, 4))
            # a plain function works too: the portal calls it in an asyncio task
            pid = portal.call(TaskSupervisor.start_child, TASKS, watch, "prices")
            print("watching prices in", pid)
        print("the supervisor has stopped")  # its children first


if __name__ == "__main__":
    asyncio.run(main())  # a sync program's usual way in: one asyncio.run at the top
    without_a_loop()
