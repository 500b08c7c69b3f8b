"""taskvisor on a Ray cluster: `RayNode` (where a function runs) and taskvisor nodes (where a
supervised process lives).

`RayNode` is an executor whose calls run on Ray: the process stays here, on the caller's
loop, with its links and monitors; only its function runs on the cluster, anywhere
(``RayNode()``) or on the node named by its ``taskvisor-node`` label
(``RayNode("worker-a")``).

A taskvisor node (`start_node`) is a long-lived Ray actor on a labelled Ray node, running
its own supervision tree; ``TaskSupervisor.async_(("MyApp.TaskSupervisor", "worker-a"), fn)``
and the other ``async_*`` calls run tasks under a supervisor there, as Elixir's
``{name, node}`` addresses do, and `node` gives the coroutines that manage it
(``await node("worker-a").start_child(...)``).

A node that goes away is an exit, never a hang: processes that depended on it exit
``"noconnection"`` (what their links get) and every wait on them raises
``TaskExit(("nodedown", node))``, as Elixir's do. See ``docs/clusters.md``.

Needs Ray (``pip install "taskvisor[ray]"``) and a Ray that this program has joined
(``ray.init(...)``); ``import taskvisor`` never imports Ray, only ``import taskvisor.ray``
does, and importing it is what lets ``(name, node)`` addresses reach nodes.
"""

from __future__ import annotations

try:
    import ray as _ray  # noqa: F401  (the extra is installed: say so clearly if not)
except ImportError as exc:
    raise ImportError(
        'taskvisor.ray needs Ray: pip install "taskvisor[ray]" (or pip install ray)'
    ) from exc

from ._executor import RayNode
from ._handle import NodeHandle, node, nodes, start_node, stop_node
from ._nodes import NODE_LABEL

__all__ = ["NODE_LABEL", "NodeHandle", "RayNode", "node", "nodes", "start_node", "stop_node"]
