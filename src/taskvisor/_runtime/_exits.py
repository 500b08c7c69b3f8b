"""trap_exit: the flag and the bounded queue of exit signals a trapping process keeps."""

from __future__ import annotations

import asyncio
import collections
import warnings

from .._types import ExitReason
from ._pid import Pid

__all__ = ["EXIT_QUEUE_LIMIT", "ExitInbox"]

EXIT_QUEUE_LIMIT = 10_000
"""Exit signals kept per trapping process; past it the oldest is dropped, with a warning."""


class ExitInbox:
    """Exit signals kept instead of killing the process, read by `Process.receive_exit`."""

    __slots__ = ("_queue", "_waiter", "_warned", "trapping")

    def __init__(self) -> None:
        self.trapping = False
        self._queue: collections.deque[tuple[Pid | None, ExitReason]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._warned = False

    def put(self, source: Pid | None, reason: ExitReason) -> None:
        if len(self._queue) >= EXIT_QUEUE_LIMIT:
            self._queue.popleft()
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"a process trapping exits holds {EXIT_QUEUE_LIMIT} unread exit signals; "
                    "dropping the oldest (read them with Process.receive_exit)",
                    RuntimeWarning,
                    stacklevel=2,
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
