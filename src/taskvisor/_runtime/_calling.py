"""Where taskvisor's asyncio API may be called from: the thread that runs the event loop.

asyncio is not thread-safe, and neither is taskvisor's process table. A call from another
thread (a FastAPI ``def`` endpoint, ``asyncio.to_thread``) must not touch the loop at all,
whatever the loop is doing at that moment: if it did, it could create a task off the loop's
thread, or read "the current task" of a loop that is busy with some unrelated task and link
the new process to it. So every function of the asyncio API first checks that the calling
thread runs the loop it is about to use, and refuses with one `RuntimeError` that says
where the call came from and what to use instead, before it reads or changes anything.
"""

from __future__ import annotations

import asyncio
import threading
from asyncio.events import _get_running_loop  # C: no exception when there is no loop

__all__ = ["check_on_loop", "off_loop", "outside_task", "running_loop"]

THREAD_SAFE_WAY = (
    "taskvisor's asyncio API is not thread-safe: call it from the thread that runs the event "
    "loop, inside an asyncio task. From another thread, use taskvisor.blocking: the same "
    "names and signatures, thread-safe, blocking the calling thread (docs/blocking.md)"
)


def running_loop(call: str) -> asyncio.AbstractEventLoop:
    """The calling thread's running loop, or the RuntimeError for a call from off the loop."""
    loop = _get_running_loop()
    if loop is None:
        raise off_loop(call)
    return loop


def check_on_loop(loop: asyncio.AbstractEventLoop, call: str, owner: object) -> None:
    """Refuse unless the calling thread runs `loop`, the loop `owner` (a supervisor, a
    process) lives on."""
    if _get_running_loop() is not loop:
        raise off_loop(call, owner)


def off_loop(call: str, owner: object = None) -> RuntimeError:
    """The error for `call` made from a thread that does not run the loop it needs."""
    thread = threading.current_thread().name
    if _get_running_loop() is None:
        where = f"thread {thread!r}, which is not running an event loop"
        return RuntimeError(f"{call} was called from {where}. {THREAD_SAFE_WAY}")
    what = "the object it was given" if owner is None else repr(owner)
    return RuntimeError(
        f"{call} was called from thread {thread!r}, which runs another event loop than the "
        f"one {what} lives on. taskvisor's processes and supervisors belong to the loop they "
        "started on: use them from that loop (if it runs in another thread, hand it a "
        "coroutine with asyncio.run_coroutine_threadsafe(coro, that_loop); with "
        "pytest-asyncio, give the fixture and the test the same loop scope)"
    )


def outside_task(call: str) -> RuntimeError:
    """The error for `call` made on the loop's thread but outside any task (a callback)."""
    return RuntimeError(
        f"{call} must be called from inside an asyncio task (for example under "
        "asyncio.run(main())), not from a loop callback"
    )
