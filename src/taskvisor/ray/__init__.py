"""taskvisor on a Ray cluster: `RayNode`, an executor whose calls run on Ray.

The process stays here, on the caller's loop, with its links and monitors; only its function
runs on the cluster, anywhere (``RayNode()``) or on the node named by its ``taskvisor-node``
label (``RayNode("worker-a")``). A node that goes away is an exit, never a hang: the
process exits ``"noconnection"`` (what its links get) and every wait on it raises
``TaskExit(("nodedown", node))``, as Elixir's do. See ``docs/clusters.md``.

Needs Ray (``pip install "taskvisor[ray]"``) and a Ray that this program has joined
(``ray.init(...)``); ``import taskvisor`` never imports Ray, only ``import taskvisor.ray``
does.
"""

from __future__ import annotations

try:
    import ray as _ray  # noqa: F401  (the extra is installed: say so clearly if not)
except ImportError as exc:
    raise ImportError(
        'taskvisor.ray needs Ray: pip install "taskvisor[ray]" (or pip install ray)'
    ) from exc

from ._executor import RayNode
from ._nodes import NODE_LABEL

__all__ = ["NODE_LABEL", "RayNode"]
