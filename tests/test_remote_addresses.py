"""Remote pids and ``(name, node)`` addresses in the core, without a cluster.

The core knows no cluster: what it owns is the shape of a remote pid (its node, its text, how
it travels), which local calls refuse one (with the node handle to use instead), and how an
address ``(name, node)`` is read: a local registration of the very tuple wins, a handle cannot
travel, and without a cluster layer the node is down. The cluster itself is tested in
``tests/test_ray_supervisors.py``.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import cloudpickle
import pytest

from support import reply
from taskvisor import Ok, Pid, Process, Task, TaskSupervisor
from taskvisor.testing import LOCAL_NODE, pid_at

ON_A = ("MyApp.TaskSupervisor", "worker-a")


# -- remote pids ------------------------------------------------------------------------------


def test_a_remote_pid_carries_its_node() -> None:
    pid = pid_at("worker-a", 68)
    assert type(pid) is Pid
    assert pid.node == "worker-a" and pid.number == 68
    assert repr(pid) == str(pid) == "<worker-a.68.0>"
    assert pid == pid_at("worker-a", 68) and hash(pid) == hash(pid_at("worker-a", 68))
    assert pid != pid_at("worker-b", 68)


async def test_a_local_pid_has_no_node_and_differs_from_a_remote_one() -> None:
    me = Process.self()
    assert me.node is None and repr(me) == f"<0.{me.number}.0>"
    assert pid_at("worker-a", me.number) != me
    assert pid_at(LOCAL_NODE, me.number) == me  # this node's own name: a local pid


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps], ids=["pickle", "cloudpickle"])
async def test_pids_travel_with_their_node(dumps: object) -> None:
    me = Process.self()
    for pid in (me, pid_at("worker-a", 70)):
        back = pickle.loads(dumps(pid))  # type: ignore[operator]
        assert type(back) is Pid and back == pid and back.node == pid.node


@pytest.mark.parametrize(
    ("call", "method"),
    [
        (lambda pid: Process.alive(pid), "alive"),
        (lambda pid: Process.exit(pid, "kill"), "exit"),
        (lambda pid: Process.link(pid), "link"),
        (lambda pid: Process.unlink(pid), "unlink"),
    ],
    ids=["alive", "exit", "link", "unlink"],
)
async def test_local_process_calls_refuse_a_remote_pid(call: object, method: str) -> None:
    pid = pid_at("worker-a", 71)
    with pytest.raises(ValueError, match=rf"Process\.{method}.*taskvisor\.ray\.node\('worker-a'\)"):
        call(pid)  # type: ignore[operator]


# -- (name, node) addresses -------------------------------------------------------------------


async def test_a_local_registration_of_the_tuple_wins() -> None:
    async with TaskSupervisor(name=ON_A) as sup:
        task = TaskSupervisor.async_(ON_A, reply, "here")
        assert task.pid is not None and task.pid in sup.children()
        assert await Task.await_(task) == "here"
        assert [r async for r in TaskSupervisor.async_stream(ON_A, [1, 2], reply)] == [
            Ok(1),
            Ok(2),
        ]
        assert TaskSupervisor.count_children(ON_A)["specs"] == 0  # management calls too


async def test_a_handle_cannot_travel() -> None:
    async with TaskSupervisor() as sup:
        for start in (TaskSupervisor.async_, TaskSupervisor.async_nolink):
            with pytest.raises(TypeError, match=r"registered name, as \(name, node\)"):
                start((sup, "worker-a"), reply, 1)
        with pytest.raises(TypeError, match="registered name"):
            TaskSupervisor.async_stream((sup, "worker-a"), [1], reply)
    with pytest.raises(TypeError, match="registered name"):
        TaskSupervisor.async_nolink((None, "worker-a"), reply, 1)


@pytest.mark.parametrize(
    ("call", "method"),
    [
        (lambda: TaskSupervisor.start_child(ON_A, reply, 1), "start_child"),
        (lambda: TaskSupervisor.children(ON_A), "children"),
        (lambda: TaskSupervisor.count_children(ON_A), "count_children"),
    ],
    ids=["start_child", "children", "count_children"],
)
async def test_management_calls_with_an_address_name_the_node_handle(
    call: object, method: str
) -> None:
    expected = rf"taskvisor\.ray\.node\('worker-a'\)\.{method}\('MyApp\.TaskSupervisor', \.\.\.\)"
    with pytest.raises(ValueError, match=expected):
        call()  # type: ignore[operator]


async def test_terminate_child_with_an_address_names_the_node_handle() -> None:
    with pytest.raises(ValueError, match=r"node\('worker-a'\)\.terminate_child"):
        await TaskSupervisor.terminate_child(ON_A, pid_at("worker-a", 72))


WITHOUT_A_CLUSTER_LAYER = textwrap.dedent(
    """
    import asyncio, logging, sys
    from taskvisor import Exit, Process, Task, TaskExit, TaskSupervisor

    warnings = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())
    logging.getLogger("taskvisor").addHandler(handler)

    async def work():
        return "ran"

    async def main():
        Process.flag("trap_exit", True)
        task = TaskSupervisor.async_(("MyApp.TaskSupervisor", "worker-a"), work)
        try:
            await Task.await_(task)
        except TaskExit as exc:
            print("await:", exc.reason)
        print("link:", await Process.receive_exit(timeout=None) == (task.pid, "noconnection"))
        stream = TaskSupervisor.async_stream_nolink(("Sup", "worker-a"), [1, 2], print)
        print("stream:", [r async for r in stream])
        again = TaskSupervisor.async_nolink(("MyApp.TaskSupervisor", "worker-a"), work)
        try:
            await Task.yield_(again)
        except TaskExit as exc:
            print("yield:", exc.reason)
        hinted = all("import taskvisor.ray" in w for w in warnings)
        print("warned once per node:", len(warnings), hinted)
        print("ray loaded:", "ray" in sys.modules or "taskvisor.ray" in sys.modules)

    asyncio.run(main())
    """
)


def test_without_a_cluster_layer_the_node_is_down() -> None:
    """In a fresh interpreter that never imported taskvisor.ray (this one may have)."""
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_A_CLUSTER_LAYER],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.splitlines() == [
        "await: ('nodedown', 'worker-a')",
        "link: True",
        "stream: [Exit(reason='noconnection'), Exit(reason='noconnection')]",
        "yield: ('nodedown', 'worker-a')",
        "warned once per node: 1 True",
        "ray loaded: False",
    ]
