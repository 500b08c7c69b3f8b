"""The front door: the names of DESIGN §2 that this release provides, once each."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import taskvisor
from taskvisor import Exit, Ok, Task, TaskExit, TaskTimeout

CONTRACT_NAMES = {
    "Task",
    "Process",
    "Ok",
    "Exit",
    "TaskExit",
    "MaxChildrenError",
    "NotOwnerError",
}


def test_contract_names_are_exported() -> None:
    assert set(taskvisor.__all__) >= CONTRACT_NAMES
    for name in taskvisor.__all__:
        assert hasattr(taskvisor, name), name


def test_public_classes_say_taskvisor_in_their_repr() -> None:
    for name in taskvisor.__all__:
        obj = getattr(taskvisor, name)
        if inspect.isclass(obj):
            assert obj.__module__ == "taskvisor", name


def test_ok_and_exit_are_frozen_dataclasses_that_match() -> None:
    assert dataclasses.is_dataclass(Ok) and dataclasses.is_dataclass(Exit)
    with pytest.raises(dataclasses.FrozenInstanceError):
        Ok(1).value = 2  # type: ignore[misc]
    match Ok(3):
        case Ok(value):
            assert value == 3
    match Exit("timeout"):
        case Exit(reason):
            assert reason == "timeout"


def test_a_timeout_exit_is_also_a_timeout_error() -> None:
    exc = TaskExit("timeout")
    assert isinstance(exc, TaskTimeout)
    assert isinstance(exc, TimeoutError)
    assert exc.reason == "timeout"
    assert not isinstance(TaskExit("normal"), TimeoutError)


def test_task_is_generic() -> None:
    assert Task[int] is not None


EXPECTED_TASK_FUNCTIONS = {
    "async_": ("fn", "args", "executor"),
    "await_": ("task", "timeout"),
    "await_many": ("tasks", "timeout"),
    "yield_": ("task", "timeout"),
    "yield_many": ("tasks", "timeout", "limit", "on_timeout"),
    "shutdown": ("task", "timeout"),
    "ignore": ("task",),
    "completed": ("value",),
    "start": ("fn", "args", "executor"),
    "start_link": ("fn", "args", "executor"),
    "child_spec": ("fn", "args", "executor"),
    "async_stream": (
        "items",
        "fn",
        "max_concurrency",
        "ordered",
        "timeout",
        "on_timeout",
        "zip_input_on_exit",
        "executor",
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TASK_FUNCTIONS))
def test_task_functions_have_the_contract_signature(name: str) -> None:
    params = tuple(inspect.signature(getattr(Task, name)).parameters)
    assert params == EXPECTED_TASK_FUNCTIONS[name]


@pytest.mark.parametrize(
    ("name", "default"),
    [("await_", 5.0), ("await_many", 5.0), ("yield_", 5.0), ("yield_many", 5.0), ("shutdown", 5.0)],
)
def test_timeouts_default_to_five_seconds_like_elixir(name: str, default: float) -> None:
    assert inspect.signature(getattr(Task, name)).parameters["timeout"].default == default


def test_async_stream_defaults_follow_elixir() -> None:
    params = inspect.signature(Task.async_stream).parameters
    assert params["max_concurrency"].default is None  # os.cpu_count(), evaluated at call time
    assert params["ordered"].default is True
    assert params["timeout"].default == 5.0
    assert params["on_timeout"].default == "exit"
    assert params["zip_input_on_exit"].default is False
    for name in ("max_concurrency", "ordered", "timeout", "on_timeout", "zip_input_on_exit"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("name", ["async_stream", "async_stream_nolink"])
def test_supervised_streams_show_every_option_with_its_default(name: str) -> None:
    params = inspect.signature(getattr(taskvisor.TaskSupervisor, name)).parameters
    *task_params, executor = EXPECTED_TASK_FUNCTIONS["async_stream"]
    assert tuple(params) == ("self", *task_params, "shutdown", executor)
    stream_params = inspect.signature(Task.async_stream).parameters
    for option in EXPECTED_TASK_FUNCTIONS["async_stream"][2:]:
        assert params[option].default == stream_params[option].default
        assert params[option].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["shutdown"].default == 5.0


@pytest.mark.parametrize("name", sorted(taskvisor.__all__))
def test_every_public_name_is_documented(name: str) -> None:
    obj = getattr(taskvisor, name)
    if inspect.isclass(obj):
        assert obj.__doc__ and obj.__doc__.strip(), name


@pytest.mark.parametrize("name", sorted(EXPECTED_TASK_FUNCTIONS))
def test_public_task_functions_document_cancellation(name: str) -> None:
    doc = inspect.getdoc(getattr(Task, name)) or ""
    assert "Cancellation:" in doc, name
