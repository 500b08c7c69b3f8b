"""trap_exit: the flag and the bounded queue of exit signals a trapping process keeps."""

from __future__ import annotations

import asyncio
import collections

from .._types import ExitReason
from ._pid import Pid, lookup
from ._reports import log_event

__all__ = ["EXIT_QUEUE_LIMIT", "ExitInbox"]

EXIT_QUEUE_LIMIT = 10_000
"""Exit signals kept per trapping process; past it the oldest is dropped (logged once)."""


class ExitInbox:
    """Exit signals kept instead of killing the process, read by `Process.receive_exit`."""

    __slots__ = ("_owner", "_queue", "_waiter", "_warned", "trapping")

    def __init__(self, owner: Pid) -> None:
        self._owner = owner  # its process, by pid: no reference cycle through the record
        self.trapping = False
        self._queue: collections.deque[tuple[Pid | None, ExitReason]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._warned = False

    def put(self, source: Pid | None, reason: ExitReason) -> None:
        if len(self._queue) >= EXIT_QUEUE_LIMIT:
            self._queue.popleft()
            if not self._warned:
                self._warned = True
                log_event(
                    lookup(self._owner),
                    "dropped_exit_signals",
                    f"{self._owner!r} traps exits and holds {EXIT_QUEUE_LIMIT} unread exit "
                    "signals; dropping the oldest ones (read them with Process.receive_exit)",
                    limit=EXIT_QUEUE_LIMIT,
                )
        self._queue.append((source, reason))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self) -> tuple[Pid | None, ExitReason] | None:
        return self._queue.popleft() if self._queue else None

    def wait_for_one(self) -> asyncio.Future[None]:
        """A future resolved by the next `put`."""
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def stop_waiting(self) -> None:
        self._waiter = None
