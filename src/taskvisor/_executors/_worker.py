"""The code that runs inside a worker process: one call at a time, until told to quit.

A worker reads calls from its end of a socket pair, runs each (a coroutine, or a function that
hands one back, runs under `asyncio.run`) and answers with the call's outcome (`_answer`). It
is started by `_launch`, which loads this module without importing the ``taskvisor`` package,
so it imports nothing else from taskvisor but the modules that are made for that (`_answer`,
`_channel`, `_stop_cell`, ``_callables``).

Stopping a call is the pool's decision alone. The pool writes the number of the call to stop
into the shared stop cell, then sends SIGINT; the handler raises KeyboardInterrupt only
while that very call runs, and only once, so ``finally`` blocks run and the worker lives on.
Any other SIGINT is ignored: one that reaches an idle worker, a stop that came as its call
ended, or Ctrl-C in a terminal (the terminal signals the whole process group; the caller
stops its calls itself).

A worker never outlives its caller: it exits at end of file on its socket, and on Linux the
kernel kills it when its parent, the caller, dies (``PR_SET_PDEATHSIG``), even in the middle
of a call.
"""

from __future__ import annotations

import inspect
import os
import pickle
import signal
import sys
from typing import Any

from .._callables import await_if_awaitable, describe_fn
from ._answer import STOPPED, encode_error, encode_value
from ._channel import Channel
from ._stop_cell import StopCell

__all__ = ["PATH", "QUIT", "READY", "main"]

READY = b"R"
"""The worker's first message: it is set up and waits for calls."""
QUIT = b"Q"
"""Exit now (sent to an idle worker)."""
PATH = b"P"
"""Prefix of a message that carries the caller's new ``sys.path`` (pickled)."""

_PR_SET_PDEATHSIG = 1

_number = 0  # the number of the call being served (the Nth call message)
_armed = False  # the running call may be interrupted (the user's code may be running)
_interrupted = False  # the running call was interrupted by a stop
_stop: StopCell  # the number of the call the pool asked to stop


def main(parent: int, conn_fd: int, alive: int, stop: int, path: list[str]) -> None:
    """Serve calls from the socket `conn_fd` until QUIT or end of file.

    `parent` is the caller's pid, `alive` the descriptor whose closing (when this process
    ends) tells the caller we ended, `stop` the stop cell's file, `path` the caller's
    ``sys.path``.
    """
    global _stop, _number
    _die_with_parent(parent)
    _stop = StopCell(stop)
    os.close(stop)
    for fd in (conn_fd, alive):  # held until we end, by this process only (not its children)
        os.set_inheritable(fd, False)
    signal.signal(signal.SIGINT, _on_sigint)
    sys.path[:] = path
    conn = Channel(conn_fd)
    conn.send_bytes(READY)
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):  # the caller is gone
            return
        if message == QUIT:
            return
        if message[:1] == PATH:
            sys.path[:] = pickle.loads(message[1:])
            continue
        _number += 1
        try:
            answer = _serve(message)
        except KeyboardInterrupt:  # the stop came as the call ended, in our own code
            answer = STOPPED
        try:
            conn.send_bytes(answer)
        except OSError:  # the caller is gone
            return


def _serve(message: bytes) -> bytes:
    """Run the call in `message` and return its answer.

    The handler can raise only while `_armed`, and disarms itself when it does, so after
    this returns or raises no stop can land in the worker's own loop.
    """
    global _armed, _interrupted
    _interrupted = False
    try:
        _armed = True
        if _stop.value == _number:  # stopped before it began
            _armed = False
            return STOPPED
        fn, args = pickle.loads(message)
        value = fn(*args)
        if inspect.isawaitable(value):
            import asyncio  # here: a worker that runs no coroutine starts faster without it

            value = asyncio.run(await_if_awaitable(value))
        _armed = False
        try:
            return encode_value(value)
        except Exception as exc:
            exc.add_note(f"{describe_fn(fn)} returned a value that cannot be pickled")
            raise
    except BaseException as exc:
        _armed = False
        if _interrupted and isinstance(exc, KeyboardInterrupt):
            return STOPPED
        tb = exc.__traceback__
        return encode_error(exc, tb.tb_next if tb is not None and tb.tb_next else tb)
    finally:
        _armed = False


def _on_sigint(signum: int, frame: Any) -> None:
    global _armed, _interrupted
    if _armed and _stop.value == _number:
        _armed = False
        _interrupted = True
        raise KeyboardInterrupt


def _die_with_parent(parent: int) -> None:
    """On Linux, have the kernel SIGKILL this process when its parent (pid `parent`) dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
