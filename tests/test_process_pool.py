"""The process pool: real worker processes, stopped politely, killed, crashed and recycled.

Every test works through the public API (`Task.async_`, `Task.async_stream`, `Task.shutdown`,
``executor="process"`` or a `ProcessPool`). Workers tell the test what they do (their OS pid,
that a ``finally`` ran) through a TCP socket on 127.0.0.1 (`Inbox`), and the test learns that a
process ended from its pidfd, so nothing waits on a clock. Most tests share the default pool
(``executor="process"``), which also shows it serving one event loop after another; each
fault test checks that the pool serves calls again afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from support import SAFETY_SLOW
from taskvisor import (
    Exit,
    Ok,
    Process,
    ProcessPool,
    RemoteError,
    RemoteTraceback,
    Task,
    WorkerCrashedError,
)
from taskvisor.testing import off_posix

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="needs Linux pidfds")


Address = tuple[str, int]


# -- what the workers run ---------------------------------------------------------------------
# Functions defined here travel by reference (a worker imports this module from the caller's
# sys.path); closures made by the factories travel by value, with cloudpickle.


def tell(address: Address, message: str, wait: bool = False) -> None:
    """Send `message` to the test's `Inbox`; with `wait`, block until the test answers."""
    with socket.create_connection(address) as conn:
        conn.sendall(message.encode() + b"\n")
        if wait:
            conn.recv(1)


def double_here(x: int) -> tuple[int, int]:
    return os.getpid(), 2 * x


def spin_after_telling(address: Address) -> None:
    """Tell our pid, then spin: a CPU loop that never awaits and never returns."""
    tell(address, str(os.getpid()))
    while True:
        pass


def spin_then_clean_up(address: Address) -> None:
    try:
        tell(address, str(os.getpid()))
        while True:
            pass
    finally:
        tell(address, "cleaned up")


async def sleep_then_clean_up(address: Address) -> None:
    try:
        tell(address, str(os.getpid()))
        await asyncio.sleep(3600)
    finally:
        tell(address, "cleaned up")


def ignore_interrupts(address: Address) -> None:
    """A CPU loop that swallows KeyboardInterrupt: only a kill stops it."""
    told = False
    while True:
        try:
            if not told:
                told = True
                tell(address, str(os.getpid()))
            while True:
                pass
        except KeyboardInterrupt:
            pass


def wait_for_go(address: Address) -> int:
    tell(address, str(os.getpid()), wait=True)
    return os.getpid()


class NeedsTwoArguments(Exception):
    """Pickles in the worker, but cannot be unpickled: pickle calls it with one argument."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(what)
        self.extra = extra


def raise_needs_two() -> None:
    raise NeedsTwoArguments("needs two", "extra")


def make_adder(n: int) -> Callable[[int], int]:
    def add(x: int) -> int:
        return x + n

    return add


def make_cpu_stream_item(address: Address) -> Callable[[Any], Any]:
    """A closure (it travels by value): squares numbers, spins forever on "hang"."""

    def item(x: Any) -> Any:
        if x == "hang":
            with socket.create_connection(address) as conn:
                conn.sendall(f"{os.getpid()}\n".encode())
            while True:
                pass
        return x * x

    return item


# -- the test's side ------------------------------------------------------------------------


class Inbox:
    """A TCP server on 127.0.0.1: workers send lines to it, the test reads them in order."""

    def __init__(self) -> None:
        self._lines: asyncio.Queue[tuple[str, asyncio.StreamWriter]] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self.address: Address = ("127.0.0.1", 0)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        await self._lines.put((line.decode().strip(), writer))

    async def next(self) -> str:
        """The next line, its sender answered (released if it waits)."""
        line, writer = await self.next_waiting()
        writer.close()
        return line

    async def next_waiting(self) -> tuple[str, asyncio.StreamWriter]:
        """The next line and its connection, left open: closing it releases the sender."""
        async with asyncio.timeout(SAFETY_SLOW):
            return await self._lines.get()

    async def next_pid(self) -> int:
        return int(await self.next())


@contextlib.asynccontextmanager
async def inbox() -> AsyncIterator[Inbox]:
    box = Inbox()
    server = await asyncio.start_server(box._client, "127.0.0.1", 0)
    box.address = server.sockets[0].getsockname()[:2]
    async with server:
        yield box


async def ended(pid: int) -> None:
    """Return once OS process `pid` has ended (its pidfd becomes readable)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.add_reader(fd, lambda: done.done() or done.set_result(None))
    try:
        async with asyncio.timeout(SAFETY_SLOW):
            await done
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def alive(pid: int) -> bool:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    try:
        return not select.select([fd], [], [], 0)[0]
    finally:
        os.close(fd)


async def run(fn: Callable[..., Any], *args: Any, executor: Any = "process") -> Any:
    return await Task.await_(Task.async_(fn, *args, executor=executor), SAFETY_SLOW)


async def serves_again(dead: int, executor: Any = "process") -> None:
    """The pool still serves calls, in a worker other than the dead one."""
    pid = await run(os.getpid, executor=executor)
    assert pid not in (dead, os.getpid())


# -- where functions run ------------------------------------------------------------------------


class TestWhereFunctionsRun:
    async def test_a_function_of_this_module_runs_in_another_process(self) -> None:
        pid, value = await run(double_here, 21)
        assert value == 42
        assert pid != os.getpid()

    async def test_lambdas_and_closures_travel_by_value(self) -> None:
        offset = 5
        assert await run(lambda: offset + 1) == 6
        assert await run(make_adder(10), 1) == 11

    async def test_a_coroutine_function_runs_under_asyncio_run_in_the_worker(self) -> None:
        async def where() -> tuple[int, bool]:
            await asyncio.sleep(0)
            return os.getpid(), asyncio.get_running_loop() is not None

        pid, in_loop = await run(where)
        assert pid != os.getpid() and in_loop

    async def test_workers_see_the_callers_sys_path_even_after_it_changes(
        self, tmp_path: Path
    ) -> None:
        await run(os.getpid)  # the pool runs before the path changes
        (tmp_path / "tv_path_probe.py").write_text("def where():\n    return __file__\n")
        sys.path.insert(0, str(tmp_path))
        try:
            import tv_path_probe  # type: ignore[import-not-found]

            assert await run(tv_path_probe.where) == str(tmp_path / "tv_path_probe.py")
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("tv_path_probe", None)

    async def test_a_worker_starts_without_importing_the_taskvisor_package(self) -> None:
        """Its own modules are loaded from their files under a private name."""

        def imported() -> set[str]:  # a closure: it travels by value, importing nothing
            return {m.partition(".")[0] for m in sys.modules if "taskvisor" in m}

        with ProcessPool(1) as pool:
            assert await run(imported, executor=pool) == {"_taskvisor_worker"}

    async def test_a_worker_imports_with_the_callers_sys_path_from_its_start(
        self, tmp_path: Path
    ) -> None:
        """A module the worker imports at start is found on the caller's path first: here a
        broken cloudpickle, so the worker dies while starting and fails the queued call."""
        await run(os.getpid)  # the caller has its own cloudpickle loaded already
        (tmp_path / "cloudpickle.py").write_text("raise ImportError('a broken cloudpickle')\n")
        Process.flag("trap_exit", True)
        sys.path.insert(0, str(tmp_path))
        try:
            with ProcessPool(1) as pool:
                result = await Task.yield_(Task.async_(abs, -1, executor=pool), SAFETY_SLOW)
        finally:
            sys.path.remove(str(tmp_path))
        assert isinstance(result, Exit) and isinstance(result.reason, WorkerCrashedError)
        assert "while starting" in "".join(result.reason.__notes__)
        assert await run(abs, -1) == 1

    async def test_a_stream_maps_over_the_pool(self) -> None:
        results = [r async for r in Task.async_stream(range(6), abs, executor="process")]
        assert results == [Ok(i) for i in range(6)]


# -- errors come back as themselves -----------------------------------------------------------


class TestErrors:
    async def test_an_exception_keeps_its_type_and_carries_the_worker_traceback(self) -> None:
        def fails_in_worker() -> None:
            raise ValueError("bad input")

        Process.flag("trap_exit", True)
        result = await Task.yield_(Task.async_(fails_in_worker, executor="process"), SAFETY_SLOW)
        assert isinstance(result, Exit)
        exc = result.reason
        assert type(exc) is ValueError and str(exc) == "bad input"
        assert isinstance(exc.__cause__, RemoteTraceback)
        assert "in fails_in_worker" in exc.__cause__.traceback
        assert "ValueError: bad input" in exc.__cause__.traceback

    async def test_an_exception_that_cannot_be_unpickled_here_is_a_remote_error(self) -> None:
        Process.flag("trap_exit", True)
        result = await Task.yield_(Task.async_(raise_needs_two, executor="process"), SAFETY_SLOW)
        assert isinstance(result, Exit) and isinstance(result.reason, RemoteError)
        exc = result.reason
        assert exc.type_name == "test_process_pool.NeedsTwoArguments"
        assert exc.message == "needs two"
        assert "in raise_needs_two" in exc.traceback
        assert "NeedsTwoArguments: needs two" in str(exc) and "in raise_needs_two" in str(exc)

    async def test_an_exception_that_cannot_be_pickled_in_the_worker_is_a_remote_error(
        self,
    ) -> None:
        def raise_with_a_lock() -> None:
            raise ValueError(threading.Lock())

        Process.flag("trap_exit", True)
        result = await Task.yield_(Task.async_(raise_with_a_lock, executor="process"), SAFETY_SLOW)
        assert isinstance(result, Exit) and isinstance(result.reason, RemoteError)
        assert result.reason.type_name == "ValueError"
        assert "_thread.lock" in result.reason.message

    async def test_a_result_that_cannot_be_pickled_is_an_error_of_the_call(self) -> None:
        def return_a_lock() -> Any:
            return os.getpid(), threading.Lock()

        Process.flag("trap_exit", True)
        result = await Task.yield_(Task.async_(return_a_lock, executor="process"), SAFETY_SLOW)
        assert isinstance(result, Exit) and isinstance(result.reason, TypeError)
        assert "pickle" in str(result.reason)
        assert "return_a_lock returned a value" in "".join(result.reason.__notes__)
        await serves_again(dead=-1)

    async def test_arguments_that_cannot_be_pickled_crash_the_task_with_a_note(self) -> None:
        Process.flag("trap_exit", True)
        result = await Task.yield_(
            Task.async_(double_here, threading.Lock(), executor="process"), SAFETY_SLOW
        )
        assert isinstance(result, Exit) and isinstance(result.reason, TypeError)
        assert "double_here" in "".join(result.reason.__notes__)


# -- stopping: politely, by force, and deaths nobody asked for -------------------------------


class TestStopping:
    async def test_a_busy_loop_is_killed_on_its_stream_timeout_while_the_others_finish(
        self,
    ) -> None:
        async with inbox() as box:
            items = [1, 2, "hang", 3, 4]
            stream = Task.async_stream(
                items,
                make_cpu_stream_item(box.address),
                executor="process",
                max_concurrency=2,
                timeout=1.0,
                on_timeout="kill_task",
            )
            results = [r async for r in stream]
            spinner = await box.next_pid()
        assert results == [Ok(1), Ok(4), Exit("timeout"), Ok(9), Ok(16)]
        await ended(spinner)
        await serves_again(spinner)

    async def test_brutal_kill_sigkills_the_worker(self) -> None:
        async with inbox() as box:
            t = Task.async_(spin_after_telling, box.address, executor="process")
            pid = await box.next_pid()
            assert await Task.shutdown(t, "brutal_kill") is None
        await ended(pid)
        await serves_again(pid)

    @pytest.mark.parametrize("fn", [spin_then_clean_up, sleep_then_clean_up])
    async def test_a_polite_shutdown_interrupts_the_call_and_its_finally_runs(
        self, fn: Callable[..., Any]
    ) -> None:
        async with inbox() as box:
            t = Task.async_(fn, box.address, executor="process")
            pid = await box.next_pid()
            assert await Task.shutdown(t, SAFETY_SLOW) is None
            assert await box.next() == "cleaned up"
        assert alive(pid)  # the worker answered "stopped" and serves on

    async def test_a_shutdown_timeout_kills_a_call_that_ignores_the_interrupt(self) -> None:
        async with inbox() as box:
            t = Task.async_(ignore_interrupts, box.address, executor="process")
            pid = await box.next_pid()
            assert await Task.shutdown(t, 0.2) == Exit("killed")
        await ended(pid)
        await serves_again(pid)

    async def test_a_worker_killed_from_outside_ends_its_task_with_worker_crashed(
        self,
    ) -> None:
        Process.flag("trap_exit", True)
        async with inbox() as box:
            t = Task.async_(spin_after_telling, box.address, executor="process")
            pid = await box.next_pid()
            os.kill(pid, signal.SIGKILL)
            result = await Task.yield_(t, SAFETY_SLOW)
        assert isinstance(result, Exit) and isinstance(result.reason, WorkerCrashedError)
        exc = result.reason
        assert (exc.pid, exc.exitcode) == (pid, -signal.SIGKILL)
        assert f"worker process {pid}" in str(exc)
        assert "spin_after_telling" in str(exc) and "SIGKILL" in str(exc)
        await serves_again(pid)

    async def test_os_exit_in_the_worker_ends_the_task_with_worker_crashed(self) -> None:
        Process.flag("trap_exit", True)
        result = await Task.yield_(Task.async_(os._exit, 3, executor="process"), SAFETY_SLOW)
        assert isinstance(result, Exit) and isinstance(result.reason, WorkerCrashedError)
        assert result.reason.exitcode == 3
        assert "_exit" in str(result.reason) and "exited with code 3" in str(result.reason)
        await serves_again(dead=-1)

    async def test_a_queued_call_that_is_stopped_never_runs(self) -> None:
        with ProcessPool(1) as pool:
            async with inbox() as box:
                busy = Task.async_(wait_for_go, box.address, executor=pool)
                _, writer = await box.next_waiting()
                queued = Task.async_(tell, box.address, "queued call ran", executor=pool)
                assert await Task.shutdown(queued, SAFETY_SLOW) is None
                writer.close()  # release the busy call
                pid = await Task.await_(busy, SAFETY_SLOW)
                assert await run(tell, box.address, "next call ran", executor=pool) is None
                assert await box.next() == "next call ran"
            assert await run(os.getpid, executor=pool) == pid


# -- the pool's own life ------------------------------------------------------------------------


class TestPoolLife:
    async def test_max_calls_per_worker_recycles_the_worker(self) -> None:
        with ProcessPool(1, max_calls_per_worker=2) as pool:
            pids = [await run(os.getpid, executor=pool) for _ in range(4)]
        assert pids[0] == pids[1] != pids[2] == pids[3]
        await ended(pids[0])

    async def test_closing_the_pool_ends_every_worker(self) -> None:
        pool = ProcessPool(2)
        async with inbox() as box:
            tasks = [Task.async_(wait_for_go, box.address, executor=pool) for _ in range(2)]
            waiting = [await box.next_waiting() for _ in range(2)]
            pids = {int(line) for line, _ in waiting}
            for _, writer in waiting:
                writer.close()
            assert set(await Task.await_many(tasks, SAFETY_SLOW)) == pids
        assert len(pids) == 2
        pool.close()
        for pid in pids:
            await ended(pid)
        assert await run(os.getpid, executor=pool) not in pids  # a later call starts it again
        pool.close()

    async def test_closing_the_pool_kills_running_calls_and_cancels_them(self) -> None:
        pool = ProcessPool(1)
        async with inbox() as box:
            call = asyncio.ensure_future(pool.run(spin_after_telling, (box.address,)))
            pid = await box.next_pid()
            pool.close()
            with pytest.raises(asyncio.CancelledError):
                await call
        await ended(pid)

    def test_one_pool_serves_event_loops_in_several_threads_at_once(self) -> None:
        results: dict[int, list[int]] = {}

        def thread(k: int, pool: ProcessPool) -> None:
            async def calls() -> list[int]:
                return [await pool.run(abs, (-10 * k - i,)) for i in range(5)]

            results[k] = asyncio.run(calls())

        with ProcessPool(2) as pool:
            threads = [threading.Thread(target=thread, args=(k, pool)) for k in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(SAFETY_SLOW)
        assert results == {k: [10 * k + i for i in range(5)] for k in range(3)}

    def test_a_program_exits_promptly_and_leaves_no_worker_behind(self, tmp_path: Path) -> None:
        """An idle worker and a busy one: the loop's teardown and the exit hook end both."""
        script = tmp_path / "uses_the_pool.py"
        script.write_text(
            textwrap.dedent(
                """
                import asyncio, os, socket
                from taskvisor import ProcessPool, Task

                def spin(port):
                    with socket.create_connection(("127.0.0.1", port)) as conn:
                        conn.sendall(str(os.getpid()).encode())
                    while True:
                        pass

                async def main(server):
                    loop = asyncio.get_running_loop()
                    # a worker of the default pool, idle at exit
                    print(await Task.await_(Task.async_(os.getpid, executor="process")))
                    # a worker of another pool, busy at exit
                    Task.start(spin, server.getsockname()[1], executor=ProcessPool(1))
                    conn, _ = await loop.sock_accept(server)
                    with conn:
                        pid = b""
                        while chunk := await loop.sock_recv(conn, 64):
                            pid += chunk
                    print(pid.decode(), flush=True)

                if __name__ == "__main__":
                    with socket.create_server(("127.0.0.1", 0)) as server:
                        server.setblocking(False)
                        asyncio.run(main(server))
                """
            )
        )
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=SAFETY_SLOW
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == ""
        pids = {int(line) for line in proc.stdout.split()}
        assert len(pids) == 2
        for pid in pids:
            assert wait_ended(pid)

    def test_workers_die_with_a_program_that_is_killed(self, tmp_path: Path) -> None:
        script = tmp_path / "killed.py"
        script.write_text(
            textwrap.dedent(
                """
                import asyncio, os
                from taskvisor import Task

                def spin():
                    print(os.getpid(), flush=True)
                    while True:
                        pass

                async def main():
                    await Task.await_(Task.async_(spin, executor="process"), None)

                if __name__ == "__main__":
                    asyncio.run(main())
                """
            )
        )
        with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            worker = int(proc.stdout.readline())
            proc.kill()
        assert wait_ended(worker)


GUARDLESS_SCRIPT = """
import asyncio, os, threading
from taskvisor import ProcessPool, Task

with open(os.environ["TV_MARKER"], "a") as marker:  # once per process that runs this module
    marker.write(f"{os.getpid()}\\n")

def square(x):
    return x * x

release = threading.Event()
threads = [threading.Thread(target=release.wait) for _ in range(2)]
for thread in threads:
    thread.start()

async def main():
    method = os.environ["TV_START_METHOD"]
    executor = "process" if method == "default" else ProcessPool(2, start_method=method)
    stream = Task.async_stream(range(4), square, executor=executor, timeout=None)
    print(os.getpid(), [result.value async for result in stream])

asyncio.run(main())
release.set()
"""


class TestScriptsWithoutTheMainGuard:
    """A script with no ``if __name__ == "__main__":`` runs as written: workers never import
    the caller's ``__main__`` (its functions travel by value)."""

    @pytest.mark.parametrize("method", ["default", "spawn", "fork"])
    def test_a_guardless_script_with_threads_and_asyncio_run_works(
        self, tmp_path: Path, method: str
    ) -> None:
        script = tmp_path / "no_guard.py"
        script.write_text(GUARDLESS_SCRIPT)
        marker = tmp_path / "imported_by.txt"
        env = {**os.environ, "TV_MARKER": str(marker), "TV_START_METHOD": method}
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=SAFETY_SLOW,
            env=env,
            cwd=tmp_path,
        )
        assert (proc.returncode, proc.stderr) == (0, "")
        pid, results = proc.stdout.split(" ", 1)
        assert results == "[0, 1, 4, 9]\n"
        assert marker.read_text().split() == [pid]  # the script's own line, no worker's


def wait_ended(pid: int) -> bool:
    """Block until OS process `pid` has ended (at most SAFETY_SLOW seconds)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], SAFETY_SLOW)[0])
    finally:
        os.close(fd)


# -- arguments ----------------------------------------------------------------------------------


class TestArguments:
    @pytest.mark.parametrize(
        ("kwargs", "error", "name"),
        [
            ({"max_workers": 0}, ValueError, "max_workers"),
            ({"max_workers": "2"}, TypeError, "max_workers"),
            ({"max_workers": True}, TypeError, "max_workers"),
            ({"start_method": "thread"}, ValueError, "start_method"),
            ({"start_method": 1}, ValueError, "start_method"),
            ({"start_method": "forkserver"}, ValueError, "start_method"),
            ({"max_calls_per_worker": 0}, ValueError, "max_calls_per_worker"),
            ({"max_calls_per_worker": 1.5}, TypeError, "max_calls_per_worker"),
        ],
    )
    def test_bad_arguments_are_refused_naming_them(
        self, kwargs: dict[str, Any], error: type[Exception], name: str
    ) -> None:
        with pytest.raises(error, match=name):
            ProcessPool(**kwargs)

    def test_forkserver_is_refused_saying_why(self) -> None:
        with pytest.raises(ValueError) as refused:
            ProcessPool(start_method="forkserver")
        message = str(refused.value)
        assert "start_method" in message and "'spawn'" in message and "'fork'" in message
        assert "__main__" in message

    def test_spawn_is_the_default_start_method(self) -> None:
        assert ProcessPool().start_method == ProcessPool(start_method=None).start_method == "spawn"

    async def test_off_posix_a_call_that_would_start_a_worker_fails_saying_why(self) -> None:
        with off_posix(), ProcessPool(1) as pool, pytest.raises(RuntimeError, match="POSIX"):
            await pool.run(abs, (-1,))

    def test_the_repr_says_how_it_runs(self) -> None:
        assert repr(ProcessPool(3, start_method="spawn")) == (
            "ProcessPool(max_workers=3, start_method='spawn')"
        )
        assert repr(ProcessPool(1, max_calls_per_worker=5)).endswith(", max_calls_per_worker=5)")
        assert ProcessPool().max_workers == os.cpu_count()

    @pytest.mark.parametrize("method", ["spawn", "fork"])
    @pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
    async def test_every_start_method_runs_calls(self, method: str) -> None:
        with ProcessPool(1, start_method=method) as pool:
            assert await run(make_adder(1), 1, executor=pool) == 2
