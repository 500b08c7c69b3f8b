"""Telemetry events, in the shape of Erlang's ``:telemetry`` (which Oban, Phoenix and Bandit
follow).

An event is a tuple of strings, emitted with a dict of *measurements* (numbers; times in
nanoseconds) and a dict of *metadata*. Attach a handler to the events you care about::

    from taskvisor import telemetry

    def on_task_end(event, measurements, metadata):
        print(event[-1], metadata["function"], measurements["duration"] / 1e6, "ms")

    telemetry.attach_many(
        "my-app-tasks",
        [("taskvisor", "task", "stop"), ("taskvisor", "task", "exception")],
        on_task_end,
    )

Handlers run synchronously, in the process that emits the event, so they must be quick; a
handler that raises is detached, and the detach logged once on the ``taskvisor`` logger.
With no handler attached, taskvisor's hot paths cost nothing measurable. `execute` emits
your own events, and `span` times a block as ``start`` and ``stop`` (or ``exception``)
events. The events taskvisor emits, with their measurements and metadata, are in
docs/observability.md.
"""

from __future__ import annotations

from ._telemetry import (
    Event,
    Handler,
    HandlerInfo,
    attach,
    attach_many,
    detach,
    execute,
    list_handlers,
    span,
)

__all__ = [
    "Event",
    "Handler",
    "HandlerInfo",
    "attach",
    "attach_many",
    "detach",
    "execute",
    "list_handlers",
    "span",
]
