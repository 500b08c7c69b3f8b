"""One process: an asyncio task running a function, with a fixed exit reason, links and monitors.

A process runs inside a wrapper coroutine (`Proc._main`) that does the exit bookkeeping inline
at the end of the task's last step: record the reason, leave the table, reply to the owner,
write a crash report, signal links, notify monitors. A wrapper rather than a done-callback is
cheaper per task and makes a kill stronger: closing the wrapper unhooks a user coroutine that
swallows every exception.

Three rules keep the model honest (DESIGN §1):
- a sealed fate: an exit signal fixes the reason first (state DOOMED), then cancels; whatever
  the function does next, the process dies with that reason;
- own cancels only: `_cancels` counts the cancels taskvisor requested, so a wait can give back
  exactly those (`uncancel`) and let anyone else's cancel through;
- adopted tasks stay the user's (see `_adopt.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from .._callables import describe_fn
from .._errors import TaskExit
from .._reasons import is_normal, is_quiet
from .._types import ExitReason
from . import _pid
from ._pid import Pid
from ._reports import log_event, report_crash

if TYPE_CHECKING:
    from ._executing import Call
    from ._exits import ExitInbox

__all__ = ["KILL_GRACE", "Proc", "State", "live"]

KILL_GRACE = 0.1
"""Seconds a killed process gets to unwind from its cancel (say, an ``await`` in a
``finally``) before its coroutine is closed, or, for an adopted task, before it is abandoned."""


class State(enum.Enum):
    """A process's lifecycle.

    SPAWNED -> RUNNING -> DEAD      the function returned or raised
    SPAWNED -> DOOMED -> DEAD       a signal came before the function started: it never runs
    RUNNING -> DOOMED -> DEAD       a signal came while it ran: it unwinds from a cancel
    DOOMED -> DOOMED                a kill overrides the reason of a polite signal
    """

    SPAWNED = "spawned"  # its asyncio task exists; its function has not started
    RUNNING = "running"  # its function runs; a signal would fix its reason and cancel it
    DOOMED = "doomed"  # a signal fixed its exit reason; it is unwinding
    DEAD = "dead"  # reason final, out of the table, links and monitors fired


SPAWNED, RUNNING, DOOMED, DEAD = State.SPAWNED, State.RUNNING, State.DOOMED, State.DEAD

live: dict[asyncio.Task[None], Proc] = {}
"""Every live process by its asyncio task: the strong references asyncio does not keep."""

_after_step: dict[Proc, asyncio.Handle] = {}
"""Cancels to send just after the step that doomed a running process (see `_interrupt`)."""

Watcher = Callable[["Proc"], None]


class Proc:
    """The runtime's record of one process. Users see it through `Pid` and `Task`."""

    __slots__ = (
        "_aio",
        "_args",
        "_call",
        "_caller",
        "_cancels",
        "_exits",
        "_fn",
        "_links",
        "_parent",
        "_pid",
        "_reason",
        "_runner",
        "_sender",
        "_state",
        "_watchers",
    )

    reports_crashes: ClassVar[bool] = True
    """Whether an abnormal exit writes a crash report (not for adopted tasks)."""

    emits_task_events: ClassVar[bool] = True
    """Whether it emits the telemetry of a task (`_observe`; supervisors have their own)."""

    _aio: asyncio.Task[None] | None
    _args: tuple[Any, ...]
    _call: Call | None  # the executor call it awaits right now (see `_executing`)
    _caller: Proc | None  # who started it: the head of Process.callers()
    _cancels: int  # cancels taskvisor requested and the process has not given back
    _exits: ExitInbox | None  # trap_exit flag and its queue, made on first use
    _fn: Callable[..., Any] | None
    _links: Proc | set[Proc] | None  # one link needs no set
    _parent: Proc | None  # who spawned it, when not its caller (a supervisor): $ancestors
    _pid: int  # the pid's number, drawn on first use (0: none yet); Pid objects are made on demand
    _reason: ExitReason
    _runner: Callable[[Callable[..., Any], tuple[Any, ...]], Any] | None
    _sender: Pid | None  # who sent the signal that sealed its fate (when DOOMED by one)
    _state: State
    _watchers: list[Watcher] | None  # monitors: called once, at death

    def _setup(
        self,
        fn: Callable[..., Any] | None,
        args: tuple[Any, ...],
        caller: Proc | None,
        runner: Callable[[Callable[..., Any], tuple[Any, ...]], Any] | None,
        loop: asyncio.AbstractEventLoop | None = None,
        link: Proc | None = None,
        parent: Proc | None = None,
    ) -> None:
        """Fill in a new record; link it to `link`; with a `loop`, start it there.

        The one place a process is born (the spawn hot path: keep it flat). Without a loop
        the record stands for a process with no coroutine of its own (an adopted task, a
        completed task, a stream's end of a link).
        """
        self._aio = None
        self._args = args
        self._call = None
        self._caller = caller
        self._cancels = 0
        self._exits = None
        self._fn = fn
        self._links = link  # linked before it starts: an eager task factory may finish it
        if link is not None:
            link._add_link(self)
        self._parent = parent
        self._pid = 0
        self._reason = None
        self._runner = runner
        self._sender = None
        self._state = SPAWNED
        self._watchers = None
        if loop is None:
            return
        coro = self._main()
        if loop.get_task_factory() is None:
            aio: asyncio.Task[None] = asyncio.Task(coro, loop=loop)
        else:
            aio = loop.create_task(coro)  # may run eagerly: _main registers itself then
        if self._aio is None:
            self._aio = aio
            if self._state is not DEAD:
                live[aio] = self

    async def _main(self) -> None:
        # Kept small: its frame (locals and value stack) is part of every idle process.
        if (self._aio is None or self._state is not SPAWNED) and not self._begin_odd():
            return
        self._state = RUNNING
        try:
            if self._runner is None:
                value = await self._fn(*self._args)  # type: ignore[misc]
            else:
                value = await self._runner(self._fn, self._args)  # type: ignore[arg-type]
        except BaseException:
            self._raised()
        else:
            if self._state is DOOMED:  # the function swallowed our cancel and returned
                self._finish(self._reason)
            else:
                self._finish("normal", replied=True, value=value)

    def _begin_odd(self) -> bool:
        """The first step when it is not the plain one; True if the function is to run."""
        if self._aio is None:  # an eager task factory started us inside create_task
            aio = asyncio.current_task()
            assert aio is not None
            self._aio = aio
            live[aio] = self
        if self._state is DOOMED:  # a signal came before we started: the function never runs
            self._finish(self._reason)
            return False
        if self._state is not SPAWNED:
            raise _bad_transition(self, RUNNING)
        return True

    def _raised(self) -> None:
        """Finish after the function raised, and re-raise what must propagate.

        Called from the wrapper's ``except``: the exception in hand is the function's, and a
        bare ``raise`` here re-raises it.
        """
        exc = sys.exception()
        assert exc is not None
        if self._state is DOOMED:  # our signal: the reason is fixed whatever `exc` is
            self._finish(self._reason)
            # GeneratorExit: being closed by a kill, let close() finish; Ctrl-C and
            # sys.exit() are never ours to swallow.
            if isinstance(exc, GeneratorExit | KeyboardInterrupt | SystemExit):
                raise
        elif isinstance(exc, asyncio.CancelledError):
            # Someone else's cancel (asyncio.timeout, a TaskGroup, loop teardown): exit
            # "shutdown" and let the cancel go on, never swallowed.
            self._finish("shutdown")
            raise
        elif isinstance(exc, GeneratorExit):  # closed from outside taskvisor
            self._finish("killed")
            raise
        elif isinstance(exc, KeyboardInterrupt | SystemExit):
            self._finish(exc)
            raise
        elif isinstance(exc, TaskExit):  # `raise TaskExit(reason)` is Elixir's exit(reason)
            self._finish(exc.reason, crash=exc)
        else:
            self._finish(exc, crash=exc)

    # -- dying ----------------------------------------------------------------------------

    def _finish(
        self,
        reason: ExitReason,
        *,
        replied: bool = False,
        value: Any = None,
        crash: BaseException | None = None,
    ) -> None:
        """RUNNING|DOOMED|SPAWNED -> DEAD: fix the reason, then tell everyone who listens."""
        if self._state is DEAD:
            raise _bad_transition(self, DEAD)
        self._state = DEAD
        self._reason = reason
        if self._aio is not None:
            live.pop(self._aio, None)
        if self._pid:
            _pid.by_pid.pop(self._pid, None)
        self._deliver(reason, replied, value)
        if crash is not None and self.reports_crashes and not is_quiet(reason):
            report_crash(self, reason, crash)
        links = self._links
        if links is not None:
            self._links = None
            if type(links) is set:
                for other in links:
                    other._on_linked_exit(self, reason)
            else:
                links._on_linked_exit(self, reason)  # type: ignore[union-attr]
        watchers = self._watchers
        if watchers is not None:
            self._watchers = None
            for watcher in watchers:
                watcher(self)

    def _deliver(self, reason: ExitReason, replied: bool, value: Any) -> None:
        """Hook for processes whose owner monitors them (`Task`): record the reply or DOWN."""

    # -- signals --------------------------------------------------------------------------

    def _signal(self, source: Proc | None, reason: ExitReason) -> None:
        """An exit signal arrives: queue it when trapping exits, else die of it (not of normal)."""
        if self._state is DEAD:
            return
        inbox = self._exits
        if inbox is not None and inbox.trapping:
            inbox.put(None if source is None else source._get_pid(), reason)
        elif not is_normal(reason):
            self._doom(reason, source)

    def _doom(self, reason: ExitReason, source: Proc | None = None) -> None:
        """Seal the process's fate with `reason` (sent by `source`), then interrupt it at its
        next await, or, while it awaits an executor call, ask that call to stop."""
        state = self._state
        if state is RUNNING:
            self._seal(reason, source)
            call = self._call
            if call is None:
                self._interrupt()
            else:
                call.stop()  # it dies of its sealed reason when the call ends
        elif state is SPAWNED:  # never cancel an unstarted coroutine: it could not see why
            self._seal(reason, source)
        # DOOMED: the first reason stands; DEAD: too late.

    def _seal(self, reason: ExitReason, source: Proc | None) -> None:
        """SPAWNED|RUNNING -> DOOMED (or DOOMED -> DOOMED for a kill): the reason is fixed,
        whatever the process does next."""
        if self._state is DEAD:
            raise _bad_transition(self, DOOMED)
        self._state = DOOMED
        self._reason = reason
        self._sender = None if source is None else source._get_pid()

    def _interrupt(self) -> None:
        """Cancel the process's task on taskvisor's behalf, counted so it can be given back.

        A task that waits on a future is cancelled at once: the cancel lands in that wait.
        A task with no future to cancel is running its step right now (or is about to run
        one): its cancel is sent just after the step. A cancel requested during the step
        would be delivered at the step's next ``await``, and if the process learned of its
        exit in that same step (a taskvisor call that raised `TaskExit`), that cancel could
        not be taken back on 3.11 and 3.12 (``uncancel`` leaves it pending there), so a stray
        `CancelledError` would hit the process's cleanup. Scenarios:
        ``Process.exit(Process.self(), reason)``, or a linked task that crashes while an
        eager task factory runs it inside its owner's ``Task.async_``.
        """
        aio = self._aio
        if aio is None or aio.done():
            return
        if getattr(aio, "_fut_waiter", aio) is None:  # asyncio's Task: not waiting
            _after_step[self] = aio.get_loop().call_soon(self._interrupt_after_step)
        elif aio.cancel():
            self._cancels += 1

    def _interrupt_after_step(self) -> None:
        _after_step.pop(self, None)
        aio = self._aio
        if self._state is DOOMED and aio is not None and not aio.done() and aio.cancel():
            self._cancels += 1

    def _kill(self, source: Proc | None = None) -> None:
        """The strongest stop: cancel, and close the coroutine if it still runs after a grace.

        The grace (`KILL_GRACE`) lets ordinary async cleanup finish. Closing unhooks a
        coroutine that swallowed the cancel or hangs in its cleanup, with a warning that
        names it; the process is dead, with reason "killed", within the grace.
        """
        state = self._state
        if state is DEAD:
            return
        self._seal("killed", source)
        aio = self._aio
        if aio is None or state is SPAWNED:
            return  # _main sees DOOMED when it starts and never runs the function
        call = self._call
        if call is not None:
            self._call = None
            call.kill()
        self._interrupt()
        aio.get_loop().call_later(KILL_GRACE, self._close)

    def _close(self) -> None:
        if self._state is DEAD:
            return  # the cancel was enough
        aio = self._aio
        assert aio is not None
        coro = aio.get_coro()
        aio.add_done_callback(_silence)  # the emptied task ends in an error nobody asked for
        if inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) != inspect.CORO_CREATED:
            log_event(
                self,
                "closed_coroutine",
                f"{self!r} was killed but had not ended {KILL_GRACE}s after its cancellation "
                "(it swallowed the cancel or hangs in cleanup); taskvisor closed its coroutine",
            )
        if coro is not None:
            # "coroutine ignored GeneratorExit": the wrapper has already finished anyway
            with contextlib.suppress(RuntimeError):
                coro.close()
        aio.cancel()  # end the emptied asyncio task now, not at loop teardown
        if self._state is not DEAD:  # never started, or nothing reached the wrapper
            self._finish("killed")

    # -- links and monitors ---------------------------------------------------------------

    def _link(self, other: Proc) -> None:
        self._add_link(other)
        other._add_link(self)

    def _unlink(self, other: Proc) -> None:
        self._remove_link(other)
        other._remove_link(self)

    def _add_link(self, other: Proc) -> None:
        links = self._links
        if links is None:
            self._links = other
        elif type(links) is set:
            links.add(other)
        elif links is not other:
            self._links = {links, other}  # type: ignore[arg-type]

    def _remove_link(self, other: Proc) -> None:
        links = self._links
        if links is other:
            self._links = None
        elif type(links) is set:
            links.discard(other)

    def _on_linked_exit(self, source: Proc, reason: ExitReason) -> None:
        links = self._links
        if links is source:
            self._links = None
        elif type(links) is set:
            links.discard(source)
        if type(reason) is str and reason == "normal" and self._exits is None:
            return  # the common case, inline: a normal exit means nothing to a non-trapper
        self._signal(source, reason)

    def _watch(self, watcher: Watcher) -> None:
        """Call `watcher(self)` once when the process dies (at once if it is dead)."""
        if self._state is DEAD:
            watcher(self)
        elif self._watchers is None:
            self._watchers = [watcher]
        else:
            self._watchers.append(watcher)

    def _unwatch(self, watcher: Watcher) -> None:
        if self._watchers is not None and watcher in self._watchers:
            self._watchers.remove(watcher)

    # -- introspection --------------------------------------------------------------------

    def _get_pid(self) -> Pid:
        number = self._pid
        if not number:
            number = _pid.draw(self, self._state is not DEAD)
            if self._state is DEAD:  # it died while a thread drew its pid (`task.pid`)
                _pid.by_pid.pop(number, None)
        return _pid.pid_of(number)

    def _callers(self) -> list[Proc]:
        chain = []
        caller = self._caller
        while caller is not None:
            chain.append(caller)
            caller = caller._caller
        return chain

    def _ancestors(self) -> list[Proc]:
        """Who spawned it, and who spawned that, nearest first (Elixir's ``$ancestors``)."""
        chain = []
        proc = self._parent or self._caller
        while proc is not None:
            chain.append(proc)
            proc = proc._parent or proc._caller
        return chain

    def _give_back_cancels(self) -> bool:
        """Take back the cancels taskvisor requested (and one not yet sent); True if no other
        cancel is pending, so that a `CancelledError` in hand was taskvisor's alone."""
        handle = _after_step.pop(self, None) if _after_step else None
        if handle is not None:
            handle.cancel()
        aio = self._aio
        if aio is None:
            return True
        for _ in range(self._cancels):
            aio.uncancel()
        self._cancels = 0
        return aio.cancelling() == 0

    def _exit_signal(self, call: tuple[str, tuple[Any, ...]]) -> TaskExit:
        """The TaskExit for the exit signal that interrupted `call` (a wait) just now."""
        return TaskExit(self._reason, call, sender=self._sender)

    def _exit_now(self, call: tuple[str, tuple[Any, ...]] | None = None) -> TaskExit:
        """The TaskExit a doomed process gets from any taskvisor call: it says that the
        process is exiting, why and from whom. Gives back taskvisor's cancels."""
        self._give_back_cancels()
        return TaskExit(self._reason, call, sender=self._sender, exiting=self._get_pid())

    def __repr__(self) -> str:
        fn = "" if self._fn is None else f" {describe_fn(self._fn)}"
        return f"<process {self._get_pid()!r}{fn} {self._state.value}>"


def _bad_transition(proc: Proc, to: State) -> RuntimeError:
    return RuntimeError(f"taskvisor bug: {proc!r} cannot go from {proc._state.value} to {to.value}")


def _silence(aio: asyncio.Task[None]) -> None:
    if not aio.cancelled():
        aio.exception()
