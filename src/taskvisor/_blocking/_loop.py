"""The blocking API's event loop: one daemon thread per interpreter, started on first use.

At interpreter exit (before the interpreter joins non-daemon threads: `threading`'s own
exit hook, as `concurrent.futures` uses) every process on this loop is stopped within its
shutdown budget, which wakes threads blocked in waits with ``TaskExit("shutdown")``. After
``os.fork()`` the child starts afresh: no loop, no processes, no names.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable

from .._runtime._threads import forget_everything, stop_loop

__all__ = ["blocking_loop", "loop_if_started", "on_fork"]

TEARDOWN_BOUND = 10.0
"""Seconds the exit teardown waits for the blocking loop's processes at most."""

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_registered = False
_fork_hooks: list[Callable[[], None]] = []


def blocking_loop() -> asyncio.AbstractEventLoop:
    """The loop the blocking API runs its processes on, started on the first call."""
    loop = _loop
    if loop is not None:
        return loop
    with _lock:
        if _loop is None:
            _start()
        assert _loop is not None
        return _loop


def loop_if_started() -> asyncio.AbstractEventLoop | None:
    """The blocking loop if it runs (a check that must not start it)."""
    return _loop


def _start() -> None:
    global _loop, _thread, _registered
    loop = asyncio.new_event_loop()
    running = threading.Event()
    thread = threading.Thread(
        target=_serve, args=(loop, running), name="taskvisor-blocking", daemon=True
    )
    thread.start()
    running.wait()
    _loop, _thread = loop, thread
    if not _registered:
        _registered = True
        threading._register_atexit(_teardown)  # type: ignore[attr-defined]


def _serve(loop: asyncio.AbstractEventLoop, running: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(running.set)
    try:
        loop.run_forever()
    finally:
        loop.close()


def _teardown() -> None:
    """Stop every process of the blocking loop, then the loop (at interpreter exit)."""
    global _loop, _thread
    with _lock:
        loop, thread = _loop, _thread
        _loop = _thread = None
    if loop is None or thread is None or not thread.is_alive():
        return
    done = asyncio.run_coroutine_threadsafe(stop_loop(TEARDOWN_BOUND), loop)
    with contextlib.suppress(BaseException):  # the exit goes on whatever the teardown met
        done.result(TEARDOWN_BOUND + 1.0)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(1.0)


def on_fork(hook: Callable[[], None]) -> None:
    """Run `hook` in the child after a fork (each module resets its own state)."""
    _fork_hooks.append(hook)


def _after_fork_in_child() -> None:
    global _loop, _thread
    _loop = _thread = None
    forget_everything()
    for hook in _fork_hooks:
        hook()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
