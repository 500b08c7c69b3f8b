"""A channel of whole messages over one end of a socket pair: the caller's and a worker's.

Each message is its length (8 bytes) and its bytes. This is what
`multiprocessing.connection.Connection` does, without importing `multiprocessing` (about a
third of a spawned worker's start-up). It imports nothing from taskvisor: a worker loads it
on its own (see `_launch`).
"""

from __future__ import annotations

import os
import select
import struct

__all__ = ["Channel"]

_HEADER = struct.Struct("!Q")
_JOIN_BELOW = 16384
"""Smaller messages are written in one piece with their header; bigger ones are not copied."""


class Channel:
    """Send and receive whole messages on the descriptor `fd` (which it owns)."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def send_bytes(self, data: bytes) -> None:
        """Send one message (raises OSError if the other end is gone)."""
        header = _HEADER.pack(len(data))
        if len(data) < _JOIN_BELOW:
            self._write(header + data)
        else:
            self._write(header)
            self._write(data)

    def recv_bytes(self) -> bytes:
        """Receive one message, waiting for it.

        Raises EOFError at end of file between messages, OSError within one.
        """
        (size,) = _HEADER.unpack(self._read(_HEADER.size))
        return self._read(size)

    def poll(self) -> bool:
        """Whether a message (or end of file) can be read now."""
        poller = select.poll()  # not select.select: it refuses descriptors above 1023
        poller.register(self._fd, select.POLLIN)
        return bool(poller.poll(0))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def _read(self, size: int) -> bytes:
        chunks = []
        left = size
        while left:
            chunk = os.read(self._fd, left)
            if not chunk:
                if left == size:
                    raise EOFError
                raise OSError("end of file in the middle of a message")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
