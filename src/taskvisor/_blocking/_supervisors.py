"""`taskvisor.blocking.TaskSupervisor` and `Supervisor`: the asyncio API's supervisors, with
calls that block the thread.

A supervisor started here (``with TaskSupervisor(...)``, `start_link`) lives on the blocking
API's loop, linked to the thread's process. Every call that addresses a supervisor, by
object or by name, runs on the loop where it lives: a FastAPI ``def`` endpoint can use the
application's supervisor. The objects are the asyncio API's records.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Callable, Coroutine, Hashable, Iterable
from typing import Any, Literal, Never, Self, TypeVar, TypeVarTuple, Unpack, overload

from .._child_spec import ChildInfo
from .._executors import ExecutorArg
from .._runtime._pid import Pid
from .._stream_options import SupervisedStreamOptions
from .._supervisors._base import loop_of_supervisor
from .._supervisors._registry import forget_all
from .._supervisors._supervisor import Strategy
from .._supervisors._supervisor import Supervisor as _AsyncSupervisor
from .._supervisors._task_supervisor import TaskSupervisor as _AsyncTaskSupervisor
from .._supervisors._task_supervisor import start_task
from .._types import ExitReason, ShutdownTimeout
from .._validate import keywords_for_fn
from ._bridge import Loop, home_loop, refuse_on_a_loop, run
from ._loop import on_fork
from ._stream import BlockingStream, thread_input
from ._task import Task

__all__ = ["Supervisor", "TaskSupervisor"]

on_fork(forget_all)  # a forked child starts with no names: the parent's supervisors are not here

_TS = _AsyncTaskSupervisor

R = TypeVar("R")
Item = TypeVar("Item")
Ts = TypeVarTuple("Ts")


def _where(sup: object) -> Loop:
    """The loop of a supervisor (or of the one with that name); else the thread's own, where
    the asyncio API's call says what is wrong."""
    loop = loop_of_supervisor(sup)
    return home_loop() if loop is None else loop


class TaskSupervisor(_AsyncTaskSupervisor):
    """`taskvisor.TaskSupervisor` for sync code: a ``with`` block, and calls that block.

    ``with TaskSupervisor(name="Jobs") as sup:`` starts it on the blocking API's loop, linked
    to the calling thread; leaving the block stops it, children first. Every method also
    takes a supervisor started elsewhere (an application's, on its own loop), by object or
    by name: ``TaskSupervisor.async_("Jobs", fn)``.
    """

    __slots__ = ()

    def __enter__(self) -> Self:
        """Start it, linked to the calling thread; blocks until it runs.

        Raises:
            RuntimeError: it was already started, or the thread runs an event loop.
            ValueError: its name is already registered.
        """
        return run(home_loop(), "TaskSupervisor.__enter__", self.__aenter__)  # type: ignore[no-any-return]

    def __exit__(self, *exc_info: object) -> None:
        """Stop it, children first (each within its shutdown); blocks until it is dead."""
        run(_where(self), "TaskSupervisor.__exit__", self.__aexit__, *exc_info)

    @classmethod
    def start_link(  # type: ignore[override]
        cls,
        name: Hashable | None = None,
        max_children: int | None = None,
        max_restarts: int | None = 3,
        max_seconds: float = 5.0,
        *,
        executor: ExecutorArg = None,
    ) -> TaskSupervisor:
        """Start a task supervisor linked to the calling thread and return it, running.

        Blocks until it runs. Raises as `taskvisor.TaskSupervisor.start_link`.
        """
        start = functools.partial(
            _AsyncTaskSupervisor.start_link.__func__,  # type: ignore[attr-defined]
            cls,
            name,
            max_children,
            max_restarts,
            max_seconds,
            executor=executor,
        )
        return run(home_loop(), "TaskSupervisor.start_link", start)  # type: ignore[no-any-return]

    def stop(self: TaskSupervisor | Hashable, reason: ExitReason = "normal") -> None:  # type: ignore[override]
        """Stop the supervisor, children first; blocks until it is dead.

        Raises as `taskvisor.TaskSupervisor.stop`.
        """
        run(_where(self), "TaskSupervisor.stop", _AsyncTaskSupervisor.stop, self, reason)

    def start_child(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        restart: Literal["temporary", "transient", "permanent"] = "temporary",
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
        **kwargs: Never,
    ) -> Pid:
        """Start ``fn(*args)`` as a child nobody awaits; return its pid (blocks until it is
        started). Options and errors as `taskvisor.TaskSupervisor.start_child`."""
        if kwargs:
            raise keywords_for_fn("TaskSupervisor.start_child", fn, kwargs, "sup, ")
        start = functools.partial(
            _AsyncTaskSupervisor.start_child, restart=restart, shutdown=shutdown, executor=executor
        )
        return run(_where(self), "TaskSupervisor.start_child", start, self, fn, *args)  # type: ignore[no-any-return]

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

    def async_(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], Any],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
        **kwargs: Any,
    ) -> Task[Any]:
        """Start ``fn(*args)`` as a child task linked to and owned by the calling thread;
        collect it with `taskvisor.blocking.Task.await_`. Blocks until it is started.

        Options and errors as `taskvisor.TaskSupervisor.async_`.
        """
        if kwargs:
            raise keywords_for_fn("TaskSupervisor.async_", fn, kwargs, "sup, ")
        name = "TaskSupervisor.async_"
        task: Task[Any] = run(
            _where(self), name, start_task, self, fn, args, shutdown, executor, True, name, Task
        )
        return task

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

    def async_nolink(
        self: TaskSupervisor | Hashable,
        fn: Callable[[Unpack[Ts]], Any],
        *args: *Ts,
        shutdown: ShutdownTimeout = 5.0,
        executor: ExecutorArg = None,
        **kwargs: Any,
    ) -> Task[Any]:
        """As `async_`, but not linked to the calling thread: a crash is an `Exit` (or a
        `TaskExit` from `await_`) and touches nothing else. Blocks until it is started."""
        if kwargs:
            raise keywords_for_fn("TaskSupervisor.async_nolink", fn, kwargs, "sup, ")
        name = "TaskSupervisor.async_nolink"
        task: Task[Any] = run(
            _where(self), name, start_task, self, fn, args, shutdown, executor, False, name, Task
        )
        return task

    @overload  # type: ignore[override]
    def async_stream(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], Coroutine[Any, Any, R]],
        **options: Unpack[SupervisedStreamOptions],
    ) -> BlockingStream[R]: ...

    @overload
    def async_stream(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], R],
        **options: Unpack[SupervisedStreamOptions],
    ) -> BlockingStream[R]: ...

    def async_stream(
        self: TaskSupervisor | Hashable,
        items: Iterable[Any] | AsyncIterable[Any],
        fn: Callable[[Any], Any],
        **options: Any,
    ) -> BlockingStream[Any]:
        """`taskvisor.blocking.Task.async_stream` with every task a ``"temporary"`` child of
        the supervisor (options and errors as `taskvisor.TaskSupervisor.async_stream`)."""
        return _stream(self, items, fn, options, _AsyncTaskSupervisor.async_stream)

    @overload  # type: ignore[override]
    def async_stream_nolink(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], Coroutine[Any, Any, R]],
        **options: Unpack[SupervisedStreamOptions],
    ) -> BlockingStream[R]: ...

    @overload
    def async_stream_nolink(
        self: TaskSupervisor | Hashable,
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], R],
        **options: Unpack[SupervisedStreamOptions],
    ) -> BlockingStream[R]: ...

    def async_stream_nolink(
        self: TaskSupervisor | Hashable,
        items: Iterable[Any] | AsyncIterable[Any],
        fn: Callable[[Any], Any],
        **options: Any,
    ) -> BlockingStream[Any]:
        """As `async_stream`, but the tasks are not linked to the consuming thread."""
        return _stream(self, items, fn, options, _AsyncTaskSupervisor.async_stream_nolink)

    def children(self: TaskSupervisor | Hashable) -> list[Pid]:
        """The pids of the running children, oldest first (a crossing to its loop)."""
        pids: list[Pid] = run(_where(self), "TaskSupervisor.children", _TS.children, self)
        return pids

    def count_children(self: TaskSupervisor | Hashable) -> dict[str, int]:
        """As `taskvisor.TaskSupervisor.count_children` (a crossing to its loop)."""
        counts: dict[str, int] = run(
            _where(self), "TaskSupervisor.count_children", _TS.count_children, self
        )
        return counts

    def which_children(self: TaskSupervisor | Hashable) -> list[ChildInfo]:
        """As `taskvisor.TaskSupervisor.which_children` (a crossing to its loop)."""
        infos: list[ChildInfo] = run(
            _where(self), "TaskSupervisor.which_children", _TS.which_children, self
        )
        return infos

    def terminate_child(self: TaskSupervisor | Hashable, pid: Pid) -> None:  # type: ignore[override]
        """Stop child `pid` as its shutdown says; blocks until it is dead.

        Raises as `taskvisor.TaskSupervisor.terminate_child`.
        """
        run(_where(self), "TaskSupervisor.terminate_child", _TS.terminate_child, self, pid)


def _stream(
    sup: object, items: Any, fn: Callable[..., Any], options: dict[str, Any], build: Any
) -> BlockingStream[Any]:
    name = f"TaskSupervisor.{build.__name__}"
    refuse_on_a_loop(name)
    loop = _where(sup)
    source = thread_input(items)
    stream = run(loop, name, functools.partial(build, **options), sup, source, fn)
    return BlockingStream(stream, source, loop, name)


class Supervisor(_AsyncSupervisor):
    """`taskvisor.Supervisor` for sync code: a ``with`` block, and calls that block.

    Its children run on the blocking API's loop (coroutine functions there, plain functions
    in the thread pool), linked to the calling thread's process through the supervisor.
    """

    __slots__ = ()

    def __enter__(self) -> Self:
        """Start the tree, linked to the calling thread; blocks until every child started.

        Raises as `taskvisor.Supervisor.start_link`.
        """
        return run(home_loop(), "Supervisor.__enter__", self.__aenter__)  # type: ignore[no-any-return]

    def __exit__(self, *exc_info: object) -> None:
        """Stop the tree, children in reverse start order; blocks until it is dead."""
        run(_where(self), "Supervisor.__exit__", self.__aexit__, *exc_info)

    @classmethod
    def start_link(  # type: ignore[override]
        cls,
        children: Iterable[Any],
        strategy: Strategy = "one_for_one",
        max_restarts: int | None = 3,
        max_seconds: float = 5.0,
        name: Hashable | None = None,
    ) -> Supervisor:
        """Start the tree linked to the calling thread; return it once every child started.

        Raises as `taskvisor.Supervisor.start_link`.
        """
        start = functools.partial(
            _AsyncSupervisor.start_link.__func__,  # type: ignore[attr-defined]
            cls,
            list(children),
            strategy,
            max_restarts,
            max_seconds,
            name,
        )
        return run(home_loop(), "Supervisor.start_link", start)  # type: ignore[no-any-return]

    def stop(self: Supervisor | Hashable, reason: ExitReason = "normal") -> None:  # type: ignore[override]
        """Stop the tree, children in reverse start order; blocks until it is dead."""
        run(_where(self), "Supervisor.stop", _AsyncSupervisor.stop, self, reason)

    def which_children(self: Supervisor | Hashable) -> list[ChildInfo]:
        """As `taskvisor.Supervisor.which_children` (a crossing to its loop)."""
        return run(_where(self), "Supervisor.which_children", _AsyncSupervisor.which_children, self)  # type: ignore[no-any-return]

    def count_children(self: Supervisor | Hashable) -> dict[str, int]:
        """As `taskvisor.Supervisor.count_children` (a crossing to its loop)."""
        return run(_where(self), "Supervisor.count_children", _AsyncSupervisor.count_children, self)  # type: ignore[no-any-return]
