"""Pid: the public name of a process, and the table from pids to live processes."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from ._proc import Proc

__all__ = ["Pid"]

_numbers = itertools.count(64)  # low numbers look like Erlang's system processes; skip them


@final
class Pid(int):
    """A process identifier, shown as ``<0.42.0>`` like Elixir's ``#PID<0.42.0>``.

    Pids compare and hash by number and hold no reference to their process, so keeping one
    never keeps a dead process's result alive. (A pid is an `int` underneath so that it costs
    the garbage collector nothing; it only equals other pids.) You get pids from
    `Process.self()`, `Task.start`, ``task.pid``; there is no public constructor.
    """

    __slots__ = ()

    def __new__(cls, *args: Any) -> Pid:
        raise TypeError("Pid has no public constructor; use Process.self() or task.pid")

    @property
    def number(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return f"<0.{int(self)}.0>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return type(other) is Pid and int.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = int.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return (pid_of, (int(self),))


def pid_of(number: int) -> Pid:
    """The Pid for a process number (made on demand: a process keeps only its number)."""
    return int.__new__(Pid, number)


by_pid: dict[int, Proc] = {}
"""Live processes by pid number, for those whose pid was ever asked for (drawn lazily)."""


def draw(proc: Proc, alive: bool) -> int:
    """Give `proc` its pid number (once); while it is `alive`, make it findable by it."""
    number = next(_numbers)
    proc._pid = number
    if alive:
        by_pid[number] = proc
    return number


def lookup(pid: Pid) -> Proc | None:
    """The live process behind `pid`, or None if it is dead or was never alive."""
    return by_pid.get(int(pid))
