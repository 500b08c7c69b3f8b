"""What an exit reason means: Elixir's classes of exits, decided in one place.

``"normal"`` is the one exit a link ignores; ``"shutdown"`` and ``("shutdown", detail)`` are
a supervisor's orderly stop, which a ``"transient"`` child is not restarted after; those and
``"killed"`` are not crashes, so they get no crash report.
"""

from __future__ import annotations

from ._types import ExitReason

__all__ = ["is_normal", "is_quiet", "is_shutdown"]


def is_normal(reason: ExitReason) -> bool:
    """``"normal"``: the exit that a linked process ignores."""
    return isinstance(reason, str) and reason == "normal"


def is_shutdown(reason: ExitReason) -> bool:
    """``"shutdown"`` or ``("shutdown", detail)``: an orderly stop, not a failure."""
    if isinstance(reason, str):
        return reason == "shutdown"
    return isinstance(reason, tuple) and len(reason) == 2 and reason[0] == "shutdown"


def is_quiet(reason: ExitReason) -> bool:
    """Exits that are not crashes: no crash report (Elixir logs none for ``normal`` and
    ``shutdown``; taskvisor counts ``"killed"`` with them, see the changelog)."""
    if isinstance(reason, str):
        return reason in ("normal", "shutdown", "killed")
    return is_shutdown(reason)
