"""A waiting async input never holds back a finished result.

While the consumer waits, the stream waits for the next input and for its running tasks at
the same time, and hands over whichever comes first; it stays lazy: input is pulled only
while the consumer waits and a slot is free. A self-feeding crawler (its input is fed by its
own results) works.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from support import SAFETY, reply, settle
from taskvisor import MaxChildrenError, Ok, Process, Task, TaskSupervisor


class TestWaitingInput:
    async def test_a_ready_result_is_handed_out_while_the_input_waits(self) -> None:
        """Before the fix the consumer awaited the input itself: the first result waited for
        the second item, which only comes once the first result is seen (a deadlock)."""
        seen_first = asyncio.Event()

        async def source() -> AsyncIterator[int]:
            yield 1
            await seen_first.wait()  # a queue, a socket: it waits for the outside world
            yield 2

        results = []
        async with asyncio.timeout(SAFETY):
            async for result in Task.async_stream(source(), reply, max_concurrency=4):
                results.append(result)
                seen_first.set()
        assert results == [Ok(1), Ok(2)]

    @pytest.mark.parametrize("ordered", [True, False])
    async def test_a_self_feeding_crawler(self, ordered: bool) -> None:
        """A frontier fed by the stream's own results: every page once, then the end."""
        links = {"/": ["/a", "/b"], "/a": ["/a/1", "/a/2"], "/b": ["/b/1"], "/a/1": ["/"]}
        frontier: asyncio.Queue[str | None] = asyncio.Queue()
        frontier.put_nowait("/")
        seen = {"/"}
        pending = 1  # pages pulled or queued whose links are not yet known

        async def pages() -> AsyncIterator[str]:
            while (url := await frontier.get()) is not None:
                yield url

        async def fetch(url: str) -> list[str]:
            await asyncio.sleep(0)
            return links.get(url, [])

        crawled = []
        stream = Task.async_stream(pages(), fetch, max_concurrency=2, ordered=ordered)
        async with asyncio.timeout(SAFETY), stream:
            async for result in stream:
                assert isinstance(result, Ok)
                crawled.append(result.value)
                pending -= 1
                for link in result.value:
                    if link not in seen:
                        seen.add(link)
                        pending += 1
                        frontier.put_nowait(link)
                if pending == 0:
                    frontier.put_nowait(None)  # the frontier is empty: end the input
        assert len(crawled) == len(seen) == 6

    async def test_a_result_and_the_next_item_in_the_same_turn_lose_neither(self) -> None:
        release = asyncio.Event()

        async def source() -> AsyncIterator[int]:
            for i in range(6):
                if i % 2:
                    await release.wait()
                yield i

        async def work(i: int) -> int:
            release.set()
            await asyncio.sleep(0)
            release.clear()
            return i

        async with asyncio.timeout(SAFETY):
            got = [r async for r in Task.async_stream(source(), work, max_concurrency=2)]
        assert got == [Ok(i) for i in range(6)]


class TestLaziness:
    async def test_input_is_pulled_only_while_the_consumer_waits_and_a_slot_is_free(
        self,
    ) -> None:
        pulled: list[int] = []

        async def source() -> AsyncIterator[int]:
            for i in range(100):
                pulled.append(i)
                yield i

        stream = Task.async_stream(source(), reply, max_concurrency=3)
        async with stream:
            first = await anext(stream)
            assert first == Ok(0)
            count = len(pulled)
            assert count <= 3 + 1  # the free slots when the consumer waited (one pull may run on)
            await settle(20)  # the consumer does not wait: nothing more is pulled
            assert len(pulled) == count
        assert len(pulled) == count  # closing pulls nothing either

    async def test_break_pulls_no_more_than_the_slots(self) -> None:
        pulled: list[int] = []

        async def source() -> AsyncIterator[int]:
            for i in range(100):
                pulled.append(i)
                yield i

        async with Task.async_stream(source(), reply, max_concurrency=2) as stream:
            async for _ in stream:
                break
        assert len(pulled) <= 3

    async def test_a_sync_iterable_is_pulled_inline(self) -> None:
        """The consumer pulls a sync input itself: no other task ever runs its code."""
        tasks: set[asyncio.Task[Any] | None] = set()

        def source() -> Any:
            for i in range(5):
                tasks.add(asyncio.current_task())
                yield i

        me = asyncio.current_task()
        got = [r async for r in Task.async_stream(source(), reply, max_concurrency=2)]
        assert got == [Ok(i) for i in range(5)]
        assert tasks == {me}

    async def test_an_async_input_runs_in_one_task_for_all_its_pulls(self) -> None:
        tasks: list[asyncio.Task[Any] | None] = []
        release = asyncio.Event()

        async def source() -> AsyncIterator[int]:
            for i in range(4):
                tasks.append(asyncio.current_task())
                if i == 2:
                    await release.wait()
                yield i

        async def work(i: int) -> int:
            if i == 1:
                release.set()
            return i

        async with asyncio.timeout(SAFETY):
            got = [r async for r in Task.async_stream(source(), work, max_concurrency=2)]
        assert got == [Ok(i) for i in range(4)]
        assert len(set(tasks)) == 1 and tasks[0] is not asyncio.current_task()


class TestClosing:
    async def test_closing_cancels_a_waiting_pull_and_closes_the_input(self) -> None:
        closed = asyncio.Event()

        async def source() -> AsyncIterator[int]:
            try:
                yield 1
                await asyncio.Event().wait()  # never comes
                yield 2
            finally:
                closed.set()

        async with asyncio.timeout(SAFETY):
            async with Task.async_stream(source(), reply) as stream:
                assert await anext(stream) == Ok(1)
            assert closed.is_set()

    async def test_an_input_error_stops_the_running_tasks_then_is_raised(self) -> None:
        started = asyncio.Event()
        pids: list[Any] = []

        async def source() -> AsyncIterator[int]:
            yield 1
            await started.wait()
            raise ValueError("bad input")

        async def work(i: int) -> int:
            pids.append(Process.self())
            started.set()
            await asyncio.Event().wait()
            return i

        with pytest.raises(ValueError, match="bad input"):
            async with asyncio.timeout(SAFETY):
                async for _ in Task.async_stream(source(), work):
                    pass
        assert pids and not Process.alive(pids[0])

    async def test_a_supervisors_stream_over_a_waiting_input(self) -> None:
        more = asyncio.Event()

        async def source() -> AsyncIterator[int]:
            yield 1
            await more.wait()
            yield 2

        async with TaskSupervisor() as sup:
            got = []
            async with asyncio.timeout(SAFETY):
                async for result in sup.async_stream_nolink(source(), reply):
                    got.append(result)
                    more.set()
            assert got == [Ok(1), Ok(2)]
            assert sup.children() == []

    async def test_max_children_with_an_async_input_closes_the_stream_then_raises(self) -> None:
        async def source() -> AsyncIterator[int]:
            for i in range(3):
                yield i

        async def work(i: int) -> int:
            await asyncio.Event().wait()
            return i

        async with TaskSupervisor(max_children=1) as sup:
            with pytest.raises(MaxChildrenError):
                async with asyncio.timeout(SAFETY):
                    async for _ in sup.async_stream(source(), work, max_concurrency=3):
                        pass
            await settle()
            assert sup.children() == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is 3.12+")
class TestEagerTaskFactory:
    async def test_an_async_input_that_never_waits_under_an_eager_task_factory(self) -> None:
        """Under an eager task factory the feeder runs inside `want`, before the consumer
        waits: what it pulled, its end and its error must not wait for a wake-up that never
        comes (before the fix, the stream hung)."""
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]

        async def ready(n: int) -> AsyncIterator[int]:
            for i in range(n):
                yield i

        async def failing() -> AsyncIterator[int]:
            yield 1
            raise KeyError("input")

        for concurrency in (1, 3):
            async with Task.async_stream(ready(5), reply, max_concurrency=concurrency) as s:
                got = [r async for r in s]
            assert got == [Ok(i) for i in range(5)]
        with pytest.raises(KeyError, match="input"):
            async with Task.async_stream(failing(), reply) as s:
                async for _ in s:
                    pass
