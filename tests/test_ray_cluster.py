"""`RayNode` on a real 3-node Ray cluster on this machine (``ray.cluster_utils.Cluster``).

Nodes carry the label ``taskvisor-node`` ("head", "worker-a", "worker-b"), and health checks
are tuned so that a killed node is seen dead in about a second. Node death is
``remove_node(node, allow_graceful=False)``: the node's raylet and workers are killed at once.
Ported here, with a real lost node, are Elixir's ``:noconnection`` tests that need a node of
a given name ("exits on :noconnection from named monitor", for `await/2` and
`await_many/2`): a wait on a task whose node went down raises ``("nodedown", node)``. The
module's cluster is started once (about 6 s) after the single-node module's Ray has stopped,
and shut down after its last test.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

import ray_cluster  # noqa: E402
from ray_cluster import Nodes  # noqa: E402
from support import SAFETY_SLOW, forever, until  # noqa: E402
from taskvisor import Exit, Ok, Process, Task, TaskExit, TaskSupervisor  # noqa: E402
from taskvisor.ray import RayNode  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.timeout(SAFETY_SLOW * 3)

cluster = ray_cluster.cluster  # the module's 3-node cluster (tests/ray_cluster.py)


def where() -> str:
    return str(ray.get_runtime_context().get_node_id())


def blocked(folder: str, name: str) -> None:
    Path(folder, name).write_text(str(os.getpid()))
    time.sleep(600)


async def test_a_named_node_runs_the_call(cluster: Nodes) -> None:
    for name in ("head", "worker-a", "worker-b"):
        task = Task.async_(where, executor=RayNode(name, num_cpus=0))
        assert await Task.await_(task, timeout=None) == cluster.id_of(name)
    assert RayNode("worker-b").max_workers == 2
    assert RayNode(num_cpus=0.5).max_workers == 8


async def test_an_unknown_node_fails_at_once_with_nodedown(cluster: Nodes) -> None:
    Process.flag("trap_exit", True)
    task = Task.async_(where, executor=RayNode("nowhere"))
    with pytest.raises(TaskExit) as info:
        await Task.await_(task, timeout=None)  # never a call pending forever
    assert info.value.reason == ("nodedown", "nowhere")
    assert info.value.call == ("Task.await_", (task, None))
    assert await Process.receive_exit(timeout=None) == (task.pid, "noconnection")


async def test_a_node_that_dies_is_nodedown_from_every_wait(cluster: Nodes, tmp_path: Path) -> None:
    Process.flag("trap_exit", True)
    on_b = RayNode("worker-b", num_cpus=0)
    names = ["await", "await_many", "yield", "yield_many", "ignore", "shutdown"]
    tasks = {name: Task.async_(blocked, str(tmp_path), name, executor=on_b) for name in names}
    # placed with no name, by a resource only worker-b has: the node is named from Ray's error
    tasks["anywhere"] = Task.async_(
        blocked, str(tmp_path), "anywhere", executor=RayNode(resources={"only-b": 1})
    )
    names.append("anywhere")
    for name in names:
        await until(lambda name=name: (tmp_path / name).exists(), f"{name}'s call started")
    local = Task.async_(forever)

    cluster.kill("worker-b")

    lost = ("nodedown", "worker-b")
    with pytest.raises(TaskExit) as info:
        await Task.await_(tasks["await"], timeout=None)
    assert info.value.reason == lost
    assert info.value.call == ("Task.await_", (tasks["await"], None))
    batch = [local, tasks["await_many"]]
    with pytest.raises(TaskExit) as info:
        await Task.await_many(batch, timeout=None)  # at once: the local task never ends
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await Task.yield_(tasks["yield"], timeout=None)
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await Task.yield_many([local, tasks["yield_many"]], timeout=None)
    assert info.value.reason == lost
    await until(lambda: not Process.alive(tasks["ignore"].pid), "the ignored task's DOWN")
    with pytest.raises(TaskExit) as info:
        Task.ignore(tasks["ignore"])
    assert info.value.reason == lost
    await until(lambda: not Process.alive(tasks["shutdown"].pid), "its DOWN in the queue")
    with pytest.raises(TaskExit) as info:
        await Task.shutdown(tasks["shutdown"])
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await Task.await_(tasks["anywhere"], timeout=None)
    assert info.value.reason == lost

    # the links got "noconnection", one per task, whatever the order of their deaths
    exits = {await Process.receive_exit(timeout=None) for _ in names}
    assert exits == {(task.pid, "noconnection") for task in tasks.values()}
    assert await Task.shutdown(local) is None

    # a call to the dead node fails at once too
    task = Task.async_(where, executor=on_b)
    with pytest.raises(TaskExit) as info:
        await Task.await_(task, timeout=None)
    assert info.value.reason == lost
    assert await Process.receive_exit(timeout=None) == (task.pid, "noconnection")


async def test_a_nolink_stream_gives_noconnection_items_for_the_lost_node(
    cluster: Nodes, tmp_path: Path
) -> None:
    """Elixir's stream rule: an item whose task went down gives ``Exit(reason)``, here
    ``Exit("noconnection")``; only the waits raise ``("nodedown", node)``."""

    def item(name: str) -> str:
        if name == "on-a":
            blocked(str(tmp_path), name)
        return name

    def kill_when_started() -> None:  # a plain thread: the stream runs on the test's loop
        deadline = time.monotonic() + SAFETY_SLOW
        while not (tmp_path / "on-a").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        cluster.kill("worker-a")

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    async with TaskSupervisor() as sup:
        stream = TaskSupervisor.async_stream_nolink(
            sup, ["x", "on-a"], item, executor=RayNode("worker-a", num_cpus=0), timeout=None
        )
        results = [result async for result in stream]
    killer.join()
    assert results == [Ok("x"), Exit("noconnection")]
