"""Threads that cannot be stopped neither starve the pool nor hang the program's exit.

A killed thread-backed call runs on (a WARNING says so), but it no longer counts against its
pool: a new worker takes its place, so healthy calls still run. The pool's threads are
daemon threads: the end of ``main``, Ctrl-C or SIGTERM never waits for an abandoned one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from support import SAFETY_SLOW, logged_warnings
from taskvisor import Ok, Process, Task, TaskExit, ThreadPool


def block(entered: threading.Event, release: threading.Event) -> str:
    entered.set()
    release.wait(SAFETY_SLOW)
    return "late"


def quick(x: int) -> int:
    return x + 1


class TestAbandonedThreads:
    async def test_after_max_workers_abandoned_calls_a_healthy_call_still_runs(self) -> None:
        pool = ThreadPool(2)
        release = threading.Event()
        try:
            for _ in range(2):
                entered = threading.Event()
                stuck = Task.async_(block, entered, release, executor=pool)
                await _wait_in_thread(entered)
                with logged_warnings("runs on until the function returns"):
                    assert await Task.shutdown(stuck, "brutal_kill") is None
            healthy = Task.async_(quick, 1, executor=pool)
            assert await Task.await_(healthy, SAFETY_SLOW) == 2  # before the fix: TaskTimeout
        finally:
            release.set()
            pool.shutdown()

    async def test_a_queued_call_that_is_stopped_never_begins(self) -> None:
        pool = ThreadPool(1)
        release, entered = threading.Event(), threading.Event()
        ran: list[int] = []
        try:
            busy = Task.async_(block, entered, release, executor=pool)
            await _wait_in_thread(entered)
            queued = Task.async_(ran.append, 1, executor=pool)
            assert await Task.shutdown(queued, 5.0) is None  # stopped while it waited
            release.set()
            assert await Task.await_(busy, SAFETY_SLOW) == "late"
            assert await Task.await_(Task.async_(quick, 2, executor=pool), SAFETY_SLOW) == 3
            assert ran == []
        finally:
            release.set()
            pool.shutdown()

    async def test_the_pools_threads_are_daemon_threads(self) -> None:
        pool = ThreadPool(1)
        try:
            daemon = await Task.await_(
                Task.async_(lambda: threading.current_thread().daemon, executor=pool)
            )
            assert daemon is True
        finally:
            pool.shutdown()

    async def test_results_and_errors_come_back(self) -> None:
        pool = ThreadPool(2)
        try:

            def fail() -> None:
                raise KeyError("x")

            results = [
                r
                async for r in Task.async_stream([1, 2, 3], quick, executor=pool, max_concurrency=3)
            ]
            assert results == [Ok(2), Ok(3), Ok(4)]
            Process.flag("trap_exit", True)
            with pytest.raises(TaskExit) as info:
                await Task.await_(Task.async_(fail, executor=pool))
            assert isinstance(info.value.reason, KeyError)
        finally:
            pool.shutdown()


async def _wait_in_thread(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, SAFETY_SLOW)


# -- the program's exit ----------------------------------------------------------------------

STUCK_CHILD = """
    import asyncio, os, threading
    from taskvisor import TaskSupervisor

    started = threading.Event()

    def stuck():
        print("stuck", flush=True)
        started.set()
        threading.Event().wait()  # nothing ever sets it

    async def main():
        async with TaskSupervisor() as sup:
            sup.start_child(stuck, shutdown=0.1)
            await asyncio.to_thread(started.wait)
            if os.environ["MODE"] == "signal":
                await asyncio.Event().wait()  # until Ctrl-C
        print("stopped", flush=True)

    asyncio.run(main())
"""


def _start(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    script = tmp_path / "stuck_child.py"
    script.write_text(textwrap.dedent(STUCK_CHILD))
    env = {**os.environ, "MODE": mode}
    return subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


class TestExit:
    def test_the_end_of_main_does_not_wait_for_an_abandoned_thread(self, tmp_path: Path) -> None:
        program = _start(tmp_path, "return")
        try:
            out, err = program.communicate(timeout=SAFETY_SLOW)  # before the fix: it never ends
        finally:
            program.kill()
        assert program.returncode == 0, err
        assert out.splitlines() == ["stuck", "stopped"]
        assert "runs on until the function returns" in err

    def test_ctrl_c_does_not_wait_for_an_abandoned_thread(self, tmp_path: Path) -> None:
        program = _start(tmp_path, "signal")
        try:
            assert program.stdout is not None
            assert program.stdout.readline() == "stuck\n"
            program.send_signal(signal.SIGINT)
            _, err = program.communicate(timeout=SAFETY_SLOW)  # before the fix: it never ends
        finally:
            program.kill()
        assert "KeyboardInterrupt" in err
        assert "runs on until the function returns" in err
        assert program.returncode != 0
