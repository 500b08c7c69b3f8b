"""The executor interface: where a function runs, and how taskvisor's stops reach it there.

An `Executor` starts a call; taskvisor turns an exit signal into a polite `Call.stop` (the
call may still finish) and a kill, or anyone else's cancel, into `Call.kill`. These tests use
a recording executor built on real asyncio futures, the thread pool, and the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest

from support import SAFETY_SLOW, logged_warnings, settle
from taskvisor import (
    Executor,
    Exit,
    Ok,
    Process,
    ProcessPool,
    Task,
    TaskSupervisor,
    ThreadPool,
    set_default_executor,
)
from taskvisor.testing import default_thread_pool


class Recording(Executor):
    """Runs nothing: each call's future is resolved by the test; stops are recorded."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> RecordedCall:
        call = RecordedCall(fn, args)
        self.calls.append(call)
        return call


class RecordedCall:
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.fn, self.args = fn, args
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.log: list[str] = []

    def stop(self) -> None:
        self.log.append("stop")

    def kill(self) -> None:
        self.log.append("kill")
        self.future.cancel()


def work(x: int) -> int:
    return x * 2


class TestTheInterface:
    async def test_a_call_s_value_is_the_task_s_reply(self) -> None:
        executor = Recording()
        task = Task.async_(work, 21, executor=executor)
        await settle()
        [call] = executor.calls
        assert (call.fn, call.args) == (work, (21,))
        call.future.set_result(42)
        assert await Task.await_(task) == 42
        assert call.log == []

    async def test_a_call_s_exception_is_the_task_s_crash(self) -> None:
        executor = Recording()
        async with TaskSupervisor() as sup:
            task = sup.async_nolink(work, 1, executor=executor)
            await settle()
            error = ValueError("in the call")
            executor.calls[0].future.set_exception(error)
            assert await Task.yield_(task, SAFETY_SLOW) == Exit(error)

    async def test_an_exit_signal_is_a_polite_stop_and_the_call_may_still_finish(self) -> None:
        """The process's fate is sealed ("shutdown"), but it ends when the call does."""
        executor = Recording()
        pid = Task.start(work, 1, executor=executor)
        await settle()
        [call] = executor.calls
        Process.exit(pid, "shutdown")
        await settle()
        assert call.log == ["stop"]
        assert Process.alive(pid)  # waiting for the call, as a thread would be waited for
        Process.flag("trap_exit", True)
        Process.link(pid)
        call.future.set_result(2)
        assert await Process.receive_exit(SAFETY_SLOW) == (pid, "shutdown")

    async def test_a_kill_after_the_shutdown_timeout_kills_the_call(self) -> None:
        executor = Recording()
        task = Task.async_(work, 1, executor=executor)
        await settle()
        [call] = executor.calls
        assert await Task.shutdown(task, 0.01) == Exit("killed")
        assert call.log == ["stop", "kill"]

    async def test_brutal_kill_kills_the_call_at_once(self) -> None:
        executor = Recording()
        task = Task.async_(work, 1, executor=executor)
        await settle()
        assert await Task.shutdown(task, "brutal_kill") is None
        assert executor.calls[0].log == ["kill"]

    async def test_a_stream_timeout_kills_the_call(self) -> None:
        executor = Recording()
        stream = Task.async_stream([1], work, timeout=0.01, on_timeout="kill_task",
                                   executor=executor)  # fmt: skip
        assert [r async for r in stream] == [Exit("timeout")]
        assert executor.calls[0].log == ["kill"]

    async def test_someone_else_s_cancel_kills_the_call_and_goes_on(self) -> None:
        executor = Recording()
        started = asyncio.Event()

        async def inner() -> None:
            started.set()
            await executor.run(work, (1,))

        runner = asyncio.ensure_future(inner())
        await started.wait()
        await settle()
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
        assert executor.calls[0].log == ["kill"]

    async def test_a_supervisor_s_executor_is_its_children_s_default(self) -> None:
        executor = Recording()
        async with TaskSupervisor(executor=executor) as sup:
            task = sup.async_(work, 1)
            other = sup.async_(work, 2, executor="thread")  # a call can still choose
            await settle()
            assert [c.args for c in executor.calls] == [(1,)]
            executor.calls[0].future.set_result("recorded")
            assert await Task.await_many([task, other], SAFETY_SLOW) == ["recorded", 4]

    async def test_child_spec_keeps_the_executor(self) -> None:
        executor = Recording()
        spec = Task.child_spec(work, 5, executor=executor)
        start, args = spec.start
        pid = start(*args)
        await settle()
        assert executor.calls[0].args == (5,)
        executor.calls[0].future.set_result(10)
        await settle()
        assert not Process.alive(pid)


class TestThreads:
    async def test_plain_functions_run_in_a_thread_with_the_caller_s_context(self) -> None:
        var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
        var.set("caller's")

        def where() -> tuple[bool, str]:
            return threading.current_thread() is threading.main_thread(), var.get()

        assert await Task.await_(Task.async_(where)) == (False, "caller's")
        assert await Task.await_(Task.async_(where, executor="loop")) == (True, "caller's")

    async def test_a_pool_of_its_own_bounds_its_calls(self) -> None:
        pool = ThreadPool(max_workers=1)
        gate, entered = threading.Event(), threading.Semaphore(0)

        def hold() -> None:
            entered.release()
            gate.wait(SAFETY_SLOW)

        try:
            tasks = [Task.async_(hold, executor=pool) for _ in range(2)]
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, entered.acquire, True, SAFETY_SLOW)
            assert not await loop.run_in_executor(None, entered.acquire, True, 0.05)
            gate.set()
            assert await Task.await_many(tasks, SAFETY_SLOW) == [None, None]
        finally:
            gate.set()
            pool.shutdown()

    async def test_a_coroutine_function_in_a_thread_is_cancelled_by_a_polite_stop(self) -> None:
        started, cleaned = threading.Event(), threading.Event()

        async def runs_in_its_own_loop() -> None:
            started.set()
            try:
                await asyncio.sleep(SAFETY_SLOW)
            finally:
                cleaned.set()

        task = Task.async_(runs_in_its_own_loop, executor="thread")
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, started.wait, SAFETY_SLOW)
        assert await Task.shutdown(task, SAFETY_SLOW) is None  # stopped as asked
        assert cleaned.is_set()

    async def test_a_killed_thread_call_reports_killed_and_drops_its_late_result(self) -> None:
        started, go = threading.Event(), threading.Event()

        def blocks() -> str:
            started.set()
            go.wait(SAFETY_SLOW)
            return "late"

        async with TaskSupervisor() as sup:
            task = sup.async_nolink(blocks, shutdown=0.01)
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, started.wait, SAFETY_SLOW)
            try:
                with logged_warnings(re.escape(repr(task.pid))):
                    assert await Task.shutdown(task, 0.01) == Exit("killed")
            finally:
                go.set()
            assert sup.children() == []

    @pytest.mark.parametrize("bad", [0, -1, True, 1.5, "4"])
    def test_a_bad_pool_size_is_refused_naming_it(self, bad: Any) -> None:
        with pytest.raises((TypeError, ValueError), match="max_workers"):
            ThreadPool(bad)


class TestChoosing:
    @pytest.mark.parametrize("bad", ["cluster", 1, object(), ThreadPool])
    async def test_an_unknown_executor_is_refused_naming_it(self, bad: Any) -> None:
        with pytest.raises(ValueError, match="executor"):
            Task.async_(work, 1, executor=bad)
        with pytest.raises(ValueError, match="executor"):
            TaskSupervisor(executor=bad)

    async def test_ok_results_are_the_same_wherever_the_function_runs(self) -> None:
        stream = Task.async_stream([1, 2, 3], work, executor="thread")
        assert [r async for r in stream] == [Ok(2), Ok(4), Ok(6)]


class TestDefaults:
    async def test_the_default_thread_pool_can_be_replaced(self) -> None:
        before = default_thread_pool()
        mine = ThreadPool(max_workers=2)
        set_default_executor("thread", mine)
        try:
            names = await Task.await_(Task.async_(lambda: threading.current_thread().name))
            assert default_thread_pool() is mine
            assert names.startswith("taskvisor")
        finally:
            set_default_executor("thread", before)
            mine.shutdown()

    @pytest.mark.parametrize(
        ("kind", "executor", "error"),
        [
            ("gpu", ThreadPool(1), ValueError),
            ("thread", ProcessPool(1), TypeError),
            ("process", ThreadPool(1), TypeError),
        ],
    )
    def test_a_wrong_default_is_refused_naming_it(
        self, kind: Any, executor: Any, error: type[Exception]
    ) -> None:
        with pytest.raises(error, match=r"kind|executor"):
            set_default_executor(kind, executor)
