"""The runtime's named calls: all that the rest of taskvisor may read or change of a process.

Code outside `_runtime/` never reads or writes a process record's fields (`_state`,
`_reason`, `_cancels`, ...) nor calls its methods: it goes through these functions, so the
process and monitor state machines, and every cancellation decision, stay in `_runtime/`
(tests/test_layers.py checks it). They are functions rather than methods because the public
`Task`, `TaskSupervisor` and `Supervisor` objects are process records: methods would show on
them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from .._errors import TaskExit
from .._types import ExitReason
from . import _pid
from ._exits import ExitInbox
from ._observe import observing
from ._proc import DEAD, DOOMED, RUNNING, SPAWNED, Proc, Watcher, live
from ._suspend import suspend

if TYPE_CHECKING:
    from ._pid import Pid

__all__ = [
    "PID_DRAWING_CODE",
    "ancestors_of",
    "args_of",
    "caller_of",
    "callers_of",
    "current_process",
    "describe",
    "doom",
    "every_process",
    "exit_inbox",
    "exit_now",
    "function_of",
    "is_alive",
    "is_exiting",
    "is_running",
    "is_trapping",
    "kill",
    "link",
    "loop_of",
    "observing",
    "parent_of",
    "pid_of",
    "process_of",
    "reason_of",
    "receive_exit",
    "respawn",
    "seal",
    "send_exit",
    "spawn",
    "start",
    "state_of",
    "task_of",
    "unlink",
    "watch",
]

PID_DRAWING_CODE = frozenset({Proc._get_pid.__code__, _pid.draw.__code__})
"""The code of the runtime's functions that may draw a pid, which takes the pid table's lock
(the watchdog, sampling from another thread, must not name a process while the loop's thread
is inside them)."""

Runner = Callable[[Callable[..., Any], tuple[Any, ...]], Any]
Call = tuple[str, tuple[Any, ...]]

# -- reading ----------------------------------------------------------------------------------


def current_process() -> Proc | None:
    """The process of the running asyncio task, if it is one (no adoption)."""
    task = asyncio.current_task()
    return None if task is None else live.get(task)


def process_of(task: asyncio.Task[Any]) -> Proc | None:
    """The process whose asyncio task is `task`, if any (safe from another thread: a read)."""
    return live.get(task)


def pid_of(proc: Proc) -> Pid:
    return proc._get_pid()


def is_alive(proc: Proc) -> bool:
    """Not dead yet (it may be exiting)."""
    return proc._state is not DEAD


def is_running(proc: Proc) -> bool:
    """Its function runs and no signal has sealed its fate."""
    return proc._state is RUNNING


def parent_of(proc: Proc) -> Proc | None:
    """Who spawned it, when not its caller (a supervisor)."""
    return proc._parent


def is_exiting(proc: Proc) -> bool:
    """Its exit reason is sealed and it is unwinding (DOOMED)."""
    return proc._state is DOOMED


def reason_of(proc: Proc) -> ExitReason:
    """The exit reason, once sealed (exiting) or final (dead); None before."""
    return proc._reason


def state_of(proc: Proc) -> Literal["spawned", "running", "doomed", "dead"]:
    """The lifecycle state's name, for a repr."""
    return proc._state.value


def every_process() -> list[Proc]:
    """Every live process that runs a coroutine (a snapshot of the process table)."""
    return list(live.values())


def function_of(proc: Proc) -> Callable[..., Any] | None:
    return proc._fn


def args_of(proc: Proc) -> tuple[Any, ...]:
    return proc._args


def caller_of(proc: Proc) -> Proc | None:
    """Who started it (the head of `Process.callers()`)."""
    return proc._caller


def callers_of(proc: Proc) -> list[Proc]:
    return proc._callers()


def ancestors_of(proc: Proc) -> list[Proc]:
    return proc._ancestors()


def is_trapping(proc: Proc) -> bool:
    """Whether it traps exits (``Process.flag("trap_exit", True)``)."""
    return proc._exits is not None and proc._exits.trapping


def exit_inbox(proc: Proc) -> ExitInbox:
    """Its trap_exit flag and queue of exit signals, made on first use."""
    inbox = proc._exits
    if inbox is None:
        inbox = proc._exits = ExitInbox(proc._get_pid())
    return inbox


def task_of(proc: Proc) -> asyncio.Task[Any] | None:
    """Its asyncio task (an adopted process's is the user's own), or None for a record with
    no task."""
    return proc._aio


def loop_of(proc: Proc) -> asyncio.AbstractEventLoop | None:
    """The event loop its asyncio task runs on (None for a record with no task)."""
    aio = proc._aio
    return None if aio is None else aio.get_loop()


async def receive_exit(
    me: Proc, timeout: float | None, call: Call
) -> tuple[Pid | None, ExitReason] | None:
    """Take the oldest exit signal `me` keeps, waiting up to `timeout` for one."""
    inbox = exit_inbox(me)
    got = inbox.take()
    if got is not None or timeout == 0:
        return got
    try:
        await suspend(me, inbox.wait_for_one(), call, timeout)
    finally:
        inbox.stop_waiting()
    return inbox.take()


def describe(proc: Proc) -> str:
    """The process's own repr (``<process #PID<0.5.0> fetch running>``), not a subclass's."""
    return Proc.__repr__(proc)


# -- starting ---------------------------------------------------------------------------------


def spawn(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    caller: Proc,
    runner: Runner | None,
    loop: asyncio.AbstractEventLoop,
    link: Proc | None = None,
    parent: Proc | None = None,
) -> Proc:
    """Start ``fn(*args)`` as a new plain process (no reply), linked to `link` if given."""
    proc = Proc.__new__(Proc)
    proc._setup(fn, args, caller, runner, loop, link, parent)
    return proc


def respawn(proc: Proc, loop: asyncio.AbstractEventLoop, link: Proc, parent: Proc) -> Proc:
    """Start a new process that runs what `proc` ran, for its caller (a restart)."""
    new = Proc.__new__(Proc)
    new._setup(proc._fn, proc._args, proc._caller, proc._runner, loop, link, parent)
    return new


def start(
    proc: Proc,
    fn: Callable[..., Any] | None,
    args: tuple[Any, ...],
    caller: Proc | None,
    loop: asyncio.AbstractEventLoop | None,
    link: Proc | None = None,
) -> None:
    """Fill in the record of a process kind of its own (a supervisor): with a `loop`, its
    ``fn(*args)`` starts there; without one it is a record not started yet."""
    proc._setup(fn, args, caller, None, loop, link)


# -- changing ---------------------------------------------------------------------------------


def send_exit(proc: Proc, source: Proc | None, reason: ExitReason) -> None:
    """Send an exit signal: queued when `proc` traps exits, else it dies of it (not of
    ``"normal"``)."""
    proc._signal(source, reason)


def kill(proc: Proc, source: Proc | None = None) -> None:
    """The untrappable stop (Elixir's ``:kill``): dead with ``"killed"`` within a grace."""
    proc._kill(source)


def doom(proc: Proc, reason: ExitReason, source: Proc | None = None) -> None:
    """Seal `proc`'s exit reason and interrupt it, whether or not it traps exits."""
    proc._doom(reason, source)


def seal(proc: Proc, reason: ExitReason) -> bool:
    """SPAWNED|RUNNING -> DOOMED without interrupting it: for a process that stops itself in
    order (a supervisor stops its children first); True if this call sealed it."""
    if proc._state is not RUNNING and proc._state is not SPAWNED:
        return False
    proc._seal(reason, None)
    return True


def link(a: Proc, b: Proc) -> None:
    a._link(b)


def unlink(a: Proc, b: Proc) -> None:
    a._unlink(b)


def watch(proc: Proc, watcher: Watcher) -> None:
    """Call ``watcher(proc)`` once when it dies (at once if it is dead)."""
    proc._watch(watcher)


def exit_now(me: Proc, call: Call | None) -> TaskExit:
    """The `TaskExit` an exiting process gets from a taskvisor call (see `live_caller`); it
    gives back taskvisor's cancels."""
    return me._exit_now(call)
