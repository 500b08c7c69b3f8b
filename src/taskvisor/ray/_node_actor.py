"""A taskvisor node: one named, detached async Ray actor on a Ray node, running a tree.

The actor ``taskvisor.node:<name>`` (namespace ``taskvisor``) runs taskvisor on its own event
loop. Its tree hangs under a keeper process that lives as long as the actor: a supervisor
started inside an actor method would die when the method returns (every method call is a
short-lived process here, and a supervisor exits with its parent). If the tree exits for any
reason but `stop`, the node goes down with it (the actor's process exits), as an OTP node
does when its application's top supervisor dies: its callers get ``("nodedown", node)`` and
whatever restarts nodes (a supervisor on the caller's side, an operator) decides.

Each remote task is one `run` call: the node starts the child with
``TaskSupervisor.async_nolink`` under the named supervisor and answers when the child is dead
(`Answer`). A stop or kill of the caller's proxy is a separate call (`stop_call`), so the
answer still comes when the child is dead: a shutdown waits for the child's ``finally``
there. Everything else (`start_child`, `children`, ...) is a method that raises what the
local call raises; Ray carries the exception home.

Crash reports are written on the node, as anywhere, and kept a little while (`_Reports`), so
that a `run` answer carries its child's report home, and the reports of children that a
caller started with `start_child` (restarts included) reach that caller when it polls
`reports`.

A caller's links to the node (a linked remote task, `NodeHandle.link`) break when its whole
program is lost: Ray does not end a detached actor's calls when the program that made them
dies, so callers with links poll `reports` as a sign of life, and one not heard from within
the node's ``caller_timeout`` is lost (`_Callers`): its linked children are stopped with
``"noconnection"``, as a BEAM link to a lost node delivers.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import ray

from .._errors import TaskExit
from .._executors._answer import encode_error, encode_value
from .._process import Process
from .._runtime._pid import Pid, set_this_node
from .._runtime._reports import banner_of
from .._runtime._reports import logger as crash_logger
from .._supervisors._supervisor import Supervisor
from .._supervisors._task_supervisor import TaskSupervisor
from .._task import Task
from .._types import Exit, Ok

__all__ = ["ACTOR_PREFIX", "NAMESPACE", "Answer", "Call", "NodeActor", "Report"]

ACTOR_PREFIX = "taskvisor.node:"
NAMESPACE = "taskvisor"

Answer = tuple[str, Any, Any]
"""A `run` answer: ``("ok", value, None)`` (the value encoded as a worker's answer),
``("crash", error, report)`` (the exception encoded, and its crash report or None),
``("exit", reason, None)`` (a reason that is no exception: ``"shutdown"``, ``"noproc"``),
``("refused", error, None)`` (the supervisor refused the child: `MaxChildrenError`)."""

Call = tuple[str, Hashable, Any, tuple[Any, ...], Any, Any, bool]
"""A `run` call: ``(call_id, supervisor, fn, args, shutdown, executor, linked)``."""

Report = dict[str, Any]
"""A crash report as it travels: the fields of the record's ``extra`` that can."""

_KEPT_REPORTS = 1000  # crash reports a node keeps for `reports` (the oldest are dropped)
_EARLY_STOPS = 10_000  # stops of calls not started yet that a node remembers
_UNWATCH = "taskvisor.unwatch"
_UNLINKED = "unlinked"


class _Reports(logging.Handler):
    """The node's crash reports, as they are logged: by pid (for `run`) and in order."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.by_pid: dict[Pid, Report] = {}
        self.recent: collections.deque[tuple[int, str, Report]] = collections.deque(
            maxlen=_KEPT_REPORTS
        )
        self.count = 0
        self.arrived = asyncio.Event()
        # the processes of `start_child` calls (its children's first callers, and their
        # restarts'), by the caller on another node that made the call
        self.starters: collections.OrderedDict[Pid, str] = collections.OrderedDict()

    def emit(self, record: logging.LogRecord) -> None:
        report = getattr(record, "crash_report", None)
        if report is None:
            return
        try:
            banner = banner_of(report.reason)
        except Exception:  # a broken str() or repr()
            banner = f"** ({type(report.reason).__name__})"
        travelling: Report = {
            "task_pid": report.task_pid,
            "starter": report.starter,
            "callers": list(report.callers),
            "function": report.function,
            "args_text": _safe_repr(list(report.args)),
            "banner": banner,
            "reason_text": _safe_repr(report.reason),
            "traceback": report.traceback,
        }
        self.count += 1
        self.by_pid[report.task_pid] = travelling
        if len(self.by_pid) > _KEPT_REPORTS:
            del self.by_pid[next(iter(self.by_pid))]
        starter = next((self.starters[p] for p in report.callers if p in self.starters), "")
        self.recent.append((self.count, starter, travelling))
        self.arrived.set()

    def started_by(self, caller_id: str) -> None:
        """The running `start_child` call was made by `caller_id`."""
        self.starters[Process.self()] = caller_id
        if len(self.starters) > _KEPT_REPORTS * 10:
            self.starters.popitem(last=False)


class NodeActor:
    """The Ray actor behind a taskvisor node (made a Ray actor class by `_nodes_home`)."""

    def __init__(self, name: str, caller_timeout: float) -> None:
        set_this_node(name)
        self._name = name
        self._calls: dict[str, Pid] = {}  # run call id -> its child
        self._linked: set[str] = set()  # the ids of the run calls whose callers are linked
        self._watchers: dict[str, Pid] = {}
        self._watching: dict[str, asyncio.Event] = {}  # watch id -> set once it is linked
        self._callers = _Callers(caller_timeout, self._lose_caller)
        self._early: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._tree: Supervisor | None = None
        self._stopped: asyncio.Future[None] | None = None  # the tree's stop, once asked
        self._reports = _Reports()
        crash_logger.addHandler(self._reports)
        if crash_logger.level == logging.NOTSET or crash_logger.level > logging.ERROR:
            crash_logger.setLevel(logging.INFO)  # Ray's worker logs WARNING and up by default

    # -- the tree -----------------------------------------------------------------------

    async def start(self, children: list[Any], options: dict[str, Any]) -> bool:
        """Start the node's tree (once); False if it was already running."""
        if self._tree is not None:
            return False
        ready: asyncio.Future[Supervisor] = asyncio.get_running_loop().create_future()
        Task.start(self._keep, children, options, ready)
        self._tree = await ready
        return True

    async def _keep(
        self, children: list[Any], options: dict[str, Any], ready: asyncio.Future[Supervisor]
    ) -> None:
        """The keeper: the tree's parent, for as long as the actor lives."""
        Process.flag("trap_exit", True)
        try:
            tree = await Supervisor.start_link(children, **options)
        except BaseException as exc:
            ready.set_exception(exc)
            raise
        ready.set_result(tree)
        while True:
            signal = await Process.receive_exit(timeout=None)
            if signal is not None and signal[0] == tree.pid:
                break
        if self._stopped is None:  # not asked to stop: the tree died
            crash_logger.error(
                "the tree of the taskvisor node %r exited %r: the node goes down",
                self._name,
                signal[1],
                extra={"node": self._name, "reason": signal[1], "action": "node_down"},
            )
            logging.shutdown()
            os._exit(1)

    async def stop(self) -> None:
        """Stop the tree in order (its children last to first), then end the actor: its
        caller sees it die (`RayActorError`) instead of an answer, and so does every later
        call. The node ends even if its caller stopped waiting."""
        if self._stopped is None:
            self._stopped = asyncio.ensure_future(self._stop_tree())
        await asyncio.shield(self._stopped)  # a second stop waits for the first
        ray.actor.exit_actor()  # type: ignore[no-untyped-call]

    async def _stop_tree(self) -> None:
        if self._tree is not None:
            await Supervisor.stop(self._tree, "shutdown")

    async def alive_node(self) -> str:
        """The node's name: that it answers is the point."""
        return self._name

    # -- remote tasks --------------------------------------------------------------------

    async def run(self, call: Call) -> Answer:
        """Run ``fn(*args)`` as a child of `supervisor`; answer when the child is dead.

        `call` is ``(call_id, supervisor, fn, args, shutdown, executor, linked)``, one
        argument: Ray serialises each argument of a call on its own, and one costs a
        third of seven. A `linked` child is stopped with ``"noconnection"`` if its caller's
        program is lost (`_Callers`).
        """
        call_id, supervisor, fn, args, shutdown, executor, linked = call
        if self._early.pop(call_id, None) is not None:  # stopped before it began
            return ("exit", "shutdown", None)
        try:
            task = TaskSupervisor.async_nolink(
                supervisor, fn, *args, shutdown=shutdown, executor=executor
            )
        except TaskExit as exc:
            return ("exit", exc.reason, None)
        except Exception as exc:  # MaxChildrenError, or what the child cannot be started for
            return ("refused", encode_error(exc, exc.__traceback__), None)
        child = task.pid
        assert child is not None  # a started task has a pid
        self._calls[call_id] = child
        if linked:
            self._linked.add(call_id)
            self._callers.seen(call_id)
        try:
            outcome = await Task.yield_(task, None)
        except asyncio.CancelledError:  # the call was cancelled on Ray: so is the child
            Process.exit(child, "kill")
            raise
        finally:
            del self._calls[call_id]
            self._linked.discard(call_id)
        match outcome:
            case Ok(value):
                return ("ok", encode_value(value), None)
            case Exit(reason) if isinstance(reason, BaseException):
                report = self._reports.by_pid.pop(child, None)
                return ("crash", encode_error(reason, reason.__traceback__), report)
            case Exit(reason):
                return ("exit", reason, None)
        raise AssertionError(f"Task.yield_ with no timeout answered {outcome!r}")

    async def stop_call(self, call_id: str, how: str) -> None:
        """Stop the child of `run` call `call_id`: exit ``"shutdown"``, or ``"kill"``."""
        child = self._calls.get(call_id)
        if child is None:  # its run has not begun (or is over): remember, for a while
            self._remember_early(call_id, how)
            return
        Process.exit(child, how)

    def _remember_early(self, call_id: str, what: str) -> None:
        self._early[call_id] = what
        if len(self._early) > _EARLY_STOPS:
            self._early.popitem(last=False)

    # -- management: what the local calls do, here -----------------------------------------

    async def start_child(
        self,
        caller_id: str,
        supervisor: Hashable,
        fn: Any,
        args: tuple[Any, ...],
        restart: Any,
        shutdown: Any,
        executor: Any,
    ) -> Pid:
        self._reports.started_by(caller_id)
        return TaskSupervisor.start_child(
            supervisor, fn, *args, restart=restart, shutdown=shutdown, executor=executor
        )

    async def children(self, supervisor: Hashable) -> list[Pid]:
        return TaskSupervisor.children(supervisor)

    async def count_children(self, supervisor: Hashable) -> dict[str, int]:
        return TaskSupervisor.count_children(supervisor)

    async def terminate_child(self, supervisor: Hashable, pid: Pid) -> None:
        await TaskSupervisor.terminate_child(supervisor, pid)

    async def alive(self, pid: Pid) -> bool:
        return Process.alive(pid)

    async def exit(self, pid: Pid, reason: Any) -> None:
        Process.exit(pid, reason)

    async def watch(self, watch_id: str, pid: Pid) -> Any:
        """Link to `pid` for a process on another node, and answer the reason `pid` exits
        with (``"noproc"`` if it is not alive), or ``"unlinked"`` after `unwatch`."""
        Process.flag("trap_exit", True)
        if self._early.pop(watch_id, None) is not None:
            self._watching.setdefault(watch_id, asyncio.Event()).set()
            return _UNLINKED
        self._watchers[watch_id] = Process.self()
        self._callers.seen(watch_id)
        try:
            Process.link(pid)
            self._watching.setdefault(watch_id, asyncio.Event()).set()
            while True:
                signal = await Process.receive_exit(timeout=None)
                if signal is None:
                    continue
                sender, reason = signal
                if sender == pid:
                    return reason
                if type(reason) is tuple and reason[:1] == (_UNWATCH,):
                    Process.unlink(pid)
                    if reason[1] is not None:  # the linked process on the other node exited
                        Process.exit(pid, reason[1])
                    return _UNLINKED
        finally:
            del self._watchers[watch_id]

    async def watched(self, watch_id: str) -> None:
        """Answer once `watch` call `watch_id` has linked to its pid here (`NodeHandle.link`
        returns then: a caller lost right after it still breaks the link)."""
        try:
            await self._watching.setdefault(watch_id, asyncio.Event()).wait()
        finally:
            self._watching.pop(watch_id, None)

    async def unwatch(self, watch_id: str, reason: Any) -> None:
        """End `watch` call `watch_id`: unlinked (`reason` None), or sending `pid` the exit
        `reason` of the process on the other node that was linked to it."""
        watcher = self._watchers.get(watch_id)
        if watcher is None:
            self._remember_early(watch_id, "unwatch")
            return
        Process.exit(watcher, (_UNWATCH, reason))

    # -- crash reports -------------------------------------------------------------------

    async def reports(self, caller_id: str, after: int, wait: float) -> tuple[int, list[Report]]:
        """The crash reports numbered above `after` of the children that `caller_id`
        started, waiting up to `wait` seconds for any report; and the newest's number."""
        kept = self._reports
        with self._callers.polling(caller_id):
            if kept.count <= after:
                kept.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(kept.arrived.wait(), self._callers.poll_for(wait))
        found = [r for number, who, r in kept.recent if number > after and who == caller_id]
        return kept.count, found

    # -- callers on other nodes ---------------------------------------------------------------

    def _lose_caller(self, caller_id: str) -> None:
        """`caller_id`'s program is lost: its links to this node break, as a BEAM link to
        a lost node does (``"noconnection"``)."""
        prefix = caller_id + "."
        for call_id in [c for c in self._linked if c.startswith(prefix)]:
            Process.exit(self._calls[call_id], "noconnection")
        for watch_id in [w for w in self._watchers if w.startswith(prefix)]:
            Process.exit(self._watchers[watch_id], (_UNWATCH, "noconnection"))


class _Callers:
    """Which programs on other nodes are alive, as far as this node can tell.

    Ray does not end a detached actor's calls when the program that made them dies, so a
    node is told that its callers live: each caller with links here polls `reports` (its
    follower, `taskvisor.ray._reports_home`), a poll at least every third of
    `timeout`. A caller with links that has no poll running and has not been seen for
    `timeout` seconds is lost: `lose(caller_id)` (Erlang's ``net_ticktime``, in effect).
    """

    def __init__(self, timeout: float, lose: Callable[[str], None]) -> None:
        self.timeout = timeout
        self._lose = lose
        self._seen: dict[str, float] = {}  # caller id -> when it was last heard from
        self._polls: collections.Counter[str] = collections.Counter()
        self._checker: asyncio.Task[None] | None = None

    def seen(self, call_id: str) -> None:
        """The caller of `call_id` (``<caller id>.<n>``) made a linked call: it lives."""
        caller_id = call_id.partition(".")[0]
        self._seen[caller_id] = time.monotonic()
        if self._checker is None:
            self._checker = asyncio.get_running_loop().create_task(self._check())

    def poll_for(self, wait: float) -> float:
        """How long a poll may wait: never so long that a live caller looks lost."""
        return min(wait, self.timeout / 3)

    @contextlib.contextmanager
    def polling(self, caller_id: str) -> Iterator[None]:
        """Around a poll of `caller_id`: it lives while the poll runs, and when it ends."""
        self._polls[caller_id] += 1
        try:
            yield
        finally:
            self._polls[caller_id] -= 1
            if not self._polls[caller_id]:
                del self._polls[caller_id]
            if caller_id in self._seen:
                self._seen[caller_id] = time.monotonic()

    async def _check(self) -> None:
        while True:
            await asyncio.sleep(self.timeout / 4)
            now = time.monotonic()
            for caller_id, last in list(self._seen.items()):
                if caller_id not in self._polls and now - last > self.timeout:
                    del self._seen[caller_id]
                    self._lose(caller_id)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<{type(value).__name__} whose repr() failed>"
