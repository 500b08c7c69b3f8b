"""Child specs: how a supervisor starts, restarts and stops one child."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from typing import Any, Literal, NamedTuple

from ._types import ShutdownTimeout
from ._validate import check_choice, check_shutdown

__all__ = ["ChildInfo", "ChildSpec", "Restart"]

Restart = Literal["permanent", "transient", "temporary"]


@dataclasses.dataclass(frozen=True, slots=True)
class ChildSpec:
    """Elixir's child spec map: `id`, `start` as ``(function, args)``, `restart`, `shutdown`.

    ``restart``: ``"permanent"`` always restarts, ``"transient"`` restarts after an abnormal
    exit only, ``"temporary"`` never. ``shutdown``: seconds to wait after exit
    ``"shutdown"`` before killing, ``"brutal_kill"``, or None to wait forever.
    """

    id: Hashable
    start: tuple[Callable[..., Any], tuple[Any, ...]]
    restart: Restart = "permanent"
    shutdown: ShutdownTimeout = 5.0
    type: Literal["worker", "supervisor"] = "worker"

    def __post_init__(self) -> None:
        if not (isinstance(self.start, tuple) and len(self.start) == 2 and callable(self.start[0])):
            raise TypeError(f"start must be a (function, args) tuple, got {self.start!r}")
        check_choice(self.restart, "restart", ("permanent", "transient", "temporary"))
        check_shutdown(self.shutdown)
        check_choice(self.type, "type", ("worker", "supervisor"))

    def replace(self, **changes: Any) -> ChildSpec:
        """A copy with `changes` applied (and validated), like ``Supervisor.child_spec/2``."""
        return dataclasses.replace(self, **changes)


class ChildInfo(NamedTuple):
    """One row of ``which_children``, as Elixir's ``{id, child, type, modules}``.

    `pid` is None for a child that is not running (a ``"transient"`` child that ended
    normally, or one being restarted).
    """

    id: Hashable
    pid: Any
    type: Literal["worker", "supervisor"]
    modules: list[Any]
