"""What an exit reason means: Elixir's classes of exits, decided in one place.

``"normal"`` is the one exit a link ignores; ``"shutdown"`` and ``("shutdown", detail)`` are
a supervisor's orderly stop, which a ``"transient"`` child is not restarted after; those and
``"killed"`` are not crashes, so they get no crash report. ``"noconnection"`` is the exit of
a process whose call ran on a node that went away (`taskvisor.ray.RayNode`): its links get
``"noconnection"``, and every wait on it raises ``TaskExit(("nodedown", node))`` instead of
returning (`nodedown`), as Elixir's do.
"""

from __future__ import annotations

from typing import Any

from ._types import ExitReason

__all__ = [
    "LOCAL_NODE",
    "NoConnection",
    "is_noconnection",
    "is_normal",
    "is_quiet",
    "is_shutdown",
    "nodedown",
]

LOCAL_NODE = "nonode@nohost"
"""The node a plain ``"noconnection"`` is blamed on: this one (Elixir's ``node()`` when the
VM is not distributed)."""


class NoConnection(str):
    """The exit reason ``"noconnection"`` that remembers which node was lost.

    It is the string ``"noconnection"`` (``==``, ``match``, ``repr``, what links deliver);
    `node` is the name of the node whose connection was lost, for the
    ``("nodedown", node)`` that the waits raise.
    """

    node: str

    def __new__(cls, node: str) -> NoConnection:
        reason = super().__new__(cls, "noconnection")
        reason.node = node
        return reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (NoConnection, (self.node,))


def is_normal(reason: ExitReason) -> bool:
    """``"normal"``: the exit that a linked process ignores."""
    return isinstance(reason, str) and reason == "normal"


def is_shutdown(reason: ExitReason) -> bool:
    """``"shutdown"`` or ``("shutdown", detail)``: an orderly stop, not a failure."""
    if isinstance(reason, str):
        return reason == "shutdown"
    return isinstance(reason, tuple) and len(reason) == 2 and reason[0] == "shutdown"


def is_noconnection(reason: ExitReason) -> bool:
    """``"noconnection"``: the process's node went away (a `NoConnection`, or the plain
    string)."""
    return isinstance(reason, str) and reason == "noconnection"


def nodedown(reason: ExitReason) -> ExitReason:
    """The reason a wait raises for `reason`: ``("nodedown", node)`` for ``"noconnection"``
    (Elixir's rule: a node going down is an exit of every wait), else `reason` itself."""
    if is_noconnection(reason):
        return ("nodedown", getattr(reason, "node", LOCAL_NODE))
    return reason


def is_quiet(reason: ExitReason) -> bool:
    """Exits that are not crashes: no crash report (Elixir logs none for ``normal`` and
    ``shutdown``; taskvisor counts ``"killed"`` with them, see the changelog, and
    ``"noconnection"``: the call's node went away, and a node logs its own crashes)."""
    if isinstance(reason, str):
        return reason in ("normal", "shutdown", "killed", "noconnection")
    return is_shutdown(reason)
