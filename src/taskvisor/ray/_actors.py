"""The caller's side of taskvisor nodes: finding a node's actor, and what its loss means.

A node's actor is looked up by its Ray name once and its handle kept; a call that finds the
actor gone (`ActorDiedError`, `ActorUnavailableError`: its Ray node died, its process
crashed, it was killed; `ActorUnschedulableError`: its Ray node died before it started)
forgets the handle, so that the next call looks again and a node
started anew under the same name is found. Any such loss is the node going down, as a BEAM
node whose VM died is: ``("nodedown", node)`` for the caller.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import threading
import uuid
import weakref
from typing import Any

import ray
from ray import exceptions as ray_errors

from .._errors import TaskExit
from .._reasons import NoConnection
from ._node_actor import ACTOR_PREFIX, NAMESPACE, NodeActor
from ._nodes import of_this_job

__all__ = [
    "actor_class",
    "actor_of",
    "caller_id",
    "forget_actor",
    "is_node_loss",
    "nodedown_exit",
    "nodedown_of",
]

_PROGRAM = f"{uuid.uuid4().hex[:12]}-{os.getpid()}"
_callers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, str] = weakref.WeakKeyDictionary()
_caller_numbers = itertools.count(1)


def caller_id(loop: asyncio.AbstractEventLoop) -> str:
    """Who calls from `loop`, among a node's callers: this program and the loop (each loop
    of a program tells the node that it lives, and gets its own crash reports). There is
    no ``.`` in it: a call id is ``<caller id>.<n>``."""
    found = _callers.get(loop)
    if found is None:
        found = _callers[loop] = f"{_PROGRAM}:{next(_caller_numbers)}"
    return found


_handles: dict[str, Any] = {}
_lock = threading.Lock()
_actor_class: Any = None


def actor_class() -> Any:
    """`NodeActor` as a Ray actor class (made once, when first needed)."""
    global _actor_class
    if _actor_class is None:
        _actor_class = ray.remote(NodeActor)
    return _actor_class


def actor_of(node: str) -> Any | None:
    """The handle of node `node`'s actor, or None if there is no such node (now)."""
    handle = of_this_job(_handles).get(node)
    if handle is None:
        try:
            handle = ray.get_actor(ACTOR_PREFIX + node, namespace=NAMESPACE)
        except ValueError:  # no actor of that name: the node is not running
            return None
        with _lock:
            handle = _handles.setdefault(node, handle)
    return handle


def forget_actor(node: str, handle: Any = None) -> None:
    """Forget the handle of `node` (if it is still `handle`): the node went down."""
    with _lock:
        if handle is None or _handles.get(node) is handle:
            _handles.pop(node, None)


def is_node_loss(error: BaseException) -> bool:
    """Whether Ray's `error` from a node's actor means the node is gone."""
    # ActorDiedError and ActorUnavailableError (RayActorError), or, for an actor being
    # created, ActorUnschedulableError: its Ray node is gone
    return isinstance(error, ray_errors.RayActorError | ray_errors.ActorUnschedulableError)


def nodedown_of(node: str, error: BaseException | None = None) -> TaskExit:
    """The exit of a call whose node `node` is gone (`error`: Ray's word for it)."""
    lost = TaskExit(NoConnection(node), detail=_down(node))
    lost.__cause__ = error
    return lost


def nodedown_exit(node: str, error: BaseException | None = None) -> TaskExit:
    """What a management call to `node` raises when the node is gone: the exit
    ``("nodedown", node)``, as Elixir's calls to a node that is down exit."""
    lost = TaskExit(("nodedown", node), detail=_down(node))
    lost.__cause__ = error
    return lost


def _down(node: str) -> str:
    return f"the taskvisor node {node!r} is down or was never started"
