"""A stream item's timeout counts from when its function starts running.

In Elixir a task runs the moment it is spawned, so an item's timeout is the time it is
allowed to execute. A function in a thread or process pool may first wait for a worker: that
wait is not timed. Without ``max_concurrency``, a stream runs as many items at once as its
executor has workers.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import pytest

from support import SAFETY_SLOW, reply
from taskvisor import Exit, Ok, ProcessPool, Task, ThreadPool, set_default_executor
from taskvisor.testing import default_thread_pool


def hang_or_return(item: int, release: threading.Event) -> int:
    if item == 0:
        release.wait(SAFETY_SLOW)  # the one that really runs too long
    return item


def hang_in_worker(item: int) -> int:
    if item == 0:
        while True:  # killed by its timeout (SIGKILL of the worker)
            pass
    return item


class TestTimedFromTheStart:
    async def test_thread_calls_waiting_for_a_worker_are_not_timed(self) -> None:
        """One worker, three items: 1 and 2 wait in the queue while 0 runs past its
        timeout; they are not timed while they wait, and succeed once they run."""
        release = threading.Event()
        pool = ThreadPool(1)
        try:
            results = [
                r
                async for r in Task.async_stream(
                    range(3),
                    lambda i: hang_or_return(i, release),
                    executor=pool,
                    max_concurrency=3,
                    timeout=0.5,
                    on_timeout="kill_task",
                )
            ]
        finally:
            release.set()
            pool.shutdown()
        assert results == [Exit("timeout"), Ok(1), Ok(2)]

    async def test_process_calls_waiting_for_a_worker_are_not_timed(self) -> None:
        with ProcessPool(1) as pool:
            results = [
                r
                async for r in Task.async_stream(
                    range(3),
                    hang_in_worker,
                    executor=pool,
                    max_concurrency=3,
                    timeout=1.0,
                    on_timeout="kill_task",
                )
            ]
        assert results == [Exit("timeout"), Ok(1), Ok(2)]

    async def test_a_coroutine_on_the_loop_is_timed_from_its_spawn(self) -> None:
        async def slow(i: int) -> int:
            await asyncio.Event().wait()
            return i

        results = [
            r async for r in Task.async_stream([1], slow, timeout=0.01, on_timeout="kill_task")
        ]
        assert results == [Exit("timeout")]


class TestDefaultConcurrency:
    def _max(self, stream: Any) -> int:
        return int(repr(stream).rsplit("max_concurrency=", 1)[1].rstrip(">"))

    def test_a_pool_sets_the_default(self) -> None:
        assert self._max(Task.async_stream([1], abs, executor=ThreadPool(3))) == 3
        assert self._max(Task.async_stream([1], abs, executor=ProcessPool(5))) == 5

    def test_plain_functions_default_to_the_shared_thread_pool(self) -> None:
        assert self._max(Task.async_stream([1], abs)) == default_thread_pool().max_workers
        assert self._max(Task.async_stream([1], abs, executor="thread")) == (
            default_thread_pool().max_workers
        )

    def test_coroutines_on_the_loop_default_to_the_cpu_count(self) -> None:
        assert self._max(Task.async_stream([1], reply)) == (os.cpu_count() or 1)

    def test_the_default_follows_set_default_executor(self) -> None:
        previous = default_thread_pool()
        try:
            set_default_executor("thread", ThreadPool(7))
            assert self._max(Task.async_stream([1], abs)) == 7
        finally:
            set_default_executor("thread", previous)

    @pytest.mark.parametrize("given", [1, 50])
    def test_an_explicit_value_wins(self, given: int) -> None:
        assert self._max(Task.async_stream([1], abs, max_concurrency=given)) == given
