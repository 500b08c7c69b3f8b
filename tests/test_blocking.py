"""taskvisor.blocking: the asyncio API from sync code, a thread as a process.

Real threads everywhere: the test thread itself (no running loop), `threading.Thread`s and a
reused one-thread pool. Sequencing by events and files; the only waits on time are safety
bounds (`SAFETY`) that turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from support import SAFETY, eventually
from taskvisor import blocking
from taskvisor.blocking import (
    Exit,
    NotOwnerError,
    Ok,
    Process,
    Supervisor,
    Task,
    TaskExit,
    TaskSupervisor,
    TaskTimeout,
)
from taskvisor.testing import live_processes, process_state

# -- helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def scoped() -> Iterator[None]:
    """Each test in a process scope of its own; afterwards nothing may run on the loop."""
    with blocking.process():
        yield
    eventually(lambda: live_processes() == 0, "every process of the test ended")


async def double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def plain_double(x: int) -> int:
    return 2 * x


async def crash_when(flag: threading.Event, message: str = "linked crash") -> None:
    while not flag.is_set():
        await asyncio.sleep(0.001)
    raise RuntimeError(message)


async def crash(message: str = "oops") -> None:
    await asyncio.sleep(0)
    raise RuntimeError(message)


async def hold(started: threading.Event, release: threading.Event, log: list[str]) -> str:
    started.set()
    try:
        while not release.is_set():
            await asyncio.sleep(0.001)
        return "released"
    finally:
        log.append("finally")


def first_returns_then_holds(
    started: threading.Event, log: list[str]
) -> Callable[[int], Coroutine[Any, Any, Any]]:
    """For streams: item 0 returns at once, every other item holds until stopped."""

    async def first_fast(x: int) -> Any:
        if x == 0:
            return 0
        return await hold(started, threading.Event(), log)

    return first_fast


@contextlib.contextmanager
def app_loop(name: str) -> Iterator[None]:
    """An asyncio application in a thread of its own (thread ``"<name>-loop"``) whose loop
    runs an asyncio-API `TaskSupervisor` registered as `name`, for the block's duration."""
    up, done = threading.Event(), threading.Event()

    async def app() -> None:
        from taskvisor import TaskSupervisor as AsyncTaskSupervisor

        async with AsyncTaskSupervisor(name=name):
            up.set()
            while not done.is_set():
                await asyncio.sleep(0.001)

    server = threading.Thread(target=lambda: asyncio.run(app()), name=f"{name}-loop")
    server.start()
    try:
        assert up.wait(SAFETY)
        yield
    finally:
        done.set()
        server.join(SAFETY)


# -- Task -----------------------------------------------------------------------------------


def test_async_and_await_coroutine_and_plain_functions() -> None:
    assert Task.await_(Task.async_(double, 21)) == 42
    assert Task.await_(Task.async_(plain_double, 21)) == 42
    assert Task.await_(Task.async_(plain_double, 4, executor="loop")) == 8
    t = Task.async_(double, 1)
    assert isinstance(t, Task)
    assert t.owner == Process.self()


def test_functions_run_where_the_asyncio_api_runs_them() -> None:
    async def where_async() -> str:
        return threading.current_thread().name

    def where_plain() -> str:
        return threading.current_thread().name

    assert Task.await_(Task.async_(where_async)) == "taskvisor-blocking"
    assert Task.await_(Task.async_(where_plain)) not in ("taskvisor-blocking", "MainThread")


def test_await_many_yield_yield_many_ignore_shutdown_completed() -> None:
    assert Task.await_many([Task.async_(double, i) for i in range(5)]) == [0, 2, 4, 6, 8]
    assert Task.await_many(Task.async_(double, i) for i in range(3)) == [0, 2, 4]
    assert Task.yield_(Task.async_(double, 3), SAFETY) == Ok(6)
    tasks = [Task.async_(double, 1), Task.completed(7)]
    assert [r for _, r in Task.yield_many(tasks, SAFETY)] == [Ok(2), Ok(7)]
    started, release, log = threading.Event(), threading.Event(), []
    t = Task.async_(hold, started, release, log)
    assert Task.yield_(t, 0) is None
    assert started.wait(SAFETY)
    assert Task.shutdown(t) is None
    assert log == ["finally"]
    other = Task.async_(hold, threading.Event(), release, log)
    assert Task.ignore(other) is None
    release.set()
    eventually(lambda: log == ["finally", "finally"], "the ignored task ran on to its end")
    assert Task.await_(Task.completed("done")) == "done"


def test_await_timeout_and_a_second_await() -> None:
    release = threading.Event()
    t = Task.async_(hold, threading.Event(), release, [])
    with pytest.raises(TaskTimeout):
        Task.await_(t, 0.01)
    with pytest.raises(TaskTimeout):
        Task.await_(t, SAFETY)  # no longer listened for
    release.set()
    Task.shutdown(t)


def test_a_task_that_crashes_exits_the_awaiting_thread() -> None:
    with pytest.raises(TaskExit) as caught:
        Task.await_(Task.async_(crash, "bad"))
    assert isinstance(caught.value.reason, RuntimeError)


def test_start_and_start_link() -> None:
    ran = threading.Event()

    async def side_effect() -> None:
        ran.set()

    pid = Task.start(side_effect)
    assert isinstance(pid, blocking.Pid)
    assert ran.wait(SAFETY)
    pid = Task.start_link(double, 1)
    eventually(lambda: not Process.alive(pid), "the linked process ended normally")
    Process.self()  # a normal exit of a link does not touch the thread


def test_only_the_owner_thread_may_await() -> None:
    t = Task.async_(double, 1)
    caught: list[BaseException] = []

    def other() -> None:
        try:
            Task.await_(t)
        except BaseException as exc:
            caught.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(SAFETY)
    assert isinstance(caught[0], NotOwnerError)
    assert Task.await_(t) == 2


def test_bad_arguments_fail_as_in_the_asyncio_api() -> None:
    with pytest.raises(TypeError, match="callable"):
        Task.async_(42)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="task must be a Task"):
        Task.await_("nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        Task.await_(Task.completed(1), -1)
    with pytest.raises(TypeError, match="tasks must be an iterable"):
        Task.await_many(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_concurrency"):
        Task.async_stream([1], double, max_concurrency=0)
    with pytest.raises(TypeError, match="items must be an iterable"):
        Task.async_stream(42, double)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="keyword"):
        Task.async_(double, x=1)  # type: ignore[call-overload]


def test_calling_from_a_coroutine_raises_naming_the_coroutine() -> None:
    t = Task.completed(1)

    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"event loop.*await taskvisor\.Task\.await_"):
            Task.await_(t)
        with pytest.raises(RuntimeError, match=r"taskvisor\.Task\.async_\(\.\.\.\), without"):
            Task.async_(double, 1)
        with pytest.raises(RuntimeError, match=r"async with taskvisor\.TaskSupervisor"):
            TaskSupervisor().__enter__()
        with pytest.raises(RuntimeError, match="runs an event loop"):
            Task.async_stream([1], double)  # at once, not at the first next()
        with pytest.raises(RuntimeError, match="runs an event loop"):
            blocking.checkpoint()
        with pytest.raises(RuntimeError, match="runs an event loop"), blocking.process():
            pass

    asyncio.run(main())
    assert Task.await_(t) == 1


# -- a thread is a process ------------------------------------------------------------------


def test_a_linked_crash_wakes_a_thread_blocked_in_a_wait() -> None:
    flag = threading.Event()
    Task.start_link(crash_when, flag)
    long = Task.async_(hold, threading.Event(), threading.Event(), [])
    before = Process.self()
    flag.set()
    with pytest.raises(TaskExit) as caught:
        Task.await_(long, None)
    assert isinstance(caught.value.reason, RuntimeError)
    assert str(caught.value.reason) == "linked crash"
    assert Process.self() != before  # told once; the next call is a new process
    eventually(lambda: live_processes() == 0, "the thread's tasks died with it")


def test_a_linked_crash_reaches_a_busy_thread_at_its_next_call() -> None:
    flag = threading.Event()
    me = Process.self()
    Task.start_link(crash_when, flag)
    flag.set()
    eventually(lambda: process_state(me) is None, "the thread's process died of the link")
    with pytest.raises(TaskExit) as caught:
        Task.async_(double, 1)
    assert str(caught.value.reason) == "linked crash"
    assert Task.await_(Task.async_(double, 2)) == 4


def test_checkpoint_raises_a_pending_exit_once() -> None:
    blocking.checkpoint()  # nothing pending
    flag = threading.Event()
    me = Process.self()
    Task.start_link(crash_when, flag)
    flag.set()
    eventually(lambda: process_state(me) is None, "the thread's process died of the link")
    with pytest.raises(TaskExit):
        blocking.checkpoint()
    blocking.checkpoint()  # told once


def test_trap_exit_and_receive_exit_in_a_thread() -> None:
    assert Process.flag("trap_exit", True) is False
    pid = Task.start_link(crash, "trapped")
    got = Process.receive_exit(SAFETY)
    assert got is not None
    assert got[0] == pid
    assert str(got[1]) == "trapped"
    assert Process.receive_exit(0) is None
    assert Process.flag("trap_exit", False) is True


def test_a_thread_exits_normal_when_it_ends() -> None:
    pids: list[blocking.Pid] = []
    thread = threading.Thread(target=lambda: pids.append(Process.self()))
    thread.start()
    thread.join(SAFETY)
    del thread
    gc.collect()
    eventually(lambda: not Process.alive(pids[0]), "the ended thread's process is dead")


def test_scopes_on_a_reused_thread_keep_requests_apart() -> None:
    flag = threading.Event()

    def request_1() -> blocking.Pid:
        with blocking.process() as pid:
            Task.start_link(crash_when, flag)  # crashes after the request ended
            return pid

    def request_2() -> tuple[blocking.Pid, int]:
        flag.set()
        eventually(lambda: live_processes() == 0, "request 1's task crashed")
        with blocking.process() as pid:
            return pid, Task.await_(Task.async_(double, 5))

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        first = pool.submit(request_1).result(SAFETY)
        second, value = pool.submit(request_2).result(SAFETY)
    assert value == 10
    assert second != first


def test_a_scope_that_raises_stops_what_it_linked() -> None:
    started, log = threading.Event(), []
    with pytest.raises(ValueError, match="request failed"), blocking.process():
        Task.async_(hold, started, threading.Event(), log)
        assert started.wait(SAFETY)
        raise ValueError("request failed")
    eventually(lambda: log == ["finally"], "the scope's linked task was stopped")


def test_a_blocking_call_in_a_thread_executor_function_acts_as_its_process() -> None:
    flag = threading.Event()

    def plain() -> tuple[Any, ...]:
        me = Process.self()
        value = Task.await_(Task.async_(double, 5))
        Task.start_link(crash_when, flag)
        flag.set()
        try:
            Task.await_(Task.async_(hold, threading.Event(), threading.Event(), []), None)
        except TaskExit as exc:
            return (me, value, str(exc.reason))
        return (me, value, "not interrupted")

    async def main() -> tuple[Any, Any]:
        from taskvisor import Process as AsyncProcess
        from taskvisor import Task as AsyncTask

        AsyncProcess.flag("trap_exit", True)
        t = AsyncTask.async_(plain)
        return t.pid, await AsyncTask.yield_(t, SAFETY)

    pid, result = asyncio.run(main())
    # the function's own calls acted as its process, and the linked crash killed it
    assert isinstance(result, Exit)
    assert str(result.reason) == "linked crash"
    assert pid is not None


# -- supervisors ----------------------------------------------------------------------------


def test_task_supervisor_as_a_with_block() -> None:
    with TaskSupervisor(name="blocking-jobs", max_children=5) as sup:
        assert Task.await_(sup.async_(double, 7)) == 14
        assert Task.await_(TaskSupervisor.async_nolink("blocking-jobs", double, 8)) == 16
        release = threading.Event()
        pid = sup.start_child(hold, threading.Event(), release, [])
        assert sup.children() == [pid]
        assert sup.count_children()["active"] == 1
        sup.terminate_child(pid)
        assert sup.children() == []
        with sup.async_stream(range(4), double) as results:
            assert [r for r in results] == [Ok(0), Ok(2), Ok(4), Ok(6)]
    with pytest.raises(TaskExit) as caught:
        TaskSupervisor.children("blocking-jobs")
    assert caught.value.reason == "noproc"


def test_task_supervisor_start_link_and_stop() -> None:
    sup = TaskSupervisor.start_link(name="blocking-linked")
    assert isinstance(sup, TaskSupervisor)
    assert Task.await_(TaskSupervisor.async_("blocking-linked", plain_double, 2)) == 4
    sup.stop()
    eventually(lambda: not Process.alive(sup.pid), "the supervisor stopped")


def test_supervisor_tree_in_a_with_block() -> None:
    started = threading.Event()

    async def worker(ready: threading.Event) -> None:
        ready.set()
        await asyncio.Event().wait()

    with Supervisor([Task.child_spec(worker, started).replace(id="w")]) as tree:
        assert started.wait(SAFETY)
        assert tree.count_children()["active"] == 1
        assert [c.id for c in tree.which_children()] == ["w"]


def test_a_supervisor_on_another_loop_is_used_on_its_own_loop() -> None:
    """A FastAPI ``def`` endpoint's case: the supervisor lives on the app's loop."""

    async def where() -> str:
        return threading.current_thread().name

    with app_loop("app-jobs"):
        ran_on = Task.await_(TaskSupervisor.async_("app-jobs", where))
        assert len(TaskSupervisor.children("app-jobs")) == 0
    assert ran_on == "app-jobs-loop"


# -- streams --------------------------------------------------------------------------------


def test_stream_input_is_pulled_in_the_callers_thread_lazily() -> None:
    pulls: list[int] = []

    def items() -> Iterator[int]:
        for i in range(10):
            pulls.append(threading.get_ident())
            yield i

    with Task.async_stream(items(), double, max_concurrency=2) as results:
        assert next(results) == Ok(0)
        assert len(pulls) <= 3  # one result needs at most a window and one more
        rest = list(results)
    assert rest == [Ok(2 * i) for i in range(1, 10)]
    assert set(pulls) == {threading.get_ident()}


def test_stream_of_a_plain_function_and_its_options() -> None:
    results = list(Task.async_stream(range(6), plain_double, ordered=False))
    assert sorted(r.value for r in results if isinstance(r, Ok)) == [0, 2, 4, 6, 8, 10]
    slow = threading.Event()

    async def maybe_hang(x: int) -> int:
        if x == 1:
            await asyncio.to_thread(slow.wait, SAFETY)
        return x

    got = list(
        Task.async_stream(
            [0, 1, 2], maybe_hang, timeout=0.05, on_timeout="kill_task", zip_input_on_exit=True
        )
    )
    slow.set()
    assert got == [Ok(0), Exit((1, "timeout")), Ok(2)]


def test_leaving_a_stream_stops_its_running_tasks() -> None:
    log: list[str] = []
    started = threading.Event()

    first_fast = first_returns_then_holds(started, log)

    with Task.async_stream(range(3), first_fast, max_concurrency=3) as results:
        assert next(results) == Ok(0)
        assert started.wait(SAFETY)
    assert log == ["finally", "finally"]
    with pytest.raises(StopIteration):
        next(results)

    log.clear()
    started.clear()
    results = Task.async_stream(range(3), first_fast, max_concurrency=3)
    for r in results:
        assert r == Ok(0)
        assert started.wait(SAFETY)
        break
    results.close()
    assert log == ["finally", "finally"]


def test_a_stream_dropped_unclosed_is_closed_with_a_warning() -> None:
    log: list[str] = []
    started = threading.Event()

    first_fast = first_returns_then_holds(started, log)

    results = Task.async_stream(range(2), first_fast, max_concurrency=2)
    assert next(results) == Ok(0)
    assert started.wait(SAFETY)
    with pytest.warns(ResourceWarning, match="not closed"):
        del results
        gc.collect()
    eventually(lambda: log == ["finally"], "the dropped stream's task was stopped")


def test_a_stream_task_crash_reaches_the_consuming_thread() -> None:
    with pytest.raises(TaskExit) as caught:
        for _ in Task.async_stream([1, 2], crash):
            pass
    assert isinstance(caught.value.reason, RuntimeError)


def test_an_input_that_raises_stops_the_stream_and_raises_in_the_thread() -> None:
    def items() -> Iterator[int]:
        yield 1
        raise KeyError("bad input")

    with pytest.raises(KeyError, match="bad input"):
        list(Task.async_stream(items(), double))


def test_a_thread_is_one_process_across_loops() -> None:
    """A crash linked to the thread on one loop ends its process on the other loop too."""
    flag = threading.Event()
    with app_loop("app-jobs-2"):
        started, log = threading.Event(), []
        on_app = TaskSupervisor.async_("app-jobs-2", hold, started, threading.Event(), log)
        assert started.wait(SAFETY)
        Task.start_link(crash_when, flag)  # on the blocking loop
        flag.set()
        with pytest.raises(TaskExit):
            Task.await_(on_app, None)  # the thread's process on the app's loop died too
        eventually(lambda: log == ["finally"], "its task on the app's loop was stopped")


def test_a_plain_function_started_from_a_thread_acts_as_its_own_task() -> None:
    """The thread pool's call is submitted from the calling thread (not by the loop); a
    blocking call inside the function still acts as the function's process."""

    def plain() -> tuple[blocking.Pid, int]:
        return Process.self(), Task.await_(Task.async_(double, 3))

    for _ in range(20):  # the function may begin before its process's first step
        t = Task.async_(plain)
        me, value = Task.await_(t)
        assert me == t.pid
        assert value == 6


def test_a_plain_function_of_a_dead_owner_is_dropped() -> None:
    """The owner's exit comes before the task's start: the function never runs (or, if a
    thread took it already, is abandoned)."""
    ran: list[int] = []
    flag = threading.Event()
    me = Process.self()
    Task.start_link(crash_when, flag)
    flag.set()
    eventually(lambda: process_state(me) is None, "the thread's process died")
    with pytest.raises(TaskExit):
        Task.async_(ran.append, 1)  # told first: nothing was started
    assert ran == []


def test_a_crash_that_leaves_a_stream_block_is_not_replaced() -> None:
    """The consumer's TaskExit goes through `with` unchanged (closing does not raise)."""

    def consume() -> None:
        with Task.async_stream([1, 2, 3], crash) as results:
            for _ in results:
                pass

    with pytest.raises(TaskExit) as caught:
        consume()
    assert isinstance(caught.value.reason, RuntimeError)


def test_leaving_a_nolink_stream_after_the_consumer_died_stops_its_tasks() -> None:
    log: list[str] = []
    started = threading.Event()
    flag = threading.Event()

    first_fast = first_returns_then_holds(started, log)

    def consume(sup: TaskSupervisor) -> None:
        with sup.async_stream_nolink(range(2), first_fast, max_concurrency=2) as results:
            assert next(results) == Ok(0)
            assert started.wait(SAFETY)
            Task.start_link(crash_when, flag)
            flag.set()
            Task.await_(Task.async_(hold, threading.Event(), threading.Event(), []), None)

    with TaskSupervisor() as sup:
        with pytest.raises(TaskExit):
            consume(sup)
        eventually(lambda: log == ["finally"], "the nolink stream's task was stopped")


def test_a_thread_that_signals_itself_gets_its_exit_from_that_call() -> None:
    me = Process.self()
    with pytest.raises(TaskExit) as caught:
        Process.exit(me, "bye")
    assert caught.value.reason == "bye"
    assert Process.self() != me
    Process.exit(Process.self(), "normal")  # Elixir: a process that exits itself normally
    assert Process.self() != me  # ... dies too; a normal exit is no error for the thread


@pytest.mark.parametrize("concurrency", [1, 2, 4])
@pytest.mark.parametrize("taken", [1, 3, 6])
def test_a_stream_pulls_no_more_input_than_the_asyncio_stream(concurrency: int, taken: int) -> None:
    """Laziness, counted: take `taken` results, then stop; the blocking stream pulled as many
    items as the asyncio API's stream does for the same consumer."""

    def counted(pulls: list[int]) -> Iterator[int]:
        for i in range(20):
            pulls.append(i)
            yield i

    async def asyncio_pulls() -> int:
        from taskvisor import Task as AsyncTask

        pulls: list[int] = []
        async with AsyncTask.async_stream(
            counted(pulls), double, max_concurrency=concurrency
        ) as results:
            for _ in range(taken):
                await anext(results)
        return len(pulls)

    expected = asyncio.run(asyncio_pulls())
    pulls: list[int] = []
    with Task.async_stream(counted(pulls), double, max_concurrency=concurrency) as results:
        for _ in range(taken):
            next(results)
    assert len(pulls) <= expected


def test_a_function_the_asyncio_api_runs_in_a_thread_is_its_own_process_there() -> None:
    def plain() -> tuple[blocking.Pid, list[blocking.Pid]]:
        return Process.self(), Process.callers()

    async def main() -> tuple[Any, Any, Any]:
        from taskvisor import Process as AsyncProcess
        from taskvisor import Task as AsyncTask

        t = AsyncTask.async_(plain)
        me, callers = await AsyncTask.await_(t, SAFETY)
        return t.pid, me, (callers, [AsyncProcess.self()])

    pid, me, (callers, expected) = asyncio.run(main())
    assert me == pid
    assert callers == expected


def test_a_stream_timeout_with_on_timeout_exit_raises_from_next() -> None:
    release = threading.Event()

    async def slow(x: int) -> int:
        if x == 1:
            await asyncio.to_thread(release.wait, SAFETY)
        return x

    try:
        with pytest.raises(TaskTimeout), Task.async_stream([0, 1, 2], slow, timeout=0.05) as s:
            for _ in s:
                pass
    finally:
        release.set()


# -- a plain function's reply, handed over by its pool thread ----------------------------------


def test_a_plain_functions_reply_is_taken_once() -> None:
    release = threading.Event()

    def wait_then(value: int) -> int:
        release.wait(SAFETY)
        return value

    for _ in range(20):  # the reply comes before and after the owner waits
        t = Task.async_(wait_then, 7)
        release.set()
        assert Task.await_(t) == 7
        with pytest.raises(TaskTimeout):
            Task.await_(t)  # already awaited, at once: the loop was told first
        release.clear()


def test_a_plain_functions_reply_collected_otherwise_goes_through_the_loop() -> None:
    done = threading.Event()

    def returns(value: int) -> int:
        done.set()
        return value

    t = Task.async_(returns, 1)
    assert done.wait(SAFETY)
    assert Task.yield_(t, SAFETY) == Ok(1)
    with pytest.raises(TaskTimeout):
        Task.await_(t)
    t = Task.async_(returns, 2)
    eventually(lambda: t.pid is not None and process_state(t.pid) is None, "it replied")
    assert Task.shutdown(t) == Ok(2)  # a reply that arrived first wins


def test_a_plain_function_that_raises_exits_the_awaiting_thread() -> None:
    def fails() -> None:
        raise LookupError("plain crash")

    with pytest.raises(TaskExit) as caught:
        Task.await_(Task.async_(fails))
    assert isinstance(caught.value.reason, LookupError)


def test_a_timeout_before_a_plain_function_returns_drops_its_reply() -> None:
    release = threading.Event()

    def wait_then(value: int) -> int:
        release.wait(SAFETY)
        return value

    t = Task.async_(wait_then, 3)
    with pytest.raises(TaskTimeout):
        Task.await_(t, 0.01)
    release.set()
    eventually(lambda: live_processes() == 0, "the task ended")
    with pytest.raises(TaskTimeout):
        Task.await_(t)


def test_a_linked_crash_wins_over_a_plain_functions_later_reply() -> None:
    flag, release = threading.Event(), threading.Event()

    def wait_then(value: int) -> int:
        release.wait(SAFETY)
        return value

    t = Task.async_(wait_then, 4)
    Task.start_link(crash_when, flag)
    flag.set()
    try:
        with pytest.raises(TaskExit) as caught:
            Task.await_(t, None)
        assert str(caught.value.reason) == "linked crash"
    finally:
        release.set()


def test_the_late_end_of_a_dead_process_on_another_loop_spares_the_threads_new_one() -> None:
    """A thread with records on two loops dies of a crash; the record on the other loop dies
    of it a little later: that must not reach the thread's new process."""
    with app_loop("app-jobs-3"):
        for _ in range(20):
            assert Task.await_(TaskSupervisor.async_("app-jobs-3", double, 1)) == 2
            with pytest.raises(TaskExit):
                Task.await_(Task.async_(crash, "first"))
            assert Task.await_(Task.async_(double, 2)) == 4  # a new process
            Process.self()  # ... that nothing from the old one reaches
            assert Task.await_(TaskSupervisor.async_("app-jobs-3", double, 3)) == 6
