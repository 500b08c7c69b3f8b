"""The executor interface: where a process's function runs, and how it is stopped there.

An executor starts a call and hands back a `Call`: a future for its result and two ways to
stop it, politely (`stop`: the call may still finish) and by force (`kill`: the strongest
stop the place allows). `drive` maps taskvisor's stops onto those two: an exit signal
(``"shutdown"``) is a polite stop, a kill is a forced one, and anyone else's cancel is a
forced stop that passes on.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from .._runtime._proc import DOOMED, live

__all__ = ["Call", "Executor", "drive"]


class Call(Protocol):
    """One function call running somewhere."""

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


class Executor(abc.ABC):
    """Where functions run: a thread pool, a process pool, or your own.

    Subclass it and implement `start`; pass an instance as ``executor=`` to any function that
    starts tasks, or to ``TaskSupervisor(executor=...)`` as the default for its children.

    Cancellation: taskvisor calls `Call.stop` when the process is asked to exit (exit
    ``"shutdown"``), and `Call.kill` when it is killed (``"brutal_kill"``, a shutdown timeout,
    ``on_timeout="kill_task"``) or cancelled from outside taskvisor.
    """

    name: str = "executor"

    @property
    def max_workers(self) -> int | None:
        """How many calls run at once (a stream's default ``max_concurrency``), or None."""
        return None

    @abc.abstractmethod
    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Call:
        """Start ``fn(*args)`` and return the running call (called on the event loop)."""

    async def run(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        started: Callable[[], None] | None = None,
    ) -> Any:
        """Run ``fn(*args)`` here on behalf of the current process and return its value;
        call `started()` (on the loop) when a worker begins the call.

        Cancellation: see `drive`. A call stopped while it waits in a queue never begins:
        `started` is not called.
        """
        call = self.start(fn, args)
        if started is not None:
            when_started(call, started)
        return await drive(call)


def when_started(call: Call, started: Callable[[], None]) -> None:
    """Call `started()` when `call` begins: now, or when its ``started`` future resolves."""
    begun: asyncio.Future[None] | None = getattr(call, "started", None)
    if begun is None:
        started()
    else:
        begun.add_done_callback(lambda future: None if future.cancelled() else started())


async def drive(call: Call) -> Any:
    """Await `call` as the current process, turning taskvisor's stops into `stop`/`kill`.

    Cancellation: a polite exit signal (the process is doomed with a reason other than
    ``"killed"``) calls `Call.stop` and goes on waiting, since the process's fate is sealed
    and it ends when the call does (or when the kill that follows a shutdown timeout comes).
    A kill, or anyone else's cancel, calls `Call.kill` and the cancel goes on.
    """
    future = call.future
    me = live.get(asyncio.current_task())  # type: ignore[arg-type]
    seen = 0  # our cancels already answered with a polite stop
    while True:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.cancelled():  # the call itself ended stopped: nothing left to kill
                raise
            if me is not None and me._state is DOOMED and me._cancels > seen:
                seen = me._cancels
                aio = me._aio
                ours_only = aio is None or aio.cancelling() <= me._cancels
                if me._reason != "killed" and ours_only:  # else an outside cancel: it goes on
                    call.stop()
                    continue
            call.kill()
            raise
        except GeneratorExit:  # the process's coroutine is being closed by a kill
            call.kill()
            raise
