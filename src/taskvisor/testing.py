"""What tests and benchmarks need to see inside taskvisor, without importing private modules.

taskvisor's own test suite, its benchmarks (``bench/``) and the demo's tests use only the
public API and this module. A program has no use for it; a test suite of your own may: for
example, `live_processes` after a test says whether every process it started has ended.

Everything here only reads, except `reset_process_table` and the two context managers
(`exit_queue_limit`, `off_posix`), which say what they change; the context managers put it
back on exit. This module imports nothing outside the standard library and taskvisor (no
pytest), and ``import taskvisor`` does not import it.

Also here, from inside taskvisor, for tests of their own:

- `default_thread_pool()`: the shared `ThreadPool` that plain functions run in unless told
  otherwise (the last one given to ``set_default_executor("thread", ...)``, else one made on
  first use); its ``max_workers`` is the default ``max_concurrency`` of a stream on it.
- `RestartIntensity(max_restarts, max_seconds)`: the restart window a supervisor keeps;
  ``allow(now)`` counts a restart at time `now` and says whether it is within the budget, so
  its rules can be checked with injected times.
- `DEMO_STEPS`: the steps of ``python -m taskvisor demo``, in the order they run (each with
  its ``title``); and the demo's stand-in HTTP service, stdlib only: `DailyService` (``async
  with``; ``POST /rooms`` on 127.0.0.1, port ``service.port``, answers at once, ``/rooms?delay=S``
  after S seconds, ``/rooms/hang`` never; ``peak`` and ``in_flight`` count requests being
  answered), its client ``DailyClient(port).create_room(path)`` (and ``create_room_sync``,
  which blocks its thread), and `DailyError`, raised for an error status.
- `NoConnection(node)`: the exit reason ``"noconnection"`` that remembers its node (an
  executor's call whose node went away raises ``TaskExit(NoConnection(node))``); every wait
  on such a task raises ``TaskExit(("nodedown", node))``. A plain ``"noconnection"`` is
  blamed on this node, `LOCAL_NODE` (``"nonode@nohost"``, Elixir's ``node()``).
- `task_telemetry_on()`: whether processes run the observed wrapper that emits the
  ``("taskvisor", "task", ...)`` telemetry events: only while a handler is attached to one
  of them (`taskvisor.telemetry`).
- `pid_at(node, number)`: the pid of process `number` on the taskvisor node `node` (a local
  pid when `node` is this process's), as a pid that came back from a node is; for tests of
  what taskvisor does with remote pids without a cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any, Literal

from ._demo import STEPS as DEMO_STEPS
from ._demo._daily import DailyClient, DailyError
from ._demo._service import DailyService
from ._executors import _launch, default_thread_pool
from ._reasons import LOCAL_NODE, NoConnection
from ._runtime import _exits, _pid, _proc
from ._runtime._api import observing, state_of, task_of
from ._runtime._pid import Pid, pid_at
from ._supervisors._intensity import RestartIntensity

__all__ = [
    "DEMO_STEPS",
    "LOCAL_NODE",
    "DailyClient",
    "DailyError",
    "DailyService",
    "NoConnection",
    "RestartIntensity",
    "asyncio_task_of",
    "default_thread_pool",
    "exit_queue_limit",
    "live_processes",
    "live_tasks",
    "off_posix",
    "pid_at",
    "pid_table_size",
    "process_state",
    "reset_process_table",
    "task_telemetry_on",
]


def live_processes() -> int:
    """The number of live processes: those started or adopted and not yet ended.

    Every process is in the runtime's table from its start until its exit is done (its links
    and monitors fired). When a program's or a test's work has ended it is 0, or 1 if the
    asking task was adopted as a process; benchmarks wait for that.
    """
    return len(_proc.live)


def live_tasks() -> frozenset[asyncio.Task[Any]]:
    """The asyncio tasks of every live process (for an adopted process, the user's own task).

    A snapshot: comparing two of them says whether a call started or adopted anything, which
    a count alone would miss if something also ended in between.
    """
    return frozenset(_proc.live)


def pid_table_size() -> int:
    """The number of live processes findable by pid (those whose pid was asked for).

    A pid is drawn lazily, the first time something asks for it (``task.pid``,
    `Process.self`, a crash report); from then on the process is in the pid table until it
    ends. A size that grows with the work done means a dead process left in it.
    """
    return len(_pid.by_pid)


def asyncio_task_of(pid: Pid) -> asyncio.Task[Any] | None:
    """The asyncio task that runs the live process `pid`, or None if it is not alive.

    For tests of what taskvisor does with someone else's cancellation: ``.cancel()`` on it is
    a cancel from outside taskvisor (as an `asyncio.timeout` or a TaskGroup would send).
    """
    proc = _pid.lookup(pid)
    return None if proc is None else task_of(proc)


def process_state(pid: Pid) -> Literal["spawned", "running", "doomed"] | None:
    """Where the live process `pid` is in its life, or None if it is not alive.

    ``"spawned"``: its function has not started; ``"running"``: it runs, and no exit signal
    has fixed its reason yet; ``"doomed"``: its exit reason is fixed and it is unwinding.
    `Process.alive` is true for all three.
    """
    proc = _pid.lookup(pid)
    if proc is None:
        return None
    state = state_of(proc)
    return None if state == "dead" else state


def reset_process_table() -> list[object]:
    """Empty the process table and the pid table of the processes whose event loop has
    closed; return those that were still in it.

    For a test harness, after the event loop a test ran on has closed: every process the
    test started should have ended by then (or been stopped by the loop's teardown), so
    anything returned is a lost process or a missing exit, and emptying the tables keeps one
    test's leak from failing the next. Processes of a loop that still runs (the blocking
    API's, `taskvisor.blocking`) and the processes of live threads are left alone. Never call
    it while the test's own processes run.
    """
    leftover: list[object] = []
    for aio, proc in list(_proc.live.items()):
        if aio.get_loop().is_closed():
            leftover.append(proc)
            del _proc.live[aio]
    for number, proc in list(_pid.by_pid.items()):
        task = task_of(proc)
        if state_of(proc) == "dead" or (task is not None and task.get_loop().is_closed()):
            del _pid.by_pid[number]
    return leftover


@contextlib.contextmanager
def exit_queue_limit(limit: int) -> Iterator[None]:
    """Within the block, a trapping process keeps at most `limit` unread exit signals.

    The limit (10,000 otherwise) bounds `Process.receive_exit`'s queue: past it the oldest
    signals are dropped, with one warning per process. A small one makes that testable.
    The old limit is put back on exit.
    """
    old = _exits.EXIT_QUEUE_LIMIT
    _exits.EXIT_QUEUE_LIMIT = limit
    try:
        yield
    finally:
        _exits.EXIT_QUEUE_LIMIT = old


@contextlib.contextmanager
def off_posix() -> Iterator[None]:
    """Within the block, `ProcessPool` behaves as off POSIX (on Windows): a call that would
    start a worker fails with a RuntimeError saying why. Put back on exit."""
    old = _launch.POSIX
    _launch.POSIX = False
    try:
        yield
    finally:
        _launch.POSIX = old


def task_telemetry_on() -> bool:
    """Whether processes now run the observed wrapper (a handler listens to a task event);
    False means the plain, unobserved spawn path."""
    return observing()
