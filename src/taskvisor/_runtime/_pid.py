"""Pid: the public name of a process, and the table from pids to live processes."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, final

if TYPE_CHECKING:
    from ._proc import Proc

__all__ = ["Pid", "pid_at", "set_this_node", "this_node"]

_numbers = itertools.count(64)  # low numbers look like Erlang's system processes; skip them

_NODE_SHIFT = 40  # a pid's int: the index of its node (0: this one) above its number
_NUMBER_MASK = (1 << _NODE_SHIFT) - 1
_LOCAL_NODE = "nonode@nohost"  # this process's node name when it is not a taskvisor node
_node_names: list[str] = [""]  # index -> name of a remote node (0: this process's own)
_node_indexes: dict[str, int] = {}
_this_node: str | None = None


@final
class Pid(int):
    """A process identifier, shown as ``<0.42.0>`` like Elixir's ``#PID<0.42.0>``, or as
    ``<worker-a.42.0>`` for a process on the taskvisor node ``"worker-a"``.

    Pids compare and hash by node and number and hold no reference to their process, so
    keeping one never keeps a dead process's result alive. (A pid is an `int` underneath so
    that it costs the garbage collector nothing; it only equals other pids.) You get pids
    from `Process.self()`, `Task.start`, ``task.pid``, or a node handle
    (`taskvisor.ray.node`); there is no public constructor. A pid travels (pickles) with its
    node: one sent to a node and back is the same pid again.
    """

    __slots__ = ()

    def __new__(cls, *args: Any) -> Pid:
        raise TypeError("Pid has no public constructor; use Process.self() or task.pid")

    @property
    def number(self) -> int:
        """The process's number on its node."""
        return int(self) & _NUMBER_MASK

    @property
    def node(self) -> str | None:
        """The name of the taskvisor node the process lives on, or None for this one."""
        index = int(self) >> _NODE_SHIFT
        return _node_names[index] if index else None

    def __repr__(self) -> str:
        index = int(self) >> _NODE_SHIFT
        if index:
            return f"<{_node_names[index]}.{int(self) & _NUMBER_MASK}.0>"
        return f"<0.{int(self)}.0>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return type(other) is Pid and int.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = int.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        index = int(self) >> _NODE_SHIFT
        node = _node_names[index] if index else (_this_node or _LOCAL_NODE)
        return (pid_at, (node, int(self) & _NUMBER_MASK))


def pid_of(number: int) -> Pid:
    """The Pid for a process number of this node (made on demand: a process keeps only its
    number)."""
    return int.__new__(Pid, number)


def pid_at(node: str, number: int) -> Pid:
    """The Pid of process `number` on `node`: a local pid when `node` is this process's."""
    if node == (_this_node or _LOCAL_NODE):
        return int.__new__(Pid, number)
    index = _node_indexes.get(node)
    if index is None:
        index = _node_indexes[node] = len(_node_names)
        _node_names.append(node)
    return int.__new__(Pid, index << _NODE_SHIFT | number)


def set_this_node(name: str) -> None:
    """Name this process's node (a taskvisor node does, when it starts): its pids travel
    as ``name``'s, and pids of ``name`` that come back are local again."""
    global _this_node
    _this_node = name


def this_node() -> str | None:
    """The name of this process's taskvisor node, or None if it is not one."""
    return _this_node


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
    """The live process behind `pid`, or None if it is dead or was never alive (or lives on
    another node)."""
    return by_pid.get(int(pid))
