"""The supervisor kind of process: it traps its links' exits and stops in order.

A supervising process never dies of a signal at once: every exit of a linked process
reaches `_linked_exited` (the link already cut), inside that process's last step; an exit
signal that would stop it (any reason from its parent, an abnormal one from anyone) seals its
reason without a cancel and calls `_on_stop`, so that its own task stops its children first
and only then ends, with that reason.
"""

from __future__ import annotations

from .._reasons import is_normal
from .._types import ExitReason
from ._proc import RUNNING, SPAWNED, Proc

__all__ = ["Supervising", "ask_stop"]


class Supervising(Proc):
    __slots__ = ()

    emits_task_events = False  # a supervisor's telemetry is its own (`_supervisors`)

    # -- hooks for the supervisor ---------------------------------------------------------

    def _linked_exited(self, source: Proc, reason: ExitReason) -> None:
        """A linked process exited (its link is already cut)."""
        raise NotImplementedError

    def _on_stop(self) -> None:
        """Its exit reason is sealed: stop the children, then end."""
        raise NotImplementedError

    def _on_end(self, reason: ExitReason) -> None:
        """It is about to die with `reason` (its links and monitors fire next)."""

    # -- the runtime's side -----------------------------------------------------------------

    def _on_linked_exit(self, source: Proc, reason: ExitReason) -> None:
        links = self._links  # the hot path of every child's exit: cut the link inline
        if links is source:
            self._links = None
        elif type(links) is set:
            links.discard(source)
        self._linked_exited(source, reason)

    def _signal(self, source: Proc | None, reason: ExitReason) -> None:
        # As OTP: an exit from the parent stops a supervisor whatever the reason, even
        # "normal" (``Process.exit(sup, "normal")`` from the process that started it).
        if source is self._caller or not is_normal(reason):
            ask_stop(self, reason)

    def _doom(self, reason: ExitReason, source: Proc | None = None) -> None:
        ask_stop(self, reason)

    def _finish(self, reason: ExitReason, **kwargs: object) -> None:
        self._on_end(reason)
        super()._finish(reason, **kwargs)  # type: ignore[arg-type]


def ask_stop(proc: Supervising, reason: ExitReason) -> None:
    """SPAWNED|RUNNING -> DOOMED with `reason`, no cancel; then the supervisor stops in order.
    Later requests change nothing (the first reason stands)."""
    if proc._state is not RUNNING and proc._state is not SPAWNED:
        return
    proc._seal(reason, None)
    proc._on_stop()
