"""The caller's handle on one worker process: start it, send it calls, stop, kill, reap it.

A handle is driven by the pool's dispatcher, under its lock; it keeps the count of calls
sent, which the worker keeps too, so that a polite stop names the call it is meant for.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from multiprocessing.context import BaseContext
from typing import TYPE_CHECKING, Any

from . import _worker

if TYPE_CHECKING:
    from ._dispatch import ProcessCall

__all__ = ["WorkerHandle"]

_REAP_TIMEOUT = 1.0
"""Seconds to wait for the exit status of a worker whose pipe or sentinel said it ended."""


class WorkerHandle:
    """One worker process, seen from the caller."""

    __slots__ = ("_stop", "call", "calls", "conn", "exiting", "path", "pid", "process", "ready")

    def __init__(self, ctx: BaseContext, name: str) -> None:
        self.path = list(sys.path)
        self.conn, theirs = ctx.Pipe()
        self._stop: Any = ctx.RawValue("q", 0)  # shared: the number of the call to stop
        self.process: Any = ctx.Process(  # type: ignore[attr-defined]
            target=_worker.main,
            args=(theirs, self._stop, _portable(self.path), ctx.get_start_method()),
            name=name,
            daemon=True,
        )
        try:
            self.process.start()
        finally:
            theirs.close()
        self.pid: int = self.process.pid
        self.call: ProcessCall | None = None  # the call it runs
        self.calls = 0  # calls sent so far
        self.ready = False  # it said READY
        self.exiting = False  # told to quit, or killed: its end is not a crash

    @property
    def sentinel(self) -> int:
        """A file descriptor that becomes readable when the process has ended."""
        sentinel: int = self.process.sentinel
        return sentinel

    def send(self, payload: bytes) -> None:
        """Send one call (and first the caller's ``sys.path``, if it changed)."""
        if sys.path != self.path:
            self.path = list(sys.path)
            self.conn.send_bytes(_worker.PATH + pickle.dumps(_portable(self.path)))
        self.calls += 1
        self.conn.send_bytes(payload)

    def interrupt(self) -> None:
        """Polite stop of the running call: KeyboardInterrupt in it, once."""
        self._stop.value = self.calls
        self._signal(signal.SIGINT)

    def kill(self) -> None:
        """SIGKILL the process; it ends without an answer."""
        self.exiting = True
        self._signal(signal.SIGKILL)

    def quit(self) -> None:
        """Tell an idle process to exit."""
        self.exiting = True
        with contextlib.suppress(OSError):  # it is gone already
            self.conn.send_bytes(_worker.QUIT)

    def reap(self) -> int | None:
        """Collect the ended process's exit status and release its resources."""
        self.conn.close()
        self.process.join(_REAP_TIMEOUT)
        code: int | None = self.process.exitcode
        if code is not None:
            self.process.close()
        return code

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it ended; its sentinel will tell
            os.kill(self.pid, signum)

    def __repr__(self) -> str:
        return f"<worker {self.pid}{' busy' if self.call is not None else ''}>"


def _portable(path: list[str]) -> list[str]:
    """`path` with ``""`` (the current directory) spelled out, for a process elsewhere."""
    return [entry or os.getcwd() for entry in path]
