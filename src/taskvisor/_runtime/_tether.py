"""A tether: a record with no coroutine, linked to one process, that dies when it exits.

It stands for an object that acts as a process to its links without an asyncio task of its
own: a stream (Elixir runs a stream through an intermediate process linked to the consumer).
When the tethered process exits, the tether's `on_exit` runs and the tether dies with the
same reason; released, it dies ``"normal"``.
"""

from __future__ import annotations

from collections.abc import Callable

from .._types import ExitReason
from ._proc import DEAD, RUNNING, Proc

__all__ = ["Tether", "release", "tether"]


class Tether(Proc):
    __slots__ = ("_on_exit",)

    _on_exit: Callable[[Proc, ExitReason], None]

    def _on_linked_exit(self, source: Proc, reason: ExitReason) -> None:
        self._remove_link(source)
        self._on_exit(source, reason)
        self._finish(reason)


def tether(proc: Proc, on_exit: Callable[[Proc, ExitReason], None]) -> Tether:
    """A running tether linked to `proc`; ``on_exit(proc, reason)`` runs when `proc` exits."""
    end = Tether.__new__(Tether)
    end._setup(None, (), proc, None)
    end._state = RUNNING  # SPAWNED -> RUNNING: it has nothing to start
    end._on_exit = on_exit
    end._link(proc)
    return end


def release(end: Tether, proc: Proc) -> None:
    """Unlink the tether from `proc` and let it die ``"normal"`` (unless it died with `proc`
    already: a thread's process dies at once, before the thread leaves its stream)."""
    end._unlink(proc)
    if end._state is not DEAD:
        end._finish("normal")
