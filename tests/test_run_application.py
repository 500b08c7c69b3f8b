"""`run_application` as a program's entry point (issue 3, item 3), with real processes.

Each scenario is a small script written to a temporary directory and run with the same
Python as the tests. Its children print markers (flushed) when they start and when their
``finally`` runs; the test waits for an "up" marker on stdout, sends a real signal where the
scenario needs one, and checks the exit code, the order of the markers and what was said on
stderr. ``proc.wait(timeout=...)`` is a safety net against a hang, never a timing check.

The scripts that need no signal are started together, once, so that their interpreters
start in parallel; the signal scenarios each run their own.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import taskvisor
from support import SAFETY_SLOW, forever
from taskvisor import ChildSpec, Task, run_application

PRELUDE = """\
import asyncio
import signal
import sys
import threading

import taskvisor
from taskvisor import ChildSpec, Process, Task, TaskExit, run_application


def say(*parts):
    print(*parts, flush=True)


async def child(name):
    say("start", name)
    try:
        await asyncio.Event().wait()
    finally:
        say("stop", name)


def spec(name, **changes):
    return Task.child_spec(child, name).replace(id=name, **changes)


async def handlers_installed():
    while (
        signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        or signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        await asyncio.sleep(0.01)

"""

ENDING = """
code = run_application(CHILDREN, MAIN, **OPTIONS)
say("returned", code)
"""

SCRIPTS: dict[str, str] = {
    # a main that waits until stopped: "up" is printed once the signal handlers are in place
    "signal_with_main": """
        async def main():
            say("up")
            try:
                await asyncio.Event().wait()
            finally:
                say("stop main")

        CHILDREN = [spec("a"), spec("b"), spec("c")]
        MAIN = main
        OPTIONS = {}
    """,
    # no main: the last child says "up" once it sees the signal handlers in place
    "signal_without_main": """
        async def last():
            say("start c")
            try:
                await handlers_installed()
                say("up")
                await asyncio.Event().wait()
            finally:
                say("stop c")

        CHILDREN = [spec("a"), spec("b"), Task.child_spec(last).replace(id="c")]
        MAIN = None
        OPTIONS = {}
    """,
    "main_returns": """
        async def main():
            say("main done")
            return 42

        CHILDREN = [spec("a"), spec("b"), spec("c")]
        MAIN = main
        OPTIONS = {}
    """,
    "main_crashes": """
        async def main():
            say("main crashes")
            raise ValueError("main failed")

        CHILDREN = [spec("a"), spec("b"), spec("c")]
        MAIN = main
        OPTIONS = {}
    """,
    "plain_main_returns": """
        def main():  # a plain function: it runs in a thread
            say("main done")

        CHILDREN = [spec("a")]
        MAIN = main
        OPTIONS = {}
    """,
    "tree_dies": """
        async def crasher():
            say("start b")
            raise RuntimeError("b always crashes")

        CHILDREN = [
            spec("a"),
            Task.child_spec(crasher).replace(id="b", restart="permanent"),
            spec("c"),
        ]
        MAIN = None
        OPTIONS = {"max_restarts": 2, "max_seconds": 3600}
    """,
    "tree_fails_to_start": """
        def refuse():
            say("refusing b")
            raise OSError("port taken")

        async def start_a():
            pid = Task.start_link(child, "a")
            await asyncio.sleep(0)  # let it print its start marker
            return pid

        async def main():
            say("main ran")

        CHILDREN = [ChildSpec(id="a", start=(start_a, ())), ChildSpec(id="b", start=(refuse, ()))]
        MAIN = main
        OPTIONS = {}
    """,
    # a main that swallows its cancellation: it gets main_shutdown, then it is killed
    "main_swallows": """
        async def main():
            say("up")
            while True:
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    say("main swallowed")

        CHILDREN = [spec("a"), spec("b")]
        MAIN = main
        OPTIONS = {"main_shutdown": 0.05}
    """,
    "swallows_cancel": """
        async def swallow_cancels():
            say("start bad")
            while True:
                try:
                    await asyncio.Event().wait()
                except asyncio.CancelledError:
                    say("swallowed")

        async def main():
            say("main done")

        CHILDREN = [
            spec("a"),
            Task.child_spec(swallow_cancels).replace(id="bad", shutdown=0.05),
        ]
        MAIN = main
        OPTIONS = {}
    """,
    "stuck_in_thread": """
        def stuck_forever(started):
            started.set()
            say("start stuck")
            threading.Event().wait()  # nothing ever sets it: this thread never ends

        started = threading.Event()

        async def main():
            await asyncio.get_running_loop().run_in_executor(None, started.wait)
            say("main done")

        CHILDREN = [
            spec("a"),
            Task.child_spec(stuck_forever, started).replace(id="stuck", shutdown=0.05),
        ]
        MAIN = main
        OPTIONS = {}
    """,
    # a thread of the program's own (not taskvisor's), never ending, and not a daemon
    "own_thread_stuck": """
        def stuck_forever():
            threading.Event().wait()  # nothing ever sets it: this thread never ends

        async def main():
            threading.Thread(target=stuck_forever, name="own-stuck").start()
            say("main done")

        CHILDREN = [spec("a")]
        MAIN = main
        OPTIONS = {}
    """,
    # a child whose cleanup never ends and that is given all the time it wants
    "second_signal": """
        async def slow():
            say("start slow")
            try:
                await asyncio.Event().wait()
            finally:
                say("cleaning slow")
                await asyncio.Event().wait()
                say("cleaned slow")

        async def main():
            say("up")
            await asyncio.Event().wait()

        CHILDREN = [spec("a"), Task.child_spec(slow).replace(id="slow", shutdown=None)]
        MAIN = main
        OPTIONS = {}
    """,
    # main blocks the loop for 20x the watchdog's threshold
    "watchdog": """
        import logging
        import time

        logging.basicConfig(level=logging.WARNING)

        async def blocks_the_loop():
            time.sleep(2.0)  # no await: nothing else on the loop runs meanwhile

        CHILDREN = [spec("a")]
        MAIN = blocks_the_loop
        OPTIONS = {"loop_watchdog": 0.1}
    """,
}

SELF_DRIVEN = [
    "watchdog",
    "main_returns",
    "main_crashes",
    "plain_main_returns",
    "tree_dies",
    "tree_fails_to_start",
    "swallows_cancel",
    "stuck_in_thread",
    "own_thread_stuck",
]
"""Scenarios that end on their own: started together, at the first test that needs one."""


class Program:
    """A running script: its stdout lines as they come, its stderr, its exit code."""

    def __init__(self, script: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONWARNINGS"] = "default"
        self.proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line.rstrip("\n"))
        self._new.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self._err.extend(self.proc.stderr)

    def wait_for(self, marker: str) -> None:
        """Block until `marker` is printed; fail if the program ends or hangs first."""
        while True:
            try:
                line = self._new.get(timeout=SAFETY_SLOW)
            except queue.Empty:
                raise AssertionError(f"no {marker!r} after {SAFETY_SLOW} s: {self.lines}") from None
            if line is None:
                raise AssertionError(f"ended before {marker!r}: {self.lines}\n{self.stderr}")
            if line == marker:
                return

    def finish(self) -> int:
        """Wait for the program to exit (a safety net against a hang) and for its output."""
        try:
            code = self.proc.wait(timeout=SAFETY_SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"the program hung: {self.lines}\n{self.stderr}") from None
        for reader in self._readers:
            reader.join(SAFETY_SLOW)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def write_script(directory: Path, name: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(PRELUDE + textwrap.dedent(SCRIPTS[name]) + ENDING)
    return path


@pytest.fixture(scope="module")
def self_driven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Program]]:
    directory = tmp_path_factory.mktemp("apps")
    programs = {name: Program(write_script(directory, name)) for name in SELF_DRIVEN}
    yield programs
    for program in programs.values():
        program.kill()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    """Start a scenario by name; every program started is killed at teardown if still up."""
    started: list[Program] = []

    def start(name: str) -> Program:
        program = Program(write_script(tmp_path, name))
        started.append(program)
        return program

    yield start
    for program in started:
        program.kill()


def stops(*names: str) -> list[str]:
    return [f"stop {name}" for name in names]


def starts(*names: str) -> list[str]:
    return [f"start {name}" for name in names]


# -- signals ------------------------------------------------------------------------------


class TestSignals:
    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
    def test_a_signal_stops_main_then_the_tree_in_reverse_order_and_exits_0(
        self, run: Any, sig: signal.Signals
    ) -> None:
        program = run("signal_with_main")
        program.wait_for("up")
        program.proc.send_signal(sig)
        assert program.finish() == 0, program.stderr
        assert program.lines == [
            *starts("a", "b", "c"),
            "up",
            "stop main",
            *stops("c", "b", "a"),
            "returned 0",
        ]

    @pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
    def test_a_signal_stops_a_tree_without_main(self, run: Any, sig: signal.Signals) -> None:
        program = run("signal_without_main")
        program.wait_for("up")
        program.proc.send_signal(sig)
        assert program.finish() == 0, program.stderr
        assert program.lines == [*starts("a", "b", "c"), "up", *stops("c", "b", "a"), "returned 0"]

    def test_a_second_signal_kills_at_once(self, run: Any) -> None:
        """The first signal starts an orderly stop that waits (shutdown None) on a cleanup
        that never ends; the second one kills the tree and the program exits."""
        program = run("second_signal")
        program.wait_for("up")
        program.proc.send_signal(signal.SIGTERM)
        program.wait_for("cleaning slow")
        program.proc.send_signal(signal.SIGTERM)
        code = program.finish()
        assert code >= 0, f"died of the signal itself ({code}): it was not handled"
        assert "cleaned slow" not in program.lines
        assert program.lines[:3] == ["start a", "start slow", "up"]


# -- how the program ends: main, the tree ------------------------------------------------------


class TestEnding:
    def test_main_returning_stops_the_tree_and_exits_0(
        self, self_driven: dict[str, Program]
    ) -> None:
        program = self_driven["main_returns"]
        assert program.finish() == 0, program.stderr
        assert program.lines == [
            *starts("a", "b", "c"),
            "main done",
            *stops("c", "b", "a"),
            "returned 0",
        ]

    def test_a_plain_function_main_returning_exits_0(self, self_driven: dict[str, Program]) -> None:
        program = self_driven["plain_main_returns"]
        assert program.finish() == 0, program.stderr
        assert program.lines == ["start a", "main done", "stop a", "returned 0"]

    def test_main_crashing_stops_the_tree_and_exits_1(
        self, self_driven: dict[str, Program]
    ) -> None:
        program = self_driven["main_crashes"]
        assert program.finish() == 1, program.stderr
        assert program.lines == [*starts("a", "b", "c"), "main crashes", *stops("c", "b", "a")]
        assert "main failed" in program.stderr  # the crash is reported

    def test_a_tree_dying_of_its_restart_intensity_exits_2(
        self, self_driven: dict[str, Program]
    ) -> None:
        program = self_driven["tree_dies"]
        assert program.finish() == 2, program.stderr
        # b starts, crashes, is restarted twice (max_restarts=2), then the tree stops c and a
        assert program.lines == [*starts("a", "b", "c"), *starts("b", "b"), *stops("c", "a")]

    def test_a_tree_that_fails_to_start_exits_2(self, self_driven: dict[str, Program]) -> None:
        program = self_driven["tree_fails_to_start"]
        assert program.finish() == 2, program.stderr
        assert program.lines == ["start a", "refusing b", "stop a"]
        assert "failed_to_start_child" in program.stderr
        assert "port taken" in program.stderr


class TestLoopWatchdog:
    def test_loop_watchdog_names_a_coroutine_that_blocks_the_loop(
        self, self_driven: dict[str, Program]
    ) -> None:
        program = self_driven["watchdog"]
        assert program.finish() == 0, program.stderr
        assert "blocks_the_loop" in program.stderr
        assert "executor=" in program.stderr


# -- bounded teardown -------------------------------------------------------------------------


class TestBoundedTeardown:
    def test_a_child_that_swallows_cancellation_does_not_hang_the_program(
        self, self_driven: dict[str, Program]
    ) -> None:
        program = self_driven["swallows_cancel"]
        assert program.finish() == 0, program.stderr
        lines = program.lines
        assert lines[:3] == ["start a", "start bad", "main done"]
        assert "swallowed" in lines  # it was asked to stop, and refused
        assert lines[-2:] == ["stop a", "returned 0"]  # then killed, and a stopped after it
        assert "had to kill" in program.stderr  # the taskvisor logger's warning
        assert "swallow_cancels" in program.stderr

    def test_a_main_that_swallows_cancellation_is_killed_after_main_shutdown(
        self, run: Any
    ) -> None:
        program = run("main_swallows")
        program.wait_for("up")
        program.proc.send_signal(signal.SIGTERM)
        assert program.finish() == 0, program.stderr
        lines = program.lines
        assert lines[:3] == ["start a", "start b", "up"]
        assert "main swallowed" in lines
        assert lines[-3:] == [*stops("b", "a"), "returned 0"]  # the tree after main
        assert "closed its coroutine" in program.stderr  # the taskvisor logger's warning
        assert "__main__.main" in program.stderr

    def test_a_plain_function_stuck_in_a_thread_does_not_hang_the_exit(
        self, self_driven: dict[str, Program]
    ) -> None:
        """The thread cannot be stopped; the child is abandoned (and named), and since
        taskvisor's pool threads are daemon threads, the interpreter does not wait for it:
        run_application returns 0 and the program ends."""
        program = self_driven["stuck_in_thread"]
        assert program.finish() == 0, program.stderr
        assert set(program.lines[:3]) == {"start a", "start stuck", "main done"}
        assert program.lines[3:] == ["stop a", "returned 0"]
        err = program.stderr.splitlines()
        assert any("stuck_forever" in line and "thread" in line for line in err), err

    def test_a_programs_own_stuck_thread_does_not_hang_the_exit(
        self, self_driven: dict[str, Program]
    ) -> None:
        """A non-daemon thread of the program's own would keep the interpreter waiting: the
        program exits without waiting (so without returning from run_application), with
        code 0, after saying which threads are left."""
        program = self_driven["own_thread_stuck"]
        assert program.finish() == 0, program.stderr
        assert program.lines[:2] == ["start a", "main done"]
        assert program.lines[2:] == ["stop a"]
        assert any(
            "own-stuck" in line and "exits without waiting" in line
            for line in program.stderr.splitlines()
        ), program.stderr


# -- in-process: arguments and the loop --------------------------------------------------------


class TestArguments:
    @pytest.mark.parametrize(
        ("kwargs", "error", "names"),
        [
            ({"children": "abc"}, TypeError, "children"),
            ({"children": [42]}, TypeError, r"children\[0\]"),
            ({"main": 42}, TypeError, "main"),
            ({"strategy": "one_for_none"}, ValueError, "strategy"),
            ({"max_restarts": -1}, ValueError, "max_restarts"),
            ({"max_restarts": "3"}, TypeError, "max_restarts"),
            ({"max_seconds": 0}, ValueError, "max_seconds"),
            ({"main_shutdown": -1}, ValueError, "main_shutdown"),
            ({"main_shutdown": "later"}, ValueError, "main_shutdown"),
            ({"main_shutdown": "5"}, ValueError, "main_shutdown"),
        ],
    )
    def test_bad_arguments_raise_at_call_time_naming_them(
        self, kwargs: dict[str, Any], error: type[Exception], names: str
    ) -> None:
        ran: list[str] = []

        async def main() -> None:
            ran.append("main")

        kwargs = {"children": [Task.child_spec(forever)], "main": main, **kwargs}
        children = kwargs.pop("children")
        with pytest.raises(error, match=names):
            run_application(children, **kwargs)
        assert ran == []

    def test_duplicate_child_ids_are_refused(self) -> None:
        with pytest.raises(ValueError, match="id"):
            run_application([Task.child_spec(forever), Task.child_spec(forever)])

    async def test_calling_it_from_a_running_loop_raises_runtime_error(self) -> None:
        ran: list[str] = []

        async def main() -> None:
            ran.append("main")

        with pytest.raises(RuntimeError, match="loop"):
            run_application([ChildSpec(id="a", start=(Task.start_link, (forever,)))], main)
        await asyncio.sleep(0)
        assert ran == []

    def test_it_is_exported(self) -> None:
        assert taskvisor.run_application is run_application
