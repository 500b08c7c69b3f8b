"""The executor interface: where a process's function runs, and how it is stopped there.

An executor starts a call and hands back a `Call`: a future for its result and two ways to
stop it, politely (`stop`: the call may still finish) and by force (`kill`: the strongest
stop the place allows). The runtime maps taskvisor's stops onto those two
(`taskvisor._runtime._executing`): the process holds its call, an exit signal
(``"shutdown"``) is a polite stop, a kill is a forced one, and anyone else's cancel is a
forced stop that passes on. An executor reads nothing of the process it runs for.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from typing import Any

from .._runtime._executing import Call, await_call

__all__ = ["Call", "CallWrapper", "Executor", "call_wrappers"]

CallWrapper = Callable[[Callable[..., Any]], Callable[..., Any]]

call_wrappers: list[CallWrapper] = []
"""What wraps a function before it leaves this process (`Executor.crosses_processes`): each
gets the function, in the calling process's context, and returns what is sent instead (an
integration's hook: `taskvisor.contrib.opentelemetry` sends the trace context along)."""


class Executor(abc.ABC):
    """Where functions run: a thread pool, a process pool, or your own.

    Subclass it and implement `start`; pass an instance as ``executor=`` to any function that
    starts tasks, or to ``TaskSupervisor(executor=...)`` as the default for its children.

    Cancellation: taskvisor calls `Call.stop` when the process is asked to exit (exit
    ``"shutdown"``), and `Call.kill` when it is killed (``"brutal_kill"``, a shutdown timeout,
    ``on_timeout="kill_task"``) or cancelled from outside taskvisor.
    """

    name: str = "executor"

    crosses_processes: bool = False
    """Whether its calls run in another process (a worker, a cluster): then what is in the
    caller's context (a trace) does not travel by itself, and integrations wrap each
    function before it is sent (`call_wrappers`). Set it on an executor of your own whose
    calls leave the process."""

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

        Cancellation: the process holds the call while it waits (see
        `taskvisor._runtime._executing`): an exit signal stops it, a kill or anyone else's
        cancel kills it. A call stopped while it waits in a queue never begins:
        `started` is not called.
        """
        if self.crosses_processes and call_wrappers:
            for wrap in call_wrappers:
                fn = wrap(fn)
        call = self.start(fn, args)
        if started is not None:
            when_started(call, started)
        return await await_call(call)


def when_started(call: Call, started: Callable[[], None]) -> None:
    """Call `started()` when `call` begins: now, or when its ``started`` future resolves."""
    begun: asyncio.Future[None] | None = getattr(call, "started", None)
    if begun is None:
        started()
    else:
        begun.add_done_callback(lambda future: None if future.cancelled() else started())
