"""`taskvisor.ray.RayNode` on a real single-node Ray (``ray.init``), started and stopped here.

Evidence from inside the Ray workers comes through files in a temporary directory (a
worker's pid, "started", "finally"), never through timing. The module's Ray is started once
(about 4 s) and shut down after its last test; the cluster module (`test_ray_cluster.py`)
starts its own only after this one has stopped.
"""

from __future__ import annotations

import asyncio
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from support import SAFETY_SLOW, until  # noqa: E402
from taskvisor import (  # noqa: E402
    Exit,
    Ok,
    Process,
    ProcessPool,
    RemoteError,
    RemoteTraceback,
    Task,
    TaskExit,
    TaskSupervisor,
    WorkerCrashedError,
    blocking,
    set_default_executor,
)
from taskvisor.ray import RayNode  # noqa: E402
from taskvisor.testing import asyncio_task_of  # noqa: E402

# The functions below travel to the workers by value: this test module is not importable
# there (Ray's workers do not see pytest's sys.path).
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.timeout(SAFETY_SLOW * 3)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray.get([_warm.remote() for _ in range(2)])  # two workers up before any timeout runs
        yield
    finally:
        ray.shutdown()


@ray.remote(num_cpus=1)
def _warm() -> int:
    return os.getpid()


# -- what runs in the workers ---------------------------------------------------------


def double(x: int) -> int:
    return 2 * x


async def on_the_worker_loop(x: int) -> tuple[int, int]:
    await asyncio.sleep(0)
    return x, os.getpid()


def mark(folder: str, name: str, text: str = "") -> None:
    Path(folder, name).write_text(text)


def busy(folder: str) -> None:
    """A pure-Python loop: Ray's polite cancel lands in it."""
    mark(folder, "started", str(os.getpid()))
    try:
        while True:
            sum(range(100))
    finally:
        mark(folder, "finally")


def blocked(folder: str) -> None:
    """Blocked in C: Ray's polite cancel cannot land until the sleep returns."""
    mark(folder, "started", str(os.getpid()))
    try:
        time.sleep(600)
    finally:
        mark(folder, "finally")


def crash_once(folder: str) -> None:
    with open(Path(folder, "runs"), "a") as runs:
        runs.write("run\n")
    os._exit(3)


class Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # pickle cannot call it again with one arg
        super().__init__(f"{a}/{b}")


def raise_unpicklable() -> None:
    raise Unpicklable(1, 2)


def boom(x: int) -> None:
    raise ValueError(f"boom {x}")


def worker_pid(folder: Path) -> int:
    return int(Path(folder, "started").read_text())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def started(folder: Path) -> bool:
    path = Path(folder, "started")
    return path.exists() and path.read_text() != ""


# -- without a running Ray ------------------------------------------------------------


async def test_a_call_before_ray_init_is_refused_with_what_to_do() -> None:
    assert not ray.is_initialized()  # this test runs before the module's Ray starts
    Process.flag("trap_exit", True)
    task = Task.async_(double, 1, executor=RayNode())
    with pytest.raises(TaskExit) as info:
        await Task.await_(task)
    reason = info.value.reason
    assert isinstance(reason, RuntimeError)
    assert "ray.init()" in str(reason)


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({"node": 3}, TypeError, "node"),
        ({"node": ""}, ValueError, "node"),
        ({"num_cpus": -1}, ValueError, "num_cpus"),
        ({"num_cpus": "1"}, TypeError, "num_cpus"),
        ({"resources": {"CPU": 1}}, ValueError, "num_cpus"),
        ({"resources": {"GPU": -1}}, ValueError, "resources['GPU']"),
        ({"resources": [1]}, TypeError, "resources"),
        ({"runtime_env": "x"}, TypeError, "runtime_env"),
        ({"max_retries": -2}, ValueError, "max_retries"),
        ({"max_retries": 1.5}, TypeError, "max_retries"),
        ({"stop_grace": -1}, ValueError, "stop_grace"),
    ],
)
def test_bad_arguments_are_refused_naming_them(
    kwargs: dict[str, Any], error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named.replace("[", r"\[").replace("]", r"\]")):
        RayNode(**kwargs)


def test_repr_and_defaults() -> None:
    assert repr(RayNode()) == "RayNode(num_cpus=1)"
    node = RayNode("gpu-1", num_cpus=0.5, max_retries=2, stop_grace=3)
    assert repr(node) == "RayNode('gpu-1', num_cpus=0.5, max_retries=2, stop_grace=3)"
    assert node.node == "gpu-1"
    assert node.stop_grace == 3.0
    assert RayNode().max_workers is None  # no Ray yet


# -- values and errors ----------------------------------------------------------------


async def test_values_come_back(local_ray: None) -> None:
    node = RayNode()
    assert await Task.await_(Task.async_(double, 21, executor=node), timeout=None) == 42
    x, pid = await Task.await_(Task.async_(on_the_worker_loop, 7, executor=node), timeout=None)
    assert x == 7 and pid != os.getpid()  # a coroutine function, on the worker's own loop
    factor = 3
    task = Task.async_(lambda y: y * factor, 5, executor=node)  # a closure, by value
    assert await Task.await_(task, timeout=None) == 15
    # a module's function travels by reference (the stdlib is importable everywhere)
    assert await Task.await_(Task.async_(math.factorial, 5, executor=node), timeout=None) == 120
    assert node.max_workers == 2  # 2 CPUs, 1 per call


async def test_a_crash_comes_back_as_itself_with_the_workers_traceback(local_ray: None) -> None:
    Process.flag("trap_exit", True)
    task = Task.async_(boom, 1, executor=RayNode())
    with pytest.raises(TaskExit) as info:
        await Task.await_(task, timeout=None)
    reason = info.value.reason
    assert type(reason) is ValueError and str(reason) == "boom 1"
    assert isinstance(reason.__cause__, RemoteTraceback)
    assert "in boom" in reason.__cause__.traceback
    assert await Process.receive_exit(timeout=None) == (task.pid, reason)

    task = Task.async_(raise_unpicklable, executor=RayNode())
    with pytest.raises(TaskExit) as info:
        await Task.await_(task, timeout=None)
    assert isinstance(info.value.reason, RemoteError)
    assert info.value.reason.type_name.endswith("Unpicklable")


async def test_a_worker_that_dies_gives_worker_crashed_error_and_runs_once(
    local_ray: None, tmp_path: Path
) -> None:
    sup = await TaskSupervisor.start_link()
    task = TaskSupervisor.async_nolink(sup, crash_once, str(tmp_path), executor=RayNode())
    result = await Task.yield_(task, timeout=None)
    assert isinstance(result, Exit)
    assert isinstance(result.reason, WorkerCrashedError)
    assert result.reason.pid is None
    assert "died" in str(result.reason)
    assert Path(tmp_path, "runs").read_text() == "run\n"  # Ray did not re-run it (max_retries=0)

    # opted in: Ray re-runs it twice more before taskvisor sees the crash
    (tmp_path / "runs").unlink()
    task = TaskSupervisor.async_nolink(
        sup, crash_once, str(tmp_path), executor=RayNode(max_retries=2)
    )
    result = await Task.yield_(task, timeout=None)
    assert isinstance(result, Exit) and isinstance(result.reason, WorkerCrashedError)
    assert Path(tmp_path, "runs").read_text() == "run\n" * 3
    await TaskSupervisor.stop(sup)


# -- stopping and killing -------------------------------------------------------------


async def test_a_polite_stop_interrupts_a_python_loop_and_its_finally_runs(
    local_ray: None, tmp_path: Path
) -> None:
    task = Task.async_(busy, str(tmp_path), executor=RayNode())
    await until(lambda: started(tmp_path), "the call started")
    assert await Task.shutdown(task, SAFETY_SLOW) is None  # stopped as asked, not killed
    assert (tmp_path / "finally").exists()
    assert not gone(worker_pid(tmp_path))  # the worker lives on


async def test_a_blocked_call_is_killed_at_the_shutdown_timeout(
    local_ray: None, tmp_path: Path
) -> None:
    task = Task.async_(blocked, str(tmp_path), executor=RayNode())
    await until(lambda: started(tmp_path), "the call started")
    assert await Task.shutdown(task, 0.2) == Exit("killed")  # time.sleep ignores ray.cancel
    pid = worker_pid(tmp_path)
    await until(lambda: gone(pid), "the worker was killed")
    assert not (tmp_path / "finally").exists()


async def test_brutal_kill_kills_the_worker(local_ray: None, tmp_path: Path) -> None:
    task = Task.async_(blocked, str(tmp_path), executor=RayNode())
    await until(lambda: started(tmp_path), "the call started")
    assert await Task.shutdown(task, "brutal_kill") is None
    pid = worker_pid(tmp_path)
    await until(lambda: gone(pid), "the worker was killed")
    assert not (tmp_path / "finally").exists()


async def test_a_cancel_from_outside_taskvisor_kills_the_remote_call(
    local_ray: None, tmp_path: Path
) -> None:
    Process.flag("trap_exit", True)
    task = Task.async_(blocked, str(tmp_path), executor=RayNode())
    await until(lambda: started(tmp_path), "the call started")
    aio = asyncio_task_of(task.pid)
    assert aio is not None
    aio.cancel()  # anyone else's cancel of the process that awaits the call
    assert await Process.receive_exit(timeout=None) == (task.pid, "shutdown")
    pid = worker_pid(tmp_path)
    await until(lambda: gone(pid), "the worker was killed")


async def test_a_stream_kills_a_call_that_times_out(local_ray: None, tmp_path: Path) -> None:
    folders = [tmp_path / name for name in ("a", "b", "c")]
    for folder in folders:
        folder.mkdir()

    def item(folder: Path) -> str:
        if folder.name == "c":
            blocked(str(folder))
        return folder.name

    results = [
        result
        async for result in Task.async_stream(
            folders,
            item,
            executor=RayNode(),
            max_concurrency=2,
            timeout=3.0,
            on_timeout="kill_task",
        )
    ]
    assert results == [Ok("a"), Ok("b"), Exit("timeout")]
    pid = worker_pid(folders[2])
    await until(lambda: gone(pid), "the timed-out call's worker was killed")


async def owner_that_crashes(folder: str, executor: RayNode, fn: Any) -> None:
    Task.async_(fn, folder, executor=executor)  # linked to this owner
    await until(lambda: started(Path(folder)), "the call started")
    raise RuntimeError("owner crashed")


async def test_an_owner_crash_stops_its_remote_task(local_ray: None, tmp_path: Path) -> None:
    Process.flag("trap_exit", True)
    owner = Task.async_(owner_that_crashes, str(tmp_path), RayNode(), busy)
    assert isinstance(await Task.yield_(owner, timeout=None), Exit)
    await until(lambda: (tmp_path / "finally").exists(), "the remote call's finally ran")


async def test_stop_grace_kills_a_blocked_call_after_a_linked_exit(
    local_ray: None, tmp_path: Path
) -> None:
    Process.flag("trap_exit", True)
    owner = Task.async_(owner_that_crashes, str(tmp_path), RayNode(stop_grace=0.1), blocked)
    assert isinstance(await Task.yield_(owner, timeout=None), Exit)
    pid = worker_pid(tmp_path)
    await until(lambda: gone(pid), "the blocked call was killed after the grace")
    assert not (tmp_path / "finally").exists()


async def test_a_supervisor_runs_its_children_on_its_default_executor(local_ray: None) -> None:
    async with TaskSupervisor(executor=RayNode()) as sup:
        task = TaskSupervisor.async_(sup, double, 4)
        assert await Task.await_(task, timeout=None) == 8
        tasks = [TaskSupervisor.async_(sup, double, n) for n in range(4)]
        assert await Task.await_many(tasks, timeout=None) == [0, 2, 4, 6]


def in_a_ray_task() -> bool:
    return ray.get_runtime_context().get_task_id() is not None


async def test_a_ray_node_can_stand_behind_executor_process(local_ray: None) -> None:
    set_default_executor("process", RayNode())
    try:
        task = Task.async_(in_a_ray_task, executor="process")
        assert await Task.await_(task, timeout=None) is True
    finally:
        set_default_executor("process", ProcessPool())
    with pytest.raises(TypeError, match="executor"):
        set_default_executor("thread", RayNode())


def test_the_blocking_api_runs_calls_on_ray(local_ray: None) -> None:
    """From sync code: `taskvisor.blocking` with the same executor (its loop thread starts
    the calls)."""
    task = blocking.Task.async_(double, 5, executor=RayNode())
    assert blocking.Task.await_(task, timeout=None) == 10
    results = list(blocking.Task.async_stream(range(4), double, executor=RayNode()))
    assert results == [Ok(0), Ok(2), Ok(4), Ok(6)]


def trace_ids_here() -> tuple[int, int]:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return context.trace_id, context.span_id


async def test_the_trace_context_reaches_a_ray_worker(local_ray: None) -> None:
    """With taskvisor.contrib.opentelemetry, a RayNode call runs inside its caller's trace
    (a W3C carrier sent along), as a process pool worker does."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider

    from taskvisor.contrib import opentelemetry as taskvisor_otel

    provider = TracerProvider()
    instrumentation = taskvisor_otel.instrument(None, provider)
    try:
        with provider.get_tracer("test").start_as_current_span("job") as job:
            seen = await Task.await_(Task.async_(trace_ids_here, executor=RayNode()), timeout=None)
    finally:
        instrumentation.uninstrument()
    assert seen == (job.get_span_context().trace_id, job.get_span_context().span_id)
    untraced = await Task.await_(Task.async_(trace_ids_here, executor=RayNode()), timeout=None)
    assert untraced == (0, 0)
