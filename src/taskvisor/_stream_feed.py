"""An async input pulled by a task of its own, so that a stream can wait for its next item and
for its running tasks at the same time.

An async iterable may wait for its next item: a queue, a socket, a crawler's frontier fed by
the stream's own results. If the stream's consumer awaited ``anext(input)`` itself, a result
that is ready would wait for the input (or, for a self-feeding crawler, forever). So the
input is pulled by a feeder task, and the consumer waits for whichever comes first: an item
or a task's end. The stream stays lazy: the feeder starts a pull only while the consumer
waits and a slot is free (`want`), and the consumer starts the pulled items' tasks itself.

The feeder is a plain asyncio task, the same one for every pull of a stream, so the input's
code always runs in one task (its context variables and timeouts behave as in any task).
Its context is a copy of the consumer's when the first pull starts.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Callable
from typing import Any

from ._runtime._suspend import wake

__all__ = ["AsyncFeed", "BatchSource"]


class BatchSource:
    """An async input that hands over several items per pull: `anext_batch(room)` returns
    one to `room` items, or raises StopAsyncIteration at the end. (The blocking API's
    stream pulls its input in the consumer's thread this way, one crossing per batch.)"""

    total: int | None = None
    """How many items it holds, if its input is `Sized` (a stream's `total`)."""

    async def anext_batch(self, room: int) -> list[Any]:
        raise NotImplementedError

    def __aiter__(self) -> BatchSource:
        return self

    async def __anext__(self) -> Any:
        return (await self.anext_batch(1))[0]


class AsyncFeed:
    """The pulling side of a stream over an async iterable (see the module docstring)."""

    __slots__ = ("_demand", "_input", "_on_item", "_room", "_task", "error", "exhausted", "items")

    def __init__(self, source: AsyncIterator[Any], on_item: Callable[[], None]) -> None:
        self._input = source
        self._on_item = on_item  # wakes the consumer: an item, the end, or an error came
        self._room = 0  # pulls the consumer wants now (free slots while it waits), else 0
        self._task: asyncio.Task[None] | None = None
        self._demand: asyncio.Future[None] | None = None  # the feeder waits here for room
        self.items: collections.deque[Any] = collections.deque()  # pulled, not yet started
        self.exhausted = False
        self.error: BaseException | None = None  # what the input raised

    def want(self, room: int) -> None:
        """The consumer waits with `room` free slots (pull up to that many), or, with 0, no
        longer waits: a pull already under way finishes, and no new one starts."""
        self._room = room
        if room <= 0 or self.exhausted or self.error is not None:
            return
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._feed())
        elif self._demand is not None:
            wake(self._demand)

    async def _feed(self) -> None:
        source, items, loop = self._input, self.items, asyncio.get_running_loop()
        batches = isinstance(source, BatchSource)
        try:
            while True:
                while self._room <= 0:
                    self._demand = loop.create_future()
                    await self._demand
                    self._demand = None
                if batches:  # up to `_room` items in one pull (see `BatchSource`)
                    pulled = await source.anext_batch(self._room)  # type: ignore[attr-defined]
                else:
                    pulled = (await anext(source),)
                self._room -= len(pulled)
                was_empty = not items
                items.extend(pulled)
                if was_empty and items:  # else the consumer was woken already, has not run
                    self._on_item()
        except StopAsyncIteration:
            self.exhausted = True
        except (asyncio.CancelledError, GeneratorExit):
            raise  # closed by the stream (`close`), or its coroutine closed
        except BaseException as exc:  # the consumer re-raises it, after closing the stream
            self.error = exc
        self._on_item()

    def abandon(self) -> None:
        """The stream's loop has ended: a feeder that still waits or pulls is cancelled."""
        self._room = 0
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def close(self) -> None:
        """Stop pulling: cancel a pull under way, wait for the feeder to end, then close the
        input (``aclose()``), as a stream that is closed early does with its input.

        Cancellation: the feeder ends within its input's reaction to a cancel; an outside
        cancel of the caller while it waits passes through.
        """
        self._room = 0
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        aclose = getattr(self._input, "aclose", None)
        if aclose is not None:
            await aclose()
