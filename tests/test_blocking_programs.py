"""taskvisor.blocking in whole programs: Ctrl-C, the interpreter's exit, fork.

Each case is a real program run with `sys.executable`; what happened inside it comes back
through a file its code writes (markers), not through timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from support import SAFETY_SLOW

PRELUDE = """
import asyncio, os, sys, threading, time
from taskvisor import blocking

MARKS = sys.argv[1]

def mark(text):
    with open(MARKS, "a") as f:
        f.write(text + "\\n")

async def long(tag):
    try:
        await asyncio.Event().wait()
    finally:
        mark(f"finally {tag}")
"""


def program(tmp_path: Path, body: str) -> tuple[list[str], Path]:
    script = tmp_path / "program.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    return [sys.executable, str(script), str(tmp_path / "marks")], tmp_path / "marks"


def marks(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_for_mark(path: Path, text: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SAFETY_SLOW
    while text not in marks(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no mark {text!r}: {marks(path)}")
        time.sleep(0.01)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process: POSIX")
def test_ctrl_c_in_a_blocked_call_raises_and_stops_linked_tasks(tmp_path: Path) -> None:
    argv, path = program(
        tmp_path,
        """
        t = blocking.Task.async_(long, "linked")
        mark("waiting")
        try:
            blocking.Task.await_(t, None)
        except KeyboardInterrupt:
            mark("KeyboardInterrupt")
            raise
        """,
    )
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_mark(path, "waiting", proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=SAFETY_SLOW)
    assert proc.returncode in (-signal.SIGINT, 128 + signal.SIGINT)  # killed by SIGINT: 130
    got = marks(path)  # the loop stops the linked task while the main thread unwinds
    assert got[0] == "waiting"
    assert sorted(got[1:]) == ["KeyboardInterrupt", "finally linked"]


def test_exit_wakes_a_waiting_non_daemon_thread(tmp_path: Path) -> None:
    argv, path = program(
        tmp_path,
        """
        def waiter():
            t = blocking.Task.async_(long, "thread's task")
            mark("thread waits")
            try:
                blocking.Task.await_(t, None)
            except blocking.TaskExit as exc:
                mark(f"woke {exc.reason}")

        threading.Thread(target=waiter).start()  # not a daemon: the interpreter joins it
        blocking.Task.start(long, "started")
        while not os.path.exists(MARKS) or "thread waits" not in open(MARKS).read():
            time.sleep(0.01)
        mark("main returns")
        """,
    )
    done = subprocess.run(argv, capture_output=True, timeout=SAFETY_SLOW)
    assert done.returncode == 0, done.stderr.decode()
    got = marks(path)
    assert got[:2] == ["thread waits", "main returns"]
    assert sorted(got[2:]) == sorted(["woke shutdown", "finally thread's task", "finally started"])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork")
def test_after_fork_the_child_starts_afresh(tmp_path: Path) -> None:
    argv, path = program(
        tmp_path,
        """
        import warnings
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
        parent = blocking.Process.self()
        blocking.Task.start(long, "parent's")
        sup = blocking.TaskSupervisor.start_link(name="parent's")
        pid = os.fork()
        if pid == 0:
            try:
                import gc
                gc.collect()  # the parent's task must not be closed (its finally run) here
                value = blocking.Task.await_(blocking.Task.async_(asyncio.sleep, 0, "ok"))
                child = blocking.Process.self()
                mark(f"child {value} {child != parent} {threading.active_count()}")
                for target in (sup, "parent's"):
                    try:
                        blocking.TaskSupervisor.children(target)
                    except blocking.TaskExit as exc:
                        mark(f"parent's supervisor: {exc.reason}")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        mark("parent done")
        """,
    )
    done = subprocess.run(argv, capture_output=True, timeout=SAFETY_SLOW)
    assert done.returncode == 0, done.stderr.decode()
    got = marks(path)
    # the child has its own loop thread (2 threads: main and the new loop), no parent tasks
    assert got[:4] == [
        "child ok True 2",
        "parent's supervisor: noproc",
        "parent's supervisor: noproc",
        "parent done",
    ]
    assert got[4:] == ["finally parent's"]


def test_run_application_with_a_sync_main(tmp_path: Path) -> None:
    argv, path = program(
        tmp_path,
        """
        import taskvisor

        def main():
            # a plain main runs in a pool thread: blocking calls there act as its process
            me = blocking.Process.self()
            with blocking.TaskSupervisor(name="Jobs") as sup:
                value = blocking.Task.await_(sup.async_(asyncio.sleep, 0, 21))
            mark(f"main {value * 2} {me == blocking.Process.self()}")

        code = taskvisor.run_application([], main)
        mark(f"exit {code}")
        """,
    )
    done = subprocess.run(argv, capture_output=True, timeout=SAFETY_SLOW)
    assert done.returncode == 0, done.stderr.decode()
    assert marks(path) == ["main 42 True", "exit 0"]
