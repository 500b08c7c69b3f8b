"""Small helpers for tests: functions to run as tasks, and event-based sequencing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterable, Callable, Iterator
from pathlib import Path
from typing import Any

from taskvisor import Pid, Process, TaskExit

SAFETY = 10.0
"""A bound on waits that end at once when the code is right: a guard that turns a hang into a
failure, never a measure (robust to a much slower machine)."""

SAFETY_SLOW = 60.0
"""The same guard for waits on real worker processes, threads that block and whole programs
(an interpreter's start, a uvicorn server), which take longer on a loaded machine."""


async def forever() -> None:
    """Wait on an event that never fires (a task that only ends when stopped)."""
    await asyncio.Event().wait()


async def reply(value: Any) -> Any:
    return value


async def crash(message: str = "oops") -> None:
    raise RuntimeError(message)


async def exit_with(reason: Any) -> None:
    """Elixir's ``exit(reason)`` inside a task."""
    raise TaskExit(reason)


async def wait_then(event: asyncio.Event, value: Any) -> Any:
    await event.wait()
    return value


@contextlib.contextmanager
def logged_warnings(match: str | None = "") -> Iterator[list[logging.LogRecord]]:
    """The WARNING records the ``taskvisor`` logger writes inside the block: the operational
    events (a coroutine closed, a task or a thread abandoned, children killed, exit signals
    dropped). With `match` (a regex; ``""`` by default), fail unless one record's message
    matches it, as ``pytest.warns(match=...)`` does; ``None`` only collects."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("taskvisor")
    handler = Collect(logging.WARNING)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    if match is not None:
        messages = [r.getMessage() for r in records]
        assert any(re.search(match, m) for m in messages), (
            f"no taskvisor warning matches {match!r}: {messages}"
        )


async def settle(turns: int = 5) -> None:
    """Let the loop run a few turns (for effects that take a turn or two, never for timing)."""
    for _ in range(turns):
        await asyncio.sleep(0)


# -- shared by the Elixir ports (test_elixir_task_supervisor, test_elixir_dynamic_supervisor) --


class Mailbox:
    """A test process's mailbox: tasks `send` to it, the test `receive`s in order."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()

    def send(self, message: Any) -> None:
        self._queue.put_nowait(message)

    async def receive(self) -> Any:
        async with asyncio.timeout(5.0):  # a guard against hanging, never reached when green
            return await self._queue.get()

    def received(self) -> list[Any]:
        """Everything already delivered, without waiting (Elixir's ``refute_received``)."""
        out = []
        while not self._queue.empty():
            out.append(self._queue.get_nowait())
        return out


async def wait_and_send(caller: Mailbox, go: asyncio.Event, message: Any) -> Any:
    """Elixir's ``wait_and_send/2``: say ready, wait to be told to go, send `message`."""
    caller.send("ready")
    await go.wait()
    caller.send(message)
    return message


async def wait_until_down(pid: Pid | None, turns: int = 10_000) -> None:
    """Let the loop run until `pid` is dead (a bounded number of turns, never a clock)."""
    assert pid is not None
    for _ in range(turns):
        if not Process.alive(pid):
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{pid!r} is still alive after {turns} loop turns")


async def next_exit(timeout: float = 5.0) -> tuple[Pid | None, Any]:
    """The next exit signal kept by the (trapping) caller; fails if none comes in `timeout`."""
    got = await Process.receive_exit(timeout)
    assert got is not None, "no exit signal arrived"
    return got


class Sleeper:
    """Elixir's ``sleep/1`` for streams, on a virtual clock, recording every task's pid.

    ``sleep(n)`` returns `n` once every running ``sleep(m)`` with ``m < n`` (or with ``m == n``
    and started earlier) has returned; ``sleep(math.inf)`` never returns. Tasks started
    together see each other: each waits a few loop turns before it looks.
    ``stall(n)`` is for real timeouts: it returns `n` at once (in its first step, so before
    any timer can fire) when ``n < 100``, and never otherwise. ``exit(reason)`` is Elixir's
    ``exit/1``.
    """

    def __init__(self) -> None:
        self.pids: list[Pid] = []
        self._running: list[tuple[float, int]] = []
        self._seq = itertools.count()
        self._changed = asyncio.Event()

    async def sleep(self, n: float) -> float:
        self.pids.append(Process.self())
        if n == math.inf:
            await forever()
        key = (n, next(self._seq))
        self._running.append(key)
        try:
            await settle()
            while min(self._running) != key:
                await self._changed.wait()
            return n
        finally:
            self._running.remove(key)
            self._changed.set()
            self._changed = asyncio.Event()

    async def exit(self, reason: Any) -> None:
        self.pids.append(Process.self())
        raise TaskExit(reason)

    async def stall(self, n: float) -> float:
        self.pids.append(Process.self())
        if n >= 100:
            await forever()
        return n

    def all_dead(self) -> bool:
        return bool(self.pids) and not any(Process.alive(pid) for pid in self.pids)


async def to_list(results: AsyncIterable[Any]) -> list[Any]:
    """Elixir's ``Enum.to_list/1``."""
    return [r async for r in results]


async def take(stream: Any, n: int) -> list[Any]:
    """Elixir's ``Enum.take/2``: the first `n` results, then the stream is halted."""
    out: list[Any] = []
    async with stream:
        async for r in stream:
            out.append(r)
            if len(out) == n:
                break
    return out


def eventually(check: Callable[[], bool], what: str) -> None:
    """Poll `check` from a plain thread until it holds (`SAFETY` is a bound, not a measure)."""
    deadline = time.monotonic() + SAFETY
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


async def until(check: Callable[[], bool], what: str) -> None:
    """Poll `check` on the loop until it holds (`SAFETY` is a bound, not a measure), for
    evidence written by another process (a marker file)."""
    deadline = time.monotonic() + SAFETY
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.005)


@contextlib.contextmanager
def server_process(
    script: Path, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run `script` (a server) with a listening socket on 127.0.0.1 handed to it as the fd
    in ``LISTEN_FD``; yield the process and its base URL. It is killed if still running."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, **env, "LISTEN_FD": str(listener.fileno())},
        pass_fds=(listener.fileno(),),
        stderr=subprocess.PIPE,
        text=True,
    )
    port = listener.getsockname()[1]
    listener.close()  # the server has its own copy
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
