"""Starting, stopping and reaching taskvisor nodes: `start_node`, `stop_node`, `nodes`, `node`.

A node's management calls are a network round trip, so they are coroutines on its handle,
with the parameters of the local calls: ``await node("worker-a").start_child(
"MyApp.TaskSupervisor", send_email, user, restart="transient")`` returns the child's pid on
that node (``<worker-a.68.0>``). They raise what the local calls raise (``TaskExit("noproc")``
for a name not registered there, `MaxChildrenError`, `LookupError`), and
``TaskExit(("nodedown", node))`` when the node is down or was never started.

A link to a process on a node (`NodeHandle.link`) is a relay process here, linked to the
caller, and a `watch` call on the node, linked to the pid there: the pid's abnormal exit
reaches the caller as an exit signal from the pid (``"noconnection"`` if the node goes down),
and the caller's exit reaches the pid as an exit signal with the caller's reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import math
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Literal

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from .._child_spec import Restart
from .._errors import TaskExit
from .._executors import ExecutorArg, check_executor
from .._process import Process
from .._reasons import NoConnection, is_normal
from .._runtime._adopt import live_caller
from .._runtime._api import current_process, exit_inbox, is_trapping, pid_of, send_exit
from .._runtime._api import unlink as unlink_procs
from .._runtime._pid import Pid, lookup
from .._supervisors._remote import connect
from .._task import Task
from .._types import ExitReason, ShutdownTimeout
from .._validate import check_choice, check_shutdown
from . import _nodes
from ._actors import (
    actor_class,
    actor_of,
    caller_id,
    forget_actor,
    is_node_loss,
    nodedown_exit,
)
from ._executor import on_loop_when_done
from ._node_actor import ACTOR_PREFIX, NAMESPACE
from ._remote import Connector
from ._reports_home import follow

__all__ = ["NodeHandle", "node", "nodes", "start_node", "stop_node"]

_WATCHED = "taskvisor.watched"  # the relay's own signal: the node answered the watch
_UNLINK = "taskvisor.unlink"  # the relay's own signal: the caller unlinked
_watch_ids = itertools.count(1)
_relays: dict[tuple[Pid, Pid], Pid] = {}  # (caller, remote pid) -> the relay between them

connect(Connector())


async def start_node(
    name: str,
    children: Iterable[Any] = (),
    *,
    strategy: Literal["one_for_one", "one_for_all", "rest_for_one"] = "one_for_one",
    max_restarts: int | None = 3,
    max_seconds: float = 5.0,
    caller_timeout: float = 30.0,
) -> NodeHandle:
    """Start the taskvisor node `name` (or find it running) and return its handle.

    The node is a detached Ray actor on the Ray node labelled ``taskvisor-node=<name>``,
    running a `Supervisor` of `children` (child specs, as `Supervisor.start_link` takes
    them, with its `strategy`, `max_restarts` and `max_seconds`) for as long as the node
    lives. If that tree exits (its restart intensity exceeded), the node goes down: its
    callers get ``("nodedown", name)``. A node found running keeps its own tree (and its
    `caller_timeout`): `children` are not started again. Children travel to the node by
    pickle; their functions must be importable there (or travel by value, as a script's do).

    `caller_timeout`: seconds after which a program with links to the node's processes (a
    linked remote task, `NodeHandle.link`) that has given no sign of life is taken for
    lost, and its links deliver ``"noconnection"`` there (Erlang's ``net_ticktime``, in
    effect). A live program gives one every few seconds from each event loop that has
    links there, so a loop blocked for that long looks lost too.

    Raises:
        TypeError, ValueError: a bad name or option.
        TaskExit: no live Ray node has that label (``("nodedown", name)``), or the tree
            failed to start (``("shutdown", ("failed_to_start_child", id, error))``).
        RuntimeError: Ray is not initialised in this program.

    Cancellation: the node is started either way: stop it with `stop_node`.
    """
    _check_node_name(name)
    check_choice(strategy, "strategy", ("one_for_one", "one_for_all", "rest_for_one"))
    _check_caller_timeout(caller_timeout)
    specs = list(children)
    _require_ray()
    options = {"strategy": strategy, "max_restarts": max_restarts, "max_seconds": max_seconds}
    for last_try in (False, True):
        handle = actor_of(name)
        found = None
        if handle is None:
            found = _nodes.node_id(name)
            if found is None:
                raise TaskExit(
                    ("nodedown", name),
                    detail=f"no live Ray node has the label {_nodes.NODE_LABEL}={name!r}",
                )
            handle = _create_actor(name, found, caller_timeout)
        try:
            await _ask(name, handle, handle.start.remote(specs, options))
        except TaskExit as exc:
            if last_try or exc.reason != ("nodedown", name):
                raise
            # the node died since it was last seen (or a dead node's actor was found): its
            # name may be on a new Ray node now, so look once more
            if found is not None:
                _nodes.forget(name, found)
            continue
        break
    return NodeHandle(name)


def _create_actor(name: str, found: str, caller_timeout: float) -> Any:
    """The node actor of `name` on the Ray node `found`: made, or found if another caller
    made it first (a detached actor outlives the caller that made it)."""
    return (
        actor_class()
        .options(
            name=ACTOR_PREFIX + name,
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_restarts=0,
            max_concurrency=1000,
            scheduling_strategy=NodeAffinitySchedulingStrategy(found, soft=False),
        )
        .remote(name, caller_timeout)
    )


async def stop_node(name: str) -> None:
    """Stop the taskvisor node `name`: its tree in order (last child first, each within its
    shutdown), then its actor. A node that is not running is left alone.

    Raises:
        TypeError, ValueError: a bad name.
        RuntimeError: Ray is not initialised in this program.

    Cancellation: once asked, the node stops even if the caller is interrupted.
    """
    _check_node_name(name)
    _require_ray()
    handle = actor_of(name)
    if handle is None:
        return
    try:
        await _ask(name, handle, handle.stop.remote())  # the node ends itself once stopped
    except TaskExit as exc:
        if exc.reason != ("nodedown", name):
            raise
    finally:
        forget_actor(name, handle)


def nodes() -> list[str]:
    """The names of the taskvisor nodes running on the cluster, sorted.

    Raises:
        RuntimeError: Ray is not initialised in this program.
    """
    _require_ray()
    named = ray.util.list_named_actors(all_namespaces=True)
    return sorted(
        entry["name"].removeprefix(ACTOR_PREFIX)
        for entry in named
        if entry.get("namespace") == NAMESPACE and entry["name"].startswith(ACTOR_PREFIX)
    )


def node(name: str) -> NodeHandle:
    """The handle of the taskvisor node `name` (nothing is asked of the node yet).

    Raises:
        TypeError, ValueError: a bad name.
    """
    _check_node_name(name)
    return NodeHandle(name)


class NodeHandle:
    """The management calls of one taskvisor node: each a coroutine, one round trip.

    Each raises what the local call of the same name raises, as raised on the node, and
    ``TaskExit(("nodedown", node))`` if the node is down (or was never started).
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"NodeHandle({self._name!r})"

    async def start_child(
        self,
        supervisor: Hashable,
        fn: Callable[..., object],
        *args: Any,
        restart: Restart = "temporary",
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
    ) -> Pid:
        """`TaskSupervisor.start_child` on the node: start ``fn(*args)`` as a child of the
        supervisor registered there as `supervisor`; return its pid (on that node).

        Raises:
            TypeError, ValueError: a bad `fn`, `restart`, `shutdown` or `executor`.
            MaxChildrenError: the supervisor already runs ``max_children`` children.
            TaskExit: no supervisor has that name there (``"noproc"``), or the node is down
                (``("nodedown", node)``).

        Cancellation: the child is started, or not, whether or not the caller waits.
        """
        check_choice(restart, "restart", ("temporary", "transient", "permanent"))
        check_shutdown(shutdown)
        check_executor(executor)
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {fn!r}")
        actor = self._actor()
        follow(self._name, actor)  # its crash reports come home
        caller = caller_id(asyncio.get_running_loop())
        ref = actor.start_child.remote(caller, supervisor, fn, args, restart, shutdown, executor)
        child: Pid = await _ask(self._name, actor, ref)
        return child

    async def children(self, supervisor: Hashable) -> list[Pid]:
        """`TaskSupervisor.children` on the node: the running children's pids, oldest first.

        Raises:
            TaskExit: ``"noproc"``, or ``("nodedown", node)``.
        """
        children: list[Pid] = await self._call("children", supervisor)
        return children

    async def count_children(self, supervisor: Hashable) -> dict[str, int]:
        """`TaskSupervisor.count_children` on the node.

        Raises:
            TaskExit: ``"noproc"``, or ``("nodedown", node)``.
        """
        counts: dict[str, int] = await self._call("count_children", supervisor)
        return counts

    async def terminate_child(self, supervisor: Hashable, pid: Pid) -> None:
        """`TaskSupervisor.terminate_child` on the node: stop child `pid` as its shutdown
        says, not to be restarted, and return when it is dead.

        Raises:
            TypeError: `pid` is not a Pid of this node.
            LookupError: `pid` is not a child of that supervisor.
            TaskExit: ``"noproc"``, or ``("nodedown", node)``.

        Cancellation: the node stops the child even if the caller is interrupted.
        """
        await self._call("terminate_child", supervisor, self._pid_here(pid))

    async def alive(self, pid: Pid) -> bool:
        """`Process.alive` on the node.

        Raises:
            TypeError: `pid` is not a Pid of this node.
            TaskExit: ``("nodedown", node)``.
        """
        found: bool = await self._call("alive", self._pid_here(pid))
        return found

    async def exit(self, pid: Pid, reason: ExitReason) -> None:
        """`Process.exit` on the node: send `pid` the exit signal `reason` (``"kill"``
        cannot be trapped).

        Raises:
            TypeError: `pid` is not a Pid of this node.
            TaskExit: ``("nodedown", node)``.
        """
        await self._call("exit", self._pid_here(pid), reason)

    async def link(self, pid: Pid) -> None:
        """`Process.link` across the network: link the caller and `pid` on the node.

        An abnormal exit of `pid` reaches the caller as its exit signal (``"noconnection"``
        when the node goes down); the caller's exit reaches `pid` with its reason. Linking
        twice is one link.

        Raises:
            TypeError: `pid` is not a Pid of this node.
            RuntimeError: outside an asyncio task.
            TaskExit: ``("nodedown", node)`` if the node is down now.

        Cancellation: the link is made when this returns; `unlink` removes it.
        """
        pid = self._pid_here(pid)
        caller = pid_of(live_caller(None, "NodeHandle.link", (pid,)))
        if (caller, pid) in _relays:
            return
        actor = self._actor()
        watch_id = f"{caller_id(asyncio.get_running_loop())}.w{next(_watch_ids)}"
        follow(self._name, actor)  # this program's sign of life for the node
        ref = actor.watch.remote(watch_id, pid)
        linked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        relay = Task.start(_relay, self._name, actor, ref, watch_id, pid, caller, linked)
        _relays[(caller, pid)] = relay
        await linked  # the relay traps exits before it links: the caller's exit cannot kill it
        await _ask(self._name, actor, actor.watched.remote(watch_id))  # and the node's side

    async def unlink(self, pid: Pid) -> None:
        """`Process.unlink` across the network: remove the caller's link to `pid`, if any.

        Raises:
            TypeError: `pid` is not a Pid of this node.
        """
        pid = self._pid_here(pid)
        me = current_process()
        if me is None:
            return
        relay = _relays.pop((pid_of(me), pid), None)
        proc = None if relay is None else lookup(relay)
        if proc is not None:
            unlink_procs(me, proc)
            send_exit(proc, None, (_UNLINK,))

    # -- inside ---------------------------------------------------------------------------

    def _pid_here(self, pid: Pid) -> Pid:
        if type(pid) is not Pid:
            raise TypeError(f"pid must be a Pid, got {pid!r}")
        if pid.node != self._name:
            where = "this node" if pid.node is None else f"the node {pid.node!r}"
            raise TypeError(f"pid {pid!r} lives on {where}, not on the node {self._name!r}")
        return pid

    def _actor(self) -> Any:
        """The node's actor, or the exit ``("nodedown", node)`` if there is none."""
        _require_ray()
        actor = actor_of(self._name)
        if actor is None:
            raise nodedown_exit(self._name)
        return actor

    async def _call(self, method: str, *args: Any) -> Any:
        actor = self._actor()
        return await _ask(self._name, actor, getattr(actor, method).remote(*args))


async def _ask(name: str, actor: Any, ref: Any) -> Any:
    """The node's answer to the call `ref`; its exception as itself; a lost node as
    ``TaskExit(("nodedown", name))``."""
    try:
        return await asyncio.wrap_future(ref.future())
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, TaskExit | LookupError | RuntimeError | TypeError | ValueError):
            raise cause from None
        raise
    except Exception as exc:
        if is_node_loss(exc):
            forget_actor(name, actor)
            raise nodedown_exit(name, exc) from exc
        raise


async def _relay(
    name: str,
    actor: Any,
    ref: Any,
    watch_id: str,
    pid: Pid,
    caller: Pid,
    linked: asyncio.Future[None],
) -> None:
    """Between a caller here and `pid` on node `name`: one link, both ways.

    It traps exits, then links itself to the caller and sets `linked`: a caller that
    exits at once still reaches the node (as ``"noproc"`` if it is gone before the link).
    """
    Process.flag("trap_exit", True)
    Process.link(caller)
    if not linked.done():
        linked.set_result(None)
    me = current_process()
    assert me is not None
    on_loop_when_done(
        ref, asyncio.get_running_loop(), lambda answer: send_exit(me, None, (_WATCHED, answer))
    )
    try:
        while True:
            signal = await Process.receive_exit(timeout=None)
            if signal is None:
                continue
            sender, reason = signal
            if sender == caller:  # the caller exited: so does the link, with its reason
                actor.unwatch.remote(watch_id, None if is_normal(reason) else reason)
                return
            if reason == (_UNLINK,):
                actor.unwatch.remote(watch_id, None)
                return
            if type(reason) is tuple and len(reason) == 2 and reason[0] == _WATCHED:
                _pass_on(name, reason[1], pid, caller, me)
                return
    finally:
        _relays.pop((caller, pid), None)


def _pass_on(
    name: str, answer: concurrent.futures.Future[Any], pid: Pid, caller: Pid, relay: Any
) -> None:
    """`pid` exited (or its node went down): signal the caller as a link would."""
    error = answer.exception()
    if error is not None:
        reason: ExitReason = NoConnection(name) if is_node_loss(error) else error
    else:
        reason = answer.result()
        if reason == "unlinked":
            return
    if is_normal(reason):
        return
    proc = lookup(caller)
    if proc is None:
        return
    unlink_procs(relay, proc)
    if is_trapping(proc):
        exit_inbox(proc).put(pid, reason)
    else:
        send_exit(proc, relay, reason)


def _check_caller_timeout(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"caller_timeout must be a number of seconds, got {value!r}")
    if not 0 < value < math.inf:
        raise ValueError(f"caller_timeout must be a finite number of seconds > 0, got {value!r}")


def _check_node_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"node must be a node's name (a str), got {name!r}")
    if not name:
        raise ValueError("node must be a node's name, got ''")
    return name


def _require_ray() -> None:
    if not ray.is_initialized():
        raise RuntimeError(
            "taskvisor nodes need Ray running in this program: call ray.init(address=...) first"
        )
