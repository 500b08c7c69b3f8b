"""Checked by `mypy --strict` (not run): the public API's types as a user's code sees them."""

from __future__ import annotations

from typing import assert_type

from taskvisor import (
    ChildInfo,
    Exit,
    Ok,
    Pid,
    Process,
    Supervisor,
    Task,
    TaskExit,
    TaskStream,
    TaskSupervisor,
)


async def fetch(user_id: int, verbose: bool) -> str:
    return f"user {user_id}"


def blocking_sum(a: int, b: int) -> int:
    return a + b


async def double(x: int) -> float:
    return x * 2.0


async def usage() -> None:
    task = Task.async_(fetch, 1, True)
    assert_type(task, Task[str])
    assert_type(await Task.await_(task, timeout=1.0), str)

    plain = Task.async_(blocking_sum, 1, 2)
    assert_type(plain, Task[int])
    assert_type(await Task.await_many([plain, Task.completed(3)]), list[int])

    result = await Task.yield_(task, timeout=None)
    match result:
        case Ok(value):
            assert_type(value, str)
        case Exit(reason):
            print(reason)
        case None:
            await Task.shutdown(task, "brutal_kill")

    assert_type(Task.start(fetch, 2, False), Pid)
    assert_type(Task.start_link(blocking_sum, 1, 2), Pid)
    stream = Task.async_stream(range(3), double, max_concurrency=2)
    assert_type(stream, TaskStream[float])
    async with stream:
        async for item in stream:
            assert_type(item, Ok[float] | Exit)
    assert_type(Task.async_stream(["a"], len, ordered=False), TaskStream[int])

    try:
        await Task.await_(Task.async_(fetch, 3, False))
    except TaskExit as exc:
        print(exc.reason, exc.call)
    assert_type(Process.self(), Pid)
    exit_signal = await Process.receive_exit(0)
    if exit_signal is not None:
        sender, reason = exit_signal
        assert_type(sender, Pid | None)


def wrong_arguments() -> None:
    Task.async_(fetch, "not an int", True)  # type: ignore[call-arg,arg-type]
    Task.start(blocking_sum, 1)  # type: ignore[arg-type]


async def supervised() -> None:
    async with TaskSupervisor(name="typed", max_children=10) as sup:
        assert_type(sup, TaskSupervisor)
        assert_type(sup.async_(fetch, 1, True), Task[str])
        assert_type(TaskSupervisor.async_("typed", blocking_sum, 1, 2), Task[int])
        assert_type(sup.async_nolink(fetch, 1, False), Task[str])
        assert_type(TaskSupervisor.start_child(sup, fetch, 1, True, restart="transient"), Pid)
        assert_type(sup.children(), list[Pid])
        assert_type(sup.count_children(), dict[str, int])
        stream = TaskSupervisor.async_stream_nolink("typed", [1, 2], double)
        assert_type(stream, TaskStream[float])
        async for item in sup.async_stream([1, 2], double, max_concurrency=2):
            assert_type(item, Ok[float] | Exit)
        await TaskSupervisor.terminate_child("typed", sup.children()[0])
        sup.start_child(fetch, 1, "no")  # type: ignore[arg-type]
    tree = await Supervisor.start_link([TaskSupervisor.child_spec(name="t2")])
    assert_type(tree.which_children(), list[ChildInfo])
    await tree.stop()


async def keywords_meant_for_fn_are_type_errors(sup: TaskSupervisor) -> None:
    # Keyword arguments are never passed to the function (bind them with functools.partial):
    # a type checker flags them, and at run time the call raises TypeError with that hint.
    Task.async_(fetch, 1, verbose=True)  # type: ignore[call-overload]
    Task.start(fetch, 1, verbose=True)  # type: ignore[arg-type]
    Task.start_link(fetch, 1, verbose=True)  # type: ignore[arg-type]
    sup.start_child(fetch, 1, verbose=True)  # type: ignore[arg-type]
    sup.async_nolink(fetch, 1, verbose=True)  # type: ignore[call-overload]
