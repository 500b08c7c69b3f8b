"""Registered names: a supervisor can be reached by its name instead of its handle."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._base import SupervisorProcess

__all__ = ["forget_all", "register", "unregister", "whereis"]

_names: dict[Hashable, SupervisorProcess] = {}


def register(name: Hashable, proc: SupervisorProcess) -> None:
    """Give `proc` the name `name`; refuse a name a live supervisor already has."""
    holder = _names.get(name)
    if holder is not None and holder is not proc:
        raise ValueError(f"name {name!r} is already registered to {holder!r}")
    _names[name] = proc


def unregister(name: Hashable, proc: SupervisorProcess) -> None:
    if _names.get(name) is proc:
        del _names[name]


def forget_all() -> None:
    """After a fork, in the child: the parent's supervisors are not here."""
    _names.clear()


def whereis(name: Hashable) -> SupervisorProcess | None:
    """The live supervisor named `name`, or None."""
    return _names.get(name)
