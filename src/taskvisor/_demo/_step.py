"""A demo step: a title, the Elixir code it mirrors, its taskvisor twin, and how to run it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ._narrate import Narrator

__all__ = ["Step"]


@dataclass(frozen=True, slots=True)
class Step:
    """One step of ``python -m taskvisor demo``; `run` is started as a task of its own."""

    title: str
    elixir: str
    python: str
    run: Callable[[Narrator], Awaitable[None]]
