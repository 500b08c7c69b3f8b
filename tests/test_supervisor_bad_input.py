"""`TaskSupervisor` refuses bad arguments at call time with TypeError/ValueError naming them.

DESIGN §2: bad arguments "raise TypeError/ValueError at call time with a message that names
the argument"; a dead or unknown supervisor gives ``TaskExit("noproc")`` (Elixir's
``{:noproc, {GenServer, :call, ...}}``); Elixir refuses ``max_restarts < 0`` (invalid
intensity), ``max_seconds <= 0`` (invalid period) and ``max_children < 0`` when the
supervisor starts, and a stream's ``:shutdown`` of ``:infinity`` when the stream is built.
A refused call starts nothing. (The Task functions are in ``test_bad_input.py``.)
"""

from __future__ import annotations

import asyncio
import gc
import math
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from support import SAFETY, forever, reply, settle, to_list, wait_until_down
from taskvisor import Pid, Process, Task, TaskExit, TaskSupervisor


async def invoke(fn: Callable[[], Any]) -> Any:
    """Call `fn`; await what it returns if it is awaitable, drain it if it is a stream."""
    result = fn()
    if asyncio.iscoroutine(result):
        result = await result
    elif hasattr(result, "__aiter__"):
        result = await to_list(result)
    return result


async def mark(ran: list[Any], value: Any = None) -> None:
    ran.append(value)


# -- supervisor options -------------------------------------------------------------------

BAD_OPTIONS = [
    pytest.param("max_restarts", -1, ValueError, id="max_restarts=-1"),
    pytest.param("max_restarts", 1.5, TypeError, id="max_restarts=1.5"),
    pytest.param("max_restarts", True, TypeError, id="max_restarts=True"),
    pytest.param("max_restarts", "3", TypeError, id="max_restarts='3'"),
    pytest.param("max_seconds", 0, ValueError, id="max_seconds=0"),
    pytest.param("max_seconds", -1, ValueError, id="max_seconds=-1"),
    pytest.param("max_seconds", math.nan, ValueError, id="max_seconds=nan"),
    pytest.param("max_seconds", None, ValueError, id="max_seconds=None"),
    pytest.param("max_seconds", math.inf, ValueError, id="max_seconds=inf"),
    pytest.param("max_seconds", "5", TypeError, id="max_seconds='5'"),
    pytest.param("max_children", -1, ValueError, id="max_children=-1"),
    pytest.param("max_children", 1.5, TypeError, id="max_children=1.5"),
    pytest.param("max_children", True, TypeError, id="max_children=True"),
    pytest.param("max_children", "1", TypeError, id="max_children='1'"),
    pytest.param("executor", "bogus", ValueError, id="executor='bogus'"),
    pytest.param("executor", "Loop", ValueError, id="executor='Loop'"),
    pytest.param("executor", 1, ValueError, id="executor=1"),
]


class TestSupervisorOptions:
    @pytest.mark.parametrize(("option", "bad", "error"), BAD_OPTIONS)
    async def test_start_link_refuses(self, option: str, bad: Any, error: type[Exception]) -> None:
        with pytest.raises(error, match=rf"\b{option}\b"):
            await TaskSupervisor.start_link(**{option: bad})

    @pytest.mark.parametrize(("option", "bad", "error"), BAD_OPTIONS)
    async def test_the_constructor_refuses(
        self, option: str, bad: Any, error: type[Exception]
    ) -> None:
        """``async with TaskSupervisor(...)``: refused before anything starts."""
        with pytest.raises(error, match=rf"\b{option}\b"):
            TaskSupervisor(**{option: bad})

    @pytest.mark.parametrize(("option", "bad", "error"), BAD_OPTIONS)
    def test_child_spec_refuses_at_once(
        self, option: str, bad: Any, error: type[Exception]
    ) -> None:
        """Its docstring: "a bad option, at once" (not when a Supervisor starts it)."""
        with pytest.raises(error, match=rf"\b{option}\b"):
            TaskSupervisor.child_spec(**{option: bad})

    @pytest.mark.parametrize("bad", [[1], {"a": 1}, {1}], ids=["list", "dict", "set"])
    async def test_an_unhashable_name_is_refused_naming_name(self, bad: Any) -> None:
        with pytest.raises(TypeError, match=r"\bname\b"):
            await TaskSupervisor.start_link(bad)
        with pytest.raises(TypeError, match=r"\bname\b"):
            TaskSupervisor(bad)

    async def test_good_options_are_accepted(self) -> None:
        for options in (
            {"max_restarts": 0},
            {"max_seconds": 0.001},
            {"max_children": 0},
            {"max_children": None},
            {"executor": "loop"},
            {"executor": "thread"},
        ):
            async with TaskSupervisor(**options) as sup:  # type: ignore[arg-type]
                assert TaskSupervisor.children(sup) == []

    async def test_a_name_already_taken_is_refused(self) -> None:
        async with TaskSupervisor("taken") as sup:
            with pytest.raises(ValueError, match="taken"):
                await TaskSupervisor.start_link("taken")
            assert TaskSupervisor.children("taken") == []  # the first one is untouched
            assert Process.alive(sup.pid)

    async def test_a_supervisor_starts_once(self) -> None:
        async with TaskSupervisor() as sup:
            with pytest.raises(RuntimeError, match="start"):
                async with sup:
                    pass
            assert Process.alive(sup.pid)


# -- child options ------------------------------------------------------------------------

STARTERS: dict[str, Callable[..., Any]] = {
    "start_child": lambda sup, fn, **kw: TaskSupervisor.start_child(sup, fn, 1, **kw),
    "async_": lambda sup, fn, **kw: TaskSupervisor.async_(sup, fn, 1, **kw),
    "async_nolink": lambda sup, fn, **kw: TaskSupervisor.async_nolink(sup, fn, 1, **kw),
    "async_stream": lambda sup, fn, **kw: TaskSupervisor.async_stream(sup, [1], fn, **kw),
    "async_stream_nolink": lambda sup, fn, **kw: TaskSupervisor.async_stream_nolink(
        sup, [1], fn, **kw
    ),
}

BAD_SHUTDOWNS = [
    pytest.param(-1, ValueError, id="negative"),
    pytest.param(-0.5, ValueError, id="negative-float"),
    pytest.param(math.nan, ValueError, id="nan"),
    pytest.param("kill", ValueError, id="kill"),
    pytest.param("BRUTAL_KILL", ValueError, id="case"),
    pytest.param("infinity", ValueError, id="infinity-word"),
    pytest.param(True, TypeError, id="bool"),
    pytest.param([5], TypeError, id="list"),
]


class TestChildOptions:
    @pytest.mark.parametrize("starter", list(STARTERS))
    @pytest.mark.parametrize(("bad", "error"), BAD_SHUTDOWNS)
    async def test_a_bad_shutdown_is_refused(
        self, starter: str, bad: Any, error: type[Exception]
    ) -> None:
        ran: list[Any] = []

        async def record(x: Any) -> None:
            ran.append(x)

        async with TaskSupervisor() as sup:
            with pytest.raises(error, match=r"\bshutdown\b"):
                await invoke(lambda: STARTERS[starter](sup, record, shutdown=bad))
            await settle()
            assert TaskSupervisor.children(sup) == []
        assert ran == []

    @pytest.mark.parametrize("starter", list(STARTERS))
    async def test_a_bool_shutdown_is_refused_after_a_child_with_shutdown_1(
        self, starter: str
    ) -> None:
        """``True == 1``: a valid ``shutdown=1`` seen before must not let ``True`` through."""
        async with TaskSupervisor() as sup:
            pid = TaskSupervisor.start_child(sup, reply, 1, shutdown=1)
            await wait_until_down(pid)
            with pytest.raises(TypeError, match=r"\bshutdown\b"):
                await invoke(lambda: STARTERS[starter](sup, reply, shutdown=True))
            assert TaskSupervisor.children(sup) == []

    @pytest.mark.parametrize("starter", ["async_stream", "async_stream_nolink"])
    async def test_streams_refuse_shutdown_none(self, starter: str) -> None:
        """Elixir 1.17: a stream's ``:shutdown`` must be a number or ``:brutal_kill``."""
        async with TaskSupervisor() as sup:
            with pytest.raises(ValueError, match=r"\bshutdown\b"):
                STARTERS[starter](sup, reply, shutdown=None)

    @pytest.mark.parametrize("starter", ["start_child", "async_", "async_nolink"])
    async def test_shutdown_none_is_infinity_for_other_children(self, starter: str) -> None:
        async with TaskSupervisor() as sup:
            started = STARTERS[starter](sup, reply, shutdown=None)
            pid = started if isinstance(started, Pid) else started.pid
            assert isinstance(pid, Pid)
            if not isinstance(started, Pid):
                assert await Task.await_(started, SAFETY) == 1

    @pytest.mark.parametrize("bad", ["sometimes", "Permanent", None, 1, "temporary "])
    async def test_an_unknown_restart_is_refused(self, bad: Any) -> None:
        ran: list[Any] = []
        async with TaskSupervisor() as sup:
            with pytest.raises(ValueError, match=r"\brestart\b"):
                TaskSupervisor.start_child(sup, mark, ran, restart=bad)
            await settle()
            assert TaskSupervisor.children(sup) == []
        assert ran == []

    @pytest.mark.parametrize("starter", list(STARTERS))
    @pytest.mark.parametrize("bad", ["bogus", "Loop", 1], ids=["bogus", "case", "int"])
    async def test_an_unknown_executor_is_refused(self, starter: str, bad: Any) -> None:
        async with TaskSupervisor() as sup:
            with pytest.raises(ValueError, match=r"\bexecutor\b"):
                STARTERS[starter](sup, reply, executor=bad)
            assert TaskSupervisor.children(sup) == []

    @pytest.mark.parametrize("starter", list(STARTERS))
    @pytest.mark.parametrize("bad", [42, None, "reply"], ids=["int", "None", "str"])
    async def test_a_non_callable_is_refused(self, starter: str, bad: Any) -> None:
        async with TaskSupervisor() as sup:
            with pytest.raises(TypeError, match=r"\bfn\b"):
                STARTERS[starter](sup, bad)
            assert TaskSupervisor.children(sup) == []

    @pytest.mark.parametrize("starter", list(STARTERS))
    async def test_a_coroutine_object_is_refused_without_a_never_awaited_warning(
        self, starter: str
    ) -> None:
        async with TaskSupervisor() as sup:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pytest.raises(TypeError, match=r"\bfn\b") as info:
                    STARTERS[starter](sup, reply(1))
                del info  # the traceback would keep the coroutine alive
                for _ in range(3):
                    gc.collect()
            assert [w for w in caught if "never awaited" in str(w.message)] == []

    @pytest.mark.parametrize(
        ("option", "bad"),
        [
            ("max_concurrency", 0),
            ("timeout", -1),
            ("on_timeout", "bogus"),
            ("ordered", None),
            ("zip_input_on_exit", 1),
        ],
    )
    @pytest.mark.parametrize("starter", ["async_stream", "async_stream_nolink"])
    async def test_stream_options_are_checked_when_the_stream_is_built(
        self, starter: str, option: str, bad: Any
    ) -> None:
        async with TaskSupervisor() as sup:
            with pytest.raises((TypeError, ValueError), match=rf"\b{option}\b"):
                STARTERS[starter](sup, reply, **{option: bad})


# -- the supervisor argument --------------------------------------------------------------

CALLS: dict[str, Callable[[Any], Any]] = {
    "start_child": lambda sup: TaskSupervisor.start_child(sup, forever),
    "async_": lambda sup: TaskSupervisor.async_(sup, forever),
    "async_nolink": lambda sup: TaskSupervisor.async_nolink(sup, forever),
    "async_stream": lambda sup: TaskSupervisor.async_stream(sup, [1], reply),
    "async_stream_nolink": lambda sup: TaskSupervisor.async_stream_nolink(sup, [1], reply),
    "children": lambda sup: TaskSupervisor.children(sup),
    "count_children": lambda sup: TaskSupervisor.count_children(sup),
    "which_children": lambda sup: TaskSupervisor.which_children(sup),
    "terminate_child": lambda sup: TaskSupervisor.terminate_child(sup, Process.self()),
}


class TestSupervisorArgument:
    @pytest.mark.parametrize("function", list(CALLS))
    async def test_an_unknown_name_exits_noproc(self, function: str) -> None:
        """Elixir: a call to an unregistered name exits ``:noproc``; the stream may say so
        when it is built or when it is iterated."""
        with pytest.raises(TaskExit) as info:
            await invoke(lambda: CALLS[function]("MyApp.NoSuchSupervisor"))
        assert info.value.reason == "noproc"
        assert info.value.call is not None
        assert info.value.call[0] == f"TaskSupervisor.{function}"
        assert info.value.call[1][0] == "MyApp.NoSuchSupervisor"

    async def test_stop_of_an_unknown_name_exits_noproc(self) -> None:
        with pytest.raises(TaskExit) as info:
            await TaskSupervisor.stop("MyApp.NoSuchSupervisor")
        assert info.value.reason == "noproc"
        assert info.value.call is not None
        assert info.value.call[0] == "TaskSupervisor.stop"

    @pytest.mark.parametrize("function", list(CALLS))
    async def test_a_stopped_supervisor_exits_noproc(self, function: str) -> None:
        async with TaskSupervisor("MyApp.Stopped") as sup:
            pass
        for target in (sup, "MyApp.Stopped"):
            with pytest.raises(TaskExit) as info:
                await invoke(lambda: CALLS[function](target))  # noqa: B023
            assert info.value.reason == "noproc"
        assert await sup.stop() is None  # stopping it again is harmless

    @pytest.mark.parametrize("function", list(CALLS))
    async def test_an_unhashable_supervisor_is_refused(self, function: str) -> None:
        with pytest.raises(TypeError, match=r"\bsupervisor\b"):
            await invoke(lambda: CALLS[function](["not", "a", "name"]))

    @pytest.mark.parametrize("function", list(CALLS))
    async def test_a_supervisor_that_was_never_started_is_refused(self, function: str) -> None:
        """Not an empty running supervisor: every function says it is not started (or not
        alive), as `start_child` does."""
        sup = TaskSupervisor()
        with pytest.raises((RuntimeError, TaskExit)):
            await invoke(lambda: CALLS[function](sup))


# -- terminate_child ----------------------------------------------------------------------


class TestTerminateChild:
    @pytest.mark.parametrize("kind", ["int", "same-number-int", "str", "None", "task"])
    async def test_a_non_pid_is_refused(self, kind: str) -> None:
        async with TaskSupervisor() as sup:
            task = TaskSupervisor.async_nolink(sup, forever)
            assert task.pid is not None
            bad = {
                "int": 42,
                "same-number-int": int(task.pid),
                "str": repr(task.pid),
                "None": None,
                "task": task,
            }[kind]
            with pytest.raises(TypeError, match=r"\bpid\b"):
                await TaskSupervisor.terminate_child(sup, bad)
            assert TaskSupervisor.children(sup) == [task.pid]  # untouched
            assert await Task.shutdown(task, SAFETY) is None

    async def test_a_pid_that_is_not_a_child_is_a_lookup_error(self) -> None:
        async with TaskSupervisor() as sup, TaskSupervisor() as other:
            stranger = TaskSupervisor.start_child(other, forever)
            done = TaskSupervisor.start_child(sup, reply, 1)
            for pid in (Process.self(), stranger, done):
                if pid == done:
                    await settle()
                with pytest.raises(LookupError):
                    await TaskSupervisor.terminate_child(sup, pid)
            assert TaskSupervisor.children(other) == [stranger]  # not touched by sup
