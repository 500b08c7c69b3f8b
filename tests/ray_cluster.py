"""A real 3-node Ray cluster on this machine (``ray.cluster_utils.Cluster``), one per module
that uses the `cluster` fixture: ``cluster = ray_cluster.cluster`` in the module.

Nodes carry the label ``taskvisor-node`` ("head", "worker-a", "worker-b"; worker-b has 2
CPUs and the resource ``only-b``), and health checks are tuned so that a killed node is seen
dead in about a second. Node death is ``remove_node(node, allow_graceful=False)``: the node's
raylet and workers are killed at once. The fixture is module-scoped, and the Ray modules run
one after another, so there is never more than one Ray on the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

from taskvisor.ray import NODE_LABEL  # noqa: E402

HEALTH_CHECKS = {
    "health_check_period_ms": 200,
    "health_check_failure_threshold": 3,
    "health_check_timeout_ms": 200,
    "health_check_initial_delay_ms": 0,
}


class Nodes:
    """The running cluster's worker nodes by name, to look up, kill and add."""

    def __init__(self, cluster: Any, nodes: dict[str, Any]) -> None:
        self.cluster = cluster
        self.nodes = nodes

    def id_of(self, name: str) -> str:
        found = [
            n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Labels"].get(NODE_LABEL) == name
        ]
        assert len(found) == 1
        return str(found[0])

    def kill(self, name: str) -> None:
        self.cluster.remove_node(self.nodes.pop(name), allow_graceful=False)

    def add(self, name: str, num_cpus: int = 1) -> None:
        self.nodes[name] = self.cluster.add_node(num_cpus=num_cpus, labels={NODE_LABEL: name})
        self.cluster.wait_for_nodes()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Nodes]:
    cluster = cluster_utils.Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "labels": {NODE_LABEL: "head"},
            "_system_config": HEALTH_CHECKS,
        },
    )
    try:
        nodes = {
            "worker-a": cluster.add_node(num_cpus=1, labels={NODE_LABEL: "worker-a"}),
            "worker-b": cluster.add_node(
                num_cpus=2, resources={"only-b": 10}, labels={NODE_LABEL: "worker-b"}
            ),
        }
        ray.init(address=cluster.address, log_to_driver=False)
        yield Nodes(cluster, nodes)
    finally:
        ray.shutdown()
        cluster.shutdown()
