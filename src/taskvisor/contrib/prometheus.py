"""Prometheus metrics from taskvisor's telemetry events (the ``prometheus`` extra).

    from taskvisor.contrib import prometheus
    metrics = prometheus.install()          # into prometheus_client's default REGISTRY
    ...
    metrics.uninstall()                     # detach, and unregister the metrics

`install` attaches one telemetry handler (`taskvisor.telemetry`) and registers these
metrics:

==================================================  =============================================
``taskvisor_tasks_started_total{supervisor}``       tasks started
``taskvisor_task_exits_total{supervisor,kind}``     task exits, by kind: ``normal``, ``shutdown``,
                                                    ``killed``, ``timeout``, ``noconnection``,
                                                    ``crash`` (every other reason)
``taskvisor_task_duration_seconds{supervisor}``     a histogram of task durations
``taskvisor_supervisor_restarts_total{supervisor}``  restarts of children
``taskvisor_supervisor_max_restarts_total``          supervisors that exceeded their restart
``{supervisor}``                                    intensity (and shut down)
``taskvisor_supervisor_children{supervisor}``       children running now (started since
                                                    `install`)
==================================================  =============================================

Labels are bounded, so the number of series is too: ``supervisor`` is the registered name
of the task's supervisor (``str(name)``), ``"unnamed"`` for a supervisor without one, and
``"none"`` for a task outside any supervisor; ``kind`` is one of six. Never pids,
functions or arguments. Each label's metric children are bound once, so an event costs a
dict lookup and an increment.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from .. import telemetry
from .._reasons import is_noconnection, is_normal, is_shutdown

__all__ = ["EXIT_KINDS", "PrometheusMetrics", "exit_kind", "install"]

EXIT_KINDS = ("normal", "shutdown", "killed", "timeout", "noconnection", "crash")
"""The values of the ``kind`` label of ``taskvisor_task_exits_total``."""

_EVENTS = [
    ("taskvisor", "task", "start"),
    ("taskvisor", "task", "stop"),
    ("taskvisor", "task", "exception"),
    ("taskvisor", "supervisor", "restart"),
    ("taskvisor", "supervisor", "max_restarts"),
]

_METRICS: dict[str, tuple[Any, str, str, tuple[str, ...]]] = {  # attribute: the metric
    "started": (Counter, "taskvisor_tasks_started", "Tasks started.", ("supervisor",)),
    "exits": (Counter, "taskvisor_task_exits", "Task exits, by kind.", ("supervisor", "kind")),
    "duration": (
        Histogram,
        "taskvisor_task_duration_seconds",
        "Task durations.",
        ("supervisor",),
    ),
    "restarts": (
        Counter,
        "taskvisor_supervisor_restarts",
        "Restarts of children.",
        ("supervisor",),
    ),
    "max_restarts": (
        Counter,
        "taskvisor_supervisor_max_restarts",
        "Supervisors that exceeded their restart intensity.",
        ("supervisor",),
    ),
    "children": (
        Gauge,
        "taskvisor_supervisor_children",
        "Children running now (started since install).",
        ("supervisor",),
    ),
}


def exit_kind(event: tuple[str, ...], reason: object) -> str:
    """The ``kind`` label of a task's end: `event` is its stop or exception event."""
    if event[-1] == "exception":
        return "crash"
    if is_normal(reason):
        return "normal"
    if is_shutdown(reason):
        return "shutdown"
    if is_noconnection(reason):
        return "noconnection"
    if reason == "killed" or reason == "timeout":
        return str(reason)
    return "crash"  # a linked crash, or a signal with another reason


def install(registry: CollectorRegistry | None = None) -> PrometheusMetrics:
    """Register taskvisor's metrics in `registry` (prometheus_client's default ``REGISTRY``
    if None) and start counting.

    Raises:
        TypeError: `registry` is not a ``CollectorRegistry``.
        ValueError: taskvisor's metrics are already registered there.
    """
    if registry is None:
        registry = REGISTRY
    if not isinstance(registry, CollectorRegistry):
        raise TypeError(f"registry must be a prometheus_client CollectorRegistry, got {registry!r}")
    return PrometheusMetrics(registry)


def _label(supervisor: tuple[Any, Hashable | None] | None) -> str:
    if supervisor is None:
        return "none"
    name = supervisor[1]
    return "unnamed" if name is None else str(name)


class PrometheusMetrics:
    """taskvisor's metrics in one registry, counted from telemetry events (see `install`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._handler_id = f"taskvisor.contrib.prometheus:{id(self)}"
        made: dict[str, Any] = {}
        try:
            for attribute, (kind, name, documentation, labels) in _METRICS.items():
                made[attribute] = kind(name, documentation, labels, registry=registry)
        except ValueError as exc:  # prometheus_client: "Duplicated timeseries"
            for metric in made.values():
                registry.unregister(metric)
            raise ValueError(f"taskvisor's metrics are already registered in {registry!r}") from exc
        self.started, self.exits, self.duration = made["started"], made["exits"], made["duration"]
        self.restarts, self.max_restarts = made["restarts"], made["max_restarts"]
        self.children = made["children"]
        self._metrics = list(made.values())
        self._bound: dict[str, tuple[Any, Any, Any]] = {}  # label -> started, duration, children
        self._running: set[Any] = set()  # the supervised tasks counted as running children
        telemetry.attach_many(self._handler_id, _EVENTS, self._on_event)

    def uninstall(self) -> None:
        """Stop counting and unregister the metrics (a second call does nothing)."""
        if not self._metrics:
            return
        telemetry.detach(self._handler_id)
        for metric in self._metrics:
            self._registry.unregister(metric)
        self._metrics = []
        self._running.clear()

    def _on_event(
        self, event: tuple[str, ...], measurements: dict[str, Any], metadata: dict[str, Any]
    ) -> None:
        what = event[-1]
        label = _label(metadata["supervisor"])
        bound = self._bound.get(label)
        if bound is None:
            bound = self._bound[label] = (
                self.started.labels(label),
                self.duration.labels(label),
                self.children.labels(label),
            )
        if what == "start":
            bound[0].inc()
            if metadata["supervisor"] is not None:
                self._running.add(metadata["pid"])
                bound[2].inc()
        elif what == "stop" or what == "exception":
            self.exits.labels(label, exit_kind(event, metadata["reason"])).inc()
            bound[1].observe(measurements["duration"] / 1e9)
            if metadata["pid"] in self._running:
                self._running.discard(metadata["pid"])
                bound[2].dec()
        elif what == "restart":
            self.restarts.labels(label).inc()
        else:  # max_restarts
            self.max_restarts.labels(label).inc()
