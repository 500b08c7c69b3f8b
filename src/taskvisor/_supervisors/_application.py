"""run_application: a program's entry point that runs a supervision tree until told to stop.

It starts the tree, runs `main` (if any) as a process, and waits for the first of: SIGINT or
SIGTERM, `main` ending, the tree dying. Then it stops everything in reverse start order (main
first, then the tree, which stops its children in reverse order), each within its shutdown.

Its teardown is bounded, unlike ``asyncio.run``'s, which waits forever on a task that ignores
its cancellation (and, on 3.11, on threads still running): leftover tasks get a grace period
and are then abandoned, and if threads that cannot be stopped would keep the interpreter
from exiting, the process exits without waiting for them, after saying which.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import Any, NoReturn

from .._errors import TaskExit
from .._executors import default_thread_pool
from .._process import Process
from .._reasons import is_quiet
from .._runtime._adopt import current
from .._runtime._api import is_alive, kill, pid_of, send_exit
from .._runtime._pid import lookup
from .._runtime._proc import Proc
from .._runtime._reports import logger
from .._runtime._stopping import stop as stop_process
from .._task import Task
from .._types import ShutdownTimeout
from .._validate import check_fn, check_shutdown
from .._watchdog import LoopWatchdog
from ._supervisor import Strategy, Supervisor

__all__ = ["EXIT_MAIN_CRASHED", "EXIT_TREE_DIED", "run_application"]

EXIT_MAIN_CRASHED = 1
"""Exit code: `main` crashed."""
EXIT_TREE_DIED = 2
"""Exit code: the tree could not start, or died (restart intensity reached)."""
TEARDOWN_GRACE = 1.0
"""Seconds leftover tasks get to end after the application has stopped."""


def run_application(
    children: Iterable[Any],
    main: Callable[[], Any] | None = None,
    strategy: Strategy = "one_for_one",
    *,
    max_restarts: int | None = 3,
    max_seconds: float = 5.0,
    name: Hashable | None = None,
    main_shutdown: ShutdownTimeout = 5.0,
    loop_watchdog: float | None = None,
) -> int:
    """Run a supervision tree (and `main`) as a program; return 0 when it stopped cleanly.

    Starts ``Supervisor(children, strategy=..., ...)``, then ``main()`` as a process linked
    to the application. Stops on SIGINT/SIGTERM (a second signal kills at once), when `main`
    returns or crashes, or when the tree dies. `main` gets `main_shutdown` seconds to stop;
    the tree's children get their own ``shutdown``. With `loop_watchdog` (seconds), a
    `LoopWatchdog` warns when a coroutine blocks the event loop that long.

    Returns 0 after a clean stop; otherwise it exits the program (raises `SystemExit`) with
    `EXIT_MAIN_CRASHED` (1) if `main` crashed, or `EXIT_TREE_DIED` (2) if the tree could not
    start or died of its restart intensity. If a thread still runs a function that cannot be
    stopped when everything else has, the program ends at once with the same code
    (``os._exit``, after flushing logs and output): the interpreter would wait for it forever.

    Raises:
        TypeError, ValueError: bad children, `main` or options, before anything starts.
        RuntimeError: called from a running event loop (it runs its own).

    Cancellation: the signals are the way to stop it; signal handlers are installed only
    in the main thread (elsewhere, stop it by letting `main` return).
    """
    tree = Supervisor(
        children,
        strategy=strategy,
        max_restarts=max_restarts,
        max_seconds=max_seconds,
        name=name,
    )
    if main is not None:
        check_fn(main, "main")
    check_shutdown(main_shutdown, "main_shutdown")
    watchdog = LoopWatchdog(loop_watchdog) if loop_watchdog is not None else None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("run_application runs its own event loop: call it outside one")
    code = _run_bounded(_application(tree, main, main_shutdown, watchdog))
    if code:
        _exit(code)
    return code


async def _application(
    tree: Supervisor,
    main: Callable[[], Any] | None,
    main_shutdown: ShutdownTimeout,
    watchdog: LoopWatchdog | None,
) -> int:
    if watchdog is None:
        return await _supervise(tree, main, main_shutdown)
    with watchdog:
        return await _supervise(tree, main, main_shutdown)


async def _supervise(
    tree: Supervisor, main: Callable[[], Any] | None, main_shutdown: ShutdownTimeout
) -> int:
    me = current("run_application")
    Process.flag("trap_exit", True)
    try:
        await tree._boot(True, ("run_application", ()))
    except TaskExit as exc:
        logger.error(
            "the application's tree failed to start: %s", exc, extra={"reason": exc.reason}
        )
        return EXIT_TREE_DIED
    signals = _install_signals(me, tree)
    main_proc = lookup(Task.start_link(main)) if main is not None else None
    code = 0
    try:
        while True:
            got = await Process.receive_exit(None)
            assert got is not None
            source, reason = got
            if source is None and isinstance(reason, tuple) and reason[0] == "signal":
                logger.info("the application got %s and stops", reason[1])
                break
            if main_proc is not None and source == pid_of(main_proc):
                code = 0 if is_quiet(reason) else EXIT_MAIN_CRASHED
                break
            if source == tree.pid:
                logger.error("the application's tree died (%r) and the application stops", reason)
                code = EXIT_TREE_DIED
                break
        if main_proc is not None and is_alive(main_proc):
            await stop_process(me, main_proc, main_shutdown, ("run_application", ()))
        await tree.stop("shutdown")
    finally:
        _remove_signals(signals)
    return code


def _install_signals(me: Proc, tree: Supervisor) -> list[signal.Signals]:
    """SIGINT/SIGTERM ask the application to stop; a second one kills the tree at once."""
    if threading.current_thread() is not threading.main_thread():
        return []
    loop = asyncio.get_running_loop()
    installed = []
    received: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig.name)
        if len(received) == 1:
            send_exit(me, None, ("signal", sig.name))
        else:
            logger.warning("second signal (%s): killing the application's tree now", sig.name)
            kill(tree)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
        installed.append(sig)
    return installed


def _remove_signals(signals: list[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.remove_signal_handler(sig)


def _run_bounded(coro: Any) -> int:
    """``asyncio.run``, with a teardown that cannot hang."""
    loop = asyncio.new_event_loop()
    try:
        code: int = loop.run_until_complete(coro)
    finally:
        _teardown(loop)
    _leave_stuck_threads(code)
    return code


def _teardown(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=TEARDOWN_GRACE))
        stuck = [t for t in pending if not t.done()]
        if stuck:
            logger.warning(
                "abandoning %d task(s) that did not end %.1f s after their cancellation: %s",
                len(stuck),
                TEARDOWN_GRACE,
                ", ".join(map(repr, stuck)),
            )
        gens = asyncio.wait_for(loop.shutdown_asyncgens(), TEARDOWN_GRACE)
        try:
            loop.run_until_complete(gens)
        except TimeoutError:
            logger.warning("abandoning async generators that did not close in time")
    finally:
        loop.close()
    default_thread_pool().shutdown(wait=False)


def _leave_stuck_threads(code: int) -> None:
    """Threads cannot be stopped and the interpreter waits for them at exit: don't."""
    main = threading.main_thread()
    stuck = [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
    for thread in stuck:
        thread.join(TEARDOWN_GRACE / max(len(stuck), 1))
    stuck = [t for t in stuck if t.is_alive()]
    if stuck:
        logger.warning(
            "%d thread(s) still run functions that cannot be stopped (%s); the program "
            "exits without waiting for them",
            len(stuck),
            ", ".join(t.name for t in stuck),
        )
        _exit(code, now=True)


def _exit(code: int, now: bool = False) -> NoReturn:
    if not now:
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
