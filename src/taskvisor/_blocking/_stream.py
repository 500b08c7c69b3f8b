"""The blocking stream: ``for r in Task.async_stream(items, fn, ...)`` in sync code.

The asyncio API's stream engine runs on the loop, for the consuming thread's process; this
is its sync face. Each `__next__` that finds no result in hand crosses once: on the loop it
waits for the next result as the engine does and takes every other result that is ready
too, so results cross in batches. The input is pulled in the consumer's thread (a Django
queryset keeps its connection): while the thread waits, the engine's requests for input
(as many items as it has free slots) come to it and it pulls them itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import warnings
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Sized
from typing import Any, Generic, TypeVar

from .._runtime._api import is_running
from .._runtime._threads import Outcome, begin_call
from .._stream import TaskStream
from .._stream_feed import BatchSource
from .._types import Exit, Ok
from ._bridge import Loop, caller, interrupted, wait
from ._loop import post

__all__ = ["BlockingStream", "thread_input"]

T = TypeVar("T")

_DONE = ("done",)


class _Messages:
    """What the loop sends the waiting thread: input requests, then the end of the call."""

    __slots__ = ("queue",)

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()

    def release(self) -> None:  # the call is over (an Outcome's `done`)
        self.queue.put(_DONE)


class _ThreadInput(BatchSource):
    """The stream's input as the engine sees it: each pull is asked of the consumer's
    thread, which pulls up to `room` items from the real iterator."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items
        self.total = len(items) if isinstance(items, Sized) else None
        self.iterator: Iterator[Any] | None = None
        self.messages: _Messages | None = None  # of the crossing under way
        self.ended = False
        self.error: BaseException | None = None
        self.pulled = 0  # items pulled so far
        self.prefetched: list[Any] = []  # pulled with the crossing's request (see `__next__`)

    async def anext_batch(self, room: int) -> list[Any]:
        if self.prefetched:
            got, self.prefetched = self.prefetched[:room], self.prefetched[room:]
            return got
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        if self.ended or self.messages is None:
            raise StopAsyncIteration
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.messages.queue.put(("pull", room, future))
        got = await future
        if not got:
            return await self.anext_batch(room)  # the end or an error, told by the thread
        return got

    def pull(self, room: int) -> list[Any]:
        """In the consumer's thread: up to `room` items (an error or the end is kept for
        the next request, after the items pulled before it)."""
        got: list[Any] = []
        try:
            if self.iterator is None:
                self.iterator = iter(self.items)
            while len(got) < room:
                got.append(next(self.iterator))
        except StopIteration:
            self.ended = True
        except BaseException as exc:  # the engine re-raises it as the input's error
            self.error = exc
        self.pulled += len(got)
        return got


def thread_input(items: Any) -> Any:
    """`items` as the engine is to pull it: a sync iterable from the consumer's thread (an
    async iterable is pulled on the loop, as in the asyncio API)."""
    if isinstance(items, Iterable) and not isinstance(items, AsyncIterable):
        return _ThreadInput(items)
    return items


class BlockingStream(Generic[T]):
    """A lazy, single-use iterator of `Ok`/`Exit` results, one per input item; made by
    `taskvisor.blocking.Task.async_stream` and the `TaskSupervisor` streams.

    Use it with ``for`` and, when you may leave early, in a ``with`` block (or `close` it):
    closing kills the tasks still running. A stream dropped unclosed is closed when it is
    garbage-collected, with a `ResourceWarning`.
    """

    def __init__(self, stream: TaskStream[T], source: Any, loop: Loop, name: str) -> None:
        self._stream = stream
        self._loop = loop
        self._name = name
        self._input = source if isinstance(source, _ThreadInput) else None
        self._buffer: deque[Ok[T] | Exit] = deque()
        self._received = 0  # results handed over by the loop
        self._consumer: Any = None
        self._started = False
        self._closed = False
        self._ended = False

    def __repr__(self) -> str:
        return f"<blocking {self._stream!r}>"

    @property
    def total(self) -> int | None:
        """The number of results it yields, one per input: the input's length if it was
        `Sized` when the stream was built, else None (see `TaskStream.total`)."""
        return self._stream.total

    def __len__(self) -> int:
        return len(self._stream)

    def __length_hint__(self) -> int:
        return self._stream.__length_hint__()

    def __bool__(self) -> bool:
        return True

    def __iter__(self) -> BlockingStream[T]:
        return self

    def __next__(self) -> Ok[T] | Exit:
        """The next result; blocks while none is ready (pulling input meanwhile).

        Raises:
            StopIteration: every item has its result, or the stream is closed.
            TaskExit: a task crashed and the consumer does not trap exits, a task timed out
                with ``on_timeout="exit"``, or the thread's process died of a signal.
            RuntimeError: called from a thread that runs an event loop.
            whatever the input iterator raised (the running tasks are stopped first).
        """
        if self._buffer:
            return self._buffer.popleft()
        if self._closed or self._ended:
            raise StopIteration
        source = self._input
        if (
            source is not None
            and source.pulled == self._received
            and not (source.prefetched or source.ended or source.error is not None)
        ):
            # Nothing runs and no result waits on the loop: the engine's first act will be
            # to ask for a window of input. Pull it now and send it with the request (one
            # crossing instead of three), exactly what the engine would pull.
            source.prefetched = source.pull(self._stream.max_concurrency)
        batch = self._cross(_next_batch, self._stream)
        if batch is None:
            self._ended = True
            raise StopIteration
        self._received += len(batch)
        self._buffer.extend(batch)
        return self._buffer.popleft()

    def close(self) -> None:
        """Kill the running tasks and wait until they are dead; idempotent.

        Results not yet returned are dropped. Raises as `__next__` for the crossing.
        """
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        if not self._started or self._ended:
            return
        if is_running(self._consumer):
            self._cross(_close, self._stream)
            return
        # The consumer died (a linked crash, Ctrl-C: leaving a `with` block with that
        # exception): its linked tasks died with it, a nolink stream's still run. Close it
        # on the loop as a plain task, and let the exception in flight go on unchanged.
        outcome = Outcome()
        post(self._loop, _close_detached, self._stream, outcome)
        outcome.done.acquire()

    def __enter__(self) -> BlockingStream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self._closed or self._ended or not self._started:
            return
        warnings.warn(f"{self!r} was not closed; closing it", ResourceWarning, stacklevel=1)
        self._closed = True
        consumer = self._consumer
        if consumer is not None:
            outcome = Outcome()
            with contextlib.suppress(RuntimeError):  # a closed loop: its tasks are gone too
                post(
                    self._loop,
                    begin_call,
                    consumer,
                    _close,
                    (self._stream,),
                    outcome,
                    (self._name, ()),
                )

    def _cross(self, fn: Callable[..., Any], *args: Any) -> Any:
        proc = caller(self._loop, self._name, ())
        if self._consumer is not None and proc is not self._consumer:
            # the consumer died (told by `caller` already): its tasks went with it
            self._ended = True
            raise StopIteration
        self._consumer = proc
        self._started = True
        messages = _Messages()
        outcome = Outcome()
        outcome.done = messages  # type: ignore[assignment]
        if self._input is not None:
            self._input.messages = messages
        post(self._loop, begin_call, proc, fn, args, outcome, (self._name, ()))
        try:
            while True:
                message = messages.queue.get()
                if message is _DONE:
                    break
                _, room, future = message
                got = self._input.pull(room) if self._input is not None else []
                post(self._loop, _hand_over, future, got)
        except BaseException as exc:  # Ctrl-C in the main thread: its process exits with it
            interrupted(self._loop, proc, exc)
            raise
        finally:
            if self._input is not None:
                self._input.messages = None
        outcome.done = _Released()  # type: ignore[assignment]
        return wait(self._loop, proc, outcome)


class _Released:
    """A `done` already released: the crossing's end came through the messages."""

    def acquire(self) -> bool:
        return True


def _hand_over(future: asyncio.Future[list[Any]], got: list[Any]) -> None:
    if not future.done():
        future.set_result(got)


async def _next_batch(stream: TaskStream[Any]) -> list[Any] | None:
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        return None
    return [first, *stream.take_ready()]


async def _close(stream: TaskStream[Any]) -> None:
    await stream.aclose()


def _close_detached(stream: TaskStream[Any], outcome: Outcome) -> None:
    async def close() -> None:
        try:
            await stream.aclose()
        finally:
            outcome.done.release()

    asyncio.Task(close())
