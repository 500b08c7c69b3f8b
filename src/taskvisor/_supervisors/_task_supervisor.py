"""TaskSupervisor: Elixir's ``Task.Supervisor``, a dynamic supervisor of tasks.

Fire-and-forget work that is kept (`start_child`, restarted per its ``restart``), tasks
whose result you await (`async_`, `async_nolink`), and streams (`async_stream`,
`async_stream_nolink`), all bounded by ``max_children`` and stopped cleanly with the
supervisor. Every function takes the supervisor or its registered name::

    async with TaskSupervisor(name="MyApp.TaskSupervisor") as sup:
        TaskSupervisor.start_child("MyApp.TaskSupervisor", send_email, user, restart="transient")
        task = sup.async_nolink(fetch, url)
        result = await Task.yield_(task, 5.0)
"""

from __future__ import annotations

import functools
from asyncio.events import _get_running_loop
from collections.abc import AsyncIterable, Callable, Coroutine, Hashable, Iterable
from typing import Any, Literal, Never, TypeVar, TypeVarTuple, Unpack, overload

from .._callables import describe_fn
from .._child_spec import ChildInfo, ChildSpec, Restart
from .._errors import MaxChildrenError
from .._executors import ExecutorArg, Runner, check_executor, runner_for
from .._runtime._adopt import live_caller
from .._runtime._api import (
    function_of,
    is_alive,
    is_exiting,
    is_running,
    parent_of,
    pid_of,
    reason_of,
    respawn,
    spawn,
)
from .._runtime._api import (
    link as link_to,
)
from .._runtime._calling import running_loop
from .._runtime._pid import Pid, lookup
from .._runtime._proc import Proc
from .._runtime._reply import spawn_task
from .._runtime._stopping import stop as stop_process
from .._stream import TaskStream, build_stream
from .._stream_options import SupervisedStreamOptions, stream_options, supervised_stream_signature
from .._task import Task
from .._telemetry import emit, listened
from .._types import ExitReason, ShutdownTimeout
from .._validate import check_choice, check_shutdown, hide_catch_all, keywords_for_fn
from ._base import (
    STARTED,
    SUPERVISOR_MAX_CHILDREN,
    SupervisorProcess,
    alive,
    check_name,
    resolve,
    restarts,
    stop_supervisor,
)
from ._intensity import RestartIntensity, check_intensity
from ._remote import locate, supervised_on

__all__ = ["TaskSupervisor", "start_task"]

R = TypeVar("R")
Item = TypeVar("Item")
Ts = TypeVarTuple("Ts")

Child = tuple[Restart, ShutdownTimeout]
"""A child's restart and shutdown (shared between children that have the same)."""

_MAX_CHILDREN = (
    "reached the maximum number of tasks for this task supervisor. The maximum number of "
    "tasks that are allowed to run at the same time under this supervisor can be configured "
    "with the max_children option passed to TaskSupervisor.start_link"
)
_MAX_CHILDREN_STREAM = (
    _MAX_CHILDREN + ". When using async_stream or async_stream_nolink, make sure to configure "
    "max_concurrency to be lower or equal to max_children and pay attention to whether other "
    "tasks are also spawned under the same task supervisor."
)
_children_kinds: dict[tuple[Any, Any, type], Child] = {}


def _child(restart: Any, shutdown: Any) -> Child:
    """The validated (restart, shutdown) pair, shared: most children have the defaults."""
    key = (restart, shutdown, type(shutdown))  # the type: True == 1, yet True is refused
    try:
        kind = _children_kinds.get(key)
    except TypeError:  # unhashable: validation below says what is wrong
        kind = None
    if kind is None:
        check_choice(restart, "restart", ("temporary", "transient", "permanent"))
        kind = (restart, check_shutdown(shutdown))
        if len(_children_kinds) < 64:
            _children_kinds[key] = kind
    return kind


def _check_max_children(max_children: object) -> None:
    if max_children is None:
        return
    if isinstance(max_children, bool) or not isinstance(max_children, int):
        raise TypeError(f"max_children must be an int >= 0 or None, got {max_children!r}")
    if max_children < 0:
        raise ValueError(f"max_children must be an int >= 0 or None, got {max_children!r}")


class TaskSupervisor(SupervisorProcess):
    """A supervisor of tasks (Elixir's ``Task.Supervisor``), started with `start_link` or
    ``async with TaskSupervisor(...)``.

    Args:
        name: a name to reach it by from anywhere (any hashable, usually a string).
        max_children: how many children may run at once (None: no limit).
        max_restarts, max_seconds: more than `max_restarts` restarts within `max_seconds`
            stop the supervisor with reason ``"shutdown"`` (its children first);
            ``max_restarts=None`` means no limit. The count is the supervisor's, shared by
            all its children: one child crashing in a loop uses up everyone's budget.
        executor: where its children's functions run unless a call says otherwise.

    Cancellation: the supervisor is linked to the process that starts it: if that process
    exits, for any reason, the supervisor stops its children and exits too; if the
    supervisor exits abnormally (restart intensity: ``"shutdown"``), that process gets the
    signal. Leaving ``async with`` stops it, children first, each within its shutdown.
    """

    __slots__ = ("_children", "_executor", "_max_children")

    _children: dict[Proc, Child]

    def __init__(
        self,
        name: Hashable | None = None,
        max_children: int | None = None,
        max_restarts: int | None = 3,
        max_seconds: float = 5.0,
        *,
        executor: ExecutorArg = None,
    ) -> None:
        _check_max_children(max_children)
        restarts, seconds = check_intensity(max_restarts, max_seconds)
        self._prepare(name, RestartIntensity(restarts, seconds))
        self._max_children = max_children
        self._executor = check_executor(executor)
        self._children = {}

    @classmethod
    async def start_link(
        cls,
        name: Hashable | None = None,
        max_children: int | None = None,
        max_restarts: int | None = 3,
        max_seconds: float = 5.0,
        *,
        executor: ExecutorArg = None,
    ) -> TaskSupervisor:
        """Start a task supervisor linked to the caller and return it.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TypeError, ValueError: a bad option (``max_restarts=-1``, ``max_seconds=0``, ...).
            ValueError: `name` is already registered.
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: see the class; the supervisor outlives nothing that started it.
        """
        sup = cls(
            name,
            max_children=max_children,
            max_restarts=max_restarts,
            max_seconds=max_seconds,
            executor=executor,
        )
        await sup._boot(True, ("TaskSupervisor.start_link", (name,)))
        return sup

    async def stop(self: TaskSupervisor | Hashable, reason: ExitReason = "normal") -> None:
        """Stop the supervisor: its children first (each within its shutdown), then itself.

        Returns once it is dead; a supervisor already dead is left alone. Its links receive
        `reason` (so a ``"normal"`` stop, the default, stops nobody else).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TaskExit: no supervisor has that name (``"noproc"``), or the caller's own exit
                was already decided by a signal.

        Cancellation: the stop goes on if the caller is interrupted; it is bounded by the
        children's shutdown times plus a 0.1 s grace per kill (a ``None`` shutdown waits).
        """
        await stop_supervisor(self, TaskSupervisor, reason)

    @staticmethod
    def child_spec(
        name: Hashable | None = None,
        max_children: int | None = None,
        max_restarts: int | None = 3,
        max_seconds: float = 5.0,
        *,
        executor: ExecutorArg = None,
        id: Hashable | None = None,
    ) -> ChildSpec:
        """A child spec that starts a task supervisor under a `Supervisor`.

        As Elixir's: its id is its `name` (or `TaskSupervisor`), it is ``"permanent"``,
        of type ``"supervisor"``, and is given all the time it needs to stop (``None``).

        Raises:
            TypeError, ValueError: a bad option, at once.

        Cancellation: building a spec starts nothing.
        """
        check_name(name)
        _check_max_children(max_children)
        check_intensity(max_restarts, max_seconds)
        check_executor(executor)
        start = functools.partial(
            TaskSupervisor.start_link,
            name,
            max_children=max_children,
            max_restarts=max_restarts,
            max_seconds=max_seconds,
            executor=executor,
        )
        spec_id = id if id is not None else (name if name is not None else TaskSupervisor)
        return ChildSpec(id=spec_id, start=(start, ()), shutdown=None, type="supervisor")

    # -- the children ---------------------------------------------------------------------

    @hide_catch_all
    def start_child(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        restart: Literal["temporary", "transient", "permanent"] = "temporary",
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
        **kwargs: Never,
    ) -> Pid:
        """Start ``fn(*args)`` as a child that nobody awaits; return its pid.

        The child is linked only to the supervisor. ``restart``: ``"temporary"`` (never
        restarted), ``"transient"`` (restarted after an abnormal exit, not after
        ``"normal"``/``"shutdown"``), ``"permanent"`` (always restarted). A restarted child
        runs the same function and arguments, with the same callers, under a new pid.
        ``shutdown``: seconds it gets to stop before it is killed, or ``"brutal_kill"``.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            MaxChildrenError: the supervisor already runs ``max_children`` children.
            TaskExit: the supervisor is not alive (reason ``"noproc"``), or the caller's own
                exit was already decided by a signal.
            TypeError, ValueError: bad `fn`, `restart`, `shutdown` or `executor`.

        Cancellation: the child is not linked to the caller; it stops with the supervisor
        (exit ``"shutdown"``, then a kill after `shutdown`) or with `terminate_child`.
        """
        if kwargs:
            raise keywords_for_fn("TaskSupervisor.start_child", fn, kwargs, "sup, ")
        sup = _supervisor_of(self, "TaskSupervisor.start_child", fn, args)
        kind = _child(restart, shutdown)
        runner = runner_for(fn, sup._executor if executor is None else executor)
        caller = sup._caller_for("TaskSupervisor.start_child", fn, args, _MAX_CHILDREN)
        child = spawn(fn, args, caller, runner, sup._loop, sup, sup)
        sup._adopt(child, kind)
        return pid_of(child)

    @overload
    def async_(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], Coroutine[Any, Any, R]],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
    ) -> Task[R]: ...

    @overload
    def async_(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], R],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
    ) -> Task[R]: ...

    @hide_catch_all
    def async_(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], Any],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
        **kwargs: Any,
    ) -> Task[Any]:
        """Start ``fn(*args)`` as a supervised task, linked to and monitored by the caller.

        As `Task.async_`, but the task is a ``"temporary"`` child of the supervisor, stopped
        with it within `shutdown` seconds (or ``"brutal_kill"``).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            MaxChildrenError: the supervisor already runs ``max_children`` children.
            TaskExit: the supervisor is not alive (``"noproc"``), or the caller's own exit was
                already decided by a signal.
            TypeError, ValueError: bad `fn`, `shutdown` or `executor`.

        Cancellation: as for `Task.async_`: a crash of either the task or the caller stops
        the other; the supervisor's stop stops the task too.
        """
        if kwargs:
            raise keywords_for_fn("TaskSupervisor.async_", fn, kwargs, "sup, ")
        return start_task(self, fn, args, shutdown, executor, True, "TaskSupervisor.async_")

    @overload
    def async_nolink(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], Coroutine[Any, Any, R]],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
    ) -> Task[R]: ...

    @overload
    def async_nolink(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], R],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
    ) -> Task[R]: ...

    @hide_catch_all
    def async_nolink(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], Any],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
        **kwargs: Any,
    ) -> Task[Any]:
        """Start ``fn(*args)`` as a supervised task that the caller monitors but is not linked
        to: its crash comes back as ``Exit(reason)`` from `Task.yield_` (or `TaskExit` from
        `Task.await_`) and never interrupts the caller.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            MaxChildrenError, TaskExit, TypeError, ValueError: as for `async_`.

        Cancellation: the caller's exit does not stop the task; the supervisor's stop does.
        Use ``await Task.yield_(t, timeout) or await Task.shutdown(t)`` to bound it.
        """
        if kwargs:
            raise keywords_for_fn("TaskSupervisor.async_nolink", fn, kwargs, "sup, ")
        name = "TaskSupervisor.async_nolink"
        return start_task(self, fn, args, shutdown, executor, False, name)

    @overload
    def async_stream(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], Coroutine[Any, Any, R]],
        **options: Unpack[SupervisedStreamOptions],
    ) -> TaskStream[R]: ...

    @overload
    def async_stream(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], R],
        **options: Unpack[SupervisedStreamOptions],
    ) -> TaskStream[R]: ...

    @supervised_stream_signature
    def async_stream(
        self: TaskSupervisor | Hashable,
        items: Iterable[Any] | AsyncIterable[Any],
        fn: Callable[[Any], Any],
        **options: Any,
    ) -> TaskStream[Any]:
        """`Task.async_stream` with every task a ``"temporary"`` child of the supervisor.

        The tasks are linked to the consumer through the stream: a crash stops the consumer
        unless it traps exits. `shutdown` is how long each gets when the supervisor stops.

        Raises:
            TypeError, ValueError: bad options, at once (before any iteration).
            MaxChildrenError: when iterating, the supervisor refused a task: the stream
                closes (its running tasks are killed), then raises.
            TaskExit: when iterating, as for `Task.async_stream`.

        Cancellation: as for `Task.async_stream`; the supervisor's stop also stops the tasks.
        """
        return _stream(self, items, fn, options, True, "TaskSupervisor.async_stream")

    @overload
    def async_stream_nolink(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], Coroutine[Any, Any, R]],
        **options: Unpack[SupervisedStreamOptions],
    ) -> TaskStream[R]: ...

    @overload
    def async_stream_nolink(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], R],
        **options: Unpack[SupervisedStreamOptions],
    ) -> TaskStream[R]: ...

    @supervised_stream_signature
    def async_stream_nolink(
        self: TaskSupervisor | Hashable,
        items: Iterable[Any] | AsyncIterable[Any],
        fn: Callable[[Any], Any],
        **options: Any,
    ) -> TaskStream[Any]:
        """As `async_stream`, but the tasks are not linked to the consumer: a crash is
        yielded as ``Exit(reason)`` and never interrupts it.

        Raises:
            TypeError, ValueError, MaxChildrenError, TaskExit: as for `async_stream`.

        Cancellation: closing the stream kills its running tasks; a crash of the consumer
        leaves them running under the supervisor.
        """
        return _stream(self, items, fn, options, False, "TaskSupervisor.async_stream_nolink")

    def children(self: TaskSupervisor | Hashable) -> list[Pid]:
        """The pids of the running children, oldest first.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`).
            TaskExit: the supervisor is not alive (``"noproc"``).

        Cancellation: not a wait; nothing to cancel.
        """
        sup = alive(self, TaskSupervisor, ("TaskSupervisor.children", (self,)))
        return [pid_of(child) for child in sup._children]

    def count_children(self: TaskSupervisor | Hashable) -> dict[str, int]:
        """``{"specs": n, "active": n, "supervisors": 0, "workers": n}``, as Elixir's.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`).
            TaskExit: the supervisor is not alive (``"noproc"``).

        Cancellation: not a wait; nothing to cancel.
        """
        sup = alive(self, TaskSupervisor, ("TaskSupervisor.count_children", (self,)))
        count = len(sup._children)
        return {"specs": count, "active": count, "supervisors": 0, "workers": count}

    def which_children(self: TaskSupervisor | Hashable) -> list[ChildInfo]:
        """``[ChildInfo(id=None, pid, "worker", [fn])]`` for each running child, oldest first.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`).
            TaskExit: the supervisor is not alive (``"noproc"``).

        Cancellation: not a wait; nothing to cancel.
        """
        sup = alive(self, TaskSupervisor, ("TaskSupervisor.which_children", (self,)))
        return [ChildInfo(None, pid_of(c), "worker", [function_of(c)]) for c in sup._children]

    async def terminate_child(self: TaskSupervisor | Hashable, pid: Pid) -> None:
        """Stop child `pid` as its shutdown says and wait until it is dead; it is not restarted.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            LookupError: `pid` is not a child of this supervisor (Elixir's ``:not_found``).
            TaskExit: the supervisor is not alive (``"noproc"``), or the caller's own exit
                was already decided by a signal.
            TypeError: `pid` is not a Pid.

        Cancellation: the kill after the child's shutdown time happens even if the caller is
        interrupted while it waits.
        """
        call = ("TaskSupervisor.terminate_child", (self, pid))
        sup = alive(self, TaskSupervisor, call)
        if type(pid) is not Pid:
            raise TypeError(f"pid must be a Pid, got {pid!r}")
        me = live_caller(None, *call)
        child = lookup(pid)
        kind = sup._children.pop(child, None) if child is not None else None
        if child is None or kind is None:
            raise LookupError(f"{pid!r} is not a child of {sup!r}")
        await stop_process(me, child, kind[1], call, source=sup)

    # -- inside ---------------------------------------------------------------------------

    def _caller_for(self, name: str, fn: Any, args: tuple[Any, ...], full: str) -> Proc:
        """The calling process, once the supervisor is known to take one more child."""
        if (
            self._phase is not STARTED
            or _get_running_loop() is not self._loop
            or not is_running(self)
        ):
            self._live((name, (self, fn, *args)))  # raises: not started, off the loop, "noproc"
        caller = live_caller(self._loop, name, args, (self, fn))
        limit = self._max_children
        if limit is not None and len(self._children) >= limit:
            if listened(SUPERVISOR_MAX_CHILDREN):
                metadata = {**self._telemetry_metadata(), "function": describe_fn(fn)}
                emit(SUPERVISOR_MAX_CHILDREN, {"children": len(self._children)}, metadata)
            named = "" if self._name is None else f" {self._name!r}"
            who = f"TaskSupervisor{named} {pid_of(self)!r} is at its max_children={limit}: "
            raise MaxChildrenError(who + full, pid_of(self), limit)
        return caller

    def _adopt(self, child: Proc, kind: Child) -> None:
        """Count a just-spawned child (or, if it already ended inside spawn, its exit)."""
        if is_alive(child):
            self._children[child] = kind
        else:  # ended inside spawn (an eager task factory): restart it
            # later, or a child that never awaits would recurse
            self._loop.call_soon(self._after_exit, child, reason_of(child), kind)

    async def _run(self) -> None:
        await self._stop_asked
        await self._stop_children(list(self._children), concurrently=True)

    def _is_child(self, proc: Proc) -> bool:
        return parent_of(proc) is self

    def _linked_exited(self, source: Proc, reason: ExitReason) -> None:
        # The hot path of every child's exit (its link already cut): one dict pop.
        kind = self._children.pop(source, None)
        if kind is None:  # not a running child: the parent, a linked process, a terminated one
            SupervisorProcess._linked_exited(self, source, reason)
            return
        if kind[0] != "temporary" and not is_exiting(self):
            self._after_exit(source, reason, kind)

    def _shutdown_of(self, child: Proc) -> ShutdownTimeout:
        kind = self._children.get(child)
        return 5.0 if kind is None else kind[1]

    def _child_entries(self) -> list[tuple[Proc, str, Hashable | None]]:
        return [(child, kind[0], None) for child, kind in list(self._children.items())]

    def _child_exited(self, child: Proc, reason: ExitReason) -> None:
        """A child no longer counted (terminated, or ended inside spawn): nothing to do;
        running children's exits take the fast path in `_on_linked_exit`."""

    def _after_exit(self, child: Proc, reason: ExitReason, kind: Child) -> None:
        """Restart `child` if its restart says so and the intensity allows."""
        if not restarts(kind[0], reason):
            return
        if self._too_many_restarts(pid_of(child), reason):
            return
        self._adopt(respawn(child, self._loop, self, self), kind)


def _supervisor_of(
    sup_or_name: object, name: str, fn: Any, args: tuple[Any, ...]
) -> TaskSupervisor:
    """The supervisor a call is for; the call record for errors is built only when needed."""
    if type(sup_or_name) is TaskSupervisor:  # the hot path
        return sup_or_name
    return resolve(sup_or_name, TaskSupervisor, (name, (sup_or_name, fn, *args)))


def start_task(
    sup_or_name: object,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    shutdown: Any,
    executor: ExecutorArg,
    link: bool,
    name: str,
    cls: type[Task[Any]] = Task,
) -> Task[Any]:
    """`async_` and `async_nolink`, for a task record class `cls` (the blocking API's
    `Task` is a subclass)."""
    if type(sup_or_name) is not TaskSupervisor:
        sup_or_name, node = locate(sup_or_name)
        if node is not None:
            return _start_remote(cls, (sup_or_name, node), fn, args, shutdown, executor, link, name)
    sup = _supervisor_of(sup_or_name, name, fn, args)
    kind = _child("temporary", shutdown)
    runner = runner_for(fn, sup._executor if executor is None else executor)
    owner = sup._caller_for(name, fn, args, _MAX_CHILDREN)
    task = spawn_task(cls, owner, fn, args, runner, sup._loop, None, link, sup)
    if is_alive(task):
        link_to(task, sup)
    sup._adopt(task, kind)
    return task


def _start_remote(
    cls: type[Task[Any]],
    address: tuple[object, str],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    shutdown: Any,
    executor: ExecutorArg,
    link: bool,
    name: str,
) -> Task[Any]:
    """`async_`/`async_nolink` for the supervisor `address` names on another node: a local
    proxy task (linked to the caller if `link`) whose call is the remote child."""
    supervisor, node = address
    supervisor = _check_remote_name(supervisor)
    kind = _child("temporary", shutdown)
    remote = supervised_on(node, supervisor, kind[1], check_executor(executor), link)
    runner = runner_for(fn, remote)
    loop = running_loop(name)
    owner = live_caller(loop, name, args, (address, fn))
    return spawn_task(cls, owner, fn, args, runner, loop, None, link)


def _check_remote_name(name: object) -> Hashable:
    """The registered name of a remote supervisor (a handle cannot travel)."""
    if name is None or isinstance(name, SupervisorProcess):
        raise TypeError(
            f"a supervisor on another node is addressed by its registered name, as "
            f"(name, node); got {name!r}"
        )
    return check_name(name)


def _stream(
    sup_or_name: object,
    items: Any,
    fn: Callable[..., Any],
    given: dict[str, Any],
    linked: bool,
    name: str,
) -> TaskStream[Any]:
    options = stream_options(name, fn, given, supervised=True)
    shutdown = options.pop("shutdown")
    where, node = locate(sup_or_name)
    if node is not None:  # a supervisor on another node: the proxies' executor is it
        check_shutdown(shutdown, infinity=False)
        supervisor = _check_remote_name(where)
        executor = check_executor(options["executor"])
        remote = supervised_on(node, supervisor, shutdown, executor, linked)
        options["executor"] = remote
        return build_stream(
            items, fn, options, spawn=functools.partial(spawn_task, Task), linked=linked, name=name
        )
    call = (name, (sup_or_name, items, fn))
    sup = resolve(where, TaskSupervisor, call)
    check_shutdown(shutdown, infinity=False)  # as Elixir's streams: infinity is refused
    if options["executor"] is None:
        options["executor"] = sup._executor
    kind = _child("temporary", shutdown)

    def spawn_child(
        consumer: Proc,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        runner: Runner | None,
        loop: Any,
        waiter: Any,
    ) -> Task[Any]:
        sup._caller_for(name, fn, args, _MAX_CHILDREN_STREAM)
        task = spawn_task(Task, consumer, fn, args, runner, loop, waiter, False, sup)
        if is_alive(task):
            link_to(task, sup)
        sup._adopt(task, kind)
        return task

    return build_stream(items, fn, options, spawn=spawn_child, linked=linked, name=name)
