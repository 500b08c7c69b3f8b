"""Result values and the named unions of the public API.

`Ok` and `Exit` are what `Task.yield_`, `Task.shutdown`, `Task.ignore` and `async_stream`
return: frozen dataclasses, so results work with `match`::

    match await Task.yield_(task, timeout=1.0):
        case Ok(value): ...
        case Exit(reason): ...
        case None: ...  # still running
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeAlias, TypeVar

__all__ = ["Exit", "ExitReason", "Ok", "Result", "ShutdownTimeout", "Timeout"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

ExitReason: TypeAlias = Any
"""Why a process ended: ``"normal"``, ``"shutdown"``, ``("shutdown", detail)``, ``"killed"``,
``"timeout"``, ``"noproc"``, ``("nodedown", node)``, or the exception that crashed it."""

Timeout: TypeAlias = float | None
"""Seconds to wait; ``None`` waits forever (Elixir's ``:infinity``)."""

ShutdownTimeout: TypeAlias = float | Literal["brutal_kill"] | None
"""Seconds to wait after a polite stop before killing, or ``"brutal_kill"`` to kill at once."""


@dataclass(frozen=True, slots=True)
class Ok(Generic[T_co]):
    """The task replied with `value` (Elixir's ``{:ok, value}``)."""

    value: T_co


@dataclass(frozen=True, slots=True)
class Exit:
    """The task ended without a reply, for `reason` (Elixir's ``{:exit, reason}``)."""

    reason: ExitReason


Result: TypeAlias = Ok[T] | Exit

_new_ok = object.__new__
_set_ok_value = Ok.__dict__["value"].__set__  # the slot itself: no frozen-dataclass __init__


def make_ok(value: T) -> Ok[T]:
    """`Ok(value)` by the short way, for hot paths (one per stream item)."""
    ok: Ok[T] = _new_ok(Ok)
    _set_ok_value(ok, value)
    return ok
