"""Adoption: a plain asyncio task that calls taskvisor becomes a process on first use.

An adopted task stays the user's: taskvisor never closes its coroutine, writes no crash
report for it and reads its exception without marking it retrieved, so asyncio still reports
what it would have reported without taskvisor.
"""

from __future__ import annotations

import asyncio
import warnings

from .._errors import TaskExit
from ._proc import DEAD, DOOMED, KILL_GRACE, RUNNING, Proc, live

__all__ = ["Adopted", "current", "current_or_none"]


class Adopted(Proc):
    """The process record of a plain asyncio task (for example `asyncio.run`'s main task)."""

    __slots__ = ()
    reports_crashes = False

    @classmethod
    def adopt(cls, aio: asyncio.Task[object]) -> Adopted:
        proc = cls.__new__(cls)
        proc._init(None, (), None, None)
        proc._aio = aio  # type: ignore[assignment]
        proc._state = RUNNING
        live[aio] = proc  # type: ignore[index]
        aio.add_done_callback(proc._on_done)
        return proc

    def _on_done(self, aio: asyncio.Task[object]) -> None:
        if self._state is DEAD:
            return  # it was abandoned after a kill, and has now ended on its own
        if self._state is DOOMED:
            reason = self._reason
        elif aio.cancelled():
            reason = "shutdown"
        else:
            exc = aio._exception  # type: ignore[attr-defined]  # not exception(): no retrieval
            if exc is None:
                reason = "normal"
            elif isinstance(exc, TaskExit):
                reason = exc.reason
            else:
                reason = exc
        self._finish(reason)

    def kill(self) -> None:
        """Cancel the user's task; if it has not ended after a grace, declare it dead."""
        if self._state is DEAD:
            return
        self._state = DOOMED
        self._reason = "killed"
        aio = self._aio
        assert aio is not None
        if aio.cancel():
            self._cancels += 1
        aio.get_loop().call_later(KILL_GRACE, self._abandon)

    def _abandon(self) -> None:
        if self._state is DEAD:
            return
        warnings.warn(
            f"{self!r} ({self._aio!r}) ignored its cancellation and was killed; taskvisor "
            "abandons it: it is dead to links and monitors, but its asyncio task runs on",
            RuntimeWarning,
            stacklevel=1,
        )
        self._finish("killed")


def current() -> Proc:
    """The process of the running asyncio task, adopting the task on first use."""
    aio = asyncio.current_task()
    if aio is None:
        raise RuntimeError(
            "taskvisor's asyncio API must be called from inside an asyncio task "
            "(for example under asyncio.run(main()))"
        )
    proc = live.get(aio)  # type: ignore[call-overload]
    if proc is None:
        proc = Adopted.adopt(aio)
    return proc


def current_or_none() -> Proc | None:
    """The current process if there is one, without adopting anything."""
    try:
        aio = asyncio.current_task()
    except RuntimeError:
        return None
    return None if aio is None else live.get(aio)  # type: ignore[call-overload]
