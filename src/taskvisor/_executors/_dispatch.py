"""A running process pool: its workers, its queue of calls, and the thread that serves them.

A `ProcessPool` makes a `Dispatcher` at its first call and drops it at shutdown. Callers, on
any event loop or thread, hand it calls: a call goes straight to an idle worker, or waits in
the queue. One thread per dispatcher does all that waits or takes time. It starts workers (as
many as the calls need, up to the pool's size, and a replacement as soon as one leaves), it
reads the workers' answers and hands each to the loop of its call
(``loop.call_soon_threadsafe``), it gives the next queued call to the worker that answered,
and it sees a worker's end on its sentinel (end of file on the worker's "alive" pipe): a
worker that died on its own fails its call with `WorkerCrashedError`. All state is guarded by
one lock; the selector and the starting of processes belong to the thread.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import enum
import os
import selectors
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from .._callables import describe_fn
from .._errors import WorkerCrashedError
from ._answer import STOPPED
from ._handle import EXITING, READY, STARTING, WorkerHandle
from ._outcome import encode_call, resolve
from ._worker import READY as WORKER_READY

__all__ = ["Dispatcher", "ProcessCall"]


class _State(enum.Enum):
    """A process-pool call's lifecycle (transitions under its dispatcher's lock).

    QUEUED -> RUNNING       a worker took it (its payload is sent)
    QUEUED -> DONE          stopped or killed before it began, or the pool closed or could
                            not start a worker: it never runs
    RUNNING -> STOPPING     a polite stop was sent (SIGINT to its worker), once
    RUNNING, STOPPING -> DONE   its answer came, its worker ended or was killed, or the pool
                            closed with a kill or failed
    """

    QUEUED = "queued"  # in the dispatcher's queue, waiting for a worker
    RUNNING = "running"  # a worker runs it
    STOPPING = "stopping"  # a worker runs it and was asked to stop
    DONE = "done"  # out of the pool's hands: its outcome is (or will be) delivered


_QUEUED, _RUNNING, _STOPPING, _DONE = _State.QUEUED, _State.RUNNING, _State.STOPPING, _State.DONE

_EXIT_TIMEOUT = 5.0
"""Seconds the exit hook waits for a dispatcher to reap its killed workers."""

live: set[Dispatcher] = set()
"""Dispatchers whose thread runs: the exit hook closes them."""

_exiting = False


class ProcessCall:
    """One call in a process pool: the `Call` the runtime drives."""

    __slots__ = (
        "_dispatcher",
        "fn",
        "future",
        "loop",
        "payload",
        "started",
        "state",
        "worker",
    )

    def __init__(
        self, dispatcher: Dispatcher, fn: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        try:
            self.payload = encode_call(fn, args)
        except Exception as exc:
            exc.add_note(f"while sending {describe_fn(fn)} and its arguments to a worker process")
            raise
        self._dispatcher = dispatcher
        self.fn = fn
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[Any] = self.loop.create_future()
        self.started: asyncio.Future[None] | None = None  # set when it waits for a worker
        self.state = _QUEUED
        self.worker: WorkerHandle | None = None

    def stop(self) -> None:
        self._dispatcher.stop(self)

    def kill(self) -> None:
        self._dispatcher.kill(self)
        self.future.cancel()

    # -- on the call's loop ----------------------------------------------------------------

    def answered(self, answer: bytes) -> None:
        future = self.future
        if future.done():
            return
        if answer == STOPPED:
            future.cancel()
            return
        resolve(future, answer, self.fn)

    def begin(self) -> None:
        if self.started is not None and not self.started.done():
            self.started.set_result(None)

    def failed(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)

    def cancelled(self) -> None:
        self.future.cancel()


class Dispatcher:
    """The running part of a `ProcessPool` (see the module docstring)."""

    def __init__(self, max_workers: int, start_method: str, max_calls: int | None) -> None:
        if _exiting:
            raise RuntimeError("cannot start a process pool while the program exits")
        self._start_method = start_method
        self._max_workers = max_workers
        self._max_calls = max_calls
        self._lock = threading.Lock()
        self._queue: deque[ProcessCall] = deque()
        self._idle: list[WorkerHandle] = []
        self._serving: set[WorkerHandle] = set()  # counted in the pool's size
        self._workers: set[WorkerHandle] = set()  # every process not yet reaped
        self._size = 0  # workers to keep: grows with demand up to max_workers
        self._pending = 0  # calls queued or running
        self._closing = False
        self._selector = selectors.DefaultSelector()
        self._wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        self._wake_w: int | None = wake_w
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(
            target=self._run, name="taskvisor-process-pool", daemon=True
        )
        live.add(self)
        self._thread.start()

    # -- callers (any thread) ----------------------------------------------------------------

    def submit(self, call: ProcessCall) -> None:
        with self._lock:
            if self._closing:
                raise RuntimeError("the process pool is shut down")
            self._pending += 1
            if self._idle:
                self._assign(self._idle.pop(), call)
                return
            call.started = call.loop.create_future()  # it waits for a worker: not yet timed
            self._queue.append(call)
            if self._pending > self._size < self._max_workers:
                self._size = min(self._max_workers, self._pending)
                self._wake()

    def stop(self, call: ProcessCall) -> None:
        with self._lock:
            if call.state is _QUEUED:  # it never ran: stopped, as if interrupted at once
                self._unqueue(call)
                call.future.cancel()
            elif call.state is _RUNNING:
                call.state = _STOPPING
                assert call.worker is not None
                call.worker.interrupt()

    def kill(self, call: ProcessCall) -> None:
        with self._lock:
            if call.state is _QUEUED:
                self._unqueue(call)
            elif call.state is _RUNNING or call.state is _STOPPING:
                worker = call.worker
                assert worker is not None
                call.state = _DONE
                self._pending -= 1
                worker.call = None
                worker.kill()
                self._serving.discard(worker)
                self._wake()  # start its replacement now

    def close(self, kill: bool) -> None:
        """Take no more calls; cancel the queued ones; quit the idle workers and, with
        `kill`, kill the busy ones (their calls are cancelled), else let them finish."""
        with self._lock:
            self._closing = True
            dropped = list(self._queue)
            self._queue.clear()
            for worker in list(self._serving):
                call = worker.call
                if call is None and worker.state is READY:
                    worker.quit()
                elif call is None or kill:
                    worker.kill()
                    if call is not None:
                        worker.call = None
                        dropped.append(call)
                else:
                    continue  # it quits after its answer
                self._serving.discard(worker)
            self._idle.clear()
            for call in dropped:
                call.state = _DONE
            self._pending -= len(dropped)
            self._wake()
        for call in dropped:
            _deliver(call, call.cancelled)

    @property
    def closed(self) -> bool:
        """It takes no more calls (closed, or its thread failed)."""
        return self._closing

    def join(self, timeout: float | None = None) -> None:
        """Wait until every worker has ended and been reaped (after `close`)."""
        self._thread.join(timeout)

    # -- under the lock ----------------------------------------------------------------------

    def _assign(self, worker: WorkerHandle, call: ProcessCall) -> None:
        worker.call = call
        call.worker = worker
        call.state = _RUNNING
        with contextlib.suppress(OSError):  # if it died, its sentinel fails the call
            worker.send(call.payload)
        call.payload = b""  # sent: don't hold big arguments while the call runs
        if call.started is not None:
            _deliver(call, call.begin)

    def _unqueue(self, call: ProcessCall) -> None:
        self._queue.remove(call)
        call.state = _DONE
        self._pending -= 1

    def _give_work(self, worker: WorkerHandle) -> None:
        if self._queue:
            self._assign(worker, self._queue.popleft())
        else:
            self._idle.append(worker)

    def _wake(self) -> None:
        if self._wake_w is not None:
            with contextlib.suppress(BlockingIOError):  # full: it is awake already
                os.write(self._wake_w, b"\0")

    # -- the dispatcher's thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                self._grow()
                with self._lock:
                    if self._closing and not self._workers:
                        return
                for key, _ in self._selector.select():
                    if key.data is None:
                        os.read(self._wake_r, 4096)
                    else:
                        handler, worker = key.data
                        handler(worker)
        except BaseException as exc:  # a bug: don't leave calls waiting forever
            self._abandon(exc)
            raise
        finally:
            with self._lock:
                os.close(self._wake_w)  # type: ignore[arg-type]
                self._wake_w = None
            os.close(self._wake_r)
            self._selector.close()
            live.discard(self)

    def _grow(self) -> None:
        """Start workers until the pool has as many as it should keep."""
        while True:
            with self._lock:
                if self._closing or len(self._serving) >= self._size:
                    return
            if not self._start_worker():
                return

    def _start_worker(self) -> bool:
        try:
            worker = WorkerHandle(self._start_method)
        except Exception as exc:  # the system refused: the queued calls cannot run
            for call in self._give_up():
                _deliver(call, call.failed, exc)
            return False
        with self._lock:
            self._workers.add(worker)
            if self._closing:
                worker.kill()
            else:
                self._serving.add(worker)
        self._selector.register(worker.conn.fileno(), selectors.EVENT_READ, (self._read, worker))
        self._selector.register(worker.sentinel, selectors.EVENT_READ, (self._ended, worker))
        return True

    def _read(self, worker: WorkerHandle) -> None:
        """A message from `worker`: READY, or the answer of its call."""
        if worker.conn.closed:  # its end was handled earlier in the same batch of events
            return
        try:
            message = worker.conn.recv_bytes()
        except (EOFError, OSError):  # it ended: its sentinel tells how
            self._selector.unregister(worker.conn.fileno())
            worker.conn.close()
            return
        with self._lock:
            call = worker.call
            if call is not None:
                worker.call = None
                call.state = _DONE
                self._pending -= 1
            if message == WORKER_READY and worker.state is STARTING:
                worker.state = READY
            if worker.state is EXITING:
                pass  # asked to quit already: it gets no more work
            elif self._closing or (self._max_calls and worker.calls >= self._max_calls):
                worker.quit()
                self._serving.discard(worker)
            else:
                self._give_work(worker)
        if call is not None:
            _deliver(call, call.answered, message)

    def _ended(self, worker: WorkerHandle) -> None:
        """`worker`'s process ended (its sentinel): fail its call if it died on its own, and
        reap it."""
        while not worker.conn.closed and worker.conn.poll():  # what it said before it ended
            self._read(worker)
        if not worker.conn.closed:
            self._selector.unregister(worker.conn.fileno())
        self._selector.unregister(worker.sentinel)
        code = worker.reap()
        with self._lock:
            self._workers.discard(worker)
            self._serving.discard(worker)
            if worker in self._idle:
                self._idle.remove(worker)
            call = worker.call
            if call is not None:
                worker.call = None
                call.state = _DONE
                self._pending -= 1
        if call is not None:
            _deliver(call, call.failed, WorkerCrashedError(describe_fn(call.fn), worker.pid, code))
        if worker.state is STARTING:  # it died while starting
            for queued in self._give_up():
                exc = WorkerCrashedError(describe_fn(queued.fn), worker.pid, code)
                exc.add_note("it died while starting, before running any call (see its stderr)")
                _deliver(queued, queued.failed, exc)

    def _give_up(self) -> list[ProcessCall]:
        """A worker could not start: start no more for now, and if no worker is left to run
        the queued calls, take them out of the queue and return them, to be failed."""
        with self._lock:
            self._size = len(self._serving)
            if self._serving:
                return []
            calls = list(self._queue)
            self._queue.clear()
            for call in calls:
                call.state = _DONE
            self._pending -= len(calls)
            return calls

    def _abandon(self, exc: BaseException) -> None:
        """The thread is failing: kill every worker and fail every call with `exc`."""
        with self._lock:
            self._closing = True
            calls = list(self._queue)
            self._queue.clear()
            for worker in self._workers:
                worker.kill()
                if worker.call is not None:
                    calls.append(worker.call)
                    worker.call = None
            for call in calls:
                call.state = _DONE
        error = RuntimeError("the process pool's dispatcher thread failed")
        error.__cause__ = exc
        for call in calls:
            _deliver(call, call.failed, error)


def _deliver(call: ProcessCall, method: Callable[..., None], *args: Any) -> None:
    """Run ``method(*args)`` on the loop of `call`, unless that loop is closed."""
    with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits any more
        call.loop.call_soon_threadsafe(method, *args)


@atexit.register
def _close_at_exit() -> None:
    """No worker outlives the program: kill the busy ones, quit the idle ones, reap them."""
    global _exiting
    _exiting = True
    dispatchers = list(live)
    for dispatcher in dispatchers:
        dispatcher.close(kill=True)
    for dispatcher in dispatchers:
        dispatcher.join(_EXIT_TIMEOUT)
