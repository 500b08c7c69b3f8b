"""A step: the seed's first examples again, from plain sync code, with ``taskvisor.blocking``.

No ``async def`` and no ``await`` in the code it runs: sequential code made concurrent with
``Task.async_`` and ``Task.await_``, requests sent concurrently with a sync HTTP client
(several ``Task.async_``, then ``Task.await_many``), and a stream consumed with ``for`` in a
``with`` block, whose request that hangs is killed after its own timeout.

The blocking API refuses a thread that runs an event loop, and every other step runs on the
demo's loop, so this step's sync code runs in a plain thread of its own (as a sync program's
main would), while the stand-in service answers from the demo's loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from taskvisor.blocking import Process, Task

from ._daily import DailyClient
from ._narrate import Narrator
from ._service import DailyService
from ._step import Step

__all__ = ["STEP"]

WORK_SECONDS = 0.3
OTHER_WORK_SECONDS = 0.2
REQUEST_DELAY = 0.2
THREAD = "sync-main"


def do_some_work() -> int:
    """The work handed to a task, as sync code has it: a slow lookup that answers 40."""
    time.sleep(WORK_SECONDS)
    return 40


def do_some_other_work() -> int:
    """What the calling thread does meanwhile: another slow lookup, answering 2."""
    time.sleep(OTHER_WORK_SECONDS)
    return 2


async def run(say: Narrator) -> None:
    async with DailyService() as service:
        say.note(f"the code below runs in thread {THREAD!r}, which runs no event loop")
        await _in_a_thread_of_its_own(sync_main, say, service)


async def _in_a_thread_of_its_own(fn: Any, *args: Any) -> None:
    """Run ``fn(*args)`` in a new plain thread; wait for it without blocking the loop, and
    raise what it raised."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def target() -> None:
        error: BaseException | None = None
        try:
            fn(*args)
        except BaseException as exc:  # handed to the step's process
            error = exc
        loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=target, name=THREAD, daemon=True).start()
    await done


def sync_main(say: Narrator, service: DailyService) -> None:
    """The step's sync code: each call blocks this thread, which is a taskvisor process."""
    daily = DailyClient(service.port)
    say.restart_clock()
    _concurrent(say)
    _await_many(say, daily, service)
    _stream(say, daily)


def _concurrent(say: Narrator) -> None:
    task = Task.async_(do_some_work)
    say.say(f"Task.async_ returned at once: {task.pid} runs do_some_work in a pool thread")
    say.say(f"this thread is a process too, {Process.self()}, and goes on meanwhile")
    res = do_some_other_work()
    say.say(f"this thread's own do_some_other_work() returned {res}")
    total = res + Task.await_(task)
    elapsed = say.elapsed()
    say.say(f"res + Task.await_(task) = {total}")
    say.note(
        f"elapsed {elapsed:.2f}s: about max({WORK_SECONDS}, {OTHER_WORK_SECONDS}), "
        f"not the sequential sum {WORK_SECONDS + OTHER_WORK_SECONDS:.1f}"
    )


def _await_many(say: Narrator, daily: DailyClient, service: DailyService) -> None:
    say.part(
        "requests with a sync HTTP client: several Task.async_, then Task.await_many",
        "Enum.map(1..3, fn _ -> Task.async(&create_room/0) end) |> Task.await_many()",
        "Task.await_many([Task.async_(daily.create_room_sync, path) for _ in range(3)])",
    )
    path = f"/rooms?delay={REQUEST_DELAY}"
    service.reset_peak()
    started = time.perf_counter()
    tasks = [Task.async_(daily.create_room_sync, path) for _ in range(3)]
    rooms = Task.await_many(tasks, timeout=5.0)
    elapsed = time.perf_counter() - started
    names = sorted(room["name"] for room in rooms)
    say.say(f"{len(rooms)} rooms in {elapsed:.2f}s, each request taking {REQUEST_DELAY}s: {names}")
    say.note(f"the service saw {service.peak} requests at once: each one blocked a pool thread")


def _stream(say: Narrator, daily: DailyClient) -> None:
    say.part(
        "a stream in a for loop; a request that hangs is killed after its own timeout",
        "Task.async_stream(paths, &create_room/1, timeout: 1000, on_timeout: :kill_task)",
        'with Task.async_stream(paths, daily.create_room, timeout=1.0, on_timeout="kill_task")',
    )
    paths = ["/rooms", "/rooms/hang", "/rooms/slow"]
    say.restart_clock()
    with Task.async_stream(
        paths, daily.create_room, max_concurrency=3, timeout=1.0, on_timeout="kill_task"
    ) as results:
        for path, result in zip(paths, results, strict=True):
            say.say(f"POST {path:<12} -> {result!r}")
    say.note("daily.create_room is a coroutine function, so it runs on the blocking API's loop")
    say.note("(thread 'taskvisor-blocking'), where a timeout kills it; a thread is only abandoned")


STEP = Step(
    title="The same from sync code (taskvisor.blocking)",
    elixir="""
        task = Task.async(fn -> do_some_work() end)
        res = do_some_other_work()
        res + Task.await(task)
    """,
    python="""
        from taskvisor.blocking import Task   # plain def functions; every call blocks

        task = Task.async_(do_some_work)      # runs in a pool thread
        res = do_some_other_work()            # this thread goes on meanwhile
        res + Task.await_(task)
    """,
    run=run,
)
