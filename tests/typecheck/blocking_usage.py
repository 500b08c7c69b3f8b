"""Checked by `mypy --strict` (not run): the blocking API's types as a user's sync code sees
them: the same as the asyncio API's, without ``await``."""

from __future__ import annotations

from typing import assert_type

from taskvisor import blocking
from taskvisor.blocking import (
    BlockingStream,
    ChildInfo,
    Exit,
    Ok,
    Pid,
    Process,
    Supervisor,
    Task,
    TaskExit,
    TaskSupervisor,
)


async def fetch(user_id: int, verbose: bool) -> str:
    return f"user {user_id}"


def blocking_sum(a: int, b: int) -> int:
    return a + b


async def double(x: int) -> float:
    return x * 2.0


def usage() -> None:
    task = Task.async_(fetch, 1, True)
    assert_type(task, Task[str])
    assert_type(Task.await_(task, timeout=1.0), str)

    plain = Task.async_(blocking_sum, 1, 2)
    assert_type(plain, Task[int])
    assert_type(Task.await_many([plain, Task.completed(3)]), list[int])
    assert_type(Task.yield_(plain, 0.5), Ok[int] | Exit | None)
    assert_type(Task.shutdown(plain), Ok[int] | Exit | None)
    assert_type(Task.ignore(plain), Ok[int] | Exit | None)
    assert_type(Task.start(blocking_sum, 1, 2), Pid)

    match Task.yield_(task, 1.0):
        case Ok(value):
            assert_type(value, str)
        case Exit(reason):
            print(reason)
        case None:
            pass

    with Task.async_stream(range(3), double, max_concurrency=2, timeout=5) as results:
        assert_type(results, BlockingStream[float])
        for result in results:
            assert_type(result, Ok[float] | Exit)

    with TaskSupervisor(name="Jobs", max_children=10) as sup:
        assert_type(sup, TaskSupervisor)
        assert_type(sup.start_child(blocking_sum, 1, 2, restart="transient"), Pid)
        assert_type(sup.async_(fetch, 2, False), Task[str])
        assert_type(TaskSupervisor.async_nolink("Jobs", double, 3), Task[float])
        assert_type(sup.children(), list[Pid])
        assert_type(sup.which_children(), list[ChildInfo])
        sup.terminate_child(sup.children()[0])

    linked = TaskSupervisor.start_link(name="Other")
    assert_type(linked, TaskSupervisor)
    linked.stop()

    with Supervisor([Task.child_spec(double, 1)]) as tree:
        assert_type(tree.count_children(), dict[str, int])

    assert_type(Process.self(), Pid)
    assert_type(Process.flag("trap_exit", True), bool)
    assert_type(Process.receive_exit(1.0), tuple[Pid | None, blocking.ExitReason] | None)
    blocking.checkpoint()
    with blocking.process() as pid:
        assert_type(pid, Pid)
    try:
        Task.await_(task)
    except TaskExit as exc:
        print(exc.reason)
