"""Process: the functions of Elixir's ``Process`` that taskvisor's model needs.

Every taskvisor task is a process, and so is any plain asyncio task that calls taskvisor
(it is adopted on first use: ``asyncio.run(main())`` needs nothing special). A process has a
`Pid`, an exit reason, links (crash propagation both ways) and monitors (one-way views of its
exit, as a task's owner has). With ``Process.flag("trap_exit", True)`` a process keeps the
exit signals of its links instead of dying of them, and reads them with `receive_exit`.

Code that never awaits cannot be interrupted: an exit signal is delivered as a cancellation
at the process's next ``await``.
"""

from __future__ import annotations

from typing import Any, Literal, final

from ._errors import TaskExit
from ._reasons import is_normal
from ._runtime._adopt import current, live_caller
from ._runtime._api import (
    ancestors_of,
    callers_of,
    doom,
    exit_inbox,
    is_trapping,
    kill,
    link,
    loop_of,
    pid_of,
    receive_exit,
    send_exit,
    unlink,
)
from ._runtime._calling import check_on_loop, running_loop
from ._runtime._pid import Pid, lookup
from ._runtime._proc import Proc
from ._types import ExitReason, Timeout
from ._validate import check_bool, check_timeout

__all__ = ["Process"]


def _check_pid(pid: Any, call: str) -> Pid:
    """`pid`, checked: a Pid of this node (a remote one is reached through its node)."""
    if type(pid) is not Pid:
        raise TypeError(f"pid must be a Pid, got {pid!r}")
    node = pid.node
    if node is not None:
        what = call.removeprefix("Process.")
        raise ValueError(
            f"pid {pid!r} lives on the taskvisor node {node!r}: {call} reaches this node's "
            f"processes only; use await taskvisor.ray.node({node!r}).{what}(...)"
        )
    return pid


def _on_my_loop(target: Proc, call: str) -> None:
    """Refuse to signal or link a process that lives on another event loop."""
    loop = loop_of(target)
    if loop is not None:
        check_on_loop(loop, call, target)


@final
class Process:
    """Functions on processes (Elixir's ``Process``); not instantiated."""

    def __init__(self) -> None:
        raise TypeError("Process is a namespace of functions; call Process.self() etc.")

    @staticmethod
    def self() -> Pid:
        """The pid of the calling process (a plain asyncio task is adopted on first use).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.

        Cancellation: not a wait; nothing to cancel.
        """
        return pid_of(current("Process.self"))

    @staticmethod
    def alive(pid: Pid) -> bool:
        """Whether `pid` is a live process (one whose exit is decided but not done is alive).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`).
            TypeError: `pid` is not a Pid.
            ValueError: `pid` lives on another taskvisor node (use its node handle).

        Cancellation: not a wait; nothing to cancel.
        """
        running_loop("Process.alive")
        return lookup(_check_pid(pid, "Process.alive")) is not None

    @staticmethod
    def exit(pid: Pid, reason: ExitReason) -> None:
        """Send exit signal `reason` to `pid`, as Erlang's ``exit/2``.

        ``"kill"`` cannot be trapped: the process dies with ``"killed"`` (a coroutine that
        swallows its cancel is closed). Otherwise a process that traps exits gets
        ``(sender, reason)`` in its queue; one that does not dies of any reason but
        ``"normal"`` (a process that signals itself ``"normal"`` dies too). A dead `pid` is
        ignored.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TypeError: `pid` is not a Pid.
            ValueError: `pid` lives on another taskvisor node (use its node handle).
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: the target is cancelled at its next ``await``, with its reason fixed.
        """
        target = lookup(_check_pid(pid, "Process.exit"))
        me = live_caller(None, "Process.exit", (pid, reason))
        if target is None:
            return
        _on_my_loop(target, "Process.exit")
        if isinstance(reason, str) and reason == "kill":
            kill(target, me)
        elif target is me and is_normal(reason) and not is_trapping(me):
            doom(target, "normal", me)
        else:
            send_exit(target, me, reason)

    @staticmethod
    def link(pid: Pid) -> None:
        """Link the caller and `pid`: an abnormal exit of either is sent to the other.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TaskExit: `pid` is not alive and the caller does not trap exits (reason
                ``"noproc"``; a trapping caller gets ``(pid, "noproc")`` in its queue), or the
                caller's own exit was already decided by a signal.
            TypeError: `pid` is not a Pid.
            ValueError: `pid` lives on another taskvisor node (use its node handle).

        Cancellation: not a wait; nothing to cancel.
        """
        call = ("Process.link", (pid,))
        _check_pid(pid, "Process.link")
        me = live_caller(None, *call)
        target = lookup(pid)
        if target is None:
            if is_trapping(me):
                exit_inbox(me).put(pid, "noproc")
                return
            raise TaskExit("noproc", call)
        if target is not me:
            _on_my_loop(target, "Process.link")
            link(me, target)

    @staticmethod
    def unlink(pid: Pid) -> None:
        """Remove the link between the caller and `pid`, if any.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TypeError: `pid` is not a Pid.
            ValueError: `pid` lives on another taskvisor node (use its node handle).
            TaskExit: the caller's own exit was already decided by a signal: a doomed process
                cannot drop the links its exit will fire.

        Cancellation: not a wait; nothing to cancel.
        """
        target = lookup(_check_pid(pid, "Process.unlink"))
        me = live_caller(None, "Process.unlink", (pid,))
        if target is not None:
            _on_my_loop(target, "Process.unlink")
            unlink(me, target)

    @staticmethod
    def flag(flag: Literal["trap_exit"], value: bool) -> bool:
        """Set a process flag of the caller and return its previous value.

        ``"trap_exit"``: keep the exit signals of links (and of `Process.exit`) in a queue,
        read with `receive_exit`, instead of dying of them. A linked task's crash is then
        seen through its monitor: `Task.await_` raises `TaskExit`, `Task.yield_` returns
        `Exit`.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            ValueError: unknown `flag`.  TypeError: `value` is not a bool.
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: not a wait; nothing to cancel.
        """
        if flag != "trap_exit":
            raise ValueError(f"flag must be 'trap_exit', got {flag!r}")
        check_bool(value, "value")
        me = live_caller(None, "Process.flag", (flag, value))
        inbox = exit_inbox(me)
        previous = inbox.trapping
        inbox.trapping = value
        return previous

    @staticmethod
    async def receive_exit(timeout: Timeout = 5.0) -> tuple[Pid | None, ExitReason] | None:
        """Take the oldest exit signal kept by a trapping caller: ``(pid, reason)``, or None.

        Waits up to `timeout` seconds (None: forever) for one to arrive.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            ValueError, TypeError: bad `timeout`.
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: an outside cancel passes through; no signal is lost (it stays queued).
        """
        timeout = check_timeout(timeout)
        call = ("Process.receive_exit", (timeout,))
        me = live_caller(None, *call)
        return await receive_exit(me, timeout, call)

    @staticmethod
    def callers() -> list[Pid]:
        """Who started the caller, nearest first (Elixir's ``$callers``).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.

        Cancellation: not a wait; nothing to cancel.
        """
        return [pid_of(p) for p in callers_of(current("Process.callers"))]

    @staticmethod
    def ancestors() -> list[Pid]:
        """The processes that spawned the caller, nearest first (Elixir's ``$ancestors``).

        For tasks started with `Task` functions the spawner is the caller, so this equals
        `callers`; a supervised task's spawner is its supervisor, so its ancestors start with
        the supervisor and go on with the supervisor's own.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.

        Cancellation: not a wait; nothing to cancel.
        """
        return [pid_of(p) for p in ancestors_of(current("Process.ancestors"))]
