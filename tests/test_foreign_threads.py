"""The asyncio API called from a thread that does not run the loop: one clear RuntimeError.

asyncio is not thread-safe. A FastAPI ``def`` endpoint or an ``asyncio.to_thread`` function
that calls taskvisor must be refused at once, whatever the loop is doing, with a message that
names the call and the thread-safe way (`taskvisor.blocking`), and nothing may be touched:
no process created, none linked to whatever task the loop happens to be running. A call from
a thread that runs another event loop says so.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from support import forever, reply
from taskvisor import Process, Supervisor, Task, TaskSupervisor
from taskvisor.testing import live_tasks


def call_in_thread(fn: Callable[[], Any]) -> BaseException | None:
    """Run `fn` in a fresh thread (with no event loop) and return what it raised, if anything.

    A coroutine that `fn` returns is driven one step, as a loop would start it: its first
    step is where a coroutine function of the API checks where it runs.
    """
    caught: list[BaseException] = []

    def run() -> None:
        try:
            result = fn()
            if isinstance(result, Coroutine):
                try:
                    result.send(None)
                finally:
                    result.close()
        except BaseException as exc:  # the test reads it
            caught.append(exc)

    thread = threading.Thread(target=run, name="worker-thread")
    thread.start()
    thread.join()
    return caught[0] if caught else None


def api_calls(task: Task[Any], sup: TaskSupervisor, tree: Supervisor) -> dict[str, Any]:
    """Every function of the asyncio API, as a thread would call it."""
    pid = Process.self()
    return {
        "Task.async_": lambda: Task.async_(reply, 1),
        "Task.start": lambda: Task.start(reply, 1),
        "Task.start_link": lambda: Task.start_link(reply, 1),
        "Task.completed": lambda: Task.completed(1),
        "Task.await_": lambda: Task.await_(task),
        "Task.await_many": lambda: Task.await_many([task]),
        "Task.yield_": lambda: Task.yield_(task),
        "Task.yield_many": lambda: Task.yield_many([task]),
        "Task.shutdown": lambda: Task.shutdown(task),
        "Task.ignore": lambda: Task.ignore(task),
        "Process.self": Process.self,
        "Process.alive": lambda: Process.alive(pid),
        "Process.exit": lambda: Process.exit(pid, "boom"),
        "Process.link": lambda: Process.link(pid),
        "Process.unlink": lambda: Process.unlink(pid),
        "Process.flag": lambda: Process.flag("trap_exit", True),
        "Process.receive_exit": lambda: Process.receive_exit(0),
        "Process.callers": Process.callers,
        "Process.ancestors": Process.ancestors,
        "TaskSupervisor.start_link": TaskSupervisor.start_link,
        "TaskSupervisor.start_child": lambda: TaskSupervisor.start_child(sup, reply, 1),
        "TaskSupervisor.async_": lambda: sup.async_(reply, 1),
        "TaskSupervisor.async_nolink": lambda: sup.async_nolink(reply, 1),
        "TaskSupervisor.children": sup.children,
        "TaskSupervisor.count_children": sup.count_children,
        "TaskSupervisor.which_children": sup.which_children,
        "TaskSupervisor.terminate_child": lambda: sup.terminate_child(pid),
        "TaskSupervisor.stop": sup.stop,
        "Supervisor.start_link": lambda: Supervisor.start_link([]),
        "Supervisor.which_children": tree.which_children,
        "Supervisor.count_children": tree.count_children,
        "Supervisor.stop": tree.stop,
    }


NAMES = [
    "Task.async_",
    "Task.start",
    "Task.start_link",
    "Task.completed",
    "Task.await_",
    "Task.await_many",
    "Task.yield_",
    "Task.yield_many",
    "Task.shutdown",
    "Task.ignore",
    "Process.self",
    "Process.alive",
    "Process.exit",
    "Process.link",
    "Process.unlink",
    "Process.flag",
    "Process.receive_exit",
    "Process.callers",
    "Process.ancestors",
    "TaskSupervisor.start_link",
    "TaskSupervisor.start_child",
    "TaskSupervisor.async_",
    "TaskSupervisor.async_nolink",
    "TaskSupervisor.children",
    "TaskSupervisor.count_children",
    "TaskSupervisor.which_children",
    "TaskSupervisor.terminate_child",
    "TaskSupervisor.stop",
    "Supervisor.start_link",
    "Supervisor.which_children",
    "Supervisor.count_children",
    "Supervisor.stop",
]


class TestAnIdleLoop:
    @pytest.mark.parametrize("name", NAMES)
    async def test_every_function_refuses_a_thread_naming_itself_and_the_thread_safe_way(
        self, name: str
    ) -> None:
        tree = await Supervisor.start_link([])
        async with TaskSupervisor() as sup:
            task = Task.async_(forever)
            calls = api_calls(task, sup, tree)
            assert set(calls) == set(NAMES)
            before = live_tasks()
            error = await asyncio.to_thread(call_in_thread, calls[name])
            assert isinstance(error, RuntimeError), error
            assert str(error).startswith(f"{name} was called from thread 'worker-thread'")
            assert "taskvisor.blocking" in str(error)
            assert live_tasks() == before  # nothing was started or adopted
            assert sup.children() == []
            assert Process.alive(task.pid)  # type: ignore[arg-type]
            assert await Task.shutdown(task) is None
        await tree.stop()

    async def test_task_completed_outside_any_loop_gets_taskvisors_message(self) -> None:
        error = await asyncio.to_thread(call_in_thread, lambda: Task.completed(1))
        assert isinstance(error, RuntimeError)
        assert "no running event loop" not in str(error)  # not asyncio's words
        assert str(error).startswith("Task.completed was called from thread")


def test_task_completed_with_no_loop_anywhere() -> None:
    with pytest.raises(RuntimeError, match=r"^Task\.completed was called from thread 'MainThread'"):
        Task.completed(1)


class TestABusyLoop:
    async def test_start_child_from_a_thread_while_the_loop_runs_another_task(self) -> None:
        """Before the fix, the child was created off-thread and linked to the busy task."""
        async with TaskSupervisor() as sup:
            outcome: list[BaseException | None] = []
            called = threading.Event()

            def from_thread() -> None:
                try:
                    TaskSupervisor.start_child(sup, reply, 1)
                except BaseException as exc:
                    outcome.append(exc)
                else:
                    outcome.append(None)
                called.set()

            async def busy() -> str:
                # Holds the loop (no await) until the thread's call has returned.
                thread = threading.Thread(target=from_thread)
                thread.start()
                called.wait()
                thread.join()
                return "survived"

            busy_task = Task.async_(busy)
            assert await Task.await_(busy_task) == "survived"
            assert isinstance(outcome[0], RuntimeError)
            assert "taskvisor.blocking" in str(outcome[0])
            assert sup.children() == []

    @pytest.mark.parametrize("name", ["Task.async_", "Process.self", "TaskSupervisor.async_"])
    async def test_the_error_is_the_same_whatever_the_loop_does(self, name: str) -> None:
        tree = await Supervisor.start_link([])
        async with TaskSupervisor() as sup:
            task = Task.async_(forever)
            fn = api_calls(task, sup, tree)[name]
            idle = await asyncio.to_thread(call_in_thread, fn)
            box: list[BaseException | None] = []

            async def hold_the_loop() -> None:
                box.append(call_in_thread(fn))  # the loop is blocked while the thread calls

            await Task.await_(Task.async_(hold_the_loop))
            assert type(idle) is type(box[0]) is RuntimeError
            assert str(idle).replace("worker-thread", "") == str(box[0]).replace(
                "worker-thread", ""
            )
            assert await Task.shutdown(task) is None
        await tree.stop()


async def in_another_loop(call: Callable[[], Any]) -> BaseException | None:
    """Run `call` (and await what it returns) under ``asyncio.run`` in a thread of its own:
    a thread that runs another event loop. Returns the RuntimeError it raised, if any."""

    async def main() -> BaseException | None:
        try:
            result = call()
            if isinstance(result, Coroutine):
                await result
        except RuntimeError as exc:
            return exc
        return None

    return await asyncio.to_thread(asyncio.run, main())


class TestAnotherEventLoop:
    async def test_a_supervisor_called_from_another_loops_thread_says_so(self) -> None:
        async with TaskSupervisor(name="threads.other-loop") as sup:
            error = await in_another_loop(
                lambda: TaskSupervisor.start_child("threads.other-loop", reply, 1)
            )
            assert isinstance(error, RuntimeError)
            assert "runs another event loop" in str(error)
            assert "inside an asyncio task" not in str(error).split(".")[0]
            assert sup.children() == []

    async def test_a_task_awaited_from_another_loop_says_so(self) -> None:
        task = Task.async_(forever)
        error = await in_another_loop(lambda: Task.await_(task, 0))
        assert isinstance(error, RuntimeError)
        assert "runs another event loop" in str(error)
        assert await Task.shutdown(task) is None

    async def test_a_process_of_another_loop_cannot_be_signalled(self) -> None:
        task = Task.async_(forever)
        pid = task.pid
        assert pid is not None
        error = await in_another_loop(lambda: Process.exit(pid, "boom"))
        assert isinstance(error, RuntimeError)
        assert str(error).startswith("Process.exit was called from thread")
        assert "runs another event loop" in str(error)
        assert Process.alive(pid)
        assert await Task.shutdown(task) is None


class TestNamesFromAThread:
    @pytest.mark.parametrize(
        "call",
        [
            lambda: TaskSupervisor.start_child("threads.nobody", reply, 1),
            lambda: TaskSupervisor.children("threads.nobody"),
            lambda: Supervisor.which_children("threads.nobody"),
        ],
        ids=["start_child", "children", "which_children"],
    )
    async def test_an_unknown_name_from_a_thread_gets_the_thread_error(
        self, call: Callable[[], Any]
    ) -> None:
        """Where the call comes from is said first, before whether the name exists."""
        error = await asyncio.to_thread(call_in_thread, call)
        assert isinstance(error, RuntimeError)
        assert "which is not running an event loop" in str(error)
