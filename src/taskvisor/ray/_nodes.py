"""Node names on a Ray cluster: the value of a node's ``taskvisor-node`` label.

A `RayNode("worker-a")` call is placed on the one live Ray node whose label
``taskvisor-node`` is ``"worker-a"``, by its node id with a hard node affinity, so that a
node that has died fails the call at once (Ray's `TaskUnschedulableError`) instead of
leaving it pending forever, as a label selector for a vanished label would. The ids of live
nodes are cached per name; a name is looked up again (`ray.nodes()`) when it is not cached,
and forgotten when a call on its node finds it gone. A node that comes back under the same
name is a new node: the first call after the old one was forgotten finds it. What is cached
is cached per Ray job (`of_this_job`): after ``ray.shutdown()`` and a new ``ray.init(...)``,
names are looked up again.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import ray

__all__ = [
    "NODE_LABEL",
    "cpus_of",
    "forget",
    "name_of",
    "node_id",
    "node_of_error",
    "of_this_job",
]

NODE_LABEL = "taskvisor-node"
"""The Ray node label whose value is a node's name for taskvisor."""

_ids: dict[str, str] = {}  # name -> node id of a live node, as last seen
_lock = threading.Lock()
_NODE_ID = re.compile(r"node ID: ([0-9a-f]{56})")


_jobs: dict[int, tuple[str, str]] = {}  # id of a cache -> the Ray job it was filled in


def of_this_job(cache: dict[str, Any]) -> dict[str, Any]:
    """`cache`, emptied first if it was filled in another Ray job than this one (Ray was
    shut down and started again since: its nodes and actors are other ones). A job is
    known by its cluster's address and its id: a new cluster numbers its jobs from 1 again."""
    context = ray.get_runtime_context()
    job = (context.gcs_address, context.get_job_id())
    if _jobs.get(id(cache)) != job:
        with _lock:
            cache.clear()
            _jobs[id(cache)] = job
    return cache


def node_id(name: str) -> str | None:
    """The id of the live Ray node called `name`, or None if there is none."""
    found = of_this_job(_ids).get(name)
    if found is None:
        with _lock:
            for node in _live_nodes():
                label = node["Labels"].get(NODE_LABEL)
                if label is not None:
                    _ids.setdefault(label, node["NodeID"])
            found = _ids.get(name)
    return found


def forget(name: str, dead_id: str | None = None) -> None:
    """Forget the cached id of `name` (its node went down), if it is still `dead_id`."""
    with _lock:
        if dead_id is None or _ids.get(name) == dead_id:
            _ids.pop(name, None)


def name_of(found_id: str) -> str:
    """The name of the Ray node `found_id` (dead or alive): its label, else the id itself."""
    for node in _all_nodes():
        if node["NodeID"] == found_id:
            label: str | None = node["Labels"].get(NODE_LABEL)
            return label or found_id
    return found_id


def node_of_error(error: BaseException) -> str | None:
    """The node id that Ray's `NodeDiedError` names in its message, or None."""
    found = _NODE_ID.search(str(error))
    return found.group(1) if found else None


def cpus_of(name: str | None) -> float:
    """The CPUs of the live node called `name` (0 if none), or of the cluster for None."""
    wanted = None if name is None else node_id(name)
    total = 0.0
    for node in _live_nodes():
        if name is None or node["NodeID"] == wanted:
            total += float(node["Resources"].get("CPU", 0.0))
    return total


def _all_nodes() -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return nodes


def _live_nodes() -> list[dict[str, Any]]:
    return [node for node in _all_nodes() if node["Alive"]]
