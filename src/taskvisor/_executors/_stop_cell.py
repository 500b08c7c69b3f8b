"""The stop cell: 8 bytes of memory shared by the caller and one worker process.

A polite stop names the call it is meant for: the caller writes that call's number into the
cell, then sends SIGINT, and the worker's handler reads the cell to decide whether the signal
is for the call it runs (`_worker`). The memory is an unlinked temporary file that both
processes map (`_handle` makes it), so it works the same in a forked and in a freshly started
worker. This module imports nothing from taskvisor: a worker loads it on its own (see
`_launch`).
"""

from __future__ import annotations

import mmap
import struct

__all__ = ["SIZE", "StopCell"]

_CELL = struct.Struct("q")
SIZE = _CELL.size
"""The size of the cell's file."""


class StopCell:
    """The cell, mapped from a descriptor of its file (the descriptor may be closed after)."""

    __slots__ = ("_memory",)

    def __init__(self, fd: int) -> None:
        self._memory = mmap.mmap(fd, SIZE)

    @property
    def value(self) -> int:
        """The number of the call to stop (0: none yet)."""
        number: int = _CELL.unpack_from(self._memory)[0]
        return number

    @value.setter
    def value(self, number: int) -> None:
        _CELL.pack_into(self._memory, 0, number)
