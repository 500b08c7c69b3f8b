"""The blocking API's event loop: one daemon thread per interpreter, started on first use.

At interpreter exit (before the interpreter joins non-daemon threads: `threading`'s own
exit hook, as `concurrent.futures` uses) every process on this loop is stopped within its
shutdown budget, which wakes threads blocked in waits with ``TaskExit("shutdown")``. After
``os.fork()`` the child starts afresh: no loop, no processes, no names.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from .._errors import TaskExit
from .._runtime._threads import forget_everything, stop_loop

__all__ = ["blocking_loop", "loop_if_started", "on_fork", "post"]

KILL_AFTER = 5.0
"""Seconds a process that is not a supervisor gets to stop at exit before it is killed (a
task's default shutdown); a supervisor stops its children within their own shutdowns."""
TEARDOWN_BOUND = 30.0
"""Seconds the exit teardown waits for the blocking loop's processes at most."""

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_registered = False
_torn_down = False
_fork_hooks: list[Callable[[], None]] = []
_from_parent: list[object] = []  # in a forked child: the parent's objects, kept (see below)


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
    """Stop every process of the blocking loop (at interpreter exit, once).

    The loop itself runs on (a daemon thread ends with the interpreter): a thread that is
    still running may make a call after this, and it must not hang on a stopped loop.
    """
    global _torn_down
    with _lock:
        loop, thread, done = _loop, _thread, _torn_down
        _torn_down = True
    if done or loop is None or thread is None or not thread.is_alive():
        return
    stopped = asyncio.run_coroutine_threadsafe(stop_loop(KILL_AFTER, TEARDOWN_BOUND), loop)
    with contextlib.suppress(BaseException):  # the exit goes on whatever the teardown met
        stopped.result(TEARDOWN_BOUND + 1.0)


class _Inbox:
    """Calls posted to one loop from other threads, run in order by one drain callback.

    Posting wakes the loop only when no drain is pending, so the calls a thread posts in a
    row (start a task, then wait for it) cross in one wake-up of the loop. The drain clears
    its flag before it takes the calls, so a call posted meanwhile is either taken by this
    drain or schedules the next one.
    """

    __slots__ = ("calls", "loop", "pending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            collections.deque()
        )
        self.pending = False

    def post(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.calls.append((fn, args))
        if not self.pending:
            self.pending = True
            self.loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:
        self.pending = False
        calls = self.calls
        while calls:
            fn, args = calls.popleft()
            fn(*args)


_inboxes: dict[asyncio.AbstractEventLoop, _Inbox] = {}
_forked_away: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
"""In a forked child: the loops of the parent process the blocking API knew of."""
FORKED = "it lives on an event loop of the parent process, before os.fork(); not in this one"


def post(loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` on `loop` soon, after what this thread posted there before.

    Raises:
        RuntimeError: the loop is closed.
        TaskExit: ``"noproc"``, for a loop of the parent process, after a fork: its
            processes do not exist in this one.
    """
    inbox = _inboxes.get(loop)
    if inbox is None:
        if loop in _forked_away:
            raise TaskExit("noproc", ("taskvisor.blocking", ()), detail=FORKED)
        inbox = _inboxes.setdefault(loop, _Inbox(loop))
        if len(_inboxes) > 64:  # loops come and go (one per asyncio.run): forget closed ones
            for old in [other for other in _inboxes if other.is_closed()]:
                _inboxes.pop(old, None)
    inbox.post(fn, args)


def on_fork(hook: Callable[[], None]) -> None:
    """Run `hook` in the child after a fork (each module resets its own state)."""
    _fork_hooks.append(hook)


def _after_fork_in_child() -> None:
    global _loop, _thread, _torn_down
    if _loop is not None:
        _forked_away.add(_loop)
    _forked_away.update(_inboxes)
    # Kept, never collected here: the parent's loop and processes would close their
    # coroutines on collection, and run the parent's `finally` blocks in the child.
    _from_parent.append((_loop, dict(_inboxes), forget_everything()))
    _loop = _thread = None
    _torn_down = False
    _inboxes.clear()
    for hook in _fork_hooks:
        hook()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
