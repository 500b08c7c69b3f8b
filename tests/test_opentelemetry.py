"""`taskvisor.contrib.opentelemetry` with the real OpenTelemetry SDK and its in-memory exporter:
spans per task, the trace context in threads and in process-pool workers, restarts linked,
and trace ids in crash reports."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode

from support import SAFETY, until
from taskvisor import Exit, Process, ProcessPool, Task, TaskSupervisor, telemetry
from taskvisor.contrib import opentelemetry as taskvisor_otel
from taskvisor.testing import task_telemetry_on

Spans = tuple[TracerProvider, InMemorySpanExporter]


@pytest.fixture
def otel() -> Iterator[Spans]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def ids_here() -> tuple[int, int]:
    """The trace and span id current where this runs (a thread, a worker process)."""
    context = trace.get_current_span().get_span_context()
    return context.trace_id, context.span_id


async def ids_here_async() -> tuple[int, int]:
    await asyncio.sleep(0)
    return ids_here()


async def crash(message: str) -> None:
    raise ValueError(message)


async def crash_once(state: dict[str, int], done: asyncio.Event) -> None:
    state["runs"] = state.get("runs", 0) + 1
    if state["runs"] == 1:
        raise ValueError("the first attempt crashes")
    done.set()


async def nested(provider: TracerProvider) -> None:
    with provider.get_tracer("user").start_as_current_span("user work"):
        await asyncio.sleep(0)


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


async def test_a_span_per_supervised_task_under_the_callers_span(otel: Spans) -> None:
    provider, exporter = otel
    instrumentation = taskvisor_otel.instrument(tracer_provider=provider)
    try:
        with provider.get_tracer("test").start_as_current_span("request") as request:
            async with TaskSupervisor(name="Otel.Jobs") as jobs:
                await Task.await_(TaskSupervisor.async_(jobs, nested, provider))
                Process.flag("trap_exit", True)
                result = await Task.yield_(TaskSupervisor.async_nolink(jobs, crash, "oops"), SAFETY)
                assert isinstance(result, Exit)
            await Task.await_(Task.async_(nested, provider))  # no supervisor: no span
    finally:
        instrumentation.uninstrument()
    [ok, failed] = [s for s in exporter.get_finished_spans() if s.name.startswith("taskvisor.task")]
    assert ok.name.endswith(".nested") and failed.name.endswith(".crash")
    trace_id = request.get_span_context().trace_id
    for span in (ok, failed):
        assert span.context.trace_id == trace_id
        assert span.parent is not None and span.parent.span_id == request.get_span_context().span_id
        assert span.attributes is not None
        assert span.attributes["taskvisor.supervisor"] == "Otel.Jobs"
        assert span.attributes["taskvisor.executor"] == "loop"
        assert str(span.attributes["taskvisor.pid"]).startswith("<0.")
    assert ok.attributes is not None and ok.attributes["taskvisor.exit_reason"] == "normal"
    assert ok.status.status_code is StatusCode.UNSET
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["taskvisor.exit_reason"] == "ValueError: oops"
    assert [e.name for e in failed.events] == ["exception"]
    # the task's span is current inside it: the user's span nests under it
    user = named(exporter, "user work")
    assert len(user) == 2  # one under the supervised task's span, one under the request's
    parents = {s.parent.span_id for s in user if s.parent is not None}
    assert parents == {ok.context.span_id, request.get_span_context().span_id}


async def test_spans_all_and_none(otel: Spans) -> None:
    provider, exporter = otel
    everything = taskvisor_otel.instrument("all", provider)
    try:
        await Task.await_(Task.async_(ids_here_async))
    finally:
        everything.uninstrument()
    assert len([s for s in exporter.get_finished_spans() if s.name.startswith("taskvisor")]) == 1
    exporter.clear()
    none = taskvisor_otel.instrument(None, provider)
    try:
        assert not task_telemetry_on()  # no spans: no task events needed
        async with TaskSupervisor() as sup:
            await Task.await_(TaskSupervisor.async_(sup, ids_here_async))
    finally:
        none.uninstrument()
    assert exporter.get_finished_spans() == ()


async def test_a_restarted_child_is_a_new_span_linked_to_the_attempt_before(otel: Spans) -> None:
    provider, exporter = otel
    instrumentation = taskvisor_otel.instrument(tracer_provider=provider)
    done = asyncio.Event()
    try:
        async with TaskSupervisor() as sup:
            with provider.get_tracer("test").start_as_current_span("signup") as signup:
                TaskSupervisor.start_child(sup, crash_once, {}, done, restart="transient")
            await done.wait()
            await until(lambda: len(exporter.get_finished_spans()) == 3, "both attempts ended")
    finally:
        instrumentation.uninstrument()
    first, second = named(exporter, "taskvisor.task test_opentelemetry.crash_once")
    assert first.status.status_code is StatusCode.ERROR
    assert second.status.status_code is StatusCode.UNSET
    assert [link.context.span_id for link in second.links] == [first.context.span_id]
    for attempt in (first, second):  # both under the context start_child was called in
        assert attempt.parent is not None
        assert attempt.parent.span_id == signup.get_span_context().span_id


async def test_the_trace_reaches_threads_and_process_pool_workers(otel: Spans) -> None:
    provider, exporter = otel
    instrumentation = taskvisor_otel.instrument(tracer_provider=provider)
    try:
        with ProcessPool(1) as pool:
            async with TaskSupervisor(name="Otel.Pool") as sup:
                with provider.get_tracer("test").start_as_current_span("batch") as batch:
                    here = batch.get_span_context()
                    in_thread = await Task.await_(Task.async_(ids_here, executor="thread"))
                    in_worker = await Task.await_(
                        TaskSupervisor.async_(sup, ids_here, executor=pool), SAFETY * 3
                    )
                    async_in_worker = await Task.await_(
                        Task.async_(ids_here_async, executor=pool), SAFETY * 3
                    )
    finally:
        instrumentation.uninstrument()
    assert in_thread == (here.trace_id, here.span_id)  # no span for an unsupervised task
    [pool_span] = [s for s in exporter.get_finished_spans() if s.name.endswith(".ids_here")]
    assert (
        pool_span.attributes is not None and pool_span.attributes["taskvisor.executor"] == "process"
    )
    assert in_worker == (here.trace_id, pool_span.context.span_id)  # the worker is inside it
    assert async_in_worker == (here.trace_id, here.span_id)  # a coroutine function in a worker


async def test_crash_reports_carry_the_trace_ids(
    otel: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    provider, _ = otel
    instrumentation = taskvisor_otel.instrument(tracer_provider=provider)
    caplog.set_level(logging.ERROR, logger="taskvisor")
    try:
        async with TaskSupervisor() as sup:
            Process.flag("trap_exit", True)
            await Task.yield_(TaskSupervisor.async_nolink(sup, crash, "traced"), SAFETY)
    finally:
        instrumentation.uninstrument()
    [record] = [r for r in caplog.records if "traced" in r.getMessage()]
    assert len(record.trace_id) == 32 and len(record.span_id) == 16  # type: ignore[attr-defined]
    assert int(record.trace_id, 16) != 0  # type: ignore[attr-defined]


async def test_instrument_and_uninstrument(otel: Spans) -> None:
    provider, _ = otel
    with pytest.raises(ValueError, match="spans must be 'supervised', 'all' or None"):
        taskvisor_otel.instrument("some")  # type: ignore[arg-type]
    instrumentation = taskvisor_otel.instrument(tracer_provider=provider)
    assert task_telemetry_on()
    with pytest.raises(RuntimeError, match="already instrumented"):
        taskvisor_otel.instrument(tracer_provider=provider)
    instrumentation.uninstrument()
    instrumentation.uninstrument()  # a second call does nothing
    assert not task_telemetry_on()
    assert telemetry.list_handlers(("taskvisor",)) == []
    assert not logging.getLogger("taskvisor").filters
    tracer = provider.get_tracer("test")
    with ProcessPool(1) as pool, tracer.start_as_current_span("after"):
        seen = await Task.await_(Task.async_(ids_here, executor=pool), SAFETY * 3)
    # nothing is wrapped any more: the worker saw no trace
    assert seen == (0, 0)
