"""`taskvisor.telemetry`: ``:telemetry``'s API, and the events taskvisor emits.

A recording handler checks each event's name, order, measurement types and metadata keys
for a normal end, a crash, an exit, a shutdown, a kill, a stream timeout, a restart,
``max_restarts``, ``max_children`` and stream items; a raising handler is detached and
logged once; detaching the last task handler puts the plain spawn path back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from support import SAFETY, forever, reply
from taskvisor import (
    Exit,
    MaxChildrenError,
    Ok,
    Process,
    Supervisor,
    Task,
    TaskExit,
    TaskSupervisor,
    telemetry,
)
from taskvisor.testing import task_telemetry_on

TASK = [("taskvisor", "task", end) for end in ("start", "stop", "exception")]
SUPERVISOR = [
    ("taskvisor", "supervisor", what)
    for what in ("init", "stop", "restart", "max_restarts", "max_children")
]
ITEM = ("taskvisor", "stream", "item")
TASK_KEYS = {"pid", "function", "executor", "supervisor", "caller"}
SUPERVISOR_KEYS = {"supervisor", "kind", "max_restarts", "max_seconds"}

Recorded = list[tuple[tuple[str, ...], dict[str, Any], dict[str, Any]]]


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """Every taskvisor event, as emitted; the handlers are detached after the test."""
    seen: Recorded = []
    telemetry.attach_many("recorder", [*TASK, *SUPERVISOR, ITEM], lambda *event: seen.append(event))
    yield seen
    telemetry.detach("recorder")
    assert not task_telemetry_on()


def of(seen: Recorded, function: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The task events of the function named `function`: (last name part, measurements,
    metadata), in order."""
    return [
        (event[-1], m, md)
        for event, m, md in seen
        if event[1] == "task" and md["function"].endswith("." + function)
    ]


def check_task_events(events: list[tuple[str, dict[str, Any], dict[str, Any]]], end: str) -> None:
    """One start then one `end`, with the documented measurements and metadata keys."""
    assert [name for name, _, _ in events] == ["start", end]
    (_, started, start_md), (_, ended, end_md) = events
    assert set(started) == {"system_time", "monotonic_time"}
    assert set(ended) == {"duration", "monotonic_time"}
    assert all(type(v) is int for v in (*started.values(), *ended.values()))
    assert ended["duration"] >= 0 and ended["monotonic_time"] >= started["monotonic_time"]
    assert set(start_md) == TASK_KEYS
    extra = {"reason"} if end == "stop" else {"reason", "kind", "exception", "traceback"}
    assert set(end_md) == TASK_KEYS | extra
    assert {k: end_md[k] for k in TASK_KEYS} == start_md


async def crash(message: str) -> None:
    raise ValueError(message)


async def exit_with(reason: Any) -> None:
    raise TaskExit(reason)


def plain(value: Any) -> Any:
    return value


# -- the API -----------------------------------------------------------------------------------


def test_attach_execute_list_and_detach() -> None:
    seen: Recorded = []
    telemetry.attach("mine", ("myapp", "import", "done"), lambda *e: seen.append(e))
    telemetry.attach_many("both", [("myapp", "a"), ("myapp", "b")], lambda *e: seen.append(e))
    try:
        telemetry.execute(("myapp", "import", "done"), {"count": 3}, {"source": "s3"})
        telemetry.execute(("myapp", "b"), {"n": 1})
        telemetry.execute(("other",), {"n": 1})  # nobody listens: nothing happens
        assert seen == [
            (("myapp", "import", "done"), {"count": 3}, {"source": "s3"}),
            (("myapp", "b"), {"n": 1}, {}),
        ]
        listed = telemetry.list_handlers(("myapp",))
        assert [(h.id, h.event) for h in listed] == [
            ("mine", ("myapp", "import", "done")),
            ("both", ("myapp", "a")),
            ("both", ("myapp", "b")),
        ]
        assert [h.id for h in telemetry.list_handlers(("myapp", "import"))] == ["mine"]
        assert telemetry.list_handlers(("nothing",)) == []
    finally:
        telemetry.detach("mine")
        telemetry.detach("both")
    assert telemetry.list_handlers(("myapp",)) == []


def test_bad_input_is_refused_at_call_time() -> None:
    def handler(*_: Any) -> None:
        pass

    with pytest.raises(TypeError, match="event must be a tuple of strings"):
        telemetry.attach("h", ["taskvisor", "task"], handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must not be empty"):
        telemetry.attach("h", (), handler)
    with pytest.raises(TypeError, match="handler must be callable"):
        telemetry.attach("h", ("a",), "not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="handler_id must be a string"):
        telemetry.attach(1, ("a",), handler)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="a list of events, got one event"):
        telemetry.attach_many("h", ("taskvisor", "task", "stop"), handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one event"):
        telemetry.attach_many("h", [], handler)
    telemetry.attach("h", ("a",), handler)
    try:
        with pytest.raises(ValueError, match="already attached as 'h'"):
            telemetry.attach("h", ("b",), handler)
    finally:
        telemetry.detach("h")
    with pytest.raises(LookupError, match="no telemetry handler is attached as 'h'"):
        telemetry.detach("h")
    with pytest.raises(TypeError, match="measurements must be a dict"):
        telemetry.execute(("a",), [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata must be a dict"):
        telemetry.execute(("a",), {}, [1])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prefix must be a tuple of strings"):
        telemetry.list_handlers("taskvisor")  # type: ignore[arg-type]


def test_a_raising_handler_is_detached_and_the_detach_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[tuple[str, ...]] = []

    def broken(event: tuple[str, ...], *_: Any) -> None:
        calls.append(event)
        raise RuntimeError("handler bug")

    telemetry.attach_many("broken", [("x", "1"), ("x", "2")], broken)
    with caplog.at_level(logging.ERROR, logger="taskvisor"):
        telemetry.execute(("x", "1"), {})  # raises inside: detached, never into the emitter
        telemetry.execute(("x", "2"), {})
        telemetry.execute(("x", "1"), {})
    assert calls == [("x", "1")]
    assert telemetry.list_handlers(("x",)) == []
    [record] = [r for r in caplog.records if "telemetry handler" in r.getMessage()]
    assert "'broken' raised on the event ('x', '1') and was detached" in record.getMessage()
    assert record.handler_id == "broken"  # type: ignore[attr-defined]
    assert record.exc_info is not None and "handler bug" in str(record.exc_info[1])


async def test_span_emits_start_and_stop_or_exception_with_one_context() -> None:
    seen: Recorded = []
    telemetry.attach_many(
        "span", [("job", end) for end in ("start", "stop", "exception")], lambda *e: seen.append(e)
    )
    try:
        with telemetry.span(("job",), {"name": "a"}) as stop_metadata:
            stop_metadata["rows"] = 3
        with pytest.raises(ValueError), telemetry.span(("job",), {"name": "b"}):
            raise ValueError("bad row")
        with pytest.raises(TaskExit), telemetry.span(("job",)):
            raise TaskExit("boom")
        with pytest.raises(asyncio.CancelledError), telemetry.span(("job",)):
            raise asyncio.CancelledError
    finally:
        telemetry.detach("span")
    names = [event[-1] for event, _, _ in seen]
    assert names == ["start", "stop", "start", "exception"] * 1 + ["start", "exception"] * 2
    (_, started, start_md), (_, stopped, stop_md) = seen[0], seen[1]
    assert set(started) == {"system_time", "monotonic_time"}
    assert set(stopped) == {"duration", "monotonic_time"}
    assert stop_md == {**start_md, "rows": 3} and start_md["name"] == "a"
    assert len({md["telemetry_span_context"] for _, _, md in seen}) == 4  # one per span
    assert seen[2][2]["telemetry_span_context"] == seen[3][2]["telemetry_span_context"]
    error, exited, cancelled = seen[3][2], seen[5][2], seen[7][2]
    assert error["kind"] == "error" and isinstance(error["reason"], ValueError)
    assert error["exception"] is error["reason"] and error["traceback"] is not None
    assert (exited["kind"], exited["reason"]) == ("exit", "boom")
    assert (cancelled["kind"], cancelled["reason"]) == ("exit", "shutdown")


# -- task events ---------------------------------------------------------------------------------


async def test_a_normal_end_is_stop_with_reason_normal(recorded: Recorded) -> None:
    me = Process.self()
    assert await Task.await_(Task.async_(reply, 1)) == 1
    assert await Task.await_(Task.async_(plain, 2)) == 2
    events = of(recorded, "reply")
    check_task_events(events, "stop")
    assert events[1][2]["reason"] == "normal"
    assert events[0][2]["caller"] == me and events[0][2]["supervisor"] is None
    assert events[0][2]["executor"] == "loop"
    assert of(recorded, "plain")[0][2]["executor"] == "thread"


async def test_a_crash_is_exception_with_its_traceback(recorded: Recorded) -> None:
    task = Task.async_(crash, "oops")
    pid = task.pid
    Process.flag("trap_exit", True)
    result = await Task.yield_(task, SAFETY)
    assert isinstance(result, Exit)
    events = of(recorded, "crash")
    check_task_events(events, "exception")
    ended = events[1][2]
    assert ended["pid"] == pid and ended["kind"] == "error"
    assert ended["exception"] is ended["reason"] is result.reason
    assert "ValueError: oops" in ended["traceback"] and "in crash" in ended["traceback"]


async def test_an_exit_is_exception_of_kind_exit_unless_quiet(recorded: Recorded) -> None:
    Process.flag("trap_exit", True)
    assert await Task.yield_(Task.async_(exit_with, "boom"), SAFETY) == Exit("boom")
    assert await Task.yield_(Task.async_(exit_with, "shutdown"), SAFETY) == Exit("shutdown")
    loud, quiet = of(recorded, "exit_with")[:2], of(recorded, "exit_with")[2:]
    check_task_events(loud, "exception")
    assert (loud[1][2]["kind"], loud[1][2]["reason"]) == ("exit", "boom")
    check_task_events(quiet, "stop")  # a quiet reason is no crash: stop, as for reports
    assert quiet[1][2]["reason"] == "shutdown"


async def test_shutdown_and_kill_are_stop_with_their_reasons(recorded: Recorded) -> None:
    polite = Task.async_(forever)
    await asyncio.sleep(0)
    assert await Task.shutdown(polite, SAFETY) is None
    brutal = Task.async_(forever)
    await asyncio.sleep(0)
    assert await Task.shutdown(brutal, "brutal_kill") is None
    events = of(recorded, "forever")
    check_task_events(events[:2], "stop")
    check_task_events(events[2:], "stop")
    assert [events[1][2]["reason"], events[3][2]["reason"]] == ["shutdown", "killed"]


async def test_a_stream_timeout_kills_the_task_and_its_item_says_timeout(
    recorded: Recorded,
) -> None:
    results = [
        r
        async for r in Task.async_stream(
            [1], lambda _: forever(), timeout=0.01, on_timeout="kill_task"
        )
    ]
    assert results == [Exit("timeout")]
    [start, stop] = [(e[-1], md) for e, _, md in recorded if e[1] == "task"]
    assert start[0] == "start" and stop[0] == "stop" and stop[1]["reason"] == "killed"
    [(_, measurements, item)] = [r for r in recorded if r[0] == ITEM]
    assert (item["result"], item["reason"], item["index"]) == ("exit", "timeout", 0)
    assert type(measurements["duration"]) is int


async def test_a_task_never_started_emits_nothing(recorded: Recorded) -> None:
    async with TaskSupervisor() as sup:
        task = TaskSupervisor.async_nolink(sup, reply, 1)
        Process.exit(task.pid, "kill")  # before its first step
        assert await Task.yield_(task, SAFETY) == Exit("killed")
    assert of(recorded, "reply") == []


# -- supervisor events -------------------------------------------------------------------------


def supervisor_events(seen: Recorded) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(e[-1], m, md) for e, m, md in seen if e[1] == "supervisor"]


async def test_init_and_stop_of_a_task_supervisor(recorded: Recorded) -> None:
    async with TaskSupervisor(name="Telemetry.Sup") as sup:
        await Task.await_(TaskSupervisor.async_(sup, reply, 1))
        pid = sup.pid
    [(init, started, init_md), (stop, stopped, stop_md)] = supervisor_events(recorded)
    assert (init, stop) == ("init", "stop")
    assert set(started) == {"system_time", "monotonic_time"} and set(stopped) == {
        "duration",
        "monotonic_time",
    }
    assert set(init_md) == SUPERVISOR_KEYS and set(stop_md) == SUPERVISOR_KEYS | {"reason"}
    assert init_md["supervisor"] == (pid, "Telemetry.Sup") and init_md["kind"] == "TaskSupervisor"
    assert stop_md["reason"] == "normal"
    [child_start] = [md for name, _, md in of(recorded, "reply") if name == "start"]
    assert child_start["supervisor"] == (pid, "Telemetry.Sup")


async def test_restart_and_max_restarts(recorded: Recorded) -> None:
    Process.flag("trap_exit", True)
    sup = await TaskSupervisor.start_link(max_restarts=2, max_seconds=60)
    first = TaskSupervisor.start_child(sup, crash, "again", restart="transient")
    reason = (await Process.receive_exit(SAFETY) or (None, None))[1]
    assert reason == "shutdown"  # three crashes: the third restart was one too many
    events = [(n, m, md) for n, m, md in supervisor_events(recorded) if n != "init"]
    names = [n for n, _, _ in events]
    assert names == ["restart", "restart", "max_restarts", "stop"]
    (_, one, r1), (_, two, r2), (_, limit, over), (_, _, stopped) = events
    assert (one, two, limit) == ({"count": 1}, {"count": 2}, {"restarts": 3})
    assert r1["child"] == first and isinstance(r1["reason"], ValueError)
    assert len({first, r2["child"], over["child"]}) == 3  # each exit is a new pid's
    assert set(r1) == SUPERVISOR_KEYS | {"child", "reason"} and r1["max_restarts"] == 2
    assert set(over) == SUPERVISOR_KEYS | {"child", "reason"}
    assert stopped["reason"] == "shutdown"
    assert len([1 for n, _, _ in of(recorded, "crash") if n == "exception"]) == 3


async def test_a_supervisor_restart_names_the_child_id(recorded: Recorded) -> None:
    Process.flag("trap_exit", True)
    spec = Task.child_spec(crash, "once").replace(id="worker", restart="permanent")
    sup = await Supervisor.start_link([spec], max_restarts=0)
    await Process.receive_exit(SAFETY)
    events = supervisor_events(recorded)
    assert [n for n, _, _ in events] == ["init", "max_restarts", "stop"]
    assert events[0][2]["kind"] == "Supervisor" and events[0][2]["supervisor"][0] == sup.pid
    assert events[1][2]["child"] == "worker"


async def test_max_children(recorded: Recorded) -> None:
    async with TaskSupervisor(max_children=1) as sup:
        running = TaskSupervisor.async_nolink(sup, forever)
        with pytest.raises(MaxChildrenError):
            TaskSupervisor.async_nolink(sup, reply, 2)
        await Task.shutdown(running)
    [(_, measurements, metadata)] = [
        e for e in supervisor_events(recorded) if e[0] == "max_children"
    ]
    assert measurements == {"children": 1}
    assert metadata["function"].endswith(".reply") and metadata["supervisor"][0] == sup.pid


# -- stream items -------------------------------------------------------------------------------


async def item(n: int) -> int:
    if n == 2:
        raise ValueError("item 2")
    return n


async def test_one_item_event_per_result(recorded: Recorded) -> None:
    async with TaskSupervisor() as sup:
        results = [r async for r in TaskSupervisor.async_stream_nolink(sup, range(4), item)]
    assert [type(r) for r in results] == [Ok, Ok, Exit, Ok]
    items = [(m, md) for e, m, md in recorded if e == ITEM]
    assert sorted(md["index"] for _, md in items) == [0, 1, 2, 3]
    by_index = {md["index"]: (m, md) for m, md in items}
    assert [by_index[i][1]["result"] for i in range(4)] == ["ok", "ok", "exit", "ok"]
    assert isinstance(by_index[2][1]["reason"], ValueError) and by_index[0][1]["reason"] is None
    assert all(set(m) == {"duration", "monotonic_time"} for m, _ in items)
    assert all(set(md) == {"stream", "function", "index", "result", "reason"} for _, md in items)
    assert len({md["stream"] for _, md in items}) == 1


# -- the plain path ----------------------------------------------------------------------------


async def test_only_task_handlers_swap_the_observed_wrapper_in() -> None:
    assert not task_telemetry_on()
    telemetry.attach("sup-only", ("taskvisor", "supervisor", "restart"), lambda *_: None)
    assert not task_telemetry_on()  # supervisor events need no swap
    telemetry.attach("stop-only", ("taskvisor", "task", "stop"), lambda *_: None)
    assert task_telemetry_on()
    telemetry.detach("stop-only")
    assert not task_telemetry_on()
    telemetry.detach("sup-only")
    # a task started while observed and ending after the detach ends quietly
    telemetry.attach("start", ("taskvisor", "task", "start"), lambda *_: None)
    running = Task.async_(forever)
    await asyncio.sleep(0)
    telemetry.detach("start")
    assert await Task.shutdown(running) is None
    assert not task_telemetry_on()
