"""The async_stream engine, shared by `Task` and `TaskSupervisor`, parameterised by `spawn`.

Elixir runs a stream through an intermediate process linked to the consumer and to every
task. Here the stream object plays that part without an asyncio task of its own: a
`_StreamLink` (a process record with no coroutine) is linked to the consumer, so the
consumer's death stops the stream's tasks; a task's crash is read through its monitor (the
stream is every task's waiter) and, for linked streams whose consumer does not trap exits,
passed on to the consumer and to the other tasks, as the intermediate process would.

An async input is pulled by a feeder task (`_stream_feed.AsyncFeed`), so that while the
consumer waits, the stream waits for the next input and for its running tasks at once; a
sync input is pulled inline, by the consumer.

Per-item timeouts use one timer for the whole stream. An item's time counts from when its
function starts running: at spawn for a function on the loop (a task runs the moment it is
spawned, as in Elixir), and when a worker takes the call for a function in a thread or a
process pool (a call waiting in its pool's queue is not yet timed). Every item gets the same
timeout and clocks start in time order, so deadlines are in that order too and the timer
only ever needs to watch the oldest one.

A timeout with ``on_timeout="exit"`` is an event among the others, handled in arrival order
as Elixir's stream does: results that arrived before it are still handed out (unordered:
every one; ordered: those that come before the first gap), then the stream raises.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import os
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sized,
)
from typing import Any, Generic, TypeVar

from ._callables import describe_fn
from ._errors import TaskExit
from ._executors import Executor, Runner, executor_of, runner_for
from ._reasons import is_normal
from ._runtime._adopt import current, live_caller
from ._runtime._api import (
    args_of,
    current_process,
    doom,
    exit_now,
    is_exiting,
    is_trapping,
    kill,
    pid_of,
    send_exit,
    unlink,
)
from ._runtime._proc import Proc
from ._runtime._reply import Monitored, take
from ._runtime._suspend import suspend, wake
from ._runtime._tether import Tether, release, tether
from ._stream_feed import AsyncFeed, BatchSource
from ._stream_options import StreamOptions, validate_stream_options
from ._telemetry import emit, listened
from ._types import Exit, ExitReason, Ok

__all__ = ["STREAM_ITEM", "Spawn", "TaskStream", "build_stream"]

T = TypeVar("T")

Task = Monitored  # the record behind the public `Task` (this module imports nothing above it)

Spawn = Callable[
    [Proc, Callable[..., Any], tuple[Any, ...], Runner | None, asyncio.AbstractEventLoop, Any],
    Monitored,
]
"""How a stream starts one task: ``spawn(consumer, fn, (item,), runner, loop, waiter)``,
a task monitored by the consumer and woken into the stream (`spawn_task` for a `Task`, or
a supervisor's)."""

_NOTHING: Any = object()


class _TimedOut:
    """Where, among the results, an ``on_timeout="exit"`` timeout arrived: handing it out
    closes the stream and raises `TaskTimeout`, naming the item."""

    __slots__ = ("index", "item")

    def __init__(self, item: Any, index: int) -> None:
        self.item = item
        self.index = index


STREAM_ITEM = ("taskvisor", "stream", "item")
"""Emitted per result a stream hands out (see docs/observability.md)."""


class _State(enum.Enum):
    """A stream's lifecycle.

    NEW -> RUNNING          the first __anext__ fixes the consumer
    RUNNING -> DONE         the input is exhausted and every result was returned
    NEW|RUNNING -> CLOSED   aclose(), an ``on_timeout="exit"`` timeout, or an input error
    """

    NEW = "new"  # built and validated; nothing started
    RUNNING = "running"  # tasks may be running; results flow
    DONE = "done"  # finished normally
    CLOSED = "closed"  # stopped early: its running tasks were killed


class TaskStream(Generic[T]):
    """A lazy, single-use stream of `Ok`/`Exit` results; made by ``Task.async_stream``.

    Use it with ``async for``, and with ``async with`` (or ``aclose()``) when you may leave
    before the end: closing kills the tasks still running.
    """

    def __init__(
        self,
        items: Iterable[Any] | AsyncIterable[Any],
        fn: Callable[..., Any],
        spawn: Spawn,
        *,
        runner: Runner | None = None,
        max_concurrency: int,
        ordered: bool,
        timeout: float | None,
        on_timeout: str,
        zip_input_on_exit: bool,
        linked: bool = True,
        name: str = "Task.async_stream",
    ) -> None:
        self._items = items
        self._total = (
            items.total
            if isinstance(items, BatchSource)
            else len(items)
            if isinstance(items, Sized)
            else None
        )
        self._fn = fn
        self._timeout = timeout
        # A function run by an executor is timed from when a worker takes its call.
        self._executor: Executor | None = None if timeout is None else executor_of(runner)
        if self._executor is not None:
            runner = self._run_timed
        self._runner = runner
        self._spawn = spawn
        self._max = max_concurrency
        self._ordered = ordered
        self._kill_on_timeout = on_timeout == "kill_task"
        self._zip = zip_input_on_exit
        self._linked = linked
        self._name = name
        self._state = _State.NEW
        self._consumer: Proc | None = None
        self._link: Tether | None = None
        self._trapping = False
        self._iter: Iterator[Any] | None = None
        self._feed: AsyncFeed | None = None
        self._exhausted = False
        self._running: dict[Task, int] = {}
        self._started = 0
        self._ended_in_spawn = False  # the task being started ended inside its spawn
        self._next = 0  # ordered: the index to return next
        self._ready: dict[int, Ok[Any] | Exit | _TimedOut] = {}
        self._ready_unordered: collections.deque[Ok[Any] | Exit | _TimedOut] = collections.deque()
        # Per-item deadlines, in start order: two deques rather than a tuple per item.
        self._deadline_at: collections.deque[float] = collections.deque()
        self._deadline_of: collections.deque[Task] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timed_out: set[Task] = set()
        self._timeout_exit = False  # an on_timeout="exit" timeout arrived: take no more results
        # the linked task whose crash the consumer gets, and its input's position
        self._failed: tuple[Task, int] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._results: AsyncGenerator[Ok[T] | Exit, None] | None = None
        # when each running task started, while a handler listens to STREAM_ITEM (decided
        # when the stream begins: no test per item otherwise)
        self._began_at: dict[Task, int] | None = None

    def __repr__(self) -> str:
        return (
            f"<TaskStream {self._state.value} running={len(self._running)} "
            f"started={self._started} max_concurrency={self._max}>"
        )

    # -- iteration ------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Ok[T] | Exit]:
        if self._results is not None or self._state is not _State.NEW:
            raise RuntimeError(
                f"{self!r} was already iterated; streams are single-use: build a new one"
            )
        self._results = self._run()
        return self._results

    def __anext__(self) -> Awaitable[Ok[T] | Exit]:
        """The next result, for ``anext(stream)``; ``async for`` goes through `__aiter__`."""
        if self._results is None:
            if self._state is not _State.NEW:
                raise RuntimeError(f"{self!r} is closed")
            self._results = self._run()
        return self._results.__anext__()

    async def _run(self) -> AsyncGenerator[Ok[T] | Exit, None]:
        """The stream's loop, as an async generator: ``async for`` resumes it cheaply.

        The hot path of a stream: what does not change lives in the generator's locals.
        """
        self._begin()
        me = self._consumer
        assert me is not None
        call = (self._name, (self._timeout,))
        ordered, ready, unordered = self._ordered, self._ready, self._ready_unordered
        running, limit, feed = self._running, self._max, self._feed
        pulled = () if feed is None else feed.items
        try:
            while True:
                if is_exiting(me):
                    exc = exit_now(me, call)
                    self._name_the_item(exc)
                    raise exc
                if pulled:  # items the feeder pulled while we waited: start them now
                    try:
                        self._start_pulled()
                    except BaseException:  # refused (max_children): stop what runs, re-raise
                        await self.aclose()
                        raise
                    continue
                if ordered:  # a ready result is returned without pulling more input
                    result = ready.pop(self._next, _NOTHING)
                    if result is not _NOTHING:
                        self._next += 1
                        if type(result) is _TimedOut:
                            await self._exit_on_timeout(result, call)
                        yield result
                        continue
                elif unordered:
                    result = unordered.popleft()
                    if type(result) is _TimedOut:
                        await self._exit_on_timeout(result, call)
                    yield result
                    continue
                if feed is None:
                    if not self._exhausted and len(running) < limit:
                        try:
                            self._fill()
                        except BaseException:  # the input raised: stop what runs, re-raise
                            self._exhausted = True
                            await self.aclose()
                            raise
                        continue
                    if not running:
                        self._end()
                        return
                else:
                    if feed.error is not None:  # the input raised: stop what runs, re-raise
                        await self.aclose()
                        raise feed.error
                    if not running and feed.exhausted:
                        self._end()
                        return
                    feed.want(limit - len(running))  # pull while we wait for the tasks
                    if pulled or feed.error is not None or (feed.exhausted and not running):
                        # an eager task factory ran the feeder inside `want`: what it pulled
                        # (or met) is here already, and nobody would wake us for it
                        feed.want(0)
                        continue
                waiter = self._waiter = self._loop.create_future()  # type: ignore[union-attr]
                try:
                    await suspend(me, waiter, call)
                except TaskExit as exc:
                    self._name_the_item(exc)
                    raise
                self._waiter = None
                if feed is not None:
                    feed.want(0)
                if self._state is not _State.RUNNING:
                    return
        finally:
            if feed is not None:  # left for good (closed, or cancelled from outside)
                feed.abandon()

    @property
    def total(self) -> int | None:
        """The number of results it yields, one per input: the input's length if it was
        `Sized` (a list, a range) when the stream was built, else None (a generator, an
        async iterable). A stream that ends early (``aclose()``, ``on_timeout="exit"``)
        yields fewer."""
        return self._total

    def __len__(self) -> int:
        """`total`, for ``len()`` and progress bars (tqdm reads ``len()``).

        Raises:
            TypeError: the input's length is not known (`total` is None).
        """
        if self._total is None:
            raise TypeError(f"{self!r} has no known length: its input is not Sized")
        return self._total

    def __length_hint__(self) -> int:
        """`total`, or NotImplemented (``operator.length_hint``'s default) when unknown."""
        return NotImplemented if self._total is None else self._total

    def __bool__(self) -> bool:
        """A stream is always true, whatever its length (``if stream:`` does not ask it)."""
        return True

    @property
    def max_concurrency(self) -> int:
        """How many of its tasks run at once at most."""
        return self._max

    def take_ready(self) -> list[Ok[T] | Exit]:
        """The results that are ready now, in the order `anext` would return them, without
        pulling input or starting tasks (the blocking API hands them over in one batch).
        Stops before a timeout mark or once the consumer is exiting: `anext` deals with
        those."""
        out: list[Ok[T] | Exit] = []
        if self._state is not _State.RUNNING or self._consumer is None:
            return out
        if is_exiting(self._consumer):
            return out
        if self._ordered:
            ready = self._ready
            while self._next in ready and type(ready[self._next]) is not _TimedOut:
                out.append(ready.pop(self._next))  # type: ignore[arg-type]
                self._next += 1
        else:
            unordered = self._ready_unordered
            while unordered and type(unordered[0]) is not _TimedOut:
                out.append(unordered.popleft())  # type: ignore[arg-type]
        return out

    async def __aenter__(self) -> TaskStream[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Kill the running tasks and wait for them to die; the stream then ends.

        Idempotent. Results not yet returned are dropped.

        Cancellation: the tasks die within a 0.1 s grace (a killed coroutine is closed), so
        the wait is short; an outside cancel of the caller passes through.
        """
        state = self._state
        if state is _State.DONE or state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        if state is _State.NEW:
            await self._close_input()
            return
        for task in list(self._running):
            kill(task)
        me = current("TaskStream.aclose")
        while self._running:
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            await suspend(me, waiter, (self._name, (self._timeout,)))
        self._end()
        if self._feed is not None:
            await self._feed.close()
        else:
            await self._close_input()
        results = self._results
        if results is not None and not getattr(results, "ag_running", False):  # not from inside
            await results.aclose()

    # -- inside ---------------------------------------------------------------------------

    def _begin(self) -> None:
        me = live_caller(None, self._name, (self._timeout,))
        self._consumer = me
        self._loop = asyncio.get_running_loop()
        self._trapping = is_trapping(me)
        self._link = tether(me, self._halt)
        items = self._items
        if isinstance(items, AsyncIterable):
            self._feed = AsyncFeed(aiter(items), self._wake_consumer)
        else:
            self._iter = iter(items)
        if listened(STREAM_ITEM):
            self._began_at = {}
        self._state = _State.RUNNING

    def _fill(self) -> None:
        """Pull items and start their tasks until max_concurrency run or the input ends."""
        it, running, limit = self._iter, self._running, self._max
        consumer, loop = self._consumer, self._loop
        assert it is not None and consumer is not None and loop is not None
        start_one = self._start_one
        while len(running) < limit:
            try:
                item = next(it)
            except StopIteration:
                self._exhausted = True
                return
            start_one(item, consumer, loop)

    def _start_pulled(self) -> None:
        """Start the tasks of the items the feeder pulled while the consumer waited."""
        feed, consumer, loop = self._feed, self._consumer, self._loop
        assert feed is not None and consumer is not None and loop is not None
        items = feed.items
        while items and self._state is _State.RUNNING:
            self._start_one(items.popleft(), consumer, loop)

    def _wake_consumer(self) -> None:
        if self._waiter is not None:
            wake(self._waiter)

    def _start_one(self, item: Any, consumer: Proc, loop: asyncio.AbstractEventLoop) -> None:
        index = self._started
        self._started = index + 1
        task = self._spawn(consumer, self._fn, (item,), self._runner, loop, self)
        if self._ended_in_spawn:  # it ended already, inside spawn (an eager task factory)
            self._ended_in_spawn = False
            return
        self._running[task] = index
        if self._began_at is not None:
            self._began_at[task] = time.monotonic_ns()
        if self._timeout is not None and self._executor is None:  # it runs now: time it
            self._start_clock(task, loop, self._timeout)

    async def _run_timed(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """The runner of a stream task whose function runs in an executor: its clock starts
        when the executor starts the call (not while the call waits for a worker)."""
        task = current_process()
        assert self._executor is not None and isinstance(task, Monitored)
        return await self._executor.run(fn, args, lambda: self._started_in_executor(task))

    def _started_in_executor(self, task: Task) -> None:
        loop, timeout = self._loop, self._timeout
        if task in self._running and loop is not None and timeout is not None:
            self._start_clock(task, loop, timeout)

    def _start_clock(self, task: Task, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        """`task`'s function starts running: its timeout counts from now."""
        deadline = loop.time() + timeout
        self._deadline_at.append(deadline)
        self._deadline_of.append(task)
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._on_timer)

    def wake(self, task: Task) -> None:
        """A task of this stream ended (called from its exit path): record its result."""
        running = self._running
        index = running.pop(task, -1)
        if index < 0:  # it ended inside spawn (an eager task factory): the one being started
            index = self._started - 1
            self._ended_in_spawn = True
        of = self._deadline_of
        if of and of[0] is task:  # drop finished tasks from the head of the deadlines
            at = self._deadline_at
            of.popleft()
            at.popleft()
            while of and of[0] not in running:
                of.popleft()
                at.popleft()
        taken = take(task)
        timed_out = False
        if self._timed_out and task in self._timed_out:  # rare: one set test per item
            self._timed_out.discard(task)  # also when its reply beat the kill
            timed_out = True
        if self._state is _State.CLOSED or self._timeout_exit:
            # killed by aclose(), or after the timeout the stream will raise: nobody wants it
            result: Ok[Any] | Exit | _TimedOut | None = None
        elif type(taken) is Ok:
            result = taken
        elif timed_out:
            if not self._kill_on_timeout:
                self._arrive_timeout(args_of(task)[0], index)
                result = None
            else:
                result = Exit((args_of(task)[0], "timeout") if self._zip else "timeout")
        else:
            assert isinstance(taken, Exit)
            reason = taken.reason
            if self._linked and not self._trapping and not is_normal(reason):
                self._propagate(task, index, reason)
            result = Exit((args_of(task)[0], reason)) if self._zip else taken
        if result is not None:
            if self._ordered:
                self._ready[index] = result
            else:
                self._ready_unordered.append(result)
        if self._began_at is not None:
            self._item_event(task, index, result)
        if self._waiter is not None:
            wake(self._waiter)

    def _item_event(
        self, task: Task, index: int, result: Ok[Any] | Exit | _TimedOut | None
    ) -> None:
        """Emit STREAM_ITEM for the result of `task` (the input at `index`), if it has one."""
        assert self._began_at is not None
        began = self._began_at.pop(task, None)
        if began is None or not isinstance(result, Ok | Exit):
            return  # ended inside spawn, or a result nobody gets (closed, timed out)
        now = time.monotonic_ns()
        metadata = {
            "stream": id(self),
            "function": describe_fn(self._fn),
            "index": index,
            "result": "exit" if isinstance(result, Exit) else "ok",
            "reason": result.reason if isinstance(result, Exit) else None,
        }
        emit(STREAM_ITEM, {"duration": now - began, "monotonic_time": now}, metadata)

    def _arrive_timeout(self, item: Any, index: int) -> None:
        """An ``on_timeout="exit"`` timeout arrived: put its mark after the results that
        arrived before it (ordered: after the ones that can be handed out before the first
        gap), and take no more results."""
        self._timeout_exit = True
        mark = _TimedOut(item, index)
        if self._ordered:
            at = self._next
            while at in self._ready:
                at += 1
            self._ready[at] = mark
        else:
            self._ready_unordered.append(mark)

    async def _exit_on_timeout(self, mark: _TimedOut, call: tuple[str, tuple[Any, ...]]) -> None:
        await self.aclose()
        detail = f"item {mark.item!r} (input #{mark.index}) did not finish within {self._timeout} s"
        raise TaskExit("timeout", call, detail=detail)

    def _name_the_item(self, exc: TaskExit) -> None:
        """Say which item's task crashed, on the consumer's `TaskExit` for that crash."""
        failed = self._failed
        if failed is not None and exc.detail is None and exc.sender == pid_of(failed[0]):
            task, index = failed
            exc.detail = f"the task for item {args_of(task)[0]!r} (input #{index}) exited"

    def _propagate(self, task: Task, index: int, reason: ExitReason) -> None:
        """A linked task crashed and the consumer does not trap exits: all die of it, as
        if sent by that task (it is what the consumer's `TaskExit` names as its sender).

        Once: the others then die of the same reason and find the link already cut.
        """
        link = self._link
        if link is None or self._consumer is None:
            return
        self._link = None
        self._failed = (task, index)
        for other in list(self._running):
            doom(other, reason, task)
        unlink(link, self._consumer)
        send_exit(self._consumer, task, reason)

    def _halt(self, consumer: Proc, reason: ExitReason) -> None:
        """The consumer died: linked tasks die with it (not of a normal exit); nolink run on."""
        if self._linked:
            for task in list(self._running):
                send_exit(task, consumer, reason)

    def _on_timer(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        at, of = self._deadline_at, self._deadline_of
        while of:
            task = of[0]
            if task not in self._running:
                at.popleft()
                of.popleft()
            elif at[0] > now:
                self._timer = loop.call_at(at[0], self._on_timer)
                return
            else:
                at.popleft()
                of.popleft()
                self._timed_out.add(task)
                kill(task)

    def _end(self) -> None:
        if self._state is _State.RUNNING:
            self._state = _State.DONE
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline_at.clear()
        self._deadline_of.clear()
        link = self._link
        if link is not None:
            self._link = None
            assert self._consumer is not None
            release(link, self._consumer)

    async def _close_input(self) -> None:
        source: Any = self._iter if self._iter is not None else self._items
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
        else:
            close = getattr(source, "close", None)
            if close is not None:
                close()


def _check_items(items: Any) -> None:
    if not isinstance(items, Iterable | AsyncIterable):
        raise TypeError(f"items must be an iterable or an async iterable, got {items!r}")


def build_stream(
    items: Iterable[Any] | AsyncIterable[Any],
    fn: Callable[..., Any],
    options: StreamOptions,
    *,
    spawn: Spawn,
    linked: bool = True,
    name: str = "Task.async_stream",
) -> TaskStream[Any]:
    """Check everything, then build the stream: plain `Task`s monitored by the stream, or
    the tasks that `spawn` starts (`spawn_task` for a `Task`, or a supervisor's); `linked` to
    the consumer. `options` has every option (`stream_options` filled in the defaults)."""
    _check_items(items)
    runner: Runner | None = runner_for(fn, options["executor"])  # checks fn and executor too
    max_concurrency = options["max_concurrency"]
    if max_concurrency is None:  # as many as the executor has workers, else Elixir's default
        executor = executor_of(runner)
        workers = None if executor is None else executor.max_workers
        max_concurrency = workers if workers is not None else os.cpu_count() or 1
    checked_timeout = validate_stream_options(options, max_concurrency)
    return TaskStream(
        items,
        fn,
        spawn,
        runner=runner,
        max_concurrency=max_concurrency,
        ordered=options["ordered"],
        timeout=checked_timeout,
        on_timeout=options["on_timeout"],
        zip_input_on_exit=options["zip_input_on_exit"],
        linked=linked,
        name=name,
    )
