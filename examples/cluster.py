"""A stream across a local 3-node Ray cluster, and what taskvisor says when a node dies.

Starts a Ray cluster on this machine (``ray.cluster_utils.Cluster``: a head and two
workers, each labelled ``taskvisor-node``), runs a supervised stream of 12 items across its
nodes with `RayNode`, kills ``worker-b`` while its items run, and prints each result: the
items that ran on ``worker-b`` come back as ``Exit('noconnection')`` (Elixir's stream rule),
the others as ``Ok``. A wait on a task on the lost node then raises
``TaskExit(("nodedown", "worker-b"))``, and a new call to it fails at once the same way.

Run it from a clone of the repository (it needs the ``ray`` extra: ``pip install -e
".[ray]"``); it takes about 15 s, most of it Ray starting and stopping::

    python examples/cluster.py

``tests/test_ray_example.py`` runs it as a program and checks what it prints.
"""

from __future__ import annotations

import asyncio
import functools
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import ray
from ray.cluster_utils import Cluster

from taskvisor import Exit, Ok, Task, TaskExit, TaskSupervisor
from taskvisor.ray import NODE_LABEL, RayNode

HEALTH_CHECKS = {  # a killed node is seen dead in about a second (Ray's default: 30 s)
    "health_check_period_ms": 200,
    "health_check_failure_threshold": 3,
    "health_check_timeout_ms": 200,
    "health_check_initial_delay_ms": 0,
}


def work(item: int, busy: str) -> str:
    """One item's work, on whichever node Ray chose: two seconds of pure Python. An item on
    worker-b leaves a file in `busy` when it starts, so the program knows when to kill it."""
    node = str(ray.get_runtime_context().get_node_labels()[NODE_LABEL])
    if node == "worker-b":
        Path(busy, str(item)).touch()
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        sum(range(1000))
    return node


def start_cluster() -> tuple[Cluster, dict[str, Any]]:
    """A head and worker-a with one CPU each, worker-b with four: 6 items run at once, four
    of them on worker-b."""
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "labels": {NODE_LABEL: "head"},
            "_system_config": HEALTH_CHECKS,
        },
    )
    workers = {
        name: cluster.add_node(num_cpus=cpus, labels={NODE_LABEL: name})
        for name, cpus in (("worker-a", 1), ("worker-b", 4))
    }
    ray.init(address=cluster.address, log_to_driver=False)
    return cluster, workers


async def kill_worker_b_when_busy(cluster: Cluster, workers: dict[str, Any], busy: str) -> None:
    """Kill worker-b (its raylet and workers, at once) once two items run on it."""
    while len(os.listdir(busy)) < 2:
        await asyncio.sleep(0.01)
    print("  -- worker-b runs two items: killing it now --")
    cluster.remove_node(workers.pop("worker-b"), allow_graceful=False)


async def main(cluster: Cluster, workers: dict[str, Any]) -> None:
    anywhere = RayNode(num_cpus=1)
    with tempfile.TemporaryDirectory() as busy:
        async with TaskSupervisor(name="Cluster.Jobs", executor=anywhere) as sup:
            print(f"a stream of 12 items across 3 nodes, {anywhere.max_workers} at once")
            killer = Task.async_(kill_worker_b_when_busy, cluster, workers, busy)
            stream = TaskSupervisor.async_stream_nolink(
                sup, range(12), functools.partial(work, busy=busy), timeout=None
            )
            item = 0
            async for result in stream:  # ordered: results come in input order
                match result:
                    case Ok(node):
                        print(f"  item {item:2}: Ok, ran on {node}")
                    case Exit(reason):
                        print(f"  item {item:2}: Exit({reason!r})")
                item += 1
            await Task.await_(killer)

            on_b = RayNode("worker-b")
            try:
                await Task.await_(TaskSupervisor.async_nolink(sup, work, 0, busy, executor=on_b))
            except TaskExit as exc:
                print(f"a call to worker-b now: TaskExit({exc.reason!r})")


if __name__ == "__main__":
    cluster, workers = start_cluster()
    try:
        asyncio.run(main(cluster, workers))
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]
