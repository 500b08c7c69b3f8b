"""Supervisors on remote taskvisor nodes, addressed as ``(name, node)``, on a real 3-node Ray
cluster (`ray_cluster`, the fixture shared with the `RayNode` tests).

Each node runs its own tree in a detached actor (`taskvisor.ray.start_node`); tasks started
through ``("MyApp.TaskSupervisor", "worker-a")`` are children there, with local proxies here
whose links and monitors hold across the network. Evidence from inside the node comes through
marker files (the nodes share this machine's file system), never from timing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

import ray_cluster  # noqa: E402
from ray_cluster import Nodes  # noqa: E402
from support import SAFETY_SLOW, to_list, until  # noqa: E402
from taskvisor import (  # noqa: E402
    Exit,
    MaxChildrenError,
    Ok,
    Process,
    Task,
    TaskExit,
    TaskSupervisor,
)
from taskvisor.ray import NodeHandle, node, nodes, start_node, stop_node  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.timeout(SAFETY_SLOW * 3)

cluster = ray_cluster.cluster

SUP = "MyApp.TaskSupervisor"
ON_A = (SUP, "worker-a")
CALLER_TIMEOUT = 5.0  # worker-a takes a program silent this long for lost (default 30)


@pytest.fixture(scope="module")
def worker_a(cluster: Nodes) -> NodeHandle:
    """The taskvisor node "worker-a": a task supervisor, and one limited to one child."""
    children = [
        TaskSupervisor.child_spec(name=SUP),
        TaskSupervisor.child_spec(name="Limited", max_children=1),
    ]
    return asyncio.run(start_node("worker-a", children, caller_timeout=CALLER_TIMEOUT))


# -- functions that run on the nodes ---------------------------------------------------------


async def where_and_who() -> tuple[str, Any, list[Any]]:
    """The Ray node this runs on, its pid, and the children of SUP there."""
    return (
        str(ray.get_runtime_context().get_node_id()),
        Process.self(),
        TaskSupervisor.children(SUP),
    )


async def where_and_who_async(item: int) -> tuple[int, Any, list[Any]]:
    return item, Process.self(), TaskSupervisor.children(SUP)


def mark(folder: str, name: str) -> None:
    Path(folder, name).write_text(str(os.getpid()))


async def held(folder: str, name: str) -> None:
    """Mark its start, wait for ever, and mark its ``finally`` (and add its name to the
    file ``finally``, in order)."""
    mark(folder, f"{name}.started")
    try:
        await asyncio.sleep(600)
    finally:
        mark(folder, f"{name}.finally")
        with Path(folder, "finally").open("a") as order:
            order.write(name + "\n")


async def held_pair(pair: tuple[str, str]) -> None:
    await held(*pair)


async def crash_when_told(folder: str, name: str) -> None:
    mark(folder, f"{name}.started")
    while not Path(folder, f"{name}.go").exists():
        await asyncio.sleep(0.01)
    raise ValueError(f"{name} crashed on its node")


async def crash_first_time(folder: str, message: str) -> None:
    """Crash on the first run with `message`; count the runs, and wait for ever."""
    runs = len(list(Path(folder).glob("run.*")))
    mark(folder, f"run.{runs + 1}")
    if runs == 0:
        raise ValueError(message)
    await asyncio.sleep(600)


async def crash_once_told(folder: str) -> None:
    while not Path(folder, "go").exists():
        await asyncio.sleep(0.01)
    raise ValueError("the tree's child crashes")


def boom(message: str) -> None:
    raise ValueError(message)


# -- addresses -------------------------------------------------------------------------------


async def test_each_address_form_runs_under_the_supervisor_on_the_node(
    cluster: Nodes, worker_a: NodeHandle
) -> None:
    node_id = cluster.id_of("worker-a")
    for start in (TaskSupervisor.async_, TaskSupervisor.async_nolink):
        task = start(ON_A, where_and_who)
        ran_on, pid, children = await Task.await_(task, timeout=None)
        assert ran_on == node_id
        assert pid.node == "worker-a" and pid in children  # a child of SUP, there
        assert task.pid is not None and task.pid.node is None  # the proxy is here
    for stream in (TaskSupervisor.async_stream, TaskSupervisor.async_stream_nolink):
        results = [r async for r in stream(ON_A, range(4), where_and_who_async)]
        assert [r.value[0] for r in results if isinstance(r, Ok)] == [0, 1, 2, 3]
        assert all(r.value[1].node == "worker-a" and r.value[1] in r.value[2] for r in results)


async def test_remote_pids_carry_their_node(worker_a: NodeHandle, tmp_path: Path) -> None:
    pid = await worker_a.start_child(SUP, held, str(tmp_path), "x")
    assert pid.node == "worker-a"
    assert repr(pid) == f"<worker-a.{pid.number}.0>"
    assert pickle.loads(pickle.dumps(pid)) == pid
    assert await worker_a.alive(pid)  # sent back to its node, it is a local pid there
    assert Process.self().node is None
    with pytest.raises(ValueError, match="worker-a"):
        Process.alive(pid)
    with pytest.raises(ValueError, match="node"):
        Process.exit(pid, "kill")
    await worker_a.terminate_child(SUP, pid)
    assert not await worker_a.alive(pid)


async def test_a_name_not_registered_there_is_noproc_at_the_wait(worker_a: NodeHandle) -> None:
    task = TaskSupervisor.async_nolink(("Nobody", "worker-a"), where_and_who)
    assert await Task.yield_(task, timeout=None) == Exit("noproc")
    with pytest.raises(TaskExit) as info:
        await Task.await_(TaskSupervisor.async_nolink(("Nobody", "worker-a"), where_and_who))
    assert info.value.reason == "noproc"
    with pytest.raises(TaskExit) as info:
        await worker_a.children("Nobody")
    assert info.value.reason == "noproc"


async def test_an_unknown_node_is_nodedown_at_once() -> None:
    Process.flag("trap_exit", True)
    task = TaskSupervisor.async_((SUP, "nowhere"), where_and_who)
    with pytest.raises(TaskExit) as info:
        await Task.await_(task, timeout=None)
    assert info.value.reason == ("nodedown", "nowhere")
    assert await Process.receive_exit(timeout=None) == (task.pid, "noconnection")
    with pytest.raises(TaskExit) as info:
        await node("nowhere").children(SUP)
    assert info.value.reason == ("nodedown", "nowhere")
    with pytest.raises(TaskExit) as info:
        await start_node("nowhere")  # no Ray node has that label
    assert info.value.reason == ("nodedown", "nowhere")


async def test_management_calls_name_the_node_handle(worker_a: NodeHandle) -> None:
    with pytest.raises(ValueError, match=r"taskvisor\.ray\.node\('worker-a'\)\.children"):
        TaskSupervisor.children(ON_A)
    with pytest.raises(ValueError, match="start_child"):
        TaskSupervisor.start_child(ON_A, boom, "x")
    with pytest.raises(TypeError, match="pid"):
        await worker_a.alive(Process.self())  # a pid of this node, not of worker-a
    with pytest.raises(ValueError, match="caller_timeout"):
        await start_node("worker-a", caller_timeout=0)
    with pytest.raises(TypeError, match="caller_timeout"):
        await start_node("worker-a", caller_timeout="30")  # type: ignore[arg-type]


# -- the node's supervisor decides -----------------------------------------------------------


async def test_max_children_on_the_node(worker_a: NodeHandle, tmp_path: Path) -> None:
    first = TaskSupervisor.async_nolink(("Limited", "worker-a"), held, str(tmp_path), "one")
    await until(lambda: (tmp_path / "one.started").exists(), "the first child started")
    refused = TaskSupervisor.async_nolink(("Limited", "worker-a"), where_and_who)
    result = await Task.yield_(refused, timeout=None)
    assert isinstance(result, Exit) and isinstance(result.reason, MaxChildrenError)
    assert result.reason.max_children == 1
    with pytest.raises(TaskExit) as info:
        await Task.await_(TaskSupervisor.async_nolink(("Limited", "worker-a"), where_and_who))
    assert isinstance(info.value.reason, MaxChildrenError)
    with pytest.raises(MaxChildrenError):
        await worker_a.start_child("Limited", boom, "never")
    assert await worker_a.count_children("Limited") == {
        "specs": 1,
        "active": 1,
        "supervisors": 0,
        "workers": 1,
    }
    assert await Task.shutdown(first) is None
    assert (tmp_path / "one.finally").exists()


async def test_a_transient_child_is_restarted_on_its_node(
    worker_a: NodeHandle, tmp_path: Path
) -> None:
    first = await worker_a.start_child(
        SUP, crash_first_time, str(tmp_path), "restarted", restart="transient"
    )
    await until(lambda: (tmp_path / "run.2").exists(), "the restarted run")
    children = await worker_a.children(SUP)
    assert len(children) == 1 and children[0] != first and children[0].node == "worker-a"
    assert not await worker_a.alive(first)
    await worker_a.terminate_child(SUP, children[0])
    assert await worker_a.children(SUP) == []
    with pytest.raises(LookupError):
        await worker_a.terminate_child(SUP, children[0])


# -- links and monitors across the network ---------------------------------------------------


async def test_a_remote_crash_interrupts_a_linked_caller(
    worker_a: NodeHandle, tmp_path: Path
) -> None:
    Process.flag("trap_exit", True)
    task = TaskSupervisor.async_(ON_A, crash_when_told, str(tmp_path), "c")
    await until(lambda: (tmp_path / "c.started").exists(), "the remote task started")
    mark(str(tmp_path), "c.go")
    source, reason = await Process.receive_exit(timeout=None)
    assert source == task.pid
    assert isinstance(reason, ValueError) and str(reason) == "c crashed on its node"
    with pytest.raises(TaskExit) as info:
        await Task.await_(task, timeout=None)
    assert info.value.reason is reason


async def test_a_crashing_caller_stops_its_remote_task(
    worker_a: NodeHandle, tmp_path: Path
) -> None:
    folder = str(tmp_path)

    async def caller() -> None:
        TaskSupervisor.async_(ON_A, held, folder, "h")
        await asyncio.sleep(600)

    pid = Task.start(caller)
    await until(lambda: (tmp_path / "h.started").exists(), "the remote task started")
    Process.exit(pid, "crashed")
    await until(lambda: (tmp_path / "h.finally").exists(), "the remote task's finally")
    assert await worker_a.children(SUP) == []


async def test_shutdown_and_brutal_kill_reach_the_remote_task(
    worker_a: NodeHandle, tmp_path: Path
) -> None:
    folder = str(tmp_path)
    polite = TaskSupervisor.async_nolink(ON_A, held, folder, "polite")
    await until(lambda: (tmp_path / "polite.started").exists(), "started")
    assert await Task.shutdown(polite, 5.0) is None
    assert (tmp_path / "polite.finally").exists()  # the answer waits for the remote finally

    brutal = TaskSupervisor.async_nolink(ON_A, held, folder, "brutal")
    await until(lambda: (tmp_path / "brutal.started").exists(), "started")
    assert await Task.shutdown(brutal, "brutal_kill") is None
    await until(lambda: (tmp_path / "brutal.finally").exists(), "the kill reached the node")
    assert await worker_a.children(SUP) == []


async def test_link_exit_and_unlink_of_a_remote_pid(worker_a: NodeHandle, tmp_path: Path) -> None:
    Process.flag("trap_exit", True)
    folder = str(tmp_path)
    unlinked = await worker_a.start_child(SUP, held, folder, "u")
    linked = await worker_a.start_child(SUP, held, folder, "l")
    await worker_a.link(unlinked)
    await worker_a.unlink(unlinked)
    await worker_a.link(linked)
    await worker_a.exit(unlinked, "stop-unlinked")
    await worker_a.exit(linked, "stop-linked")
    # the first exit signal to arrive is the linked one's: the unlinked one sends none
    assert await Process.receive_exit(timeout=None) == (linked, "stop-linked")
    await until(lambda: (tmp_path / "u.finally").exists(), "the unlinked child stopped")

    # the caller's exit reaches the remote pid through the link
    target = await worker_a.start_child(SUP, held, folder, "t")

    async def linker() -> None:
        await worker_a.link(target)
        raise ValueError("the linked caller crashed")

    Task.start(linker)
    await until(lambda: (tmp_path / "t.finally").exists(), "the caller's exit reached it")
    assert not await worker_a.alive(target)


LOST_PROGRAM = """
import asyncio, os, signal, sys
from pathlib import Path
import ray
from taskvisor import TaskSupervisor
from taskvisor.ray import node

SUP, FOLDER = "MyApp.TaskSupervisor", sys.argv[2]

async def held(name):
    Path(FOLDER, name + ".started").touch()
    try:
        await asyncio.sleep(600)
    finally:
        Path(FOLDER, name + ".finally").touch()

async def main():
    TaskSupervisor.async_((SUP, "worker-a"), held, "linked")
    TaskSupervisor.async_nolink((SUP, "worker-a"), held, "nolink")
    child = await node("worker-a").start_child(SUP, held, "child")
    await node("worker-a").link(child)
    names = ("linked", "nolink", "child")
    while not all(Path(FOLDER, name + ".started").exists() for name in names):
        await asyncio.sleep(0.02)
    os.kill(os.getpid(), signal.SIGKILL)  # the whole program is lost, its links with it

ray.init(address=sys.argv[1], log_to_driver=False)
asyncio.run(main())
"""


async def test_a_lost_callers_links_deliver_noconnection_on_the_node(
    cluster: Nodes, worker_a: NodeHandle, tmp_path: Path
) -> None:
    """Ray does not end a detached actor's calls when their program dies: the node takes a
    program that has gone silent for its caller_timeout for lost, as a BEAM node does a node
    whose ticks stopped, and its links there deliver "noconnection"."""
    program = subprocess.run(
        [sys.executable, "-c", LOST_PROGRAM, cluster.cluster.address, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=SAFETY_SLOW * 3,
    )
    assert program.returncode == -signal.SIGKILL, program.stderr
    await until(lambda: (tmp_path / "linked.finally").exists(), "the linked task stopped")
    await until(lambda: (tmp_path / "child.finally").exists(), "the linked child stopped")
    [left] = await worker_a.children(SUP)  # the nolink task runs on, as Elixir's would
    assert not (tmp_path / "nolink.finally").exists()
    await worker_a.terminate_child(SUP, left)
    assert (tmp_path / "nolink.finally").exists()


# -- crash reports ----------------------------------------------------------------------------


async def test_crash_reports_come_home(
    worker_a: NodeHandle, tmp_path: Path, caplog_taskvisor: pytest.LogCaptureFixture
) -> None:
    task = TaskSupervisor.async_nolink(ON_A, boom, "a remote boom")
    result = await Task.yield_(task, timeout=None)
    assert isinstance(result, Exit) and str(result.reason) == "a remote boom"
    [record] = [r for r in caplog_taskvisor.records if "a remote boom" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.node == "worker-a"  # type: ignore[attr-defined]
    assert "on node 'worker-a'" in record.getMessage()
    assert record.task_pid.node == "worker-a"  # type: ignore[attr-defined]
    assert "ValueError: a remote boom" in record.traceback  # type: ignore[attr-defined]

    # a start_child child's report comes home too, and its restart's
    message = "a start_child child crashes"
    await worker_a.start_child(SUP, crash_first_time, str(tmp_path), message, restart="transient")

    def came_home() -> bool:
        return any(message in r.getMessage() for r in caplog_taskvisor.records)

    await until(came_home, "the start_child child's crash report")
    await until(lambda: (tmp_path / "run.2").exists(), "the restart")
    [record] = [r for r in caplog_taskvisor.records if message in r.getMessage()]
    assert record.node == "worker-a"  # type: ignore[attr-defined]
    for pid in await worker_a.children(SUP):
        await worker_a.terminate_child(SUP, pid)


# -- nodes -------------------------------------------------------------------------------------


async def test_a_node_removed_mid_call(cluster: Nodes, tmp_path: Path) -> None:
    cluster.add("worker-c")
    on_c = (SUP, "worker-c")
    handle = await start_node("worker-c", [TaskSupervisor.child_spec(name=SUP)])
    assert "worker-c" in nodes()
    Process.flag("trap_exit", True)
    folder = str(tmp_path)
    names = ["await", "await_many", "yield", "yield_many", "shutdown"]
    linked = {name: TaskSupervisor.async_(on_c, held, folder, name) for name in names}
    nolink = TaskSupervisor.async_nolink(on_c, held, folder, "nolink")
    child = await handle.start_child(SUP, held, folder, "child")
    await handle.link(child)
    pairs = [(folder, "item.1"), (folder, "item.2")]
    streamed = asyncio.create_task(
        to_list(TaskSupervisor.async_stream_nolink(on_c, pairs, held_pair, timeout=None))
    )
    for name in [*names, "nolink", "child", "item.1", "item.2"]:
        await until(lambda name=name: (tmp_path / f"{name}.started").exists(), name)

    cluster.kill("worker-c")

    lost = ("nodedown", "worker-c")
    with pytest.raises(TaskExit) as info:
        await Task.await_(linked["await"], timeout=None)
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await Task.await_many([linked["await_many"]], timeout=None)
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await Task.yield_(linked["yield"], timeout=None)
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await Task.yield_many([linked["yield_many"]], timeout=None)
    assert info.value.reason == lost
    await until(lambda: not Process.alive(linked["shutdown"].pid), "its DOWN")
    with pytest.raises(TaskExit) as info:
        await Task.shutdown(linked["shutdown"])
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await Task.yield_(nolink, timeout=None)
    assert info.value.reason == lost

    assert await streamed == [Exit("noconnection"), Exit("noconnection")]  # one per input

    # every link got "noconnection": the linked proxies', and the remote pid's own
    exits = {await Process.receive_exit(timeout=None) for _ in range(len(names) + 1)}
    assert exits == {(t.pid, "noconnection") for t in linked.values()} | {(child, "noconnection")}

    # calls to the node that is down fail at once, and nothing was restarted elsewhere
    later = TaskSupervisor.async_nolink(on_c, where_and_who)
    with pytest.raises(TaskExit) as info:
        await Task.yield_(later, timeout=None)
    assert info.value.reason == lost
    with pytest.raises(TaskExit) as info:
        await handle.children(SUP)
    assert info.value.reason == lost
    await until(lambda: "worker-c" not in nodes(), "the node gone from nodes()")


async def test_stop_node_stops_its_tree_in_order(cluster: Nodes, tmp_path: Path) -> None:
    folder = str(tmp_path)
    children = [
        Task.child_spec(held, folder, "first").replace(id="first"),
        Task.child_spec(held, folder, "second").replace(id="second"),
    ]
    await start_node("worker-b", children)
    again = await start_node("worker-b", [])  # found running: its tree is kept
    assert again.name == "worker-b" and "worker-b" in nodes()
    await until(lambda: (tmp_path / "second.started").exists(), "the tree started")
    await stop_node("worker-b")
    assert (tmp_path / "finally").read_text().split() == ["second", "first"]
    await until(lambda: "worker-b" not in nodes(), "the node gone from nodes()")
    with pytest.raises(TaskExit) as info:
        await node("worker-b").children(SUP)
    assert info.value.reason == ("nodedown", "worker-b")
    await stop_node("worker-b")  # a node that is not running is left alone


async def test_a_tree_that_dies_takes_its_node_down(cluster: Nodes, tmp_path: Path) -> None:
    crashing = Task.child_spec(crash_once_told, str(tmp_path)).replace(restart="permanent")
    handle = await start_node("head", [crashing], max_restarts=1, max_seconds=60)
    assert "head" in nodes()
    mark(str(tmp_path), "go")  # each run crashes now: two restarts in a minute are too many
    await until(lambda: "head" not in nodes(), "the node went down with its tree")
    with pytest.raises(TaskExit) as info:
        await handle.children(SUP)
    assert info.value.reason == ("nodedown", "head")
