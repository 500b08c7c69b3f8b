"""A thread as a process (the blocking API): its record, and how its calls run on a loop.

A thread that calls `taskvisor.blocking` is a process: a `ThreadProc` record with a pid, links,
monitors and ``trap_exit``, and no asyncio task of its own. Each blocking call runs on the
loop as a short asyncio task that stands for the thread's process while it runs (`begin_call`),
so every taskvisor call inside it (``Task.await_``, ``Process.receive_exit``, ...) acts for
the thread with the asyncio API's own semantics; the thread waits on a lock the call
releases.

A thread cannot be interrupted mid-call, so an exit signal reaches it in one of two ways:
- a call in flight is interrupted like any process (its wait raises `TaskExit`), and the
  process is dead when the call ends;
- an idle thread's process dies at once (its links and monitors fire) and the thread's next
  call raises that `TaskExit` (`exit_for`), once; the call after adopts the thread afresh.

A blocking call made by a function that taskvisor runs in a thread (``executor="thread"``)
acts as that function's process: it is lent to the call (`begin_call` with a running
process), so a signal to it interrupts the call, and it gets its own task back afterwards.

All of a record's state changes are made on its loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable
from typing import Any

from .._errors import TaskExit
from .._reasons import is_normal
from .._types import ExitReason
from ._adopt import Adopted, live_caller
from ._executing import Call
from ._pid import by_pid
from ._proc import DEAD, DOOMED, KILL_GRACE, RUNNING, SPAWNED, Proc, _after_step, live
from ._reply import CLOSED, Monitored
from ._supervising import Supervising
from ._waiting import take_awaited, wait_one, waiting_for

__all__ = [
    "Outcome",
    "ThreadProc",
    "await_owned",
    "begin_call",
    "closed_by_owner",
    "end_thread_process",
    "exit_for",
    "forget_everything",
    "may_reply_early",
    "new_thread_process",
    "pending_exit",
    "start_owned",
    "stop_loop",
]


EAGER = sys.version_info >= (3, 12)
"""Whether a task a thread starts takes its first step at once (asyncio's eager start)."""


class ThreadProc(Proc):
    """The process record of a thread that calls the blocking API (on one loop)."""

    __slots__ = ("_home", "_siblings", "_thread", "_told", "_waiting")

    reports_crashes = False  # what a thread raises is its own code's business

    _home: asyncio.AbstractEventLoop  # the loop its calls run on (its state changes there)
    _siblings: dict[asyncio.AbstractEventLoop, ThreadProc]  # its thread's records, by loop
    _thread: str  # the thread's name, for the repr
    _told: bool  # the thread was handed the TaskExit of its death
    _waiting: _ThreadWait | None  # its Task.await_ waiting with no task of its own

    def _interrupt(self) -> None:
        if self._aio is not None:  # a call in flight: its wait raises TaskExit
            Proc._interrupt(self)
        else:  # waiting with no task of its own, or idle: see `_die`
            asyncio.get_running_loop().call_soon(self._die)

    def _kill(self, source: Proc | None = None) -> None:
        """A thread cannot be stopped harder than interrupted: as a signal, reason "killed"."""
        if self._state is DEAD:
            return
        self._seal("killed", source)
        self._interrupt()

    def _finish(self, reason: ExitReason, **kwargs: Any) -> None:
        _thread_procs.discard(self)
        super()._finish(reason, **kwargs)
        if not is_normal(reason):  # one thread, one process: its records on other loops too
            here = asyncio.get_running_loop()
            for loop, sibling in list(self._siblings.items()):
                if sibling is not self and loop is not here:
                    with contextlib.suppress(RuntimeError):  # a closed loop: it is gone
                        loop.call_soon_threadsafe(end_thread_process, sibling, reason)

    def _die(self) -> None:
        """Just after the signal: a waiting thread is woken with its TaskExit; an idle one is
        told at its next call. Either way the process is dead now (links and monitors fire)."""
        if self._state is not DOOMED or self._aio is not None:
            return
        if self._waiting is not None:
            self._waiting.interrupt()
        else:
            self._finish(self._reason)

    def __repr__(self) -> str:
        return f"<process {self._get_pid()!r} thread {self._thread!r} {self._state.value}>"


_thread_procs: set[ThreadProc] = set()
"""Every live thread process (an idle one has no asyncio task: `live` does not hold it)."""


def new_thread_process(
    loop: asyncio.AbstractEventLoop, siblings: dict[asyncio.AbstractEventLoop, Any]
) -> ThreadProc:
    """A record for the calling thread on `loop` (made in that thread, used on the loop);
    `siblings` is the thread's records on every loop it calls on: when one dies abnormally,
    so do the others (a thread is one process, whichever loop its calls go to)."""
    proc = ThreadProc.__new__(ThreadProc)
    proc._setup(None, (), None, None)
    proc._state = RUNNING
    proc._told = False
    proc._waiting = None
    proc._thread = threading.current_thread().name
    proc._home = loop
    proc._siblings = siblings
    _thread_procs.add(proc)
    return proc


def end_thread_process(proc: Proc, reason: ExitReason) -> None:
    """On the loop: an idle thread process ends (its thread ended, its scope closed, the
    program exits) with `reason`; one in a call is doomed, and dies when the call ends."""
    if type(proc) is not ThreadProc or proc._state is DEAD:
        return
    if proc._aio is None and proc._waiting is None:
        proc._finish(reason)
    else:
        proc._doom(reason)


def exit_for(proc: Proc, call: tuple[str, tuple[Any, ...]]) -> TaskExit | None:
    """The `TaskExit` to raise in the thread before `call`, if its process got an exit
    signal it has not been told of (read in the thread: a doomed record's reason is fixed).
    Told once; the thread's next call gets a new process."""
    if type(proc) is not ThreadProc or proc._told or proc._state is RUNNING:
        return None
    proc._told = True
    if is_normal(proc._reason):
        return None
    return proc._exit_signal(call)


def pending_exit(proc: Proc, call: tuple[str, tuple[Any, ...]]) -> TaskExit | None:
    """For a function that taskvisor runs in a thread: the `TaskExit` of its process's
    sealed exit, if it is exiting (read in the thread, for `checkpoint`)."""
    if proc._state is not DOOMED:
        return None
    return proc._exit_signal(call)


class Outcome:
    """One blocking call in flight: the thread waits on `done`; one side fills it in.

    Usually the loop; for a thread's `Task.await_` of a function it submitted to a thread
    pool, the pool thread may hand over the reply first (`reply_early`). Whoever claims it
    first fills it in; the other side only tidies up.
    """

    __slots__ = ("_claimed", "done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self._claimed = threading.Lock()
        self.value: Any = None
        self.error: BaseException | None = None

    def claim(self) -> bool:
        """True for the first caller only: it is to `fill` the outcome."""
        return self._claimed.acquire(blocking=False)

    def fill(self, value: Any = None, error: BaseException | None = None) -> None:
        """Set the outcome and release the waiting thread (after a successful `claim`)."""
        self.value = value
        self.error = error
        self.done.release()

    def give(self, value: Any = None, error: BaseException | None = None) -> None:
        """`claim`, then `fill`; nothing if the other side came first."""
        if self.claim():
            self.fill(value, error)


def begin_call(
    proc: Proc,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    outcome: Outcome,
    call: tuple[str, tuple[Any, ...]],
) -> None:
    """On the loop: run ``fn(*args)`` (a function of the asyncio API; it may return an
    awaitable) as `proc`, fill in `outcome`, and release the waiting thread.

    `proc` is the thread's `ThreadProc`, or a running process lent to the call (its function
    runs in this thread): for the call, its asyncio task is the call's, so that a signal
    interrupts the call's wait.
    """
    aio = asyncio.Task(_run_call(proc, fn, args, outcome, call))
    if type(proc) is ThreadProc:
        if proc._state is not DEAD:
            proc._aio = aio
            live[aio] = proc
    else:
        _lend(proc, aio)


async def _run_call(
    proc: Proc,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    outcome: Outcome,
    call: tuple[str, tuple[Any, ...]],
) -> None:
    lent = _lent.get(proc)
    value: Any = None
    error: BaseException | None = None
    try:
        if proc._state is DEAD:
            raise TaskExit(proc._reason, call)
        value = fn(*args)
        if hasattr(value, "__await__"):
            value = await value
    except asyncio.CancelledError:  # ours only: the blocking loop is being torn down
        error = TaskExit("shutdown", call)
    except BaseException as exc:
        error = exc
    finally:
        if lent is not None:
            _give_back(proc, lent)
        elif proc._aio is not None and proc._aio is asyncio.current_task():
            live.pop(proc._aio, None)  # type: ignore[arg-type]
            proc._aio = None
            proc._cancels = 0
            if proc._state is DOOMED:  # the call was interrupted: the process is dead now
                if isinstance(error, TaskExit):
                    proc._told = True  # type: ignore[attr-defined]
                proc._finish(proc._reason)
        outcome.give(value, error)


# -- lending a running process to a call from its own thread ---------------------------------

_lent: dict[Proc, tuple[asyncio.Task[None] | None, Call | None]] = {}
"""Processes lent to a blocking call from the thread running their function: their own
asyncio task and executor call, given back when the blocking call ends."""


def _lend(proc: Proc, aio: asyncio.Task[None]) -> None:
    if proc._state is not RUNNING or isinstance(proc, Adopted):
        return  # exiting already: the call's guard raises its TaskExit
    _lent[proc] = (proc._aio, proc._call)
    proc._aio = aio
    proc._call = None  # a signal now interrupts the blocking call, not the thread's call
    live[aio] = proc


def _give_back(proc: Proc, lent: tuple[asyncio.Task[None] | None, Call | None]) -> None:
    _lent.pop(proc, None)
    proc._give_back_cancels()  # the cancels were the blocking call's task's
    live.pop(proc._aio, None)  # type: ignore[arg-type]
    proc._aio, proc._call = lent
    call = proc._call
    if proc._state is DOOMED and call is not None:  # a signal came during the blocking call
        if proc._reason == "killed":
            proc._call = None
            call.kill()
        else:
            call.stop()


# -- the end of a loop --------------------------------------------------------------------------


async def stop_loop(kill_after: float, bound: float) -> None:
    """Stop every process of the running loop (the blocking loop's exit teardown).

    Its thread processes end with ``"shutdown"`` first (a thread blocked in a call wakes
    with ``TaskExit("shutdown")``; their links stop what they started), then every other
    process gets exit ``"shutdown"``: a supervisor stops its children in order, each within
    its own shutdown; any other process is killed after `kill_after` seconds (a task's
    default shutdown). Returns when all are dead, or after `bound` seconds.
    """
    loop = asyncio.get_running_loop()
    for thread in list(_thread_procs):
        if thread._home is loop:
            end_thread_process(thread, "shutdown")
    me = asyncio.current_task()
    procs = [p for aio, p in list(live.items()) if aio is not me and aio.get_loop() is loop]
    for proc in procs:
        proc._doom("shutdown")
    deaths = {proc: _death_of(proc) for proc in procs if proc._state is not DEAD}
    if not deaths:
        return
    plain = [proc for proc in deaths if not isinstance(proc, Supervising)]

    def kill_plain() -> None:
        for proc in plain:
            proc._kill()

    timer = loop.call_later(kill_after, kill_plain)
    try:
        await asyncio.wait(deaths.values(), timeout=bound)
    finally:
        timer.cancel()
    for proc in deaths:
        proc._kill()  # past the bound (a dead one is left alone)
    await asyncio.wait(deaths.values(), timeout=KILL_GRACE * 2)


def _death_of(proc: Proc) -> asyncio.Future[None]:
    died: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_death(_: Proc) -> None:
        if not died.done():
            died.set_result(None)

    proc._watch(on_death)
    return died


def forget_everything() -> list[object]:
    """After a fork, in the child: no process of the parent exists here. Returns what the
    tables held, for the caller to keep: collected, the parent's coroutines would be closed
    in the child, and their ``finally`` blocks would run here."""
    held: list[object] = [dict(live), dict(by_pid), dict(_after_step), set(_thread_procs)]
    held.append(dict(_lent))
    live.clear()
    by_pid.clear()
    _after_step.clear()
    _thread_procs.clear()
    _lent.clear()
    return held


# -- the hot pair, without a call's task: start a task, and await one ---------------------------


def start_owned(task: Monitored, owner: Proc, link: bool) -> None:
    """On the loop: start a task whose record the owner's thread made (`_setup` without a
    loop), linked to its owner if `link`. An owner already dead or exiting passes its exit
    on, as the link would have: the task never runs."""
    loop = asyncio.get_running_loop()
    if link:
        if owner._state is DEAD:
            task._seal(owner._reason, owner)
        else:
            task._links = owner
            owner._add_link(task)
            if owner._state is DOOMED:
                task._seal(owner._reason, owner)
    # 3.12+: its first step runs now, in this drain (a function that needs no await has
    # replied by the time the owner's wait, posted next, looks): one loop turn less. As
    # `Proc._setup` starts a process (kept inline there: the spawn hot path).
    coro = task._main()
    if EAGER:
        aio: asyncio.Task[None] = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]
    else:
        aio = asyncio.Task(coro, loop=loop)
    if task._aio is None:  # else its eager first step registered it
        task._aio = aio
        if task._state is not DEAD:
            live[aio] = task


class _ThreadWait:
    """A thread's `Task.await_` waiting on the loop with no task of its own: woken by the
    task's exit path (`Monitored._deliver` calls `wake`), its timer, or a signal to the
    thread's process (`ThreadProc._interrupt`)."""

    __slots__ = ("call", "outcome", "proc", "task", "timer")

    def __init__(
        self, proc: ThreadProc, task: Monitored, outcome: Outcome, call: tuple[str, Any]
    ) -> None:
        self.proc = proc
        self.task = task
        self.outcome = outcome
        self.call = call
        self.timer: asyncio.TimerHandle | None = None

    def wake(self, task: Monitored | None = None) -> None:
        """The reply or DOWN arrived (or, with no `task`, the timeout passed)."""
        if self.proc._waiting is not self or self.proc._state is not RUNNING:
            return  # a signal came first: it wins, as a cancel does in a process's wait
        if task is not None and _kills_through_link(task, self.proc):
            return  # its exit signal comes next (`interrupt`): it wins, as in the asyncio API
        self.stop()
        _settle(self.outcome, take_awaited, self.task, self.call)

    def interrupt(self) -> None:
        """The thread's process got an exit signal: the wait raises its TaskExit (unless the
        reply was handed over first: the thread is then told at its next call)."""
        self.stop()
        if self.outcome.claim():
            self.proc._told = True
            self.outcome.fill(error=self.proc._exit_signal(self.call))
        self.proc._finish(self.proc._reason)

    def stop(self) -> None:
        """Stop waiting: no timer, no waiter left behind."""
        if self.proc._waiting is self:
            self.proc._waiting = None
        if self.timer is not None:
            self.timer.cancel()
        if self.task._waiter is self:
            self.task._waiter = None


def _kills_through_link(task: Monitored, proc: ThreadProc) -> bool:
    """Whether `task`, whose DOWN is being delivered, is about to kill `proc` through their
    link: a task's links fire just after its DOWN (`Proc._finish`). In a process's wait the
    signal's cancel lands before the wait resumes, so the awaiter gets the signal's
    `TaskExit` (with its sender) and its death is told once; a thread's wait must not take
    the DOWN first, or the thread would be told of one crash twice (by this wait, then by
    its next call)."""
    if task._state is not DEAD or is_normal(task._reason):
        return False
    links = task._links
    if links is not proc and not (type(links) is set and proc in links):
        return False
    inbox = proc._exits
    return inbox is None or not inbox.trapping


def await_owned(
    proc: ThreadProc,
    task: Monitored,
    timeout: float | None,
    outcome: Outcome,
    call: tuple[str, Any],
) -> None:
    """On the loop: `Task.await_` for an idle thread process that owns `task` (checked by
    the thread), as the asyncio API does it: the caller guard, the wait, the take."""
    if proc._state is not RUNNING or proc._aio is not None:
        begin_call(proc, _await_in_a_call, (task, timeout, call), outcome, call)
        return
    if timeout != 0 and waiting_for(task):
        wait = _ThreadWait(proc, task, outcome, call)
        proc._waiting = wait
        task._waiter = wait
        if timeout is not None:
            wait.timer = asyncio.get_running_loop().call_later(timeout, wait.wake)
        return
    _settle(outcome, take_awaited, task, call)


async def _await_in_a_call(task: Monitored, timeout: float | None, call: tuple[str, Any]) -> Any:
    me = live_caller(None, *call)  # the guard raises an exiting process's TaskExit
    if timeout != 0 and waiting_for(task):
        await wait_one(me, task, timeout, call)
    return take_awaited(task, call)


def _settle(outcome: Outcome, fn: Callable[..., Any], *args: Any) -> None:
    try:
        value = fn(*args)
    except BaseException as exc:
        outcome.give(error=exc)
    else:
        outcome.give(value)


def may_reply_early(task: Monitored, owner: ThreadProc, ok: bool, value: Any) -> bool:
    """In a pool thread, as soon as the function of `task` returned: whether its reply may go
    straight to the owner's thread, without waiting for the loop (the task's exit
    bookkeeping, its end and its links, follows there). Only a plain return, with no exit
    signal to the task or its owner yet: a crash, a coroutine handed back, a signal on
    either side, and the loop decides, as always."""
    if not ok or hasattr(value, "__await__"):
        return False
    # SPAWNED too: the caller's thread submitted the function, which may return before the
    # loop has taken the task's first step; no signal has reached it (it would be DOOMED)
    return (task._state is RUNNING or task._state is SPAWNED) and owner._state is RUNNING


def closed_by_owner(task: Monitored, outcome: Outcome | None) -> None:
    """On the loop: the owner took the task's reply already (`may_reply_early`): stop the
    wait of that `outcome`, if any, and drop the reply when it arrives, as after any
    `await_`."""
    waiter = task._waiter
    if outcome is not None and isinstance(waiter, _ThreadWait) and waiter.outcome is outcome:
        waiter.stop()
    task._reply = CLOSED
    task._value = None
