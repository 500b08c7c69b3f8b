"""Error messages that say what went wrong and what to write instead, at the call sites users
meet first: an unknown supervisor name, a forgotten supervisor argument, a full supervisor,
a misspelt shutdown word, keyword arguments meant for the function, a stream's failed item.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import pytest

from support import forever, reply
from taskvisor import MaxChildrenError, Task, TaskExit, TaskSupervisor


async def fetch(url: str, retries: int = 1) -> str:
    return f"{url} x{retries}"


class TestSupervisorArgument:
    async def test_an_unknown_name_says_no_supervisor_is_registered_under_it(self) -> None:
        with pytest.raises(TaskExit) as info:
            TaskSupervisor.start_child("MyApp.Missing", reply, 1)
        assert info.value.reason == "noproc"
        text = str(info.value)
        assert "no supervisor is registered under the name 'MyApp.Missing'" in text
        assert "no process: the process is not alive" in text  # Elixir's words for noproc

    @pytest.mark.parametrize(
        "call",
        [
            lambda: TaskSupervisor.start_child(fetch, "u"),  # type: ignore[arg-type]
            lambda: TaskSupervisor.async_(fetch, "u"),  # type: ignore[call-overload]
            lambda: TaskSupervisor.async_nolink(fetch, "u"),  # type: ignore[call-overload]
            lambda: TaskSupervisor.children(fetch),
        ],
        ids=["start_child", "async_", "async_nolink", "children"],
    )
    async def test_a_forgotten_supervisor_says_the_first_argument_must_be_one(
        self, call: Callable[[], Any]
    ) -> None:
        with pytest.raises(TypeError, match="the first argument must be a TaskSupervisor or its"):
            call()

    async def test_max_children_names_the_supervisor_and_its_limit(self) -> None:
        async with TaskSupervisor(max_children=1) as sup:
            sup.start_child(forever)
            with pytest.raises(MaxChildrenError) as info:
                sup.start_child(forever)
        async with TaskSupervisor("messages.full", max_children=0) as named:
            with pytest.raises(MaxChildrenError, match=r"^TaskSupervisor 'messages.full' <0\."):
                named.async_nolink(forever)
        assert info.value.supervisor == sup.pid
        assert info.value.max_children == 1
        assert str(info.value).startswith(f"TaskSupervisor {sup.pid!r} is at its max_children=1: ")
        assert "reached the maximum number of tasks" in str(info.value)  # Elixir's text


class TestShutdownWords:
    @pytest.mark.parametrize("bad", ["brutal", "kill", "BRUTAL_KILL"])
    async def test_task_shutdown_says_what_a_timeout_may_be(self, bad: str) -> None:
        task = Task.async_(forever)
        with pytest.raises(ValueError) as info:
            await Task.shutdown(task, bad)  # type: ignore[arg-type]
        assert str(info.value) == (
            f"timeout must be a number of seconds >= 0, None or 'brutal_kill', got {bad!r}"
        )
        assert await Task.shutdown(task, "brutal_kill") is None

    async def test_a_child_shutdown_says_the_same(self) -> None:
        async with TaskSupervisor() as sup:
            with pytest.raises(ValueError, match="shutdown must be a number of seconds >= 0, None"):
                sup.start_child(forever, shutdown="brutal")  # type: ignore[arg-type]

    async def test_a_stream_shutdown_refuses_infinity_and_says_so(self) -> None:
        async with TaskSupervisor() as sup:
            with pytest.raises(ValueError) as info:
                sup.async_stream([1], reply, shutdown=None)
        assert "must be a number of seconds >= 0 or 'brutal_kill', got None" in str(info.value)


STARTERS: dict[str, Callable[[TaskSupervisor], Any]] = {
    "Task.async_": lambda sup: Task.async_(fetch, "u", retries=3),  # type: ignore[call-overload]
    "Task.start": lambda sup: Task.start(fetch, "u", retries=3),  # type: ignore[arg-type]
    "Task.start_link": lambda sup: Task.start_link(fetch, "u", retries=3),  # type: ignore[arg-type]
    "Task.child_spec": lambda sup: Task.child_spec(fetch, "u", retries=3),  # type: ignore[arg-type]
    "Task.async_stream": lambda sup: Task.async_stream(["u"], fetch, retries=3),  # type: ignore[call-overload]
    "TaskSupervisor.start_child": lambda sup: sup.start_child(fetch, "u", retries=3),  # type: ignore[arg-type]
    "TaskSupervisor.async_": lambda sup: sup.async_(fetch, "u", retries=3),  # type: ignore[call-overload]
    "TaskSupervisor.async_nolink": lambda sup: sup.async_nolink(fetch, "u", retries=3),  # type: ignore[call-overload]
    "TaskSupervisor.async_stream": lambda sup: sup.async_stream(["u"], fetch, retries=3),  # type: ignore[call-overload]
    "TaskSupervisor.async_stream_nolink": lambda sup: sup.async_stream_nolink(  # type: ignore[call-overload]
        ["u"], fetch, retries=3
    ),
}


class TestKeywordsMeantForTheFunction:
    @pytest.mark.parametrize("name", list(STARTERS))
    async def test_the_error_says_to_use_functools_partial(self, name: str) -> None:
        async with TaskSupervisor() as sup:
            with pytest.raises(TypeError) as info:
                STARTERS[name](sup)
            assert sup.children() == []
        text = str(info.value)
        assert text.startswith(f"{name}() got unexpected keyword argument(s) 'retries'")
        assert "functools.partial(fetch, retries=3)" in text

    async def test_the_partial_works(self) -> None:
        task = Task.async_(functools.partial(fetch, retries=3), "u")
        assert await Task.await_(task) == "u x3"


async def crash_on(item: int) -> int:
    if item == 2:
        raise KeyError(f"item {item}")
    await asyncio.sleep(0)
    return item


class TestStreamExits:
    async def test_a_linked_streams_task_exit_names_the_item_that_failed(self) -> None:
        got: list[Any] = []
        with pytest.raises(TaskExit) as info:
            async for result in Task.async_stream([1, 2, 3], crash_on, max_concurrency=1):
                got.append(result)
        text = str(info.value)
        assert isinstance(info.value.reason, KeyError)
        assert "the task for item 2 (input #1)" in text
        assert info.value.sender is not None
        assert f"** (EXIT from {info.value.sender!r})" in text

    async def test_a_stream_timeout_names_the_item_that_timed_out(self) -> None:
        with pytest.raises(TaskExit) as info:
            async for _ in Task.async_stream(["slow"], lambda _: forever(), timeout=0.01):
                pass
        assert info.value.reason == "timeout"
        assert "item 'slow' (input #0) did not finish within 0.01 s" in str(info.value)
