"""`taskvisor.contrib.prometheus` against the real prometheus-client: metrics counted from the
telemetry events, read back by scraping a private registry (its text exposition)."""

from __future__ import annotations

import asyncio

import pytest

prometheus_client = pytest.importorskip("prometheus_client")

from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from support import SAFETY, forever, reply  # noqa: E402
from taskvisor import Process, Task, TaskExit, TaskSupervisor, telemetry  # noqa: E402
from taskvisor.contrib import prometheus  # noqa: E402
from taskvisor.testing import task_telemetry_on  # noqa: E402


def scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the registry's text exposition, by name and sorted labels."""
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def crash() -> None:
    raise ValueError("crash")


async def exit_with(reason: object) -> None:
    raise TaskExit(reason)


async def test_tasks_exits_durations_restarts_and_children() -> None:
    registry = CollectorRegistry()
    metrics = prometheus.install(registry)
    try:
        Process.flag("trap_exit", True)
        await Task.await_(Task.async_(reply, 1))  # outside any supervisor: "none"
        async with TaskSupervisor(name="Jobs") as jobs:
            held = TaskSupervisor.async_nolink(jobs, forever)
            await asyncio.sleep(0)
            during = scrape(registry)
            assert value(during, "taskvisor_supervisor_children", supervisor="Jobs") == 1
            assert await Task.shutdown(held) is None
            assert await Task.yield_(TaskSupervisor.async_nolink(jobs, crash), SAFETY) is not None
            killed = TaskSupervisor.async_nolink(jobs, forever)
            await asyncio.sleep(0)
            assert await Task.shutdown(killed, "brutal_kill") is None
            gone = TaskSupervisor.async_nolink(jobs, exit_with, "noconnection")
            with pytest.raises(TaskExit):  # ("nodedown", ...): the node of a lost connection
                await Task.yield_(gone, SAFETY)
        async with TaskSupervisor(max_restarts=1, max_seconds=60) as unnamed:
            TaskSupervisor.start_child(unnamed, crash, restart="transient")
            while Process.alive(unnamed.pid):
                await asyncio.sleep(0.01)
        samples = scrape(registry)
    finally:
        metrics.uninstall()

    assert value(samples, "taskvisor_tasks_started_total", supervisor="none") == 1
    assert value(samples, "taskvisor_task_exits_total", supervisor="none", kind="normal") == 1
    assert value(samples, "taskvisor_tasks_started_total", supervisor="Jobs") == 4
    for kind in ("shutdown", "crash", "killed", "noconnection"):
        assert value(samples, "taskvisor_task_exits_total", supervisor="Jobs", kind=kind) == 1
    assert value(samples, "taskvisor_task_duration_seconds_count", supervisor="Jobs") == 4
    assert value(samples, "taskvisor_task_duration_seconds_sum", supervisor="Jobs") > 0
    assert value(samples, "taskvisor_supervisor_children", supervisor="Jobs") == 0
    # the unnamed supervisor: the first crash restarted, the second one too many
    assert value(samples, "taskvisor_supervisor_restarts_total", supervisor="unnamed") == 1
    assert value(samples, "taskvisor_supervisor_max_restarts_total", supervisor="unnamed") == 1
    assert value(samples, "taskvisor_task_exits_total", supervisor="unnamed", kind="crash") == 2
    # labels are bounded: supervisor names and exit kinds, never pids or functions
    label_sets = {labels for (_, labels) in samples}
    keys = {key for labels in label_sets for key, _ in labels}
    assert keys <= {"supervisor", "kind", "le"}
    kinds = {v for labels in label_sets for k, v in labels if k == "kind"}
    assert kinds <= set(prometheus.EXIT_KINDS)


def test_the_exit_kinds() -> None:
    stop, exception = ("taskvisor", "task", "stop"), ("taskvisor", "task", "exception")
    assert prometheus.exit_kind(stop, "normal") == "normal"
    assert prometheus.exit_kind(stop, ("shutdown", "drained")) == "shutdown"
    assert prometheus.exit_kind(stop, "killed") == "killed"
    assert prometheus.exit_kind(stop, "timeout") == "timeout"
    assert prometheus.exit_kind(stop, "noconnection") == "noconnection"
    assert prometheus.exit_kind(stop, ValueError("linked crash")) == "crash"
    assert prometheus.exit_kind(exception, "boom") == "crash"


async def test_uninstall_detaches_and_unregisters() -> None:
    registry = CollectorRegistry()
    metrics = prometheus.install(registry)
    assert task_telemetry_on()
    with pytest.raises(ValueError, match="already registered"):
        prometheus.install(registry)
    metrics.uninstall()
    metrics.uninstall()  # a second call does nothing
    assert not task_telemetry_on()
    assert telemetry.list_handlers(("taskvisor",)) == []
    assert scrape(registry) == {}
    again = prometheus.install(registry)  # the names are free again
    again.uninstall()
    with pytest.raises(TypeError, match="registry must be a prometheus_client CollectorRegistry"):
        prometheus.install("default")  # type: ignore[arg-type]
