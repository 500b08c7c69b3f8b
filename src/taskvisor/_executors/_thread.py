"""Threads: plain functions run in a pool of threads, so they never block the loop.

A thread cannot be stopped from outside. A polite stop of a plain function that runs does
nothing (the process waits for it, up to its shutdown timeout); a kill abandons it: the
process dies ``"killed"`` at once, its late result is dropped, and a WARNING on the
``taskvisor`` logger names the process and says its thread runs on. A coroutine function sent
to a thread runs on a private event loop there, and a polite stop cancels it.

taskvisor runs its own pool, not `concurrent.futures.ThreadPoolExecutor`, for two reasons:
- an abandoned thread no longer counts against the pool: a new worker takes its place, so
  calls that cannot be stopped never starve the healthy ones;
- the workers are daemon threads: the interpreter's exit (the end of ``main``, Ctrl-C,
  SIGTERM) does not wait for a thread stuck in a function nobody waits for any more.
It also tells a stream when a queued call begins (`_ThreadCall.started`), so that an item's
timeout counts from then.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import itertools
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from .._callables import await_if_awaitable, describe_fn
from .._runtime._api import process_of
from .._runtime._executing import await_call
from .._runtime._reports import log_event
from .._validate import check_positive_int
from ._base import Executor, when_started
from ._loop import is_coroutine_function

__all__ = ["ThreadPool", "call_origin", "default_thread_pool", "set_default"]


class _State(enum.Enum):
    """A thread call's lifecycle (transitions under its pool's lock).

    QUEUED -> RUNNING       a worker took it
    QUEUED -> DROPPED       stopped, killed, or its pool shut down, before it began
    RUNNING -> DONE         the function returned or raised: its outcome is delivered
    RUNNING -> ABANDONED    killed while it ran: its thread runs on, its outcome is dropped
    """

    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # a worker runs it
    DROPPED = "dropped"  # it never began; its future is cancelled
    DONE = "done"  # its outcome went to its future
    ABANDONED = "abandoned"  # a kill gave up on it; its worker leaves the pool


QUEUED, RUNNING, DROPPED, DONE, ABANDONED = (
    _State.QUEUED,
    _State.RUNNING,
    _State.DROPPED,
    _State.DONE,
    _State.ABANDONED,
)


class _ThreadCall:
    """One call in a pool thread: the `Call` the runtime drives."""

    __slots__ = (
        "_args",
        "_context",
        "_fn",
        "_inner",
        "_pool",
        "_task",
        "early",
        "future",
        "loop",
        "origin",
        "started",
        "state",
    )

    def __init__(
        self,
        pool: _Workers,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._pool = pool
        self._fn = fn
        self._args = args
        self._context = contextvars.copy_context()
        self._inner = _InnerLoop(fn, args) if is_coroutine_function(fn) else None
        # who it runs for: the calling task (to name in a warning), or, for a call made
        # from another thread for `loop` (the blocking API), an opaque `origin` set there
        self._task = None if loop is not None else asyncio.current_task()
        self.origin: object = None
        # called in the worker thread with (ok, value) as soon as the function is done,
        # before the outcome goes to the loop (the blocking API's waiting caller)
        self.early: Callable[[bool, Any], None] | None = None
        self.loop = asyncio.get_running_loop() if loop is None else loop
        self.future: asyncio.Future[Any] = self.loop.create_future()
        self.started: asyncio.Future[None] | None = None  # set when it has to wait in the queue
        self.state = QUEUED

    def stop(self) -> None:
        if self._pool.drop(self):  # it had not begun: stopped, as if interrupted at once
            return
        if self._inner is not None:
            self._inner.cancel()

    def kill(self) -> None:
        if not self._pool.drop(self) and self._pool.abandon(self):
            _log_abandoned(self._fn, self._task)
        self.future.cancel()  # the late result, or error, is dropped

    # -- in its worker thread ----------------------------------------------------------------

    def run(self) -> tuple[bool, Any]:
        """Run the function in the caller's context: ``(True, value)`` or ``(False, error)``."""
        _running.call = self  # a blocking call in the function acts for its caller
        try:
            if self._inner is not None:
                return True, self._context.run(self._inner.run)
            return True, self._context.run(self._fn, *self._args)
        except BaseException as exc:  # the caller's future carries it
            return False, exc
        finally:
            _running.call = None

    # -- on the caller's loop ------------------------------------------------------------------

    def settle(self, ok: bool, value: Any) -> None:
        if self.future.done():
            return
        if ok:
            self.future.set_result(value)
        else:
            self.future.set_exception(value)

    def begin(self) -> None:
        if self.started is not None and not self.started.done():
            self.started.set_result(None)


_running = threading.local()  # .call: the _ThreadCall this pool thread runs, or None


def call_origin() -> tuple[asyncio.AbstractEventLoop, object] | None:
    """For a pool thread running a call: the caller's loop and who the call runs for (its
    asyncio task, or the `origin` the blocking API gave a call it started from another
    thread); the blocking API acts for that caller there. None in any other thread."""
    call: _ThreadCall | None = getattr(_running, "call", None)
    if call is None:
        return None
    return call.loop, call._task if call._task is not None else call.origin


class _Workers:
    """The running part of a `ThreadPool`: its daemon threads and the queue they take calls
    from (a `queue.SimpleQueue`: a dropped call stays in it, and is skipped)."""

    def __init__(self, max_workers: int) -> None:
        self._max = max_workers
        self._lock = threading.Lock()  # guards everything below but the queue
        self._calls: queue.SimpleQueue[_ThreadCall | None] = queue.SimpleQueue()
        self._threads: set[threading.Thread] = set()  # counted in the pool: not abandoned
        self._idle = 0  # threads waiting for a call, minus calls waiting for a thread
        self._running: dict[_ThreadCall, threading.Thread] = {}
        self._closed = False
        self._numbers = itertools.count(1)

    def submit(self, call: _ThreadCall) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the thread pool is shut down")
            if self._idle <= 0 and not self._grow():
                call.started = call.loop.create_future()  # every thread is busy: it waits
            self._idle -= 1
        self._calls.put(call)

    def drop(self, call: _ThreadCall) -> bool:
        """Drop `call` if no thread has taken it yet (it stays queued, to be skipped); True
        if it was dropped."""
        with self._lock:
            if call.state is not QUEUED:
                return False
            call.state = DROPPED
        call.future.cancel()
        return True

    def abandon(self, call: _ThreadCall) -> bool:
        """Give up on a running call: its thread leaves the pool and a new one may start."""
        with self._lock:
            if call.state is not RUNNING:
                return False
            call.state = ABANDONED
            self._threads.discard(self._running.pop(call))
            if self._idle < 0:  # calls wait: replace the thread now
                self._grow()
        return True

    def close(self) -> list[threading.Thread]:
        """Take no more calls and drop the queued ones; return the threads still counted."""
        dropped = []
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            while not self._calls.empty():
                call = self._calls.get_nowait()
                if call is not None and call.state is QUEUED:
                    call.state = DROPPED
                    dropped.append(call)
        for _ in threads:
            self._calls.put(None)  # one for each thread: leave
        for call in dropped:
            _deliver(call.loop, call.future.cancel)
        return threads

    # -- under the lock ----------------------------------------------------------------------

    def _grow(self) -> bool:
        """Start one more thread if the pool has room; True if it did."""
        if len(self._threads) >= self._max:
            return False
        thread = threading.Thread(
            target=self._work, name=f"taskvisor-thread-{next(self._numbers)}", daemon=True
        )
        self._threads.add(thread)
        self._idle += 1  # it waits for a call as soon as it runs
        thread.start()
        return True

    # -- a thread of the pool ------------------------------------------------------------------

    def _work(self) -> None:
        me, lock, calls = threading.current_thread(), self._lock, self._calls
        while True:
            call = calls.get()
            if call is None:  # the pool is shut down
                with lock:
                    self._threads.discard(me)
                return
            with lock:
                if call.state is not QUEUED:  # dropped while it waited: skip it
                    self._idle += 1
                    continue
                call.state = RUNNING
                self._running[call] = me
            if call.started is not None:
                _deliver(call.loop, call.begin)
            ok, value = call.run()
            early = call.early
            if early is not None:
                early(ok, value)
            with lock:
                abandoned = call.state is ABANDONED
                if not abandoned:
                    call.state = DONE
                    del self._running[call]
                    self._idle += 1
            if abandoned:
                return  # another thread took this one's place: leave, dropping the outcome
            _deliver(call.loop, call.settle, ok, value)
            del call, value, early  # don't keep the last call's arguments or result alive


class _InnerLoop:
    """A coroutine function on a private event loop in a pool thread; cancellable from outside."""

    __slots__ = ("_args", "_fn", "_loop", "_main", "_stopped")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._fn = fn
        self._args = args
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[Any] | None = None
        self._stopped = False

    def run(self) -> Any:
        return asyncio.run(self._run())

    async def _run(self) -> Any:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        if self._stopped:
            raise asyncio.CancelledError
        return await self._fn(*self._args)

    def cancel(self) -> None:
        self._stopped = True
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            loop.call_soon_threadsafe(main.cancel)


class ThreadPool(Executor):
    """A pool of threads for plain (blocking) functions.

    Args:
        max_workers: how many calls run at once; default ``min(32, os.cpu_count() + 4)``,
            as asyncio's default executor.

    The threads are daemon threads, started as calls need them: the program's exit never
    waits for them. A call killed while it runs (its thread cannot be stopped) no longer
    counts against `max_workers`: a new thread takes its place, and the old one ends when
    its function returns.

    Cancellation: a thread cannot be interrupted. A polite stop waits for a plain function
    (a coroutine function in a thread is cancelled; a call still queued never begins); a kill
    abandons the call, with a WARNING on the ``taskvisor`` logger that names the process,
    and its thread runs on until the function returns.
    """

    name = "thread"

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None:
            check_positive_int(max_workers, "max_workers")
        self._max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)
        self._workers: _Workers | None = None
        self._lock = threading.Lock()

    @property
    def max_workers(self) -> int:
        return self._max_workers

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> _ThreadCall:
        call = self.prepare(fn, args)
        self.submit(call)
        return call

    def prepare(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> _ThreadCall:
        """A call of ``fn(*args)`` for `loop` (by default the running one), not submitted
        yet: the blocking API makes one in the calling thread and submits it from there,
        so that a plain function does not wait for the loop to hand it to the pool."""
        workers = self._workers
        if workers is None:
            with self._lock:
                if self._workers is None:
                    self._workers = _Workers(self._max_workers)
                workers = self._workers
        return _ThreadCall(workers, fn, args, loop)

    def submit(self, call: _ThreadCall) -> None:
        """Hand a prepared call to a worker thread (from any thread).

        Raises:
            RuntimeError: the pool is shut down.
        """
        call._pool.submit(call)

    async def run(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        started: Callable[[], None] | None = None,
    ) -> Any:
        return await self.finish(self.start(fn, args), started)

    async def finish(self, call: _ThreadCall, started: Callable[[], None] | None = None) -> Any:
        """Await a started call as the current process (see `Executor.run`) and return its
        value; a plain function may hand back a coroutine (`lambda: fetch(x)`): it runs on
        the loop."""
        if call._task is None:
            call._task = asyncio.current_task()
        if started is not None:
            when_started(call, started)
        return await await_if_awaitable(await await_call(call))

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking calls and cancel the queued ones; with `wait`, block until the running
        calls return (not the abandoned ones). A later call starts the pool again.

        Cancellation: it blocks the calling thread and cannot be cancelled.
        """
        with self._lock:
            workers, self._workers = self._workers, None
        if workers is None:
            return
        for thread in workers.close():
            if wait and thread is not threading.current_thread():
                thread.join()

    def __repr__(self) -> str:
        return f"ThreadPool(max_workers={self._max_workers})"


_default: ThreadPool | None = None


def default_thread_pool() -> ThreadPool:
    """The shared pool behind ``executor="thread"`` and plain functions, made on first use."""
    global _default
    if _default is None:
        _default = ThreadPool()
    return _default


def set_default(pool: ThreadPool) -> None:
    """Replace the shared pool (see `set_default_executor`)."""
    global _default
    _default = pool


def _deliver(loop: asyncio.AbstractEventLoop, method: Callable[..., object], *args: Any) -> None:
    """Run ``method(*args)`` on `loop`, unless that loop is closed (nobody waits any more)."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(method, *args)


def _log_abandoned(fn: Callable[..., Any], task: asyncio.Task[Any] | None) -> None:
    who = None if task is None else process_of(task)
    name = repr(who) if who is not None else describe_fn(fn)
    log_event(
        who,
        "abandoned_thread",
        f"{name} was killed while {describe_fn(fn)} ran in a thread; a thread cannot be "
        "stopped, so it runs on until the function returns, and its result is dropped",
    )
