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

import asyncio
import enum
import functools
import itertools
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
    final,
    overload,
)

from ._callables import describe_fn
from ._errors import NotOwnerError, TaskExit
from ._executors import ExecutorArg, Runner, check_executor, runner_for
from ._runtime._adopt import live_caller
from ._runtime._calling import off_loop, running_loop
from ._runtime._pid import Pid
from ._runtime._proc import DEAD, Proc
from ._stream_options import StreamOptions, stream_options, stream_signature
from ._types import Exit, ExitReason, Ok, ShutdownTimeout, Timeout
from ._validate import check_fn, check_shutdown, check_timeout, hide_catch_all, keywords_for_fn

if TYPE_CHECKING:
    from ._child_spec import ChildSpec
    from ._stream import TaskStream

__all__ = ["Task"]

T = TypeVar("T")
R = TypeVar("R")
Item = TypeVar("Item")
Ts = TypeVarTuple("Ts")


class Reply(enum.Enum):
    """What the owner's monitor of a task holds.

    LISTENING -> REPLIED | DOWN     the task ended (a task that replied is REPLIED: reply wins)
    REPLIED | DOWN -> CLOSED        the owner took the result (await_, yield_, ignore, shutdown)
    LISTENING -> CLOSED             the owner stopped listening: a late reply is dropped
    """

    LISTENING = "listening"  # the owner monitors a running task; nothing has arrived
    REPLIED = "replied"  # the reply is here, unread
    DOWN = "down"  # the task ended without replying; its exit reason is here, unread
    CLOSED = "closed"  # taken, or no longer listened for


LISTENING, REPLIED, DOWN, CLOSED = Reply.LISTENING, Reply.REPLIED, Reply.DOWN, Reply.CLOSED


class _NoPublicConstructor(type):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{cls.__name__} objects are made by Task.async_ and Task.completed, not directly"
        )


@final
class Task(Proc, Generic[T], metaclass=_NoPublicConstructor):
    """A running (or finished) task, generic in its result: ``Task[int]``.

    Fields, as Elixir's ``%Task{}``: `pid` (``None`` for `Task.completed`), `owner`, and the
    function it runs (`fn`, `mfa`). Task objects are made by `Task.async_`,
    `Task.completed` and the `TaskSupervisor` functions; there is no public constructor.
    """

    __slots__ = ("_arrival", "_owner", "_reply", "_value", "_waiter")

    _arrival: int  # when the reply or DOWN arrived, in arrival order (set on delivery)
    _owner: Proc
    _reply: Reply
    _value: Any  # the reply, or the exit reason when DOWN
    _waiter: Any  # the owner's pending wait: an asyncio.Future, or an object with wake(task)

    @classmethod
    def _spawn(
        cls,
        owner: Proc,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        runner: Runner | None,
        loop: asyncio.AbstractEventLoop,
        waiter: Any = None,
        link: bool = False,
        parent: Proc | None = None,
    ) -> Task[Any]:
        """Start `fn(*args)` as a task monitored by `owner`, and linked to it if `link`.

        `parent` is the spawner when it is not the owner (a supervisor).
        """
        task: Task[Any] = cls.__new__(cls)
        task._owner = owner
        task._reply = LISTENING
        task._value = None
        task._waiter = waiter
        task._setup(fn, args, owner, runner, loop, owner if link else None, parent)
        return task

    def _deliver(self, reason: ExitReason, replied: bool, value: Any) -> None:
        if self._reply is not LISTENING:
            return  # the owner stopped listening: the late reply is dropped
        if replied:
            self._reply = REPLIED
            self._value = value
        else:
            self._reply = DOWN
            self._value = reason
        waiter = self._waiter
        if waiter is None:  # nobody waits: the result may wait unread, so note its arrival
            self._arrival = next(_arrivals)
        else:
            self._waiter = None
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiter.wake(self)

    # -- fields ---------------------------------------------------------------------------

    @property
    def pid(self) -> Pid | None:
        """The task's process, or ``None`` for a task made by `Task.completed`."""
        return None if self._fn is None else self._get_pid()

    @property
    def owner(self) -> Pid:
        """The process that may await, yield, ignore or shut down this task."""
        return self._owner._get_pid()

    @property
    def fn(self) -> Callable[..., Any] | None:
        """The function the task runs (``None`` for `Task.completed`)."""
        return self._fn

    @property
    def mfa(self) -> tuple[str, str, int]:
        """``(module, qualname, arity)`` of what the task runs, for reflection (Elixir's mfa)."""
        if self._fn is None:
            return ("taskvisor", "Task.completed", 1)
        fn = getattr(self._fn, "func", self._fn)  # functools.partial
        module = getattr(fn, "__module__", None) or ""
        qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        return (module, qualname, len(self._args))

    def _describe(self) -> str:
        """What the task is, without its changing state (for error messages)."""
        fn = "completed" if self._fn is None else describe_fn(self._fn)
        return f"Task(pid={self.pid!r}, owner={self.owner!r}, fn={fn})"

    def __repr__(self) -> str:
        return f"{self._describe()[:-1]}, state={self._state.value}, reply={self._reply.value})"

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
        runner = runner_for(fn, executor)
        loop = running_loop("Task.async_")
        owner = live_caller(loop, "Task.async_", args, (fn,))
        return Task._spawn(owner, fn, args, runner, loop, None, True)

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
        owner = live_caller(None, "Task.completed", (value,))
        task: Task[R] = Task.__new__(Task)
        task._setup(None, (), owner, None)
        task._state = DEAD
        task._reason = "normal"
        task._owner = owner
        task._reply = REPLIED
        task._value = value
        task._waiter = None
        task._arrival = next(_arrivals)
        return task

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
        from ._waiting import wait_one

        timeout = check_timeout(timeout)
        call = ("Task.await_", (task, timeout))
        me = _owner_of(task, call)
        reply = task._reply
        if reply is LISTENING and timeout != 0:
            await wait_one(me, task, timeout, call)
            reply = task._reply
        value = task._value
        task._reply = CLOSED
        task._value = None
        if reply is REPLIED:
            return value  # type: ignore[no-any-return]
        if reply is DOWN:
            raise TaskExit(value, call) from _cause(value)
        raise TaskExit("timeout", call)

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
        from ._waiting import await_many

        return await await_many(_task_list(tasks), check_timeout(timeout))

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
        from ._waiting import wait_one

        timeout = check_timeout(timeout)
        call = ("Task.yield_", (task, timeout))
        me = _owner_of(task, call)
        if task._reply is LISTENING and timeout != 0:
            await wait_one(me, task, timeout, call)
        return _take(task)

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
        from ._waiting import yield_many

        return await yield_many(_task_list(tasks), check_timeout(timeout), limit, on_timeout)

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
        _owner_of(task, ("Task.ignore", (task,)))
        if task._reply is LISTENING:  # unlink and stop listening: a late reply is dropped
            task._unlink(task._owner)
            task._reply = CLOSED
            return None
        return _take(task)

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
        from ._waiting import shutdown

        return await shutdown(task, check_shutdown(timeout, "timeout"))

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
        from ._stream import build_stream

        return build_stream(items, fn, stream_options("Task.async_stream", fn, options))


def _start(fn: Callable[..., Any], args: tuple[Any, ...], executor: ExecutorArg, link: bool) -> Pid:
    runner = runner_for(fn, executor)
    name = "Task.start_link" if link else "Task.start"
    loop = running_loop(name)
    caller = live_caller(loop, name, args, (fn,))
    proc = Proc.__new__(Proc)
    proc._setup(fn, args, caller, runner, loop, caller if link else None)
    return proc._get_pid()


def _owner_of(task: Any, call: tuple[str, tuple[Any, ...]]) -> Proc:
    """The caller, once it is known to own `task` and to be alive (Elixir checks first)."""
    if type(task) is not Task:
        raise TypeError(f"task must be a Task, got {task!r}")
    loop = running_loop(call[0])
    me = live_caller(loop, call[0], call[1])
    if task._owner is not me:
        owner_task = task._owner._aio
        if owner_task is not None and owner_task.get_loop() is not loop:
            raise off_loop(call[0], task)
        raise NotOwnerError(
            f"task {task!r} must be queried from the owner but was queried from {me._get_pid()!r}"
        )
    return me


_arrivals = itertools.count()


def next_arrival() -> int:
    return next(_arrivals)


def arrival_order(task: Task[Any]) -> int:
    """Sort key: the order in which ended tasks' replies or DOWNs arrived (Elixir's mailbox).

    A result delivered to a waiting owner is not stamped (it is taken at once); if that
    owner was cancelled before taking it, it counts as the earliest.
    """
    return getattr(task, "_arrival", -1)


def _task_list(tasks: Any) -> list[Task[Any]]:
    if isinstance(tasks, Task) or not isinstance(tasks, Iterable):
        raise TypeError(f"tasks must be an iterable of Task, got {tasks!r}")
    return list(tasks)


def _take(task: Task[R]) -> Ok[R] | Exit | None:
    """Take a task's result if one has arrived; the task is then no longer listened for."""
    reply = task._reply
    if reply is LISTENING or reply is CLOSED:
        return None
    value = task._value
    task._reply = CLOSED
    task._value = None
    return Ok(value) if reply is REPLIED else Exit(value)


def _cause(reason: ExitReason) -> BaseException | None:
    return reason if isinstance(reason, BaseException) else None
