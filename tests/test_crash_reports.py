"""Crash reports (DESIGN §1): one ERROR record on the `taskvisor` logger per crash, none else.

The record reads like Elixir's translated Task report and carries the same facts as `extra`
fields: ``task_pid``, ``starter``, ``function``, ``task_args``, ``reason``, ``callers``,
``traceback``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from typing import Any

import pytest

import taskvisor
from support import SAFETY, crash, exit_with, forever, reply, settle
from taskvisor import Exit, Ok, Pid, Process, Task

Caplog = pytest.LogCaptureFixture


def reports(caplog: Caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "taskvisor" and r.levelno >= logging.ERROR]


async def the_one_report(caplog: Caplog) -> logging.LogRecord:
    """Let the loop settle, then the one crash report logged (fails unless there is exactly one)."""
    await settle()
    [record] = reports(caplog)
    return record


async def next_exit(timeout: float = SAFETY) -> tuple[Pid | None, Any]:
    got = await Process.receive_exit(timeout)
    assert got is not None, "no exit signal arrived"
    return got


def plain_crash(message: str) -> None:
    raise ValueError(message)


async def crash_on_item(item: int) -> int:
    if item == 2:
        raise RuntimeError(f"item {item}")
    return item


# -- one record per crash -----------------------------------------------------------------


class TestOneRecordPerCrash:
    async def test_async_task_crash(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(crash, "oops")
        result = await Task.yield_(t, SAFETY)
        assert isinstance(result, Exit)
        record = await the_one_report(caplog_taskvisor)
        assert record.levelno == logging.ERROR
        assert record.reason is result.reason  # type: ignore[attr-defined]

    async def test_started_process_crash(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        go = asyncio.Event()

        async def crash_later() -> None:
            await go.wait()
            raise RuntimeError("oops")

        pid = Task.start(crash_later)
        Process.link(pid)  # only to learn when it died
        go.set()
        _, reason = await next_exit()
        record = await the_one_report(caplog_taskvisor)
        assert record.task_pid == pid  # type: ignore[attr-defined]
        assert record.reason is reason  # type: ignore[attr-defined]

    async def test_start_link_crash(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        pid = Task.start_link(crash, "oops")
        got_pid, reason = await next_exit()
        assert got_pid == pid
        record = await the_one_report(caplog_taskvisor)
        assert record.task_pid == pid  # type: ignore[attr-defined]
        assert record.reason is reason  # type: ignore[attr-defined]

    async def test_stream_task_crash(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        results = [r async for r in Task.async_stream([1, 2, 3], crash_on_item, timeout=SAFETY)]
        assert results[0] == Ok(1) and results[2] == Ok(3)
        assert isinstance(results[1], Exit)
        record = await the_one_report(caplog_taskvisor)
        assert record.reason is results[1].reason  # type: ignore[attr-defined]
        assert record.task_args == (2,)  # type: ignore[attr-defined]

    async def test_plain_function_in_a_thread_crash(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(plain_crash, "in a thread")
        result = await Task.yield_(t, SAFETY)
        assert isinstance(result, Exit) and isinstance(result.reason, ValueError)
        record = await the_one_report(caplog_taskvisor)
        assert "** (ValueError) in a thread" in record.getMessage()

    async def test_several_crashes_give_one_record_each(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        tasks = [Task.async_(crash, f"crash {i}") for i in range(3)]
        results = await Task.yield_many(tasks, SAFETY)
        assert all(isinstance(r, Exit) for _, r in results)
        await settle()
        records = reports(caplog_taskvisor)
        assert sorted(r.getMessage().split("\n")[1] for r in records) == [
            "** (RuntimeError) crash 0",
            "** (RuntimeError) crash 1",
            "** (RuntimeError) crash 2",
        ]

    async def test_processes_that_die_of_a_linked_crash_are_not_reported(
        self, caplog_taskvisor: Caplog
    ) -> None:
        """Only the crash is reported, not every process its links take down."""
        Process.flag("trap_exit", True)

        async def owner() -> None:
            Task.async_(forever)  # a sibling, killed through the owner's link
            Task.async_(crash, "the only crash")
            await forever()

        o = Task.async_(owner)
        result = await Task.yield_(o, SAFETY)
        assert isinstance(result, Exit)
        record = await the_one_report(caplog_taskvisor)
        assert "the only crash" in record.getMessage()
        assert record.function.endswith("crash")  # type: ignore[attr-defined]


# -- no record for exits that are not crashes ---------------------------------------------


class TestNoRecordForQuietExits:
    async def test_normal_return(self, caplog_taskvisor: Caplog) -> None:
        assert await Task.await_(Task.async_(reply, 1), SAFETY) == 1
        await settle()
        assert reports(caplog_taskvisor) == []

    @pytest.mark.parametrize(
        "reason",
        ["normal", "shutdown", ("shutdown", "detail"), "killed"],
        ids=["normal", "shutdown", "tuple", "killed"],
    )
    async def test_raise_taskexit_with_a_quiet_reason(
        self, caplog_taskvisor: Caplog, reason: Any
    ) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(exit_with, reason)
        assert await Task.yield_(t, SAFETY) == Exit(reason)
        pid = Task.start_link(exit_with, reason)
        assert await next_exit() == (t.pid, reason)
        assert await next_exit() == (pid, reason)
        await settle()
        assert reports(caplog_taskvisor) == []

    async def test_polite_shutdown_and_brutal_kill(self, caplog_taskvisor: Caplog) -> None:
        assert await Task.shutdown(Task.async_(forever), SAFETY) is None
        t = Task.async_(forever)
        await asyncio.sleep(0)
        assert await Task.shutdown(t, "brutal_kill") is None
        await settle()
        assert reports(caplog_taskvisor) == []

    @pytest.mark.parametrize("reason", ["kill", "custom", ("shutdown", 1)])
    async def test_death_by_an_exit_signal(self, caplog_taskvisor: Caplog, reason: Any) -> None:
        """Elixir logs nothing for a process stopped by a signal: it never runs its catch."""
        Process.flag("trap_exit", True)
        pid = Task.start(forever)
        Process.link(pid)
        await asyncio.sleep(0)
        Process.exit(pid, reason)
        assert await next_exit() == (pid, "killed" if reason == "kill" else reason)
        await settle()
        assert reports(caplog_taskvisor) == []

    async def test_an_error_raised_while_unwinding_from_a_signal(
        self, caplog_taskvisor: Caplog
    ) -> None:
        """A sealed fate: the task dies of the signal's reason, and that is not a crash."""
        ready = asyncio.Event()

        async def messy_cleanup() -> None:
            ready.set()
            try:
                await forever()
            finally:
                raise ValueError("cleanup failed")

        t = Task.async_(messy_cleanup)
        await ready.wait()
        assert await Task.shutdown(t, SAFETY) is None
        await settle()
        assert reports(caplog_taskvisor) == []

    async def test_a_task_cancelled_from_outside(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        ready = asyncio.Event()
        handle: list[asyncio.Task[Any]] = []

        async def victim() -> None:
            current = asyncio.current_task()
            assert current is not None
            handle.append(current)
            ready.set()
            await forever()

        t = Task.async_(victim)
        await ready.wait()
        handle[0].cancel()
        assert await Task.yield_(t, SAFETY) == Exit("shutdown")
        await settle()
        assert reports(caplog_taskvisor) == []


# -- what the record says -----------------------------------------------------------------


class TestRecordContents:
    async def test_text_reads_like_elixirs_task_report(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        main = Process.self()
        t = Task.async_(crash, "oops")
        await Task.yield_(t, SAFETY)
        record = await the_one_report(caplog_taskvisor)
        text = record.getMessage()
        lines = text.split("\n")
        assert lines[0] == f"Task {t.pid!r} started from {main!r} terminating"
        assert re.fullmatch(r"Task <0\.\d+\.0> started from <0\.\d+\.0> terminating", lines[0])
        assert lines[1] == "** (RuntimeError) oops"
        assert "Traceback (most recent call last):" in text
        assert "raise RuntimeError(message)" in text  # the line that crashed, from support.py
        assert "RuntimeError: oops" in text
        assert f"Function: {crash.__module__}.{crash.__qualname__}" in lines
        assert lines[-1].strip() == "Args: ['oops']"
        assert lines.index("** (RuntimeError) oops") < lines.index(
            f"Function: {crash.__module__}.{crash.__qualname__}"
        )

    async def test_extra_fields(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        main = Process.self()
        t = Task.async_(crash, "oops")
        result = await Task.yield_(t, SAFETY)
        assert isinstance(result, Exit)
        record = await the_one_report(caplog_taskvisor)
        fields: dict[str, Any] = record.__dict__
        assert fields["task_pid"] == t.pid
        assert fields["starter"] == main
        assert fields["function"] == f"{crash.__module__}.{crash.__qualname__}"
        assert fields["task_args"] == ("oops",)
        assert fields["reason"] is result.reason
        assert fields["callers"] == [main]
        assert isinstance(fields["traceback"], str)
        assert "Traceback (most recent call last):" in fields["traceback"]
        assert "RuntimeError: oops" in fields["traceback"]

    async def test_nested_task_names_its_starter_and_callers(
        self, caplog_taskvisor: Caplog
    ) -> None:
        Process.flag("trap_exit", True)
        main = Process.self()

        async def child() -> tuple[Pid, Pid | None]:
            Process.flag("trap_exit", True)
            inner = Task.async_(crash, "deep")
            await Task.yield_(inner, SAFETY)
            return Process.self(), inner.pid

        child_pid, inner_pid = await Task.await_(Task.async_(child), SAFETY)
        record = await the_one_report(caplog_taskvisor)
        assert record.task_pid == inner_pid  # type: ignore[attr-defined]
        assert record.starter == child_pid  # type: ignore[attr-defined]
        assert record.callers == [child_pid, main]  # type: ignore[attr-defined]
        assert record.getMessage().startswith(
            f"Task {inner_pid!r} started from {child_pid!r} terminating"
        )

    async def test_started_process_text(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        main = Process.self()
        pid = Task.start_link(crash, "from start_link")
        await next_exit()
        record = await the_one_report(caplog_taskvisor)
        text = record.getMessage()
        assert text.startswith(f"Task {pid!r} started from {main!r} terminating\n")
        assert "** (RuntimeError) from start_link" in text
        assert "Args: ['from start_link']" in text

    @pytest.mark.parametrize("executor", ["loop", "thread"])
    async def test_the_stack_holds_the_users_frames_only(
        self, caplog_taskvisor: Caplog, executor: str
    ) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(plain_crash, "deep", executor=executor)
        assert isinstance(await Task.yield_(t, SAFETY), Exit)
        record = await the_one_report(caplog_taskvisor)
        stack: str = record.traceback  # type: ignore[attr-defined]
        assert stack.startswith("Traceback (most recent call last):\n")
        assert f'File "{__file__}"' in stack and "plain_crash" in stack
        package = os.path.dirname(taskvisor.__file__)
        assert package not in stack  # taskvisor's own wrapper frames are left out

    async def test_taskexit_with_a_non_exception_reason_gives_a_stop_banner(
        self, caplog_taskvisor: Caplog
    ) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(exit_with, "boom")
        assert await Task.yield_(t, SAFETY) == Exit("boom")
        record = await the_one_report(caplog_taskvisor)
        lines = record.getMessage().split("\n")
        assert lines[1] == "** (stop) 'boom'"
        assert record.reason == "boom"  # type: ignore[attr-defined]
        assert "Traceback (most recent call last):" in record.getMessage()  # still follows
        assert "exit_with" in record.traceback  # type: ignore[attr-defined]

    async def test_stop_banner_for_a_tuple_reason(self, caplog_taskvisor: Caplog) -> None:
        Process.flag("trap_exit", True)
        t = Task.async_(exit_with, ("error", 42))
        assert await Task.yield_(t, SAFETY) == Exit(("error", 42))
        record = await the_one_report(caplog_taskvisor)
        assert record.getMessage().split("\n")[1] == "** (stop) ('error', 42)"
