"""The caller's handle on one worker process: start it, send it calls, stop, kill, reap it.

A handle is driven by the pool's dispatcher, under its lock; it keeps the count of calls
sent, which the worker keeps too, so that a polite stop names the call it is meant for (in
the stop cell they share). The dispatcher watches two of its descriptors: `conn` for the
worker's messages and `sentinel`, the read end of the worker's "alive" pipe, which reaches end
of file when the worker has ended (see `_launch`).
"""

from __future__ import annotations

import contextlib
import enum
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING

from . import _stop_cell, _worker
from ._channel import Channel
from ._launch import launch

if TYPE_CHECKING:
    from ._dispatch import ProcessCall

__all__ = ["EXITING", "READY", "STARTING", "WorkerHandle", "WorkerState"]


class WorkerState(enum.Enum):
    """A worker process's lifecycle, as its handle sees it (changed under the dispatcher's
    lock).

    STARTING -> READY       it said READY: it takes calls
    STARTING -> EXITING     killed before it was ready
    READY -> EXITING        told to quit, or killed
    """

    STARTING = "starting"  # launched; its end now is a failure to start
    READY = "ready"  # running calls or idle
    EXITING = "exiting"  # told to quit or killed: its end is not a crash


STARTING, READY, EXITING = WorkerState.STARTING, WorkerState.READY, WorkerState.EXITING

_REAP_TIMEOUT = 1.0
"""Seconds to wait for the exit status of a worker whose sentinel said it ended."""


class WorkerHandle:
    """One worker process, seen from the caller."""

    __slots__ = (
        "_stop",
        "call",
        "calls",
        "conn",
        "path",
        "pid",
        "process",
        "sentinel",
        "state",
    )

    def __init__(self, start_method: str) -> None:
        self.path = list(sys.path)
        ours, theirs = socket.socketpair()
        sentinel, alive = os.pipe()
        try:
            with tempfile.TemporaryFile() as cell:  # unlinked: it lives while it is mapped
                cell.truncate(_stop_cell.SIZE)
                self._stop = _stop_cell.StopCell(cell.fileno())
                self.process = launch(
                    start_method,
                    conn=theirs.fileno(),
                    alive=alive,
                    stop=cell.fileno(),
                    path=_portable(self.path),
                )
        except BaseException:
            ours.close()
            os.close(sentinel)
            raise
        finally:  # the worker's own ends: it alone holds them now
            theirs.close()
            os.close(alive)
        self.conn = Channel(ours.detach())
        self.sentinel = sentinel
        self.pid = self.process.pid
        self.call: ProcessCall | None = None  # the call it runs
        self.calls = 0  # calls sent so far
        self.state = STARTING

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
        self.state = EXITING
        self._signal(signal.SIGKILL)

    def quit(self) -> None:
        """Tell an idle process to exit."""
        self.state = EXITING
        with contextlib.suppress(OSError):  # it is gone already
            self.conn.send_bytes(_worker.QUIT)

    def reap(self) -> int | None:
        """Collect the ended process's exit status (None: unknown) and close its descriptors.

        A process that closed its descriptors but runs on (its code closed them) is killed:
        the pool has let it go, and no worker may outlive the pool.
        """
        self.conn.close()
        os.close(self.sentinel)
        try:
            return self.process.wait(_REAP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(_REAP_TIMEOUT)
            return None

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it ended; its sentinel will tell
            os.kill(self.pid, signum)

    def __repr__(self) -> str:
        return f"<worker {self.pid}{' busy' if self.call is not None else ''}>"


def _portable(path: list[str]) -> list[str]:
    """`path` with ``""`` (the current directory) spelled out, for a process elsewhere."""
    return [entry or os.getcwd() for entry in path]
