"""Supervisors on other taskvisor nodes, addressed as ``(name, node)`` as in Elixir.

``TaskSupervisor.async_(("MyApp.TaskSupervisor", "worker-a"), fn)`` runs ``fn`` under the
supervisor registered as ``"MyApp.TaskSupervisor"`` on the node ``"worker-a"``. Here, on the
caller's side, the task is a local proxy process, linked and monitored as the call says, whose
"executor" is the remote supervisor: starting it asks the node to start the child, a stop of
the proxy stops the child there, and the child's end is the proxy's. The core knows no
cluster: a cluster layer (`taskvisor.ray`) registers its `Connector` when it is imported, and
without one every remote call fails at its wait with ``("nodedown", node)``.

A local registration of the very tuple wins (any hashable is a name), and a node that is this
process's own means the local name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from .._errors import TaskExit
from .._executors import Call, Executor, ExecutorArg
from .._reasons import NoConnection
from .._runtime._pid import this_node
from .._runtime._reports import logger
from .._types import ShutdownTimeout
from ._registry import whereis

__all__ = ["Connector", "connect", "locate", "supervised_on"]


class Connector(Protocol):
    """How a cluster layer reaches the supervisors of its nodes."""

    def supervised(
        self,
        node: str,
        supervisor: Hashable,
        shutdown: ShutdownTimeout,
        executor: ExecutorArg,
        linked: bool,
    ) -> Executor:
        """An executor whose calls run as children of `supervisor` on `node`, each stopped
        within `shutdown` by that supervisor, its function run by `executor` there;
        `linked`: the calls' proxies are linked to their callers, so a caller whose whole
        node is lost takes the children with it (``"noconnection"``), as a BEAM link does."""
        ...


_connector: Connector | None = None
_warned: set[str] = set()  # nodes addressed while no cluster layer was loaded (warned once)
_NO_LAYER = (
    "no cluster layer is loaded: import taskvisor.ray (and ray.init(...)) before addressing "
    "a supervisor as (name, node)"
)


def connect(connector: Connector) -> None:
    """Make `connector` the way to remote nodes (the cluster layer does, on import)."""
    global _connector
    _connector = connector


def locate(sup_or_name: object) -> tuple[object, str | None]:
    """``(what names the supervisor here, None)`` for a local supervisor, or
    ``(name, node)`` for the supervisor registered as ``name`` on another node."""
    if type(sup_or_name) is not tuple or len(sup_or_name) != 2:
        return sup_or_name, None
    name, node = sup_or_name
    if type(node) is not str or whereis(sup_or_name) is not None:
        return sup_or_name, None
    if node == this_node():
        return name, None
    return name, node


def supervised_on(
    node: str,
    supervisor: Hashable,
    shutdown: ShutdownTimeout,
    executor: ExecutorArg,
    linked: bool,
) -> Executor:
    """The executor of children of `supervisor` on `node` (see `Connector.supervised`)."""
    if _connector is None:
        if node not in _warned:
            _warned.add(node)
            logger.warning(
                "a supervisor on the node %r was addressed, but %s: its calls fail with "
                "('nodedown', %r)",
                node,
                _NO_LAYER,
                node,
                extra={"node": node},
            )
        return _Unreachable(node)
    return _connector.supervised(node, supervisor, shutdown, executor, linked)


class _Unreachable(Executor):
    """No cluster layer is loaded: every call's node is down."""

    name = "unreachable"

    def __init__(self, node: str) -> None:
        self._node = node

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Call:
        return _Lost(self._node)


class _Lost:
    """A call that never started: its node cannot be reached."""

    __slots__ = ("future",)

    def __init__(self, node: str) -> None:
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.future.set_exception(
            TaskExit(
                NoConnection(node),
                detail=f"the node {node!r} is not reached because {_NO_LAYER}",
            )
        )

    def stop(self) -> None:
        """Nothing runs: nothing to stop."""

    def kill(self) -> None:
        """Nothing runs: nothing to kill."""
