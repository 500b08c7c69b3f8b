"""`taskvisor.blocking.Task`: the asyncio API's `Task`, with calls that block the thread.

Each function runs the asyncio API's function of the same name on the loop where its
target lives (a task's own loop; the blocking loop for new work), for the calling thread's
process, and blocks until it is done. The objects are the same records: a task made here
can be passed anywhere a `taskvisor.Task` goes.
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections.abc import AsyncIterable, Callable, Coroutine, Iterable
from typing import Any, Literal, Never, TypeVar, TypeVarTuple, Unpack, overload

from .. import _task
from .._executors import ExecutorArg, ThreadPool, executor_of, runner_for
from .._runtime._api import is_running, loop_of, state_of
from .._runtime._pid import Pid
from .._runtime._reply import complete, spawn_task, task_owner
from .._runtime._threads import (
    Outcome,
    await_owned,
    closed_by_owner,
    may_reply_early,
    start_owned,
)
from .._stream_options import StreamOptions
from .._types import Exit, Ok, ShutdownTimeout, Timeout
from .._validate import check_timeout, keywords_for_fn
from ._bridge import Loop, acts_for, caller, home_loop, refuse_on_a_loop, run, wait
from ._loop import post
from ._stream import BlockingStream, thread_input

__all__ = ["Task", "loop_of_tasks"]

T = TypeVar("T")
R = TypeVar("R")
Item = TypeVar("Item")
Ts = TypeVarTuple("Ts")

_AsyncTask = _task.Task


def loop_of_tasks(tasks: Iterable[Any]) -> Loop:
    """Where calls on `tasks` run: the loop of the first that has one, else the thread's own."""
    for task in tasks if isinstance(tasks, list | tuple) else ():
        if isinstance(task, _AsyncTask):
            loop = loop_of(task)
            if loop is not None:
                return loop
    return home_loop()


class Task(_AsyncTask[T]):
    """A task, as in the asyncio API (`taskvisor.Task`); these functions block the thread.

    Tasks made here are `taskvisor.Task` objects too. Each call acts for the calling
    thread's process: a task started by a thread is linked to and owned by that thread.
    """

    __slots__ = ("_prepared",)

    _prepared: _Prepared  # set for a plain function this thread submitted to a thread pool

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
    def async_(
        fn: Callable[[Unpack[Ts]], Any],
        *args: *Ts,
        executor: ExecutorArg = None,
        **kwargs: Any,
    ) -> Task[Any]:
        """Start ``fn(*args)`` as a task linked to and monitored by the calling thread.

        Blocks only until the task is started (not until it ends). A coroutine function
        runs on the blocking API's loop, a plain function in the thread pool; ``executor=``
        as in `taskvisor.Task.async_`. Collect it with `await_` from this thread.

        Raises:
            RuntimeError: called from a thread that runs an event loop (await
                ``taskvisor.Task`` calls there instead).
            TypeError, ValueError: bad `fn` or `executor`.
            TaskExit: the thread's process died of a signal (a linked crash) since its last
                taskvisor call.

        Cancellation: as in the asyncio API: if the task crashes, the thread gets
        `TaskExit` from its current or next taskvisor call.
        """
        if kwargs:
            raise keywords_for_fn("Task.async_", fn, kwargs)
        loop = home_loop()
        if acts_for(loop) is None:  # the hot path: made here, started by one post, no wait
            proc = caller(loop, "Task.async_", args)
            if is_running(proc):
                runner = runner_for(fn, executor)
                pool = executor_of(runner)
                if not isinstance(pool, ThreadPool):
                    task = spawn_task(Task, proc, fn, args, runner, None)
                    post(loop, start_owned, task, proc, True)
                    return task
                # a thread pool's function: submitted from here, not by the loop
                call = pool.prepare(fn, args, loop)
                prepared = _Prepared(pool, call, proc, loop)
                task = spawn_task(Task, proc, fn, args, prepared, None)
                task._prepared = prepared
                prepared.task = call.origin = task
                call.early = prepared.offer
                post(loop, _start_with_call, task, proc, call)
                pool.submit(call)  # after the start is posted: its blocking calls come after
                return task
        return run(loop, "Task.async_", _task.async_task, Task, fn, args, executor)  # type: ignore[no-any-return]

    @staticmethod
    def start(
        fn: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        executor: ExecutorArg = None,
        **kwargs: Never,
    ) -> Pid:
        """Fire and forget ``fn(*args)`` in a process neither linked nor monitored.

        Blocks until it is started. Raises as `async_`.

        Cancellation: nothing links it to the thread; it is stopped at interpreter exit
        (exit ``"shutdown"``) if it still runs.
        """
        start = _task.Task.start
        pid: Pid = run(home_loop(), "Task.start", start, fn, *args, executor=executor, **kwargs)
        return pid

    @staticmethod
    def start_link(
        fn: Callable[[Unpack[Ts]], object],
        *args: *Ts,
        executor: ExecutorArg = None,
        **kwargs: Never,
    ) -> Pid:
        """Run ``fn(*args)`` in a process linked to the calling thread (no reply).

        Blocks until it is started. Raises as `async_`.

        Cancellation: a crash of either side stops the other (the thread gets `TaskExit`
        from its current or next taskvisor call).
        """
        start = _task.Task.start_link
        name = "Task.start_link"
        pid: Pid = run(home_loop(), name, start, fn, *args, executor=executor, **kwargs)
        return pid

    @staticmethod
    def completed(value: R) -> Task[R]:
        """A task that has already replied `value`, owned by the calling thread.

        Raises:
            RuntimeError: called from a thread that runs an event loop.
            TaskExit: the thread's process died of a signal since its last call.
        """
        return run(home_loop(), "Task.completed", _complete, value)  # type: ignore[no-any-return]

    # -- collecting -----------------------------------------------------------------------

    @staticmethod
    def await_(task: _AsyncTask[R], timeout: Timeout = 5.0) -> R:  # type: ignore[override]
        """Block until the task replies and return the reply; a task can be awaited once.

        Raises:
            RuntimeError: called from a thread that runs an event loop.
            TaskExit: the task ended without replying (``.reason``), or the thread's own
                process died of a signal (a linked crash) before or while it waits.
            TaskTimeout: no reply within `timeout`, or the task was already collected.
            NotOwnerError: the calling thread is not the task's owner.
            TypeError, ValueError: bad `task` or `timeout`.

        Cancellation: as `taskvisor.Task.await_`. Ctrl-C in the main thread raises
        `KeyboardInterrupt` here; the thread's process exits with it, which stops its
        linked tasks.
        """
        loop = loop_of_tasks((task,))
        if isinstance(task, _AsyncTask) and acts_for(loop) is None:
            timeout = check_timeout(timeout)
            call = ("Task.await_", (task, timeout))
            proc = caller(loop, *call)
            if task_owner(task) is proc:  # the hot path: one crossing, no task of its own
                outcome = Outcome()
                prepared = getattr(task, "_prepared", None)
                if prepared is not None and timeout != 0:
                    taken, kept = prepared.take(outcome)
                    if taken:  # its pool thread kept the reply: no crossing to wait for
                        post(loop, closed_by_owner, task, None)
                        return kept  # type: ignore[no-any-return]
                post(loop, await_owned, proc, task, timeout, outcome, call)
                value: R = wait(loop, proc, outcome)
                return value
        return run(loop, "Task.await_", _task.Task.await_, task, timeout)  # type: ignore[no-any-return]

    @staticmethod
    def await_many(tasks: Iterable[_AsyncTask[R]], timeout: Timeout = 5.0) -> list[R]:  # type: ignore[override]
        """Block until every task replied (one timer for all); their replies in input order.

        Raises and cancellation as `taskvisor.Task.await_many` and `await_`.
        """
        tasks = _early_off(_in_this_thread(tasks))
        return run(loop_of_tasks(tasks), "Task.await_many", _task.Task.await_many, tasks, timeout)  # type: ignore[no-any-return]

    @staticmethod
    def yield_(task: _AsyncTask[R], timeout: Timeout = 5.0) -> Ok[R] | Exit | None:  # type: ignore[override]
        """Block until the task has a result or `timeout` passes: `Ok`, `Exit` or ``None``.

        Raises and cancellation as `taskvisor.Task.yield_`.
        """
        _early_off((task,))
        return run(loop_of_tasks((task,)), "Task.yield_", _task.Task.yield_, task, timeout)  # type: ignore[no-any-return]

    @staticmethod
    def yield_many(  # type: ignore[override]
        tasks: Iterable[_AsyncTask[R]],
        timeout: Timeout = 5.0,
        *,
        limit: int | None = None,
        on_timeout: Literal["nothing", "ignore", "kill_task"] = "nothing",
    ) -> list[tuple[_AsyncTask[R], Ok[R] | Exit | None]]:
        """Block until `limit` tasks (default all) have a result or `timeout` passes.

        Returns ``[(task, Ok | Exit | None)]`` in input order. Raises and cancellation as
        `taskvisor.Task.yield_many`.
        """
        tasks = _early_off(_in_this_thread(tasks))
        return run(  # type: ignore[no-any-return]
            loop_of_tasks(tasks),
            "Task.yield_many",
            _task.Task.yield_many,
            tasks,
            timeout,
            limit=limit,
            on_timeout=on_timeout,
        )

    @staticmethod
    def ignore(task: _AsyncTask[R]) -> Ok[R] | Exit | None:
        """Stop listening to the task, unlinked; `Ok`/`Exit` if it had already ended.

        Blocks only for the crossing to the task's loop. Raises as `taskvisor.Task.ignore`.
        """
        _early_off((task,))
        return run(loop_of_tasks((task,)), "Task.ignore", _task.Task.ignore, task)  # type: ignore[no-any-return]

    @staticmethod
    def shutdown(task: _AsyncTask[R], timeout: ShutdownTimeout = 5.0) -> Ok[R] | Exit | None:  # type: ignore[override]
        """Stop the task and block until it is dead: `Ok(reply)`, `Exit(reason)` or ``None``.

        Raises and cancellation as `taskvisor.Task.shutdown`.
        """
        _early_off((task,))
        return run(loop_of_tasks((task,)), "Task.shutdown", _task.Task.shutdown, task, timeout)  # type: ignore[no-any-return]

    @overload  # type: ignore[override]
    @staticmethod
    def async_stream(
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], Coroutine[Any, Any, R]],
        **options: Unpack[StreamOptions],
    ) -> BlockingStream[R]: ...

    @overload
    @staticmethod
    def async_stream(
        items: Iterable[Item] | AsyncIterable[Item],
        fn: Callable[[Item], R],
        **options: Unpack[StreamOptions],
    ) -> BlockingStream[R]: ...

    @staticmethod
    def async_stream(
        items: Iterable[Any] | AsyncIterable[Any], fn: Callable[[Any], Any], **options: Any
    ) -> BlockingStream[Any]:
        """Run ``fn(item)`` for each item, at most `max_concurrency` at a time: a lazy sync
        iterator of `Ok`/`Exit`, one per item, and a context manager.

        The options and their meaning are `taskvisor.Task.async_stream`'s. The input is
        pulled in this thread, only while it waits for a result and a slot is free;
        iterating blocks while no result is ready. Leaving the ``with`` block, `close()`,
        or garbage collection kills the tasks still running.

        Raises:
            TypeError, ValueError: bad options, at once.
            TaskExit, when iterating: as the asyncio API's stream.
            RuntimeError: iterated from a thread that runs an event loop.

        Cancellation: the tasks are linked to the consuming thread's process; see
        `taskvisor.Task.async_stream`.
        """
        refuse_on_a_loop("Task.async_stream")
        source = thread_input(items)
        stream = _task.Task.async_stream(source, fn, **options)
        return BlockingStream(stream, source, home_loop(), "Task.async_stream")


class _Early(enum.Enum):
    """The short way back of a pool function's reply (see `_Prepared`).

    OPEN -> READY       the function returned before the owner waited: the reply is kept
    OPEN -> WAITING     the owner waits in `await_` (its outcome is kept)
    READY | WAITING -> OFF   handed over (or the loop decided)
    OPEN | READY -> OFF      the owner collects it another way (`yield_`, `shutdown`, ...)
    """

    OPEN = "open"
    READY = "ready"
    WAITING = "waiting"
    OFF = "off"


class _Prepared:
    """The runner of a task whose call the caller's thread submitted to a thread pool (the
    process awaits that call instead of starting one), and its reply's short way back: the
    pool thread offers the function's return value to the owner's thread, which takes it in
    `Task.await_` without waiting for the loop; the task's exit bookkeeping follows there.
    A crossing less for the most common blocking call, a plain function awaited."""

    __slots__ = ("call", "kept", "lock", "loop", "owner", "pool", "state", "task")

    def __init__(self, pool: ThreadPool, call: Any, owner: Any, loop: Loop) -> None:
        self.pool = pool
        self.call = call
        self.owner = owner
        self.loop = loop
        self.task: Task[Any] | None = None
        self.lock = threading.Lock()
        self.state = _Early.OPEN
        self.kept: Any = None  # READY: the reply; WAITING: the owner's Outcome

    def __call__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Coroutine[Any, Any, Any]:
        return self.pool.finish(self.call)

    def offer(self, ok: bool, value: Any) -> None:
        """In the pool thread, when the function is done (the call's `early` hook)."""
        task = self.task
        with self.lock:
            state, kept = self.state, self.kept
            early = task is not None and may_reply_early(task, self.owner, ok, value)
            if state is _Early.OPEN and early:
                self.state, self.kept = _Early.READY, value
                return
            self.state, self.kept = _Early.OFF, None
        if state is _Early.WAITING and early and kept.claim():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody left to tell
                post(self.loop, closed_by_owner, task, kept)  # before the owner's next call
            kept.fill(value)

    def take(self, outcome: Outcome) -> tuple[bool, Any]:
        """In the owner's thread, in `await_`: ``(True, reply)`` if the reply is here, else
        ``(False, None)``, and the pool thread will hand it to `outcome` if it can."""
        with self.lock:
            if self.state is _Early.READY:
                value, self.state, self.kept = self.kept, _Early.OFF, None
                return True, value
            if self.state is _Early.OPEN:
                self.state, self.kept = _Early.WAITING, outcome
            return False, None

    def off(self) -> None:
        """The owner collects the task another way: its reply goes through the loop."""
        with self.lock:
            self.state, self.kept = _Early.OFF, None


def _early_off(tasks: Any) -> Any:
    """`tasks` (a list or tuple, else left alone) are collected another way than `await_`:
    their replies go through the loop. Returns `tasks`."""
    for task in tasks if isinstance(tasks, list | tuple) else ():
        prepared = getattr(task, "_prepared", None)
        if prepared is not None:
            prepared.off()
    return tasks


def _start_with_call(task: Task[Any], owner: Any, call: Any) -> None:
    start_owned(task, owner, True)
    if state_of(task) in ("doomed", "dead"):  # its owner died first: the function must not
        call.kill()  # run (dropped from the queue; abandoned if a thread took it already)


def _complete(value: Any) -> Task[Any]:
    return complete(Task, value)


def _in_this_thread(tasks: Any) -> Any:
    """An iterable of tasks as a list, read in the calling thread (anything else is passed
    on as it is, for the asyncio API's own error)."""
    if isinstance(tasks, Iterable) and not isinstance(tasks, _AsyncTask):
        return list(tasks)
    return tasks
