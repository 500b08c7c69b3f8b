"""Adoption: a plain asyncio task that calls taskvisor becomes a process on first use.

An adopted task stays the user's: taskvisor never closes its coroutine, writes no crash
report for it and reads its exception without marking it retrieved, so asyncio still reports
what it would have reported without taskvisor.
"""

from __future__ import annotations

import asyncio
import sys

from .._errors import TaskExit
from .._reports import log_event
from ._calling import outside_task, running_loop
from ._proc import DEAD, DOOMED, KILL_GRACE, RUNNING, Proc, live

__all__ = ["Adopted", "current", "current_in"]


class Adopted(Proc):
    """The process record of a plain asyncio task (for example `asyncio.run`'s main task)."""

    __slots__ = ()
    reports_crashes = False

    @classmethod
    def adopt(cls, aio: asyncio.Task[object]) -> Adopted:
        proc = cls.__new__(cls)
        proc._setup(None, (), None, None)
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
            exc = aio._exception  # not exception(): no retrieval
            if exc is None:
                reason = "normal"
            elif isinstance(exc, TaskExit):
                reason = exc.reason
            else:
                reason = exc
        self._finish(reason)

    def _kill(self, source: Proc | None = None) -> None:
        """Cancel the user's task; if it has not ended after a grace, declare it dead."""
        if self._state is DEAD:
            return
        self._seal("killed", source)
        aio = self._aio
        assert aio is not None
        self._interrupt()
        aio.get_loop().call_later(KILL_GRACE, self._abandon)

    def _abandon(self) -> None:
        if self._state is DEAD:
            return
        log_event(
            self,
            "abandoned_task",
            f"{self!r} ({self._aio!r}) ignored its cancellation and was killed; taskvisor "
            "abandons it: it is dead to links and monitors, but its asyncio task runs on",
            task=self._aio,
        )
        self._finish("killed")


if sys.version_info >= (3, 12):
    from _asyncio import current_task as _task_of  # C, and takes the loop we already have
else:  # 3.11: asyncio.current_task is Python over this C dict
    _task_of = asyncio.tasks._current_tasks.get  # type: ignore[attr-defined]


def current_in(loop: asyncio.AbstractEventLoop, call: str) -> Proc:
    """The process of the asyncio task running on `loop` (the hot path of every spawn);
    `loop` is the calling thread's running loop, and `call` names the call for the error."""
    aio = _task_of(loop)
    proc = live.get(aio)
    if proc is None:
        if aio is None:
            raise outside_task(call)
        proc = Adopted.adopt(aio)
    return proc


def current(call: str) -> Proc:
    """The process of the running asyncio task, adopting the task on first use."""
    return current_in(running_loop(call), call)
