"""Rules that a mutation of the source used to survive: each test here fails if its rule breaks.

- A reply that arrives while `Task.shutdown` waits wins: a task that traps exits, gets the
  shutdown signal and then returns, gives ``Ok(reply)``, not ``Exit("normal")``.
- The restart window is inclusive, as Elixir's: a restart exactly `max_seconds` after an
  earlier one still counts it (``now <= then + max_seconds``).
(A ``raise TaskExit("killed")`` writes no crash report: `test_crash_reports.py`; an exit inbox
at its limit keeps the newest signals in order: `test_operational_logs.py`.)
"""

from __future__ import annotations

import asyncio

import pytest

from taskvisor import Ok, Process, Task
from taskvisor.testing import RestartIntensity


class TestReplyWinsOverShutdown:
    async def test_a_trapping_task_that_replies_while_shut_down_gives_ok(self) -> None:
        trapping = asyncio.Event()

        async def replies_when_asked_to_stop() -> str:
            Process.flag("trap_exit", True)
            trapping.set()
            got = await Process.receive_exit(None)  # the shutdown signal
            assert got is not None
            return f"stopped by {got[1]}"

        task = Task.async_(replies_when_asked_to_stop)
        await trapping.wait()
        assert await Task.shutdown(task, 5.0) == Ok("stopped by shutdown")

    async def test_the_same_with_brutal_kill_is_not_a_reply(self) -> None:
        trapping = asyncio.Event()

        async def replies_when_asked_to_stop() -> str:
            Process.flag("trap_exit", True)
            trapping.set()
            await Process.receive_exit(None)
            return "never"

        task = Task.async_(replies_when_asked_to_stop)
        await trapping.wait()
        assert await Task.shutdown(task, "brutal_kill") is None


class TestRestartWindow:
    """Times are injected: `allow(now)` counts a restart at `now`."""

    def test_a_restart_exactly_max_seconds_later_still_counts_the_first(self) -> None:
        window = RestartIntensity(max_restarts=1, max_seconds=5.0)
        assert window.allow(100.0)
        assert not window.allow(105.0)  # 100 + 5 >= 105: both are in the window

    def test_a_restart_just_past_the_window_forgets_the_first(self) -> None:
        window = RestartIntensity(max_restarts=1, max_seconds=5.0)
        assert window.allow(100.0)
        assert window.allow(105.001)

    @pytest.mark.parametrize("max_restarts", [0, 1, 3])
    def test_more_than_max_restarts_within_the_window_is_refused(self, max_restarts: int) -> None:
        window = RestartIntensity(max_restarts=max_restarts, max_seconds=1.0)
        allowed = [window.allow(10.0 + i * 0.1) for i in range(max_restarts + 1)]
        assert allowed == [True] * max_restarts + [False]
