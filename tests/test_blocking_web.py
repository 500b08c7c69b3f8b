"""taskvisor.blocking in web servers, and taskvisor.contrib's per-request process scopes.

Real threads, reused as a server reuses its request threads:

- `blocking.process()` and the crash of an awaited linked task, in a reused thread: two
  fixes these cases needed (a `TaskExit` out of a scope exits with its reason; a crash is
  told to the awaiting thread once).

Sequencing is by events and process exits; the only waits on time are safety bounds (a
bounded poll) that turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import taskvisor
from support import SAFETY, reply
from taskvisor import blocking
from taskvisor.blocking import Pid, TaskExit
from taskvisor.testing import live_processes

# -- helpers --------------------------------------------------------------------------------


def eventually(check: Callable[[], bool], what: str) -> None:
    """Poll `check` until it holds (a safety bound, not a measure)."""
    deadline = time.monotonic() + SAFETY
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


def dead(*pids: Pid) -> bool:
    """Whether every one of `pids` has exited, its links and monitors fired."""
    return not any(blocking.Process.alive(pid) for pid in pids)


@pytest.fixture(autouse=True)
def scoped() -> Iterator[None]:
    """The test thread in a process scope of its own; afterwards nothing may run."""
    with blocking.process():
        yield
    eventually(lambda: live_processes() == 0, "every process of the test ended")


async def hold(stopped: threading.Event) -> None:
    """Run until stopped; say so from its ``finally``."""
    try:
        await asyncio.Event().wait()
    finally:
        stopped.set()


async def trap(ready: threading.Event, seen: dict[str, Any]) -> None:
    """Trap exits, then keep the reason of the first exit signal in ``seen["trapped"]``."""
    taskvisor.Process.flag("trap_exit", True)
    ready.set()
    got = await taskvisor.Process.receive_exit(SAFETY)
    seen["trapped"] = None if got is None else got[1]


# -- blocking.process() itself ---------------------------------------------------------------


@pytest.mark.parametrize("reason", ["normal", ValueError("from a task")], ids=["normal", "error"])
def test_a_scope_left_by_task_exit_exits_with_its_reason(reason: Any) -> None:
    """``raise TaskExit(reason)`` out of a scope is Elixir's ``exit(reason)``, as it is out of
    a task's function: the scope's process exits with `reason`, not with the TaskExit (a
    view that lets one escape, a teardown that passes it on). "normal" stops nothing."""
    seen: dict[str, Any] = {}
    stopped = threading.Event()

    def request() -> None:
        with blocking.process() as pid:
            seen["pid"] = pid
            seen["holder"] = blocking.Task.start_link(hold, stopped)
            ready = threading.Event()
            blocking.Task.start_link(trap, ready, seen)
            assert ready.wait(SAFETY)
            raise TaskExit(reason)

    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        with pytest.raises(TaskExit):
            worker.submit(request).result(SAFETY)
        eventually(lambda: "trapped" in seen, "the trapping task got the exit signal")
        assert seen["trapped"] is reason
        assert dead(seen["pid"])
        if reason == "normal":
            assert blocking.Process.alive(seen["holder"])
            assert not stopped.is_set()
            blocking.Process.exit(seen["holder"], "kill")
        assert stopped.wait(SAFETY)


async def fail(message: str) -> None:
    await asyncio.sleep(0)
    raise RuntimeError(message)


def test_the_crash_of_an_awaited_linked_task_is_told_once() -> None:
    """A thread with no scope (a FastAPI ``def`` endpoint's worker thread) awaits a linked task
    that crashes: `Task.await_` raises the link's `TaskExit` (with its sender, as in the
    asyncio API), and that is the thread's one telling: its next call, the next request on
    that thread, is a new process. (A fix: the wait used to take the DOWN first, and the
    link's signal was told again by the thread's next call.)"""

    def request() -> tuple[TaskExit, Pid, Pid]:
        before = blocking.Process.self()
        task = blocking.Task.async_(fail, "awaited")
        with pytest.raises(TaskExit) as caught:
            blocking.Task.await_(task, SAFETY)
        assert caught.value.sender == task.pid
        return caught.value, before, task.pid

    def next_request() -> tuple[Pid, int]:
        return blocking.Process.self(), blocking.Task.await_(blocking.Task.async_(reply, 7))

    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        error, before, crashed = worker.submit(request).result(SAFETY)
        assert repr(error.reason) == repr(RuntimeError("awaited"))
        eventually(lambda: dead(before, crashed), "the crash, and the thread's process's end")
        after, value = worker.submit(next_request).result(SAFETY)
    assert value == 7
    assert after != before
