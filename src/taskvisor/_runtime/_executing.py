"""A process waiting on the call its executor started: it holds the call, so a stop reaches it.

While a process awaits a call (a function running in a thread or a worker process), its
record holds the call (`Proc._call`), and the runtime stops the call directly: a polite exit
signal (any reason but ``"killed"``) seals the process's fate and asks the call to stop
(`Call.stop`), and the process then ends when the call does, of its sealed reason; a kill
kills the call (`Call.kill`) and cancels the process. Anyone else's cancel kills the call
and goes on. Executors never read the process's state: they only start calls.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ._proc import DOOMED, live

__all__ = ["Call", "await_call"]


class Call(Protocol):
    """One function call running somewhere (what `Executor.start` returns)."""

    future: asyncio.Future[Any]
    """Resolves with the call's value, or raises its exception, on the caller's loop."""

    # Optional: ``started``, an ``asyncio.Future[None]`` that resolves when a worker begins
    # the call, for a call that waits in a queue first; ``None`` (or no attribute) means the
    # call began when `Executor.start` returned. A stream times its items from there.

    def stop(self) -> None:
        """Ask the call to stop (a cancel, an interrupt); it may still finish."""

    def kill(self) -> None:
        """Stop the call now, by force where the place allows it; never blocks.

        Where force is impossible (a thread), the call is abandoned: its result is dropped
        and a warning names the process.
        """


async def await_call(call: Call) -> Any:
    """Await `call` as the current process (if it is one) and return its value.

    Raises:
        whatever the call raised; `CancelledError` when the call itself ended stopped.

    The process awaits the call's future itself (no `asyncio.shield`): a cancel of the
    process, which would cancel that future, only ever comes with a kill of the call.

    Cancellation: a polite exit signal of the process stops the call and the wait goes on
    (the process's fate is sealed; it ends when the call does, or when the kill that follows
    a shutdown timeout comes). A kill has already killed the call; any other cancel kills it
    and goes on.
    """
    future = call.future
    me = live.get(asyncio.current_task())  # type: ignore[arg-type]
    if me is not None:
        me._call = call
        if me._state is DOOMED:  # doomed in this very step, before it held the call
            me._give_back_cancels()  # the deferred cancel would turn a polite stop into a kill
            if me._reason == "killed":
                me._call = None
                call.kill()
            else:
                call.stop()
    try:
        return await future  # no shield: the thread's result wakes the process in one hop
    except (asyncio.CancelledError, GeneratorExit):  # GeneratorExit: a kill closes us
        if me is None or me._call is call:  # a kill let go of the call when it killed it
            task = asyncio.current_task()
            ended_stopped = future.cancelled() and task is not None and not task.cancelling()
            if not ended_stopped:  # anyone else's cancel (it cancelled the future too)
                call.kill()
        raise
    finally:
        if me is not None and me._call is call:
            me._call = None
