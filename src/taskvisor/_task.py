"""Task: a process that runs one function and replies to the process that started it.

A task is Elixir's ``Task``: you start it, go on with other work, and collect its result::

    task = Task.async_(fetch_user, user_id)
    profile = await load_profile(user_id)
    user = await Task.await_(task, timeout=5.0)

Tasks are processes (see `Process`). `Task.async_` *links* the task to its caller, the owner:
if the task crashes, the owner is interrupted at its next ``await`` with the same reason, and if
the owner crashes, the task is stopped. It also *monitors* the task: the owner, and only the
owner, can collect the reply once with `await_`, poll it with `yield_`, stop listening with
`ignore` or stop the task with `shutdown`. When the owner stops listening (a timeout,
`ignore`, `shutdown`), a late reply is dropped. `start` and `start_link` run a function for
its side effects and never reply.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Literal,
    Never,
    TypeVar,
    TypeVarTuple,
    Unpack,
    overload,
)

from ._executors import ExecutorArg, check_executor, runner_for
from ._runtime import _waiting
from ._runtime._adopt import live_caller
from ._runtime._api import args_of, function_of, pid_of, spawn
from ._runtime._calling import running_loop
from ._runtime._pid import Pid
from ._runtime._reply import Monitored, complete, owner_of, spawn_task, task_owner
from ._stream import TaskStream, build_stream
from ._stream_options import StreamOptions, stream_options, stream_signature
from ._types import Exit, Ok, ShutdownTimeout, Timeout
from ._validate import check_fn, check_shutdown, check_timeout, hide_catch_all, keywords_for_fn

if TYPE_CHECKING:
    from ._child_spec import ChildSpec

__all__ = ["Task", "async_task"]

T = TypeVar("T")
R = TypeVar("R")
Item = TypeVar("Item")
Ts = TypeVarTuple("Ts")


class _NoPublicConstructor(type):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{cls.__name__} objects are made by Task.async_ and Task.completed, not directly"
        )


class Task(Monitored, Generic[T], metaclass=_NoPublicConstructor):
    """A running (or finished) task, generic in its result: ``Task[int]``.

    Fields, as Elixir's ``%Task{}``: `pid` (``None`` for `Task.completed`), `owner`, and the
    function it runs (`fn`, `mfa`). Task objects are made by `Task.async_`,
    `Task.completed` and the `TaskSupervisor` functions; there is no public constructor.
    (`taskvisor.blocking.Task`, the same record with blocking functions, is its only
    subclass: not meant to be subclassed.)
    """

    __slots__ = ()

    # -- fields ---------------------------------------------------------------------------

    @property
    def pid(self) -> Pid | None:
        """The task's process, or ``None`` for a task made by `Task.completed`."""
        return None if function_of(self) is None else pid_of(self)

    @property
    def owner(self) -> Pid:
        """The process that may await, yield, ignore or shut down this task."""
        return pid_of(task_owner(self))

    @property
    def fn(self) -> Callable[..., Any] | None:
        """The function the task runs (``None`` for `Task.completed`)."""
        return function_of(self)

    @property
    def mfa(self) -> tuple[str, str, int]:
        """``(module, qualname, arity)`` of what the task runs, for reflection (Elixir's mfa)."""
        fn = function_of(self)
        if fn is None:
            return ("taskvisor", "Task.completed", 1)
        fn = getattr(fn, "func", fn)  # functools.partial
        module = getattr(fn, "__module__", None) or ""
        qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        return (module, qualname, len(args_of(self)))

    # -- starting -------------------------------------------------------------------------

    @overload
    @staticmethod
    def async_(
        fn: Callable[[Unpack[Ts]], Coroutine[Any, Any, R]],
        *args: *Ts,
        executor: ExecutorArg = None,
    ) -> Task[R]: ...

    @overload
    @staticmethod
    def async_(
        fn: Callable[[Unpack[Ts]], R],
        *args: *Ts,
        executor: ExecutorArg = None,
    ) -> Task[R]: ...

    @staticmethod
    @hide_catch_all
    def async_(
        fn: Callable[[Unpack[Ts]], Any],
        *args: *Ts,
        executor: ExecutorArg = None,
        **kwargs: Any,
    ) -> Task[Any]:
        """Start ``fn(*args)`` as a task linked to and monitored by the caller; await it later.

        A coroutine function runs on the loop; a plain function runs in a thread, so it never
        blocks the loop. ``executor=`` overrides: ``"loop"``, ``"thread"``, ``"process"`` (a
        worker process that a kill can stop) or an `Executor` object. The task must be
        collected with `await_` (or `yield_`, `ignore`, `shutdown`) by this caller only.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TypeError: `fn` is not callable (or is a coroutine object: pass ``fn, *args``).
            ValueError, TypeError: `executor` is not a place's name, an `Executor` or None.
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: the task is linked to the caller. If the caller exits abnormally
        (including an outside cancel, which is exit ``"shutdown"``), the task is stopped with
        the same reason; a normal exit of the caller leaves the task running and its reply is
        dropped. If the task crashes, the caller is interrupted at its next ``await``.
        """
        if kwargs:
            raise keywords_for_fn("Task.async_", fn, kwargs)
        return async_task(Task, fn, args, executor)

    @staticmethod
    @hide_catch_all
    def start(
        fn: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        executor: ExecutorArg = None,
        **kwargs: Never,
    ) -> Pid:
        """Fire and forget: run ``fn(*args)`` in a process that is neither linked nor monitored.

        The process is held by taskvisor until it ends, so it is never lost to garbage
        collection (as a bare ``asyncio.create_task`` can be). A crash is logged and touches
        nobody. For work that must be stopped cleanly with the program, prefer
        ``TaskSupervisor.start_child``.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TypeError, ValueError: bad `fn` or `executor`, as for `async_`.
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: nothing links the process to its caller; stop it with
        ``Process.exit(pid, reason)``.
        """
        if kwargs:
            raise keywords_for_fn("Task.start", fn, kwargs)
        return _start(fn, args, executor, link=False)

    @staticmethod
    @hide_catch_all
    def start_link(
        fn: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        executor: ExecutorArg = None,
        **kwargs: Never,
    ) -> Pid:
        """Run ``fn(*args)`` in a process linked to the caller, for side effects (no reply).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TypeError, ValueError: bad `fn` or `executor`, as for `async_`.
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: as for `async_`: a crash of either side stops the other with the same
        reason (unless it traps exits); a normal exit does not.
        """
        if kwargs:
            raise keywords_for_fn("Task.start_link", fn, kwargs)
        return _start(fn, args, executor, link=True)

    @staticmethod
    def completed(value: R) -> Task[R]:
        """A task that has already replied `value`, with no process behind it.

        Useful to mix ready values into `await_many` or `yield_many`. Like any task, it can be
        collected once, by the process that made it.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TaskExit: the caller's own exit was already decided by a signal.

        Cancellation: there is nothing to cancel.
        """
        return complete(Task, value)

    @staticmethod
    @hide_catch_all
    def child_spec(
        fn: Callable[..., Any], *args: Any, executor: ExecutorArg = None, **kwargs: Never
    ) -> ChildSpec:
        """A child spec that runs ``Task.start_link(fn, *args)`` under a `Supervisor`.

        As Elixir's, the child is ``restart="temporary"``: a task is not restarted unless
        you say so (``spec.replace(restart="transient")``). `executor` says where it runs.

        Raises:
            TypeError: `fn` is not callable.
            ValueError: `executor` is not a place's name, an `Executor` or None.

        Cancellation: building a spec starts nothing; the supervisor that runs it stops the
        child with exit ``"shutdown"`` and kills it after ``spec.shutdown`` seconds.
        """
        if kwargs:
            raise keywords_for_fn("Task.child_spec", fn, kwargs)
        from ._child_spec import ChildSpec

        check_fn(fn)
        start: Callable[..., Any] = Task.start_link
        if check_executor(executor) is not None:
            start = functools.partial(Task.start_link, executor=executor)
        return ChildSpec(id=Task, start=(start, (fn, *args)), restart="temporary")

    # -- collecting -----------------------------------------------------------------------

    @staticmethod
    async def await_(task: Task[R], timeout: Timeout = 5.0) -> R:
        """Wait for the task's reply and return it; a task can be awaited once.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TaskExit: the task ended without replying; ``.reason`` says why (the exception
                that crashed it, ``"normal"``, ``"shutdown"``, ...).
            TaskTimeout: no reply within `timeout` (a `TaskExit` and a `TimeoutError`), or the
                task was already awaited, ignored or shut down (Elixir waits out the timeout
                there; taskvisor says so at once).
            TaskExit: also when the caller's own exit is decided by a signal (a linked
                crash) before or while it waits.
            NotOwnerError: the caller is not the task's owner.
            TypeError, ValueError: `task` is not a Task, or `timeout` is not None or >= 0.

        Cancellation: a timeout does not stop the task: it stops listening, so a late reply is
        dropped. If the task is linked and the caller lets the `TaskTimeout` end it, the link
        stops the task. A linked task's crash interrupts this call with `TaskExit(reason)`;
        an outside cancel of the caller passes through as `CancelledError`.
        """
        timeout = check_timeout(timeout)
        call = ("Task.await_", (task, timeout))
        me = owner_of(task, call)
        if timeout != 0 and _waiting.waiting_for(task):
            await _waiting.wait_one(me, task, timeout, call)
        return _waiting.take_awaited(task, call)  # type: ignore[no-any-return]

    @staticmethod
    async def await_many(tasks: Iterable[Task[R]], timeout: Timeout = 5.0) -> list[R]:
        """Await several tasks under one timer; return their replies in input order.

        Fails fast: the first task to end without replying raises at once, and the others
        are no longer listened for.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TaskExit: a task ended without replying (``.reason``), as for `await_`.
            TaskTimeout: not every task replied within `timeout`.
            TaskExit: the caller's own exit was already decided by a signal.
            NotOwnerError: the caller does not own every task (checked before waiting).
            TypeError, ValueError: bad `tasks` or `timeout`.

        Cancellation: as for `await_`; on a failure or a timeout every task still pending is
        no longer listened for, and none is stopped by this call.
        """
        return await _waiting.await_many(_task_list(tasks), check_timeout(timeout))

    @staticmethod
    async def yield_(task: Task[R], timeout: Timeout = 5.0) -> Ok[R] | Exit | None:
        """Poll the task: `Ok(reply)`, `Exit(reason)`, or ``None`` if it is still running.

        Unlike `await_`, ``None`` leaves the task monitored: you can yield again, await it, or
        stop it. The idiom ``await Task.yield_(t, 5.0) or await Task.shutdown(t)`` returns a
        reply that arrives even between the two calls.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            NotOwnerError: the caller is not the task's owner.
            TaskExit: the caller's own exit was already decided by a signal.
            TypeError, ValueError: bad `task` or `timeout`.

        Cancellation: the task is never stopped by this call. A linked task's crash still
        interrupts the caller (unless it traps exits, when you get `Exit(reason)`).
        """
        timeout = check_timeout(timeout)
        call = ("Task.yield_", (task, timeout))
        me = owner_of(task, call)
        if timeout != 0 and _waiting.waiting_for(task):
            await _waiting.wait_one(me, task, timeout, call)
        return _waiting.take_result(task, call)

    @staticmethod
    async def yield_many(
        tasks: Iterable[Task[R]],
        timeout: Timeout = 5.0,
        *,
        limit: int | None = None,
        on_timeout: Literal["nothing", "ignore", "kill_task"] = "nothing",
    ) -> list[tuple[Task[R], Ok[R] | Exit | None]]:
        """Poll several tasks under one timer: ``[(task, Ok | Exit | None)]`` in input order.

        Returns when `limit` tasks (default: all) have a result, or when `timeout` expires;
        only in the second case, each task still ``None`` gets `on_timeout`: ``"nothing"``
        leaves it running and monitored, ``"ignore"`` stops listening (`ignore`),
        ``"kill_task"`` kills it (``shutdown(task, "brutal_kill")``).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            NotOwnerError: the caller does not own every task (checked before waiting).
            TaskExit: the caller's own exit was already decided by a signal.
            TypeError, ValueError: bad `tasks`, `timeout`, `limit` or `on_timeout`.

        Cancellation: as for `yield_`.
        """
        return await _waiting.yield_many(  # type: ignore[return-value]
            _task_list(tasks), check_timeout(timeout), limit, on_timeout
        )

    @staticmethod
    def ignore(task: Task[R]) -> Ok[R] | Exit | None:
        """Stop listening to the task, unlinked, and let it run on; its later reply is dropped.

        Returns `Ok`/`Exit` if the task had already ended (its result is taken), else ``None``.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            NotOwnerError: the caller is not the task's owner.
            TaskExit: the caller's own exit was already decided by a signal.
            TypeError: `task` is not a Task.

        Cancellation: the task is not stopped; once ignored, its crash no longer touches the
        caller.
        """
        return _waiting.ignore(task)

    @staticmethod
    async def shutdown(task: Task[R], timeout: ShutdownTimeout = 5.0) -> Ok[R] | Exit | None:
        """Stop the task and return what it left: `Ok(reply)`, `Exit(reason)` or ``None``.

        The task is unlinked and sent exit ``"shutdown"``: it is cancelled at its next
        ``await`` (or, if it traps exits, it gets the signal and may finish). After `timeout`
        seconds it is killed. ``timeout="brutal_kill"`` kills at once. A reply that arrived
        first always wins. ``None`` means it stopped as asked (``"shutdown"``, or
        ``"killed"`` for brutal_kill); `Exit` carries any other reason, e.g. ``"killed"``
        after the timeout, or a crash.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            NotOwnerError: the caller is not the task's owner.
            TaskExit: the caller's own exit was already decided by a signal.
            TypeError, ValueError: bad `task` or `timeout`.

        Cancellation: the kill after `timeout` happens even if the caller is interrupted
        while waiting. A coroutine that swallows its cancellation is closed, with a warning
        naming it, and the caller gets ``Exit("killed")`` within the timeout plus a 0.1 s
        grace; a function in a thread cannot be stopped: it is waited for until the
        timeout, then abandoned with a warning (``Exit("killed")``) and runs on; in a worker
        process (``executor="process"``) it is interrupted, then its worker is SIGKILLed.
        """
        return await _waiting.shutdown(task, check_shutdown(timeout, "timeout"))

    @overload
    @staticmethod
    def async_stream(
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], Coroutine[Any, Any, R]],
        **options: Unpack[StreamOptions],
    ) -> TaskStream[R]: ...

    @overload
    @staticmethod
    def async_stream(
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], R],
        **options: Unpack[StreamOptions],
    ) -> TaskStream[R]: ...

    @staticmethod
    @stream_signature
    def async_stream(
        items: Iterable[Any] | AsyncIterable[Any], fn: Callable[[Any], Any], **options: Any
    ) -> TaskStream[Any]:
        """Run ``fn(item)`` for each item, at most `max_concurrency` at a time; yield results.

        Returns a lazy, single-use async iterator of `Ok(value)` or `Exit(reason)`, one per
        item, in input order (``ordered=True``) or as they finish. It is demand-driven: input
        is pulled and tasks started only while you wait for the next result, and a ready
        result is returned without pulling more input, so ``break`` starts nothing more.
        Each task gets `timeout` seconds from its start; then it is killed and the stream
        raises `TaskTimeout` (``on_timeout="exit"``) or yields ``Exit("timeout")``
        (``"kill_task"``). With `zip_input_on_exit`, exits carry ``(item, reason)``.
        Use ``async with`` (or ``aclose()``) to stop the running tasks when you leave early.

        Raises:
            TypeError, ValueError: bad options, at once (before any iteration).
            TaskExit: when iterating, a task crashed and the consumer does not trap exits
                (its tasks are linked to it), a task timed out with ``on_timeout="exit"``,
                or the consumer's own exit was already decided by a signal.

        Cancellation: closing the stream or leaving its ``async with`` kills every running
        task of the stream at once. The tasks are linked to the consumer: if it exits
        abnormally (a crash, or an outside cancel that ends it: exit ``"shutdown"``), they
        are stopped with the same reason. An outside cancel that the consumer survives (an
        ``asyncio.timeout`` around the loop) leaves them running until the stream is closed.
        """
        return build_stream(
            items,
            fn,
            stream_options("Task.async_stream", fn, options),
            spawn=functools.partial(spawn_task, Task),
        )


def async_task(
    cls: type[Task[Any]], fn: Callable[..., Any], args: tuple[Any, ...], executor: ExecutorArg
) -> Task[Any]:
    """`Task.async_` for a record class `cls` (the blocking API's `Task` is a subclass)."""
    runner = runner_for(fn, executor)
    loop = running_loop("Task.async_")
    owner = live_caller(loop, "Task.async_", args, (fn,))
    return spawn_task(cls, owner, fn, args, runner, loop, None, True)


def _start(fn: Callable[..., Any], args: tuple[Any, ...], executor: ExecutorArg, link: bool) -> Pid:
    runner = runner_for(fn, executor)
    name = "Task.start_link" if link else "Task.start"
    loop = running_loop(name)
    caller = live_caller(loop, name, args, (fn,))
    return pid_of(spawn(fn, args, caller, runner, loop, caller if link else None))


def _task_list(tasks: Any) -> list[Task[Any]]:
    if isinstance(tasks, Task) or not isinstance(tasks, Iterable):
        raise TypeError(f"tasks must be an iterable of Task, got {tasks!r}")
    return list(tasks)
