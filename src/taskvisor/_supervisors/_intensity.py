"""Restart intensity: at most `max_restarts` restarts within any `max_seconds` window.

The limit is the supervisor's, shared by all its children: past it the supervisor gives up
and stops (exit ``"shutdown"``), children first. ``max_restarts=None`` means no limit.
"""

from __future__ import annotations

import collections
import math

__all__ = ["RestartIntensity", "check_intensity"]


def check_intensity(max_restarts: object, max_seconds: object) -> tuple[int | None, float]:
    """Validate the pair at call time, naming the argument (Elixir: invalid_intensity/period)."""
    if max_restarts is not None and (
        isinstance(max_restarts, bool) or not isinstance(max_restarts, int)
    ):
        raise TypeError(
            f"max_restarts must be an int >= 0 or None (no limit), got {max_restarts!r}"
        )
    if max_restarts is not None and max_restarts < 0:
        raise ValueError(
            f"max_restarts must be an int >= 0 or None (no limit), got {max_restarts!r}"
        )
    message = f"max_seconds must be a finite number of seconds > 0, got {max_seconds!r}"
    if max_seconds is not None and (
        isinstance(max_seconds, bool) or not isinstance(max_seconds, int | float)
    ):
        raise TypeError(message)
    if max_seconds is None or not 0 < max_seconds < math.inf:  # also NaN
        raise ValueError(message)
    seconds = float(max_seconds)
    return max_restarts, seconds


class RestartIntensity:
    """The times of recent restarts, oldest first; a restart beyond the limit is refused."""

    __slots__ = ("_max_restarts", "_max_seconds", "_times")

    def __init__(self, max_restarts: int | None, max_seconds: float) -> None:
        self._max_restarts = max_restarts
        self._max_seconds = max_seconds
        self._times: collections.deque[float] = collections.deque()

    def allow(self, now: float) -> bool:
        """Count a restart at `now`; False if that makes more than `max_restarts` in the window.

        As Elixir's supervisors: restarts are kept while ``now <= then + max_seconds``.
        With no limit (``max_restarts=None``) every restart is allowed and none is kept.
        """
        if self._max_restarts is None:
            return True
        times = self._times
        times.append(now)
        while times[0] + self._max_seconds < now:
            times.popleft()
        return len(times) <= self._max_restarts

    @property
    def max_restarts(self) -> int | None:
        return self._max_restarts

    @property
    def max_seconds(self) -> float:
        return self._max_seconds

    @property
    def count(self) -> int:
        """The restarts counted in the window, as of the last `allow`."""
        return len(self._times)

    def recent(self, now: float) -> int:
        """The restarts in the window that ends at `now` (0 with no limit: none are kept)."""
        return sum(1 for then in self._times if then + self._max_seconds >= now)

    def __repr__(self) -> str:
        if self._max_restarts is None:
            return "no restart limit"
        return f"{self._max_restarts} restarts in {self._max_seconds} s"
