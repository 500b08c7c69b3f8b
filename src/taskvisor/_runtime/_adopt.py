"""Adoption: a plain asyncio task that calls taskvisor becomes a process on first use.

An adopted task stays the user's: taskvisor never closes its coroutine, writes no crash
report for it and reads its exception without marking it retrieved, so asyncio still reports
what it would have reported without taskvisor.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from .._errors import TaskExit
from ._calling import outside_task, running_loop
from ._proc import DEAD, DOOMED, KILL_GRACE, RUNNING, Proc, live
from ._reports import log_event

__all__ = ["Adopted", "current", "live_caller"]


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


def live_caller(
    loop: asyncio.AbstractEventLoop | None,
    call: str,
    args: tuple[Any, ...],
    lead: tuple[Any, ...] = (),
) -> Proc:
    """The process making the call `call` on `loop`, once it is known to be alive: the one
    guard every taskvisor call that acts for its caller starts with (the hot path of every
    spawn).

    `loop` is the calling thread's running loop, or ``None`` to look it up. The call's
    arguments, ``(*lead, *args)``, are only shown in the error.

    Raises:
        RuntimeError: called off the loop's thread, or outside an asyncio task.
        TaskExit: the caller's exit is already decided by a signal: it says that the
            process is exiting, why and from whom, and gives back taskvisor's cancels.
    """
    if loop is None:
        loop = running_loop(call)
    proc = live.get(_task_of(loop))
    if proc is None:
        proc = _adopt_running(loop, call)
    if proc._state is DOOMED:
        raise proc._exit_now((call, (*lead, *args)))
    return proc


def _adopt_running(loop: asyncio.AbstractEventLoop, call: str) -> Proc:
    """A process for the plain asyncio task running on `loop` (adopted on first use)."""
    aio = _task_of(loop)
    if aio is None:
        raise outside_task(call)
    return Adopted.adopt(aio)


def current(call: str) -> Proc:
    """The process of the running asyncio task, alive or exiting, adopting the task on first
    use; `call` names the call for the error."""
    loop = running_loop(call)
    proc = live.get(_task_of(loop))
    return _adopt_running(loop, call) if proc is None else proc
