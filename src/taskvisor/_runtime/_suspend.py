"""The one place where taskvisor waits: it turns its own cancels into TaskExit.

An exit signal dooms a process and cancels it (see `_proc`). When that cancel lands in a
taskvisor wait, the process gets `TaskExit(reason)` and the cancels taskvisor requested are
given back with `uncancel()`, so `cancelling()` is as before and an enclosing
`asyncio.timeout()` still works. Anyone else's cancel passes through untouched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._proc import DOOMED, Proc

__all__ = ["suspend", "wake"]


async def suspend(
    me: Proc,
    future: asyncio.Future[Any],
    call: tuple[str, tuple[Any, ...]],
    timeout: float | None = None,
) -> None:
    """Await `future` as process `me`; a cancel of ours becomes `TaskExit(me's reason)`.

    With a `timeout`, one timer wakes `future` (with ``None``) when it passes: the caller
    tells a timeout from an answer by what it finds on waking. The timer is cancelled however
    the wait ends.
    """
    timer = None if timeout is None else future.get_loop().call_later(timeout, wake, future)
    try:
        await future
    except asyncio.CancelledError:
        # Convert only when every pending cancel is ours (as asyncio.timeout does): an outside
        # cancel that landed in the same step goes on as CancelledError, our cancels given
        # back; the process still dies of its sealed reason.
        if me._state is DOOMED and me._cancels and me._give_back_cancels():
            reason = me._reason
            raise me._exit_signal(call) from (reason if isinstance(reason, BaseException) else None)
        raise
    finally:
        if timer is not None:
            timer.cancel()


def wake(future: asyncio.Future[None]) -> None:
    """Resolve a wait future unless something else already did."""
    if not future.done():
        future.set_result(None)
