"""Argument checks that name the argument, run at call time (Elixir validates eagerly too)."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

__all__ = ["check_bool", "check_choice", "check_fn", "check_positive_int", "check_timeout"]


def check_fn(fn: Any, name: str = "fn") -> None:
    """Refuse what cannot be started as a task; close a coroutine object passed by mistake."""
    if callable(fn):
        return
    if hasattr(fn, "send") and hasattr(fn, "close") and hasattr(fn, "cr_code"):
        fn.close()  # the user wrote fn() instead of fn; don't leave "never awaited" behind
        raise TypeError(
            f"{name} must be a function, got the coroutine object {fn!r}: "
            f"pass the function and its arguments, e.g. Task.async_(work, x), not work(x)"
        )
    raise TypeError(f"{name} must be callable, got {fn!r}")


def check_timeout(value: Any, name: str = "timeout") -> float | None:
    """A timeout is ``None`` (infinity) or a non-negative number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {value!r}")
    if value < 0 or math.isnan(value):
        raise ValueError(f"{name} must be >= 0 seconds or None for infinity, got {value!r}")
    return None if math.isinf(value) else float(value)


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: Collection[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {options}, got {value!r}")
    return value
