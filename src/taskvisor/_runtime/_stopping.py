"""Stopping a process: exit "shutdown", then after a timeout a kill (Elixir's shutdown spec).

The kill after the timeout is armed on a timer, not left to the waiting caller, so it happens
even if the caller is interrupted (Elixir uses an "enforcer" process for the same reason).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .._types import ExitReason, ShutdownTimeout
from ._proc import DEAD, Proc
from ._suspend import suspend

__all__ = ["begin_stop", "stop"]


def begin_stop(
    proc: Proc,
    source: Proc | None,
    shutdown: ShutdownTimeout,
    kill: Callable[[], None] | None = None,
) -> asyncio.TimerHandle | None:
    """Send the stop: kill at once for "brutal_kill", else exit "shutdown" and arm the kill
    (`kill`, by default ``proc._kill``); returns the armed timer, if any."""
    if shutdown == "brutal_kill":
        proc._kill(source)
        return None
    proc._signal(source, "shutdown")
    if shutdown is None or proc._state is DEAD:
        return None
    assert not isinstance(shutdown, str)
    if kill is None:

        def kill() -> None:
            proc._kill(source)

    return asyncio.get_running_loop().call_later(shutdown, kill)


async def stop(
    me: Proc,
    proc: Proc,
    shutdown: ShutdownTimeout,
    call: tuple[str, tuple[Any, ...]],
    source: Proc | None = None,
) -> ExitReason:
    """Stop `proc` as its shutdown spec says (the signal from `source`, by default `me`) and
    return the reason it died with."""
    if proc._state is not DEAD:
        died: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_death(_: Proc) -> None:
            if not died.done():
                died.set_result(None)

        proc._watch(on_death)
        begin_stop(proc, me if source is None else source, shutdown)
        try:
            await suspend(me, died, call)
        finally:
            proc._unwatch(on_death)
    return proc._reason
