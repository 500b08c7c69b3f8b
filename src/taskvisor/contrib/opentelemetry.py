"""OpenTelemetry for taskvisor: the trace context in every place a function runs, spans per
task, and trace ids in the logs (the ``opentelemetry`` extra: ``opentelemetry-api``).

    from taskvisor.contrib import opentelemetry as taskvisor_otel
    instrumentation = taskvisor_otel.instrument()        # spans="supervised"
    ...
    instrumentation.uninstrument()

**Propagation.** OpenTelemetry keeps the current span in a context variable. asyncio copies
the context into every task, and taskvisor's thread pool runs each call in a copy, so on
the loop and in threads a task's work is already inside its caller's trace. A call that
leaves the process (a `ProcessPool` worker, a `RayNode`, any executor with
`Executor.crosses_processes`) cannot take the context along: once instrumented, each such
function is sent wrapped with a W3C carrier (``traceparent``) taken in the calling process,
and the context is attached around the function in the worker. (Workers export nothing
unless they set up a ``TracerProvider`` of their own; the trace ids they see and log are the
caller's.) Calls to supervisors on other taskvisor nodes (``(name, node)``) are not
wrapped.

**Spans**, from the telemetry events (`taskvisor.telemetry`): one span per task, named
``taskvisor.task <function>``, a child of the context the task started in, current while
the task runs (so that the spans it makes nest under it), with the attributes
``taskvisor.pid``, ``taskvisor.function``, ``taskvisor.executor``, ``taskvisor.supervisor``
and, at its end, ``taskvisor.exit_reason``; a crash sets the status ERROR and records the
exception. A restarted child's new attempt is a new span with the first attempt's parent,
and a link to the attempt before it. ``spans="supervised"`` (the default) makes spans for
the children of supervisors only (a span costs several times what a task costs);
``"all"`` for every task; ``None`` for none (propagation and log correlation only).

**Logs.** Records of the ``taskvisor`` logger (crash reports among them) get ``trace_id``
and ``span_id`` (hex) in their ``extra`` when a span is current where they are logged: a
crash report is logged in the crashing task, inside its span.
"""

from __future__ import annotations

import collections
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Span, SpanContext, Status, StatusCode, TracerProvider

from .. import telemetry
from .._executors._base import call_wrappers

__all__ = ["Instrumentation", "instrument"]

SpansOption = Literal["supervised", "all"] | None

_EVENTS = [
    ("taskvisor", "task", "start"),
    ("taskvisor", "task", "stop"),
    ("taskvisor", "task", "exception"),
    ("taskvisor", "supervisor", "restart"),
]
_KEPT_ENDED = 10_000  # ended supervised spans kept for a restart's link (the oldest dropped)


def instrument(
    spans: SpansOption = "supervised", tracer_provider: TracerProvider | None = None
) -> Instrumentation:
    """Propagate the trace context into every place a function runs, make spans per task
    (`spans`), and put trace ids in the ``taskvisor`` logger's records.

    Raises:
        ValueError: `spans` is not ``"supervised"``, ``"all"`` or None.
        RuntimeError: taskvisor is already instrumented (uninstrument it first).
    """
    if spans not in ("supervised", "all", None):
        raise ValueError(f"spans must be 'supervised', 'all' or None, got {spans!r}")
    if _current is not None:
        raise RuntimeError("taskvisor is already instrumented: call uninstrument() first")
    return Instrumentation(spans, tracer_provider)


_current: Instrumentation | None = None


class Instrumentation:
    """What `instrument` set up; `uninstrument` takes it all away again."""

    def __init__(self, spans: SpansOption, tracer_provider: TracerProvider | None) -> None:
        global _current
        self._spans = spans
        self._tracer = trace.get_tracer("taskvisor", tracer_provider=tracer_provider)
        self._open: dict[Any, tuple[Span, otel_context.Context]] = {}  # pid -> span, parent
        # pid -> (function, span context, parent context) of ended supervised spans
        self._ended: collections.OrderedDict[Any, tuple[str, SpanContext, otel_context.Context]]
        self._ended = collections.OrderedDict()
        # (supervisor pid, function) -> the attempts before the restarts still to start
        self._restarting: dict[
            tuple[Any, str], collections.deque[tuple[SpanContext, otel_context.Context]]
        ] = {}
        self._handler_id = f"taskvisor.contrib.opentelemetry:{id(self)}"
        self._filter = _TraceIds()
        call_wrappers.append(_with_carrier)
        logging.getLogger("taskvisor").addFilter(self._filter)
        if spans is not None:
            telemetry.attach_many(self._handler_id, _EVENTS, self._on_event)
        _current = self

    def uninstrument(self) -> None:
        """Stop propagating, stop making spans (open ones are ended), and stop adding trace
        ids to log records. A second call does nothing."""
        global _current
        if _current is not self:
            return
        _current = None
        call_wrappers.remove(_with_carrier)
        logging.getLogger("taskvisor").removeFilter(self._filter)
        if self._spans is not None:
            telemetry.detach(self._handler_id)
        for span, _ in self._open.values():
            span.end()
        self._open.clear()

    # -- spans from the telemetry events ----------------------------------------------------

    def _on_event(
        self, event: tuple[str, ...], measurements: dict[str, Any], metadata: dict[str, Any]
    ) -> None:
        what = event[-1]
        if what == "start":
            self._start(metadata)
        elif what == "restart":
            ended = self._ended.pop(metadata["child"], None)
            if ended is not None:
                function, span_context, parent = ended
                key = (metadata["supervisor"][0], function)
                self._restarting.setdefault(key, collections.deque()).append((span_context, parent))
        else:
            self._end(what, metadata)

    def _start(self, metadata: dict[str, Any]) -> None:
        supervisor = metadata["supervisor"]
        if supervisor is None and self._spans == "supervised":
            return
        parent = otel_context.get_current()
        links: list[Link] = []
        if supervisor is not None:
            key = (supervisor[0], metadata["function"])
            waiting = self._restarting.get(key)
            if waiting:
                before, parent = waiting.popleft()  # an attempt after a restart
                if not waiting:
                    del self._restarting[key]
                links.append(Link(before, {"taskvisor.link": "previous attempt"}))
        attributes = {
            "taskvisor.pid": repr(metadata["pid"]),
            "taskvisor.function": metadata["function"],
            "taskvisor.executor": metadata["executor"],
        }
        if supervisor is not None:
            pid, name = supervisor
            attributes["taskvisor.supervisor"] = repr(pid) if name is None else str(name)
        span = self._tracer.start_span(
            f"taskvisor.task {metadata['function']}",
            context=parent,
            attributes=attributes,
            links=links,
        )
        self._open[metadata["pid"]] = (span, parent)
        # in the task's own context (the handler runs in it, before its function): the span
        # is current for the rest of the task, and ends with it
        otel_context.attach(trace.set_span_in_context(span, parent))

    def _end(self, what: str, metadata: dict[str, Any]) -> None:
        opened = self._open.pop(metadata["pid"], None)
        if opened is None:
            return
        span, parent = opened
        reason = metadata["reason"]
        span.set_attribute("taskvisor.exit_reason", _reason_text(reason))
        if what == "exception":
            exception = metadata["exception"]
            if isinstance(exception, BaseException):
                span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, _reason_text(reason)))
        span.end()
        if metadata["supervisor"] is not None:
            self._ended[metadata["pid"]] = (metadata["function"], span.get_span_context(), parent)
            if len(self._ended) > _KEPT_ENDED:
                self._ended.popitem(last=False)


def _reason_text(reason: object) -> str:
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {reason}"
    return reason if isinstance(reason, str) else repr(reason)


# -- propagation across processes ---------------------------------------------------------------


def _with_carrier(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, wrapped with the calling context's trace as a W3C carrier (`fn` itself when
    there is no trace to carry)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return _InContext(carrier, fn) if carrier else fn


class _InContext:
    """A function that runs inside the trace context of `carrier` (in a worker process).

    It keeps the function as ``func``, so that taskvisor names the function it wraps.
    """

    __slots__ = ("carrier", "func")

    def __init__(self, carrier: dict[str, str], func: Callable[..., Any]) -> None:
        self.carrier = carrier
        self.func = func

    def __reduce__(self) -> tuple[Any, ...]:
        return (_InContext, (self.carrier, self.func))

    def __call__(self, *args: Any) -> Any:
        ctx = propagate.extract(self.carrier)
        if inspect.iscoroutinefunction(self.func):
            return _awaited_in(ctx, self.func(*args))
        token = otel_context.attach(ctx)
        try:
            value = self.func(*args)
        finally:
            otel_context.detach(token)
        return _awaited_in(ctx, value) if inspect.isawaitable(value) else value


async def _awaited_in(ctx: otel_context.Context, awaitable: Awaitable[Any]) -> Any:
    token = otel_context.attach(ctx)
    try:
        return await awaitable
    finally:
        otel_context.detach(token)


# -- trace ids in the logs ----------------------------------------------------------------------


class _TraceIds(logging.Filter):
    """Adds ``trace_id`` and ``span_id`` (hex) to a record when a span is current."""

    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        return True
