"""Three questions where taskvisor once answered differently from Elixir; Elixir decides.

Each answer was checked against Elixir 1.14 (``elixir`` on this machine, scripts in the
docstrings) and against Elixir's source (`lib/elixir/lib/task.ex`, `task/supervised.ex`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from support import SAFETY, exit_with, forever, next_exit, settle
from taskvisor import Ok, Process, Task, TaskExit, TaskSupervisor, TaskTimeout


class TestAwaitManyArrivalOrder:
    async def test_both_crashed_before_the_call_exits_with_the_first_to_end(self) -> None:
        """Elixir: ``b = Task.async(fn -> exit(:b) end); a = Task.async(fn -> exit(:a) end)``,
        both dead, then ``Task.await_many([a, b])`` exits with ``:b`` (arrival order)."""
        Process.flag("trap_exit", True)
        b = Task.async_(exit_with, "b")
        assert await next_exit() == (b.pid, "b")
        a = Task.async_(exit_with, "a")
        assert await next_exit() == (a.pid, "a")
        with pytest.raises(TaskExit) as info:
            await Task.await_many([a, b])
        assert info.value.reason == "b"


class TestStreamTimeoutInArrivalOrder:
    """``[100, 1000, 300] |> Task.async_stream(&sleep/1, timeout: 500, max_concurrency: 3,
    ordered: o) |> Enum.each(fn r -> ...; Process.sleep(600) end)``: unordered, Elixir
    delivers 100 and 300 (300 arrived before the timeout), then exits ``:timeout``; ordered,
    only 100 (300 waits behind the item that timed out). Here, with events instead of
    sleeps: item "fast" replies at once, "later" when released, "stuck" never."""

    @pytest.mark.parametrize(
        ("ordered", "delivered"), [(False, ["fast", "later"]), (True, ["fast"])]
    )
    async def test_results_that_arrived_before_the_timeout_are_delivered_first(
        self, ordered: bool, delivered: list[str]
    ) -> None:
        release = asyncio.Event()
        pids: dict[str, Any] = {}

        async def work(item: str) -> str:
            pids[item] = Process.self()
            if item == "later":
                await release.wait()
            elif item == "stuck":
                await forever()
            return item

        got: list[Any] = []
        stream = Task.async_stream(
            ["fast", "stuck", "later"], work, timeout=0.5, ordered=ordered, max_concurrency=3
        )
        with pytest.raises(TaskTimeout):
            async with asyncio.timeout(SAFETY):
                async for result in stream:
                    got.append(result)
                    if len(got) == 1:  # a slow consumer: meanwhile "later" ends, then "stuck"
                        release.set()
                        while Process.alive(pids["later"]) or Process.alive(pids["stuck"]):
                            await asyncio.sleep(0.01)
        assert got == [Ok(item) for item in delivered]
        await settle()


class TestSupervisorAndItsParent:
    async def test_exit_normal_from_the_parent_stops_the_supervisor(self) -> None:
        """Elixir: ``Process.exit(sup, :normal)`` from the process that started it stops the
        supervisor (``{:DOWN, _, _, sup, :normal}``) and its children exit ``:shutdown``."""
        Process.flag("trap_exit", True)
        sup = await TaskSupervisor.start_link()
        child = sup.start_child(forever)
        Process.link(child)
        Process.exit(sup.pid, "normal")
        got = dict([await next_exit(SAFETY), await next_exit(SAFETY)])
        assert got == {child: "shutdown", sup.pid: "normal"}
        assert not Process.alive(sup.pid)

    async def test_exit_normal_from_another_process_is_ignored(self) -> None:
        """Elixir: a supervisor ignores a normal exit signal that is not from its parent."""
        async with TaskSupervisor() as sup:

            async def other() -> None:
                Process.exit(sup.pid, "normal")

            await Task.await_(Task.async_(other))
            await settle()
            assert Process.alive(sup.pid)
