"""The loop watchdog: real loops, real blocking (``time.sleep`` in a coroutine), no mocks.

The only timing these tests rely on is that a step blocking the loop for ten thresholds is
reported, and that steps far shorter than the threshold are not. Waiting for the watchdog's
records is event-driven (poll until the record is there), never a timed assertion.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable

import pytest

from taskvisor import LoopWatchdog, Task

THRESHOLD = 0.1
BLOCK = 10 * THRESHOLD
RECORD_DEADLINE = 30.0
"""Seconds to wait for a record the watchdog thread writes (generous: a slow, noisy machine)."""


async def block(seconds: float) -> str:
    time.sleep(seconds)  # the mistake the watchdog is for
    return "done"


BLOCK_FN = f"{__name__}.block"


def block_callback() -> None:
    time.sleep(BLOCK)


def watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "taskvisor loop watchdog"]


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="taskvisor")
    return caplog


def records_about(
    caplog: pytest.LogCaptureFixture, function: str, level: int
) -> list[logging.LogRecord]:
    """The watchdog's records about `function` (other steps a noisy machine stalls are not ours)."""
    return [
        r for r in caplog.records if r.levelno == level and getattr(r, "function", None) == function
    ]


async def wait_until(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + RECORD_DEADLINE
    while not done():
        assert time.monotonic() < deadline, "waited in vain"
        await asyncio.sleep(0.01)


async def episodes_ended(caplog: pytest.LogCaptureFixture, function: str, count: int) -> None:
    """Wait for the watchdog's INFO that the `count`-th episode of `function` has ended."""
    await wait_until(lambda: len(records_about(caplog, function, logging.INFO)) >= count)


class TestWhatItNames:
    async def test_a_blocking_process_is_named_with_its_pid_function_line_and_advice(
        self, caplog_info: pytest.LogCaptureFixture
    ) -> None:
        async with LoopWatchdog(THRESHOLD):
            task = Task.async_(block, BLOCK)
            assert await Task.await_(task) == "done"
            await episodes_ended(caplog_info, BLOCK_FN, 1)
        [warning] = records_about(caplog_info, BLOCK_FN, logging.WARNING)
        [ended] = records_about(caplog_info, BLOCK_FN, logging.INFO)
        message = warning.getMessage()
        assert message.startswith(f"<process {task.pid!r} {BLOCK_FN} running> has blocked the ")
        assert 'executor="thread"' in message and 'executor="process"' in message
        assert warning.name == "taskvisor"
        assert warning.task_pid == task.pid  # type: ignore[attr-defined]
        assert isinstance(warning.task, asyncio.Task)  # type: ignore[attr-defined]
        assert warning.blocked_for >= THRESHOLD  # type: ignore[attr-defined]
        location: str = warning.location  # type: ignore[attr-defined]
        assert location.startswith("test_watchdog.py:") and location.endswith(", block")
        assert f"(in {location})" in message
        assert "time.sleep(seconds)" in warning.stack  # type: ignore[attr-defined]
        assert ended.blocked_for >= warning.blocked_for  # type: ignore[attr-defined]
        assert "let the event loop run again" in ended.getMessage()

    async def test_a_plain_asyncio_task_is_named_by_its_name_and_coroutine(
        self, caplog_info: pytest.LogCaptureFixture
    ) -> None:
        async with LoopWatchdog(THRESHOLD):
            plain = asyncio.create_task(block(BLOCK), name="cruncher")
            await plain
            await episodes_ended(caplog_info, BLOCK_FN, 1)
        [warning] = records_about(caplog_info, BLOCK_FN, logging.WARNING)
        assert warning.getMessage().startswith(
            f"asyncio task 'cruncher' (coroutine {BLOCK_FN}) has blocked the event loop"
        )
        assert warning.task is plain  # type: ignore[attr-defined]
        assert warning.task_pid is None  # type: ignore[attr-defined]

    async def test_the_task_that_starts_it_is_watched_from_the_first_moment(
        self, caplog_info: pytest.LogCaptureFixture
    ) -> None:
        """It blocks before the loop ever answered a ping, and is still found, line and all."""
        name = "test_the_task_that_starts_it_is_watched_from_the_first_moment"
        function = f"{__name__}.{type(self).__name__}.{name}"
        async with LoopWatchdog(THRESHOLD):
            time.sleep(BLOCK)
            await episodes_ended(caplog_info, function, 1)
        [warning] = records_about(caplog_info, function, logging.WARNING)
        assert warning.task is asyncio.current_task()  # type: ignore[attr-defined]
        assert warning.location.endswith(f", {name}")  # type: ignore[attr-defined]

    async def test_a_blocking_callback_outside_any_task_is_named(
        self, caplog_info: pytest.LogCaptureFixture
    ) -> None:
        function = f"{__name__}.block_callback"
        async with LoopWatchdog(THRESHOLD):
            asyncio.get_running_loop().call_soon(block_callback)
            await episodes_ended(caplog_info, function, 1)
        [warning] = records_about(caplog_info, function, logging.WARNING)
        assert warning.getMessage().startswith(f"the callback {function} (outside any task)")
        assert warning.task is None and warning.task_pid is None  # type: ignore[attr-defined]


class TestWhenItWarns:
    async def test_one_warning_per_blocking_episode(
        self, caplog_info: pytest.LogCaptureFixture
    ) -> None:
        """Ten thresholds of blocking is one episode, however many pings went unanswered."""
        with LoopWatchdog(THRESHOLD):
            for episode in (1, 2):
                await Task.await_(Task.async_(block, BLOCK))
                await episodes_ended(caplog_info, BLOCK_FN, episode)
        assert len(records_about(caplog_info, BLOCK_FN, logging.WARNING)) == 2
        assert len(records_about(caplog_info, BLOCK_FN, logging.INFO)) == 2

    async def test_nothing_when_no_step_blocks_long(
        self, caplog_info: pytest.LogCaptureFixture
    ) -> None:
        async with LoopWatchdog(1.0) as watchdog:
            for _ in range(20):
                time.sleep(0.02)  # short blocking, far below the threshold
                await asyncio.sleep(0.01)
            assert watchdog.running
        assert [r for r in caplog_info.records if r.levelno >= logging.INFO] == []

    async def test_a_busy_loop_of_short_steps_is_not_blamed_on_one_of_them(
        self, caplog_info: pytest.LogCaptureFixture
    ) -> None:
        """400 tasks of 1 ms steps: a turn of the loop takes longer than the threshold, so
        pings go unanswered, but no single step holds the loop and none is reported."""

        async def short_steps() -> None:
            for _ in range(4):
                time.sleep(0.001)
                await asyncio.sleep(0)

        async with LoopWatchdog(0.3):
            await asyncio.gather(*(short_steps() for _ in range(400)))
        assert [r for r in caplog_info.records if r.levelno >= logging.WARNING] == []


class TestLifecycle:
    async def test_stop_ends_the_thread(self) -> None:
        watchdog = LoopWatchdog(THRESHOLD)
        watchdog.start()
        watchdog.start()  # already running: nothing more
        assert watchdog.running and len(watchdog_threads()) == 1
        watchdog.stop()
        assert not watchdog.running and watchdog_threads() == []
        watchdog.stop()  # already stopped: nothing happens

    async def test_it_can_be_started_again_after_a_stop(self) -> None:
        watchdog = LoopWatchdog(THRESHOLD)
        for _ in range(2):
            with watchdog:
                assert watchdog.running and len(watchdog_threads()) == 1
            assert watchdog_threads() == []

    async def test_leaving_the_block_on_a_cancellation_stops_it(self) -> None:
        async def watched() -> None:
            async with LoopWatchdog(THRESHOLD):
                await asyncio.Event().wait()

        task = asyncio.create_task(watched())
        await wait_until(lambda: len(watchdog_threads()) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert watchdog_threads() == []

    def test_its_thread_ends_when_its_loop_is_closed(self) -> None:
        loop = asyncio.new_event_loop()
        watchdog = LoopWatchdog(THRESHOLD, loop=loop)
        watchdog.start()  # from outside the loop: allowed when the loop is given
        loop.run_until_complete(asyncio.sleep(THRESHOLD))
        loop.close()
        deadline = time.monotonic() + RECORD_DEADLINE
        while watchdog.running:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert watchdog_threads() == []

    def test_start_without_a_running_loop_says_what_it_needs(self) -> None:
        with pytest.raises(RuntimeError, match="running event loop"):
            LoopWatchdog().start()


class TestBadArguments:
    @pytest.mark.parametrize("threshold", [0, -1, -0.5, math.nan, math.inf])
    def test_threshold_must_be_positive_and_finite(self, threshold: float) -> None:
        with pytest.raises(ValueError, match="threshold"):
            LoopWatchdog(threshold)

    @pytest.mark.parametrize("threshold", ["0.1", None, True])
    def test_threshold_must_be_a_number(self, threshold: object) -> None:
        with pytest.raises(TypeError, match="threshold"):
            LoopWatchdog(threshold)  # type: ignore[arg-type]

    def test_loop_must_be_an_event_loop(self) -> None:
        with pytest.raises(TypeError, match="loop"):
            LoopWatchdog(loop="main")  # type: ignore[arg-type]
