"""What taskvisor says about a function it runs, and how it finishes what a call handed back.

This module imports nothing from taskvisor, so a worker process can load it on its own
without importing the package (see ``_executors/_launch``): the caller and its workers share
the one definition.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["await_if_awaitable", "describe_fn"]


def describe_fn(fn: Callable[..., Any]) -> str:
    """A readable name for a function in reprs and crash reports: ``module.qualname``."""
    inner = getattr(fn, "func", fn)  # functools.partial
    module = getattr(inner, "__module__", None)
    qualname = getattr(inner, "__qualname__", None) or type(inner).__qualname__
    return f"{module}.{qualname}" if module else qualname


async def await_if_awaitable(value: Any) -> Any:
    # `Task.async_(lambda: fetch(x))`: the lambda is plain but hands back a coroutine.
    return (await value) if inspect.isawaitable(value) else value
