"""The process model (DESIGN §1): links, trap_exit, the three rules, stopping, pids.

Every test orders its steps with events and observes deaths through taskvisor's own channels
(a monitor read with `Task.yield_`, or a trapping process that links to the one it watches
and reads `Process.receive_exit`), never through elapsed time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import subprocess
import sys
import textwrap
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from support import SAFETY, crash, forever, logged_warnings, reply, settle, wait_then
from taskvisor import Exit, Ok, Pid, Process, Task, TaskExit

T = TypeVar("T")


# -- helpers ------------------------------------------------------------------------------


async def crash_when(event: asyncio.Event, message: str = "oops") -> None:
    await event.wait()
    raise RuntimeError(message)


async def next_exit(timeout: float = SAFETY) -> tuple[Pid | None, Any]:
    """The next exit signal kept by the (trapping) caller; fails instead of returning None."""
    got = await Process.receive_exit(timeout)
    assert got is not None, "no exit signal arrived"
    return got


async def trap_and_ignore(ready: asyncio.Event) -> None:
    """Trap exits, then ignore every signal: only a kill stops this task."""
    Process.flag("trap_exit", True)
    ready.set()
    await forever()


async def swallow_cancels(ready: asyncio.Event) -> None:
    """A badly written coroutine: it swallows every cancellation, forever."""
    ready.set()
    while True:
        try:  # noqa: SIM105 - spelled out: this is the bad pattern under test
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass


async def swallow_everything(ready: asyncio.Event, swallowed: list[str]) -> None:
    """Worse: it swallows every cancellation and even the GeneratorExit of a close().

    It swallows only the first GeneratorExit: Python itself finalizes an abandoned coroutine
    with close(), and one that ignored that too would be reported as unraisable at GC.
    """
    ready.set()
    while True:
        try:
            await asyncio.Event().wait()
        except BaseException as exc:
            if isinstance(exc, GeneratorExit) and "GeneratorExit" in swallowed:
                raise
            swallowed.append(type(exc).__name__)


def is_oops(reason: Any, message: str = "oops") -> bool:
    return isinstance(reason, RuntimeError) and str(reason) == message


async def async_ready(fn: Callable[..., Awaitable[Any]], *args: Any) -> Task[Any]:
    """`Task.async_(fn, ready, *args)`, returned once `fn` has set `ready`.

    For the task functions above that take a `ready` event first (`trap_and_ignore`,
    `swallow_cancels`, `swallow_everything`): a fresh event is passed for it.
    """
    ready = asyncio.Event()
    t = Task.async_(fn, ready, *args)
    await ready.wait()
    return t


async def catch_a_linked_crash() -> Any:
    """Await a linked task that crashes, catch the TaskExit, and return its reason.

    The caller lives on, but its fate is sealed: it is doomed to exit with that reason.
    """
    t = Task.async_(crash)
    try:
        await Task.await_(t)
    except TaskExit as exc:
        return exc.reason
    raise AssertionError("the linked crash did not interrupt the await")


async def start_adopted(
    body: Callable[[], Awaitable[T]],
    create_task: Callable[[Any], asyncio.Task[T]] = asyncio.create_task,
) -> tuple[asyncio.Task[T], Pid]:
    """Start the user's own plain asyncio task running `body()`, adopted by taskvisor.

    The task first calls `Process.self()` (which adopts it), then runs `body()`. This returns
    its asyncio task and its pid once it is adopted and `body()` has run up to its first wait.
    `create_task` starts the asyncio task: `asyncio.create_task` or a TaskGroup's.
    """
    adopted = asyncio.Event()
    pids: list[Pid] = []

    async def user_task() -> T:
        pids.append(Process.self())
        adopted.set()
        return await body()

    aio = create_task(user_task())
    await adopted.wait()
    return aio, pids[0]


# -- a linked crash interrupts the owner ----------------------------------------------------


class TestLinkedCrashInterruptsOwner:
    async def test_owner_task_waiting_on_something_unrelated_dies_of_the_crash(self) -> None:
        """The owner is inside `await forever()`, not in a taskvisor call: it dies anyway."""
        Process.flag("trap_exit", True)
        ready, go = asyncio.Event(), asyncio.Event()
        got_past_the_wait: list[bool] = []

        async def owner() -> None:
            Task.async_(crash_when, go)
            ready.set()
            await forever()
            got_past_the_wait.append(True)

        o = Task.async_(owner)
        await ready.wait()
        go.set()
        result = await Task.yield_(o, SAFETY)
        assert isinstance(result, Exit), result
        assert is_oops(result.reason)
        assert got_past_the_wait == []
        assert await next_exit(0) == (o.pid, result.reason)

    async def test_started_owner_in_a_bare_event_wait_dies_with_the_same_reason(self) -> None:
        """`Task.start`ed owner, `start_link`ed crasher, owner in `asyncio.Event().wait()`."""
        Process.flag("trap_exit", True)
        ready, go = asyncio.Event(), asyncio.Event()
        pids: dict[str, Pid] = {}

        async def owner() -> None:
            pids["owner"] = Process.self()
            pids["crasher"] = Task.start_link(crash_when, go, "linked crash")
            ready.set()
            await asyncio.Event().wait()

        Task.start(owner)
        await ready.wait()
        Process.link(pids["owner"])
        go.set()
        pid, reason = await next_exit()
        assert pid == pids["owner"]
        assert is_oops(reason, "linked crash")
        assert not Process.alive(pids["owner"])

    async def test_owner_awaiting_another_task_gets_taskexit_with_the_crash_reason(self) -> None:
        """In a taskvisor wait on task A, a crash of linked task B raises TaskExit(B's reason)."""
        Process.flag("trap_exit", True)
        seen: dict[str, Any] = {}

        async def owner() -> None:
            slow = Task.async_(forever)
            Task.async_(crash)
            try:
                await Task.await_(slow, None)
            except TaskExit as exc:
                seen["reason"] = exc.reason
                raise

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)
        assert isinstance(result, Exit)
        assert is_oops(result.reason)
        assert seen["reason"] is result.reason

    async def test_adopted_asyncio_task_owner_ends_cancelled(self) -> None:
        """A plain asyncio task that started a linked task is cancelled by the task's crash."""
        Process.flag("trap_exit", True)
        go = asyncio.Event()

        async def owner() -> None:
            Task.async_(crash_when, go)
            await forever()

        aio, owner_pid = await start_adopted(owner)
        Process.link(owner_pid)
        go.set()
        done, _ = await asyncio.wait([aio], timeout=SAFETY)
        assert aio in done
        assert aio.cancelled()
        pid, reason = await next_exit()
        assert pid == owner_pid
        assert is_oops(reason)


# -- a sealed fate ------------------------------------------------------------------------


class TestSealedFate:
    async def test_owner_that_catches_the_crash_and_returns_still_dies_of_it(self) -> None:
        """Catching TaskExit and returning normally does not turn the exit into a reply."""
        Process.flag("trap_exit", True)
        seen: dict[str, Any] = {}

        async def owner() -> str:
            seen["caught"] = await catch_a_linked_crash()
            return "returned normally"

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)
        assert result == Exit(seen["caught"])
        assert is_oops(result.reason)
        # its link fires with the crash reason too
        assert await next_exit(0) == (o.pid, result.reason)

    async def test_an_adopted_owner_that_returns_normally_still_exits_with_the_crash(
        self,
    ) -> None:
        """Its asyncio task keeps the user's result; its links fire with the crash reason."""
        Process.flag("trap_exit", True)
        go = asyncio.Event()

        async def owner() -> str:
            await go.wait()
            with contextlib.suppress(TaskExit):
                await Task.await_(Task.async_(crash), SAFETY)
            return "the user's result"

        aio, owner_pid = await start_adopted(owner)
        Process.link(owner_pid)
        go.set()
        pid, reason = await next_exit()
        assert pid == owner_pid and is_oops(reason)
        assert aio.done() and aio.result() == "the user's result"

    async def test_every_further_taskvisor_call_of_a_doomed_process_raises_taskexit(self) -> None:
        Process.flag("trap_exit", True)
        main = Process.self()
        outcomes: dict[str, Any] = {}
        ran: list[str] = []

        async def mark(name: str) -> None:
            ran.append(name)

        async def owner() -> None:
            other = Task.async_(forever)
            outcomes["caught"] = await catch_a_linked_crash()

            async def stream_first() -> Any:
                async for r in Task.async_stream([1], mark):
                    return r

            calls: dict[str, Any] = {
                "Task.async_": lambda: Task.async_(mark, "async_"),
                "Task.start": lambda: Task.start(mark, "start"),
                "Task.start_link": lambda: Task.start_link(mark, "start_link"),
                "Task.ignore": lambda: Task.ignore(other),
                "Process.link": lambda: Process.link(main),
                "Task.await_": lambda: Task.await_(other),
                "Task.yield_": lambda: Task.yield_(other, 0),
                "Task.shutdown": lambda: Task.shutdown(other),
                "Task.await_many": lambda: Task.await_many([other]),
                "Task.yield_many": lambda: Task.yield_many([other], 0),
                "Process.receive_exit": lambda: Process.receive_exit(0),
                "Task.async_stream": stream_first,
            }
            for name, call in calls.items():
                try:
                    result = call()
                    if asyncio.iscoroutine(result):
                        result = await result
                    outcomes[name] = ("returned", result)
                except TaskExit as exc:
                    outcomes[name] = ("TaskExit", exc.reason)
                except BaseException as exc:  # pragma: no cover - a failure to report
                    outcomes[name] = ("raised", exc)
                    raise

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)
        assert isinstance(result, Exit)
        reason = outcomes.pop("caught")
        assert result.reason is reason
        assert outcomes == {name: ("TaskExit", reason) for name in outcomes}
        assert len(outcomes) == 12
        await settle()
        assert ran == []

    async def test_a_task_that_swallows_its_stop_and_returns_a_value_does_not_reply(
        self,
    ) -> None:
        ready = asyncio.Event()

        async def swallow_and_return() -> str:
            ready.set()
            try:  # noqa: SIM105 - spelled out: swallowing the stop is the point
                await forever()
            except asyncio.CancelledError:
                pass
            return "a value after the stop"

        t = Task.async_(swallow_and_return)
        await ready.wait()
        assert await Task.shutdown(t, SAFETY) is None  # it died of "shutdown", no Ok(value)

    async def test_a_doomed_process_cannot_unlink_to_escape_its_links(self) -> None:
        """Its links fire with its reason, whatever its code does after the signal."""
        Process.flag("trap_exit", True)
        main = Process.self()
        seen: dict[str, Any] = {}

        async def owner() -> None:
            seen["caught"] = await catch_a_linked_crash()
            try:
                Process.unlink(main)
            except TaskExit:
                seen["unlink"] = "TaskExit"

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)  # the link signal, if any, came with the DOWN
        assert isinstance(result, Exit)
        assert await Process.receive_exit(0) == (o.pid, seen["caught"])

    async def test_a_doomed_process_cannot_send_exit_signals(self) -> None:
        Process.flag("trap_exit", True)
        bystander = await async_ready(trap_and_ignore)
        seen: dict[str, Any] = {}

        async def owner() -> None:
            seen["caught"] = await catch_a_linked_crash()
            try:
                Process.exit(bystander.pid, "kill")
                seen["exit"] = "sent"
            except TaskExit:
                seen["exit"] = "TaskExit"

        o = Task.async_(owner)
        assert isinstance(await Task.yield_(o, SAFETY), Exit)
        await settle()
        alive = Process.alive(bystander.pid)
        await Task.shutdown(bystander, "brutal_kill")
        assert seen["exit"] == "TaskExit"
        assert alive


# -- trap_exit ----------------------------------------------------------------------------


class TestTrapExit:
    async def test_await_raises_the_reason_and_the_signal_is_queued(self) -> None:
        async def owner() -> tuple[Any, Any, Pid | None]:
            Process.flag("trap_exit", True)
            t = Task.async_(crash)
            try:
                await Task.await_(t, SAFETY)
            except TaskExit as exc:
                raised = exc
            await asyncio.sleep(0)  # not interrupted: no cancel is pending
            return raised, await Process.receive_exit(0), t.pid

        o = Task.async_(owner)
        raised, signal, task_pid = await Task.await_(o, SAFETY)
        assert isinstance(raised, TaskExit)
        assert is_oops(raised.reason)
        assert signal == (task_pid, raised.reason)

    async def test_yield_returns_exit_and_receive_exit_returns_pid_and_reason(self) -> None:
        async def owner() -> tuple[Any, Any, Pid | None]:
            Process.flag("trap_exit", True)
            t = Task.async_(crash)
            signal = await Process.receive_exit(SAFETY)
            await asyncio.sleep(0)
            return await Task.yield_(t, SAFETY), signal, t.pid

        result, signal, task_pid = await Task.await_(Task.async_(owner), SAFETY)
        assert isinstance(result, Exit)
        assert is_oops(result.reason)
        assert signal == (task_pid, result.reason)

    async def test_flag_returns_the_previous_value(self) -> None:
        assert Process.flag("trap_exit", True) is False
        assert Process.flag("trap_exit", True) is True
        assert Process.flag("trap_exit", False) is True
        assert Process.flag("trap_exit", False) is False

    async def test_trapping_owner_in_an_unrelated_wait_is_not_interrupted(self) -> None:
        Process.flag("trap_exit", True)
        ready, go, resume = asyncio.Event(), asyncio.Event(), asyncio.Event()
        pids: list[Pid] = []

        async def owner() -> Any:
            Process.flag("trap_exit", True)
            t = Task.async_(crash_when, go)
            pids.append(t.pid)  # type: ignore[arg-type]
            ready.set()
            await resume.wait()
            return await Process.receive_exit(0)

        o = Task.async_(owner)
        await ready.wait()
        Process.link(pids[0])  # the test watches the crash too, to know when it happened
        go.set()
        pid, reason = await next_exit()
        assert pid == pids[0]
        resume.set()
        assert await Task.yield_(o, SAFETY) == Ok((pids[0], reason))


# -- an owner's exit and its linked tasks -------------------------------------------------


class TestOwnerExitAndLinkedTasks:
    @pytest.mark.parametrize(
        "exit_with",
        [RuntimeError("owner crashed"), TaskExit("boom"), TaskExit(("shutdown", "bye"))],
        ids=["exception", "exit-reason", "shutdown-tuple"],
    )
    async def test_an_abnormal_owner_exit_stops_its_linked_tasks_with_the_same_reason(
        self, exit_with: BaseException
    ) -> None:
        Process.flag("trap_exit", True)
        ready, go = asyncio.Event(), asyncio.Event()
        pids: dict[str, Pid] = {}

        async def owner() -> None:
            pids["async_"] = Task.async_(forever).pid  # type: ignore[assignment]
            pids["start_link"] = Task.start_link(forever)
            ready.set()
            await go.wait()
            raise exit_with

        Task.start(owner)
        await ready.wait()
        Process.link(pids["async_"])
        Process.link(pids["start_link"])
        go.set()
        exits = dict([await next_exit(), await next_exit()])
        expected = exit_with.reason if isinstance(exit_with, TaskExit) else exit_with
        assert exits == {pids["async_"]: expected, pids["start_link"]: expected}

    async def test_an_owner_cancelled_from_outside_stops_its_linked_tasks_with_shutdown(
        self,
    ) -> None:
        Process.flag("trap_exit", True)
        ready = asyncio.Event()
        pids: list[Pid] = []

        async def owner() -> None:
            pids.append(Task.async_(forever).pid)  # type: ignore[arg-type]
            ready.set()
            await forever()

        aio = asyncio.create_task(owner())
        await ready.wait()
        Process.link(pids[0])
        aio.cancel()
        assert await next_exit() == (pids[0], "shutdown")

    async def test_a_trapping_linked_task_outlives_its_owner_and_reads_the_signal(self) -> None:
        Process.flag("trap_exit", True)
        ready, go = asyncio.Event(), asyncio.Event()
        pids: dict[str, Pid] = {}
        seen: asyncio.Queue[Any] = asyncio.Queue()

        async def child() -> None:
            Process.flag("trap_exit", True)
            ready.set()
            await seen.put(await Process.receive_exit(SAFETY))

        async def owner() -> None:
            pids["owner"] = Process.self()
            pids["child"] = Task.async_(child).pid  # type: ignore[assignment]
            await go.wait()
            raise RuntimeError("owner crashed")

        Task.start(owner)
        await ready.wait()
        Process.link(pids["child"])
        go.set()
        pid, reason = await asyncio.wait_for(seen.get(), SAFETY)
        assert pid == pids["owner"] and is_oops(reason, "owner crashed")
        assert await next_exit() == (pids["child"], "normal")  # it then ended on its own

    async def test_an_owner_crashing_before_its_task_started_means_it_never_runs(self) -> None:
        Process.flag("trap_exit", True)
        ran: list[bool] = []
        pids: list[Pid] = []

        async def side_effect() -> None:
            ran.append(True)

        async def owner() -> None:
            pids.append(Task.async_(side_effect).pid)  # type: ignore[arg-type]
            raise RuntimeError("crashed before yielding")

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)
        assert isinstance(result, Exit) and is_oops(result.reason, "crashed before yielding")
        await settle()
        assert ran == []
        assert not Process.alive(pids[0])

    async def test_a_normal_owner_exit_leaves_its_linked_tasks_running(self) -> None:
        Process.flag("trap_exit", True)
        ready, go = asyncio.Event(), asyncio.Event()
        pids: dict[str, Pid] = {}

        async def owner() -> str:
            pids["owner"] = Process.self()
            pids["async_"] = Task.async_(forever).pid  # type: ignore[assignment]
            pids["start_link"] = Task.start_link(forever)
            ready.set()
            await go.wait()
            return "done"

        Task.start(owner)
        await ready.wait()
        for pid in pids.values():
            Process.link(pid)
        go.set()
        assert await next_exit() == (pids["owner"], "normal")
        await settle()
        assert Process.alive(pids["async_"])
        assert Process.alive(pids["start_link"])
        assert await Process.receive_exit(0) is None
        Process.exit(pids["async_"], "kill")
        Process.exit(pids["start_link"], "kill")
        exits = dict([await next_exit(), await next_exit()])
        assert exits == {pids["async_"]: "killed", pids["start_link"]: "killed"}


# -- never lost to garbage collection -----------------------------------------------------


class TestNeverLostToGarbageCollection:
    async def test_unreferenced_processes_survive_gc_and_complete(self) -> None:
        """Each waits on a future only it references; asyncio alone could collect them all."""
        futures: weakref.WeakSet[asyncio.Future[None]] = weakref.WeakSet()
        completed: list[tuple[str, int]] = []
        all_waiting = asyncio.Event()
        per_kind = 5
        total = 3 * per_kind

        async def hold(kind: str, i: int) -> None:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            futures.add(future)
            if len(futures) == total:
                all_waiting.set()
            await future
            completed.append((kind, i))

        for i in range(per_kind):
            Task.start(hold, "start", i)
            Task.start_link(hold, "start_link", i)
            Task.async_(hold, "async_", i)  # the Task object is dropped at once
        await all_waiting.wait()
        for _ in range(3):
            gc.collect()
        assert len(futures) == total, "a process was garbage-collected while it waited"
        for future in list(futures):
            future.set_result(None)
        await settle(10)
        expected = {
            (kind, i) for kind in ("start", "start_link", "async_") for i in range(per_kind)
        }
        assert set(completed) == expected
        assert len(completed) == total


# -- stopping escalates -------------------------------------------------------------------


class TestStoppingEscalates:
    async def test_shutdown_of_a_cooperative_task_returns_none(self) -> None:
        t = Task.async_(forever)
        await asyncio.sleep(0)
        assert await Task.shutdown(t, SAFETY) is None
        assert not Process.alive(t.pid)  # type: ignore[arg-type]

    async def test_a_trapping_task_gets_the_shutdown_signal_and_may_finish(self) -> None:
        ready = asyncio.Event()
        got: list[Any] = []

        async def polite() -> None:
            Process.flag("trap_exit", True)
            ready.set()
            signal = await Process.receive_exit(SAFETY)
            got.append(signal)
            raise TaskExit(signal[1] if signal else "no signal")

        t = Task.async_(polite)
        await ready.wait()
        assert await Task.shutdown(t, SAFETY) is None
        assert got == [(Process.self(), "shutdown")]

    async def test_a_trapping_task_that_ignores_the_signal_is_killed_after_the_timeout(
        self,
    ) -> None:
        t = await async_ready(trap_and_ignore)
        assert await Task.shutdown(t, 0.01) == Exit("killed")
        assert not Process.alive(t.pid)  # type: ignore[arg-type]

    async def test_the_kill_after_the_timeout_happens_even_if_the_caller_is_interrupted(
        self,
    ) -> None:
        t = await async_ready(trap_and_ignore)

        async def watch(pid: Pid) -> Any:
            Process.flag("trap_exit", True)
            Process.link(pid)
            return await Process.receive_exit(SAFETY)

        watcher = Task.async_(watch, t.pid)
        await settle()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0):
                await Task.shutdown(t, 0.01)  # interrupted at once, from outside
        assert await Task.await_(watcher, SAFETY) == (t.pid, "killed")

    async def test_a_coroutine_swallowing_cancels_is_killed_with_a_warning_naming_it(
        self,
    ) -> None:
        t = await async_ready(swallow_cancels)
        pattern = (
            re.escape(repr(t.pid)) + r".*swallow_cancels|swallow_cancels.*" + re.escape(repr(t.pid))
        )
        with logged_warnings(pattern):
            async with asyncio.timeout(30):
                result = await Task.shutdown(t, 0.01)
        assert result == Exit("killed")
        assert not Process.alive(t.pid)  # type: ignore[arg-type]

    async def test_brutal_kill_of_a_coroutine_swallowing_cancels(self) -> None:
        t = await async_ready(swallow_cancels)
        with logged_warnings("swallow_cancels"):
            async with asyncio.timeout(30):
                result = await Task.shutdown(t, "brutal_kill")
        assert result is None
        assert not Process.alive(t.pid)  # type: ignore[arg-type]

    @pytest.mark.parametrize("how", ["brutal_kill", "timeout"])
    async def test_a_coroutine_swallowing_even_generator_exit_ends_up_dead(self, how: str) -> None:
        swallowed: list[str] = []
        t = await async_ready(swallow_everything, swallowed)
        with logged_warnings("swallow_everything"):
            async with asyncio.timeout(30):
                result = await Task.shutdown(t, "brutal_kill" if how == "brutal_kill" else 0.01)
        assert result == (None if how == "brutal_kill" else Exit("killed"))
        assert not Process.alive(t.pid)  # type: ignore[arg-type]
        assert "GeneratorExit" in swallowed  # it really did swallow the close

    async def test_process_exit_kill_of_a_started_process_swallowing_everything(self) -> None:
        Process.flag("trap_exit", True)
        ready = asyncio.Event()
        swallowed: list[str] = []
        pid = Task.start(swallow_everything, ready, swallowed)
        await ready.wait()
        Process.link(pid)
        with logged_warnings(re.escape(repr(pid))):
            Process.exit(pid, "kill")
            got = await next_exit(30)
        assert got == (pid, "killed")
        assert not Process.alive(pid)

    @pytest.mark.parametrize("how", ["brutal_kill", "timeout"])
    async def test_stopping_a_function_in_a_thread_abandons_it_with_a_warning(
        self, how: str
    ) -> None:
        """A thread cannot be stopped: after its timeout the process is killed and abandons
        the thread, with a warning that names the process; the late result is dropped."""
        started, go = threading.Event(), threading.Event()

        def blocking_in_thread() -> int:
            started.set()
            go.wait(SAFETY)
            return 1

        t = Task.async_(blocking_in_thread)
        assert await asyncio.get_running_loop().run_in_executor(None, started.wait, SAFETY)
        try:
            with logged_warnings(re.escape(repr(t.pid))) as warned:
                result = await Task.shutdown(t, "brutal_kill" if how == "brutal_kill" else 0.05)
        finally:
            go.set()
        assert "blocking_in_thread" in warned[0].getMessage()
        assert "runs on" in warned[0].getMessage()
        assert warned[0].action == "abandoned_thread"  # type: ignore[attr-defined]
        assert warned[0].task_pid == t.pid  # type: ignore[attr-defined]
        # Elixir's table: killed is a clean stop only for brutal_kill; after a timeout it is Exit
        assert result == (None if how == "brutal_kill" else Exit("killed"))
        assert not Process.alive(t.pid)  # type: ignore[arg-type]


# -- own cancels only ---------------------------------------------------------------------


def _waits(t: Task[Any]) -> dict[str, Any]:
    return {
        "await_": lambda: Task.await_(t, None),
        "yield_": lambda: Task.yield_(t, None),
        "await_many": lambda: Task.await_many([t], None),
        "yield_many": lambda: Task.yield_many([t], None),
        "receive_exit": lambda: Process.receive_exit(None),
    }


class TestOwnCancelsOnly:
    @pytest.mark.parametrize("wait", list(_waits(None)))  # type: ignore[arg-type]
    async def test_an_outside_timeout_passes_through_a_taskvisor_wait(self, wait: str) -> None:
        t = Task.async_(forever)
        with pytest.raises(TimeoutError) as info:
            async with asyncio.timeout(0):
                await _waits(t)[wait]()
        assert type(info.value) is TimeoutError  # asyncio's, not a TaskTimeout
        assert not isinstance(info.value, TaskExit)
        current = asyncio.current_task()
        assert current is not None and current.cancelling() == 0
        # the caller was not doomed: it goes on, and the task is still its own
        assert Process.alive(Process.self())
        assert await Task.await_(Task.async_(reply, 7), SAFETY) == 7
        assert await Task.shutdown(t, SAFETY) is None

    async def test_a_converted_cancel_is_given_back(self) -> None:
        """After TaskExit from taskvisor's own cancel, cancelling() is 0 and timeouts work."""
        Process.flag("trap_exit", True)
        seen: dict[str, Any] = {}

        async def owner() -> None:
            t = Task.async_(crash)
            try:
                await Task.await_(t, SAFETY)
            except TaskExit as exc:
                seen["caught"] = exc.reason
            current = asyncio.current_task()
            assert current is not None
            seen["cancelling"] = current.cancelling()
            try:
                async with asyncio.timeout(0):
                    await asyncio.Event().wait()
            except TimeoutError:
                seen["later timeout"] = "TimeoutError"

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)
        assert isinstance(result, Exit) and result.reason is seen["caught"]
        assert seen["cancelling"] == 0
        assert seen["later timeout"] == "TimeoutError"

    async def test_taskexit_inside_an_enclosing_asyncio_timeout_stays_a_taskexit(self) -> None:
        Process.flag("trap_exit", True)
        seen: dict[str, Any] = {}

        async def owner() -> None:
            slow = Task.async_(forever)
            Task.async_(crash)
            try:
                async with asyncio.timeout(SAFETY):
                    await Task.await_(slow, None)
            except BaseException as exc:
                seen["raised"] = exc
                raise

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)
        assert isinstance(result, Exit) and is_oops(result.reason)
        assert type(seen["raised"]) is TaskExit
        assert seen["raised"].reason is result.reason


# -- a cancel from outside taskvisor is exit "shutdown" -----------------------------------


class TestOutsideCancelIsShutdown:
    async def test_cancel_of_an_adopted_task(self) -> None:
        Process.flag("trap_exit", True)
        aio, pid = await start_adopted(forever)
        Process.link(pid)
        aio.cancel()
        assert await next_exit() == (pid, "shutdown")
        assert aio.cancelled()

    async def test_a_taskgroup_cancelling_an_adopted_member(self) -> None:
        Process.flag("trap_exit", True)
        linked = asyncio.Event()

        async def failing() -> None:
            await linked.wait()
            raise ValueError("sibling failed")

        with pytest.raises(ExceptionGroup):
            async with asyncio.TaskGroup() as tg:
                _, member_pid = await start_adopted(forever, tg.create_task)
                tg.create_task(failing())
                Process.link(member_pid)
                linked.set()
        assert await next_exit() == (member_pid, "shutdown")

    async def test_cancel_of_a_taskvisor_tasks_own_asyncio_task(self) -> None:
        """The owner's monitor sees Exit("shutdown"), and so does a trapping link."""
        Process.flag("trap_exit", True)
        ready = asyncio.Event()
        handle: dict[str, asyncio.Task[Any]] = {}

        async def victim() -> None:
            current = asyncio.current_task()
            assert current is not None
            handle["aio"] = current
            ready.set()
            await forever()

        t = Task.async_(victim)
        await ready.wait()
        handle["aio"].cancel()
        assert await Task.yield_(t, SAFETY) == Exit("shutdown")
        assert await next_exit() == (t.pid, "shutdown")


# -- adopted tasks stay the user's ---------------------------------------------------------


class TestAdoptedTasksStayTheUsers:
    async def test_a_crashing_adopted_task_is_not_crash_logged_and_keeps_its_exception(
        self, caplog_taskvisor: pytest.LogCaptureFixture
    ) -> None:
        Process.flag("trap_exit", True)
        go = asyncio.Event()

        async def user_code() -> None:
            await go.wait()
            raise RuntimeError("the user's own")

        aio, user_pid = await start_adopted(user_code)
        Process.link(user_pid)
        go.set()
        pid, reason = await next_exit()  # its links still fire with the exception
        assert pid == user_pid
        assert aio.done()
        assert aio.exception() is reason
        assert is_oops(reason, "the user's own")
        assert [r for r in caplog_taskvisor.records if r.name == "taskvisor"] == []

    async def test_asyncio_still_reports_the_never_retrieved_exception(self) -> None:
        """taskvisor read the exception without retrieving it: asyncio's report still comes."""
        loop = asyncio.get_running_loop()
        reported: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: reported.append(context))
        go = asyncio.Event()

        async def user_code() -> None:
            await go.wait()
            raise RuntimeError("nobody retrieves me")

        aio, _ = await start_adopted(user_code)
        go.set()
        await asyncio.wait([aio])
        await settle()
        del aio
        for _ in range(3):
            gc.collect()
        loop.set_exception_handler(None)
        assert [c["message"] for c in reported] == ["Task exception was never retrieved"]
        assert is_oops(reported[0]["exception"], "nobody retrieves me")

    async def test_killing_an_adopted_task_does_not_warn_when_it_obeys_the_cancel(self) -> None:
        """A plain asyncio task that ends at once on its cancel was not "ignoring" anything."""
        Process.flag("trap_exit", True)

        async def user_code() -> None:
            Process.flag("trap_exit", True)  # so only a kill stops it
            await forever()

        aio, pid = await start_adopted(user_code)
        Process.link(pid)
        with logged_warnings(None) as caught:
            Process.exit(pid, "kill")
            assert await next_exit() == (pid, "killed")
            await settle()
        assert aio.cancelled()
        assert caught == []

    async def test_killing_an_adopted_task_never_closes_the_users_coroutine(self) -> None:
        """Kill = cancel; if the user's task lives on, taskvisor abandons it, never closes it.

        The user's coroutine handles its cancel with an await (a cleanup); it must be left to
        finish that, while links and monitors learn of the death ("killed") in bounded time.
        """
        Process.flag("trap_exit", True)
        cleanup_may_end = asyncio.Event()
        closed: list[bool] = []

        async def user_code() -> str:
            try:
                await forever()
            except asyncio.CancelledError:
                try:
                    await cleanup_may_end.wait()  # a slow cleanup after the cancel
                except GeneratorExit:
                    closed.append(True)
                    raise
                return "cleaned up"
            return "not reached"

        aio, pid = await start_adopted(user_code)
        Process.link(pid)
        with logged_warnings("abandons it"):
            Process.exit(pid, "kill")
            async with asyncio.timeout(30):
                got = await next_exit(30)
            await settle()
        assert got == (pid, "killed")
        assert closed == [], "taskvisor closed the coroutine of the user's own asyncio task"
        cleanup_may_end.set()
        done, _ = await asyncio.wait([aio], timeout=SAFETY)
        assert aio in done
        assert not aio.cancelled() and aio.result() == "cleaned up"


# -- Process.exit -------------------------------------------------------------------------


class TestProcessExit:
    async def test_kill_stops_a_task_that_traps_exits(self) -> None:
        Process.flag("trap_exit", True)
        t = await async_ready(trap_and_ignore)
        Process.exit(t.pid, "kill")  # type: ignore[arg-type]
        assert await Task.yield_(t, SAFETY) == Exit("killed")
        assert await next_exit() == (t.pid, "killed")

    async def test_normal_does_not_stop_a_process_that_does_not_trap(self) -> None:
        t = Task.async_(forever)
        await asyncio.sleep(0)
        Process.exit(t.pid, "normal")  # type: ignore[arg-type]
        await settle()
        assert Process.alive(t.pid)  # type: ignore[arg-type]
        assert await Task.yield_(t, 0) is None
        assert await Task.shutdown(t, SAFETY) is None

    @pytest.mark.parametrize("reason", ["normal", "shutdown", ("shutdown", 1), "custom"])
    async def test_a_trapping_process_receives_sender_and_reason(self, reason: Any) -> None:
        ready = asyncio.Event()

        async def trapper() -> Any:
            Process.flag("trap_exit", True)
            ready.set()
            return await Process.receive_exit(SAFETY)

        t = Task.async_(trapper)
        await ready.wait()
        Process.exit(t.pid, reason)  # type: ignore[arg-type]
        assert await Task.await_(t, SAFETY) == (Process.self(), reason)

    @pytest.mark.parametrize("reason", ["custom", ("shutdown", "x"), "shutdown"])
    async def test_any_other_reason_stops_a_non_trapping_process_with_that_reason(
        self, reason: Any
    ) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(forever)
        await asyncio.sleep(0)
        Process.exit(t.pid, reason)  # type: ignore[arg-type]
        assert await Task.yield_(t, SAFETY) == Exit(reason)
        assert await next_exit() == (t.pid, reason)

    async def test_the_first_exit_signal_fixes_the_reason(self) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(forever)
        await asyncio.sleep(0)
        Process.exit(t.pid, "first")  # type: ignore[arg-type]
        Process.exit(t.pid, "second")  # type: ignore[arg-type]
        assert await Task.yield_(t, SAFETY) == Exit("first")

    async def test_a_process_that_exits_itself_normal_dies(self) -> None:
        Process.flag("trap_exit", True)

        async def quitter() -> None:
            Process.exit(Process.self(), "normal")
            await forever()

        t = Task.async_(quitter)
        assert await Task.yield_(t, SAFETY) == Exit("normal")

    async def test_exit_to_a_dead_pid_is_ignored(self) -> None:
        t = Task.async_(reply, 1)
        assert await Task.await_(t, SAFETY) == 1
        await settle()
        assert not Process.alive(t.pid)  # type: ignore[arg-type]
        Process.exit(t.pid, "kill")  # type: ignore[arg-type]
        Process.exit(t.pid, "custom")  # type: ignore[arg-type]


# -- the monitor: once the owner stops listening, a late reply is dropped -----------------


class TestStoppedListening:
    async def test_a_reply_after_ignore_is_dropped(self) -> None:
        go = asyncio.Event()
        t = Task.async_(wait_then, go, "late")
        assert Task.ignore(t) is None
        go.set()
        await settle()
        assert not Process.alive(t.pid)  # type: ignore[arg-type]  # it did reply, to nobody
        assert await Task.yield_(t, 0) is None
        with pytest.raises(TaskExit) as info:
            await Task.await_(t, 0)
        assert info.value.reason == "timeout"

    async def test_a_reply_after_an_await_timeout_is_dropped(self) -> None:
        go = asyncio.Event()
        t = Task.async_(wait_then, go, "late")
        with pytest.raises(TaskExit) as info:
            await Task.await_(t, 0.001)
        assert info.value.reason == "timeout"
        go.set()
        await settle()
        assert not Process.alive(t.pid)  # type: ignore[arg-type]
        assert await Task.yield_(t, 0) is None


# -- link, unlink, alive, callers, ancestors ----------------------------------------------


class TestLinksAndIntrospection:
    async def test_link_delivers_a_crash_to_a_trapping_process(self) -> None:
        Process.flag("trap_exit", True)
        go = asyncio.Event()
        pid = Task.start(crash_when, go)
        Process.link(pid)
        go.set()
        got_pid, reason = await next_exit()
        assert got_pid == pid and is_oops(reason)

    async def test_link_is_both_ways(self) -> None:
        """A process that links to another and then crashes takes the other down."""
        Process.flag("trap_exit", True)
        ready, go = asyncio.Event(), asyncio.Event()
        victim = Task.start(forever)
        Process.link(victim)

        async def linker() -> None:
            Process.link(victim)
            ready.set()
            await go.wait()
            raise RuntimeError("linker crashed")

        Task.start(linker)
        await ready.wait()
        go.set()
        got_pid, reason = await next_exit()
        assert got_pid == victim and is_oops(reason, "linker crashed")

    async def test_unlink_stops_crash_propagation(self) -> None:
        """Without trap_exit: after unlink, the crash reaches the owner only through yield_."""
        go = asyncio.Event()
        t = Task.async_(crash_when, go)
        Process.unlink(t.pid)  # type: ignore[arg-type]
        go.set()
        result = await Task.yield_(t, SAFETY)
        assert isinstance(result, Exit) and is_oops(result.reason)
        await settle()
        assert await Task.await_(Task.async_(reply, 3), SAFETY) == 3  # the caller lives on

    async def test_link_to_a_dead_pid_raises_noproc_when_not_trapping(self) -> None:
        t = Task.async_(reply, 1)
        await Task.await_(t, SAFETY)
        await settle()
        with pytest.raises(TaskExit) as info:
            Process.link(t.pid)  # type: ignore[arg-type]
        assert info.value.reason == "noproc"

    async def test_link_to_a_dead_pid_queues_noproc_when_trapping(self) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(reply, 1)
        await Task.await_(t, SAFETY)
        assert await next_exit() == (t.pid, "normal")  # its async_ link, trapped
        Process.link(t.pid)  # type: ignore[arg-type]
        assert await next_exit(0) == (t.pid, "noproc")

    async def test_alive(self) -> None:
        assert Process.alive(Process.self())
        t = Task.async_(forever)
        assert Process.alive(t.pid)  # type: ignore[arg-type]
        await Task.shutdown(t, SAFETY)
        assert not Process.alive(t.pid)  # type: ignore[arg-type]
        assert Task.completed(1).pid is None

    async def test_callers_and_ancestors_in_nested_tasks(self) -> None:
        main = Process.self()

        async def grandchild() -> tuple[list[Pid], list[Pid]]:
            return Process.callers(), Process.ancestors()

        async def child() -> tuple[Pid, list[Pid], list[Pid], Any]:
            inner = Task.async_(grandchild)
            me = Process.self()
            return me, Process.callers(), Process.ancestors(), await Task.await_(inner, SAFETY)

        child_pid, callers, ancestors, (gc_callers, gc_ancestors) = await Task.await_(
            Task.async_(child), SAFETY
        )
        assert Process.callers() == []
        assert callers == [main] and ancestors == [main]
        assert gc_callers == [child_pid, main]
        assert gc_ancestors == [child_pid, main]

    async def test_callers_of_stream_tasks_are_the_consumer(self) -> None:
        main = Process.self()

        async def callers_of(_item: int) -> list[Pid]:
            return Process.callers()

        results = [r async for r in Task.async_stream(range(3), callers_of, timeout=SAFETY)]
        assert results == [Ok([main])] * 3

    async def test_callers_of_started_processes(self) -> None:
        main = Process.self()
        seen: asyncio.Queue[list[Pid]] = asyncio.Queue()

        async def report() -> None:
            await seen.put(Process.callers())

        Task.start(report)
        Task.start_link(report)
        assert await seen.get() == [main]
        assert await seen.get() == [main]


# -- a signal before the function started -------------------------------------------------


class TestSignalBeforeStart:
    @pytest.mark.parametrize("timeout", ["brutal_kill", 5.0])
    async def test_shutdown_before_the_first_step_means_the_function_never_runs(
        self, timeout: Any
    ) -> None:
        ran: list[bool] = []

        async def side_effect() -> None:
            ran.append(True)

        t = Task.async_(side_effect)
        assert await Task.shutdown(t, timeout) is None
        await settle()
        assert ran == []
        assert not Process.alive(t.pid)  # type: ignore[arg-type]

    @pytest.mark.parametrize("reason", ["kill", "custom"])
    async def test_process_exit_right_after_start(self, reason: str) -> None:
        Process.flag("trap_exit", True)
        ran: list[bool] = []

        def side_effect() -> None:  # a plain function: it would run in a thread
            ran.append(True)

        pid = Task.start(side_effect)
        Process.link(pid)
        Process.exit(pid, reason)
        assert await next_exit() == (pid, "killed" if reason == "kill" else reason)
        assert ran == []


# -- where functions run ------------------------------------------------------------------


class TestExecutors:
    async def test_a_plain_function_runs_in_a_thread_without_blocking_the_loop(self) -> None:
        started, go = threading.Event(), threading.Event()

        def blocking() -> int:
            started.set()
            assert go.wait(SAFETY), "the loop never set the event: it was blocked"
            return threading.get_ident()

        t = Task.async_(blocking)
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, started.wait, SAFETY)
        go.set()  # the loop runs while the function blocks
        assert await Task.await_(t, SAFETY) != threading.get_ident()

    async def test_start_runs_a_plain_function_in_a_thread(self) -> None:
        done = asyncio.Event()
        idents: list[int] = []
        loop = asyncio.get_running_loop()

        def work() -> None:
            idents.append(threading.get_ident())
            loop.call_soon_threadsafe(done.set)

        Process.flag("trap_exit", True)
        pid = Task.start(work)
        Process.link(pid)  # to see it end: its thread must be done before the test is
        await asyncio.wait_for(done.wait(), SAFETY)
        assert await Process.receive_exit(SAFETY) == (pid, "normal")
        assert idents and idents[0] != threading.get_ident()

    async def test_executor_loop_runs_a_plain_function_on_the_loop_thread(self) -> None:
        t = Task.async_(threading.get_ident, executor="loop")
        assert await Task.await_(t, SAFETY) == threading.get_ident()

    async def test_executor_thread_runs_a_coroutine_function_in_another_thread(self) -> None:
        main_loop = asyncio.get_running_loop()

        async def where() -> tuple[int, bool]:
            await asyncio.sleep(0)
            return threading.get_ident(), asyncio.get_running_loop() is main_loop

        ident, same_loop = await Task.await_(Task.async_(where, executor="thread"), SAFETY)
        assert ident != threading.get_ident()
        assert not same_loop

    async def test_a_coroutine_function_runs_on_the_loop_by_default(self) -> None:
        async def where() -> int:
            return threading.get_ident()

        assert await Task.await_(Task.async_(where), SAFETY) == threading.get_ident()


class TestInterpreterExitsPassThrough:
    def test_systemexit_in_a_doomed_task_still_propagates(self) -> None:
        """A process whose exit is decided never swallows SystemExit: the program exits.

        Run in a subprocess: asyncio keeps the SystemExit on the task, and on 3.11 its
        "never retrieved" finalizer can trip CPython's gh-106905 inside pytest.
        """
        program = textwrap.dedent(
            """
            import asyncio
            from taskvisor import Process, Task

            async def stubborn():
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    raise SystemExit(3) from None

            async def main():
                task = Task.async_(stubborn)
                await asyncio.sleep(0)
                Task.ignore(task)
                Process.exit(task.pid, "shutdown")
                await asyncio.Event().wait()

            asyncio.run(main())
            """
        )
        done = subprocess.run([sys.executable, "-c", program], timeout=120, capture_output=True)
        assert done.returncode == 3, done.stderr.decode()
