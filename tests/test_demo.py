"""The demo: ``python -m taskvisor demo`` runs every step and finishes cleanly, and its
stand-in Daily service answers, or hangs where it should."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import pytest

from taskvisor.__main__ import main
from taskvisor.testing import DEMO_STEPS as STEPS
from taskvisor.testing import DailyClient, DailyError, DailyService


def step_output(out: str, title: str) -> str:
    """The part of the demo's output under the step with this title."""
    _, found, rest = out.partition(f": {title} ===\n")
    assert found, f"no step {title!r} in the output"
    return rest.split("\n=== Step ", 1)[0]


class TestDemoCommand:
    def test_demo_runs_every_step_and_finishes(self) -> None:
        """A real run: exit 0, every title, the timeout, the crash report, the last line.

        ResourceWarnings are errors, so an unclosed socket would show up on stderr.
        """
        proc = subprocess.run(
            [sys.executable, "-W", "error::ResourceWarning", "-m", "taskvisor", "demo"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = proc.stdout
        for step in STEPS:
            assert step.title in out
        assert "POST /rooms/hang  -> Exit(reason='timeout')" in out
        assert "terminating" in out
        assert "** (ValueError) unexpected CRM payload" in out
        peak = re.search(r"the service saw at most (\d+) requests at once", out)
        assert peak is not None and 1 <= int(peak[1]) <= 2  # max_concurrency=2
        # the AccountSetupSupervisor step: two crashes, each restarted, then both tasks end
        assert out.count("POST /users -> 503, it crashes") == 2
        assert out.count("| Function: taskvisor._demo.step_account_setup.CRM.create_user") == 2
        assert "call 3: POST /users -> 201, user created" in out
        assert "TaskSupervisor.children('AccountSetupSupervisor') -> []" in out
        assert "|     Traceback (most recent call last):" in out  # the steps' frames are shown
        # the tree, as format_tree() draws it, once the two children are started
        assert re.search(r"\n {8}<0\.\d+\.0> supervisor, 0 restarts in the window\n", out)
        assert re.search(
            r"\n {8}└─ <0\.\d+\.0> task_supervisor AccountSetupSupervisor, 0 restarts in the "
            r"window \(permanent, id 'AccountSetupSupervisor'\)\n {11}├─ <0\.\d+\.0> process "
            r"taskvisor\._demo\.step_account_setup\.CRM\.create_user \(transient, spawned\)\n",
            out,
        )
        # the blocking step: the same examples from sync code, in a thread with no loop
        sync = step_output(out, "The same from sync code (taskvisor.blocking)")
        assert "res + Task.await_(task) = 42" in sync
        assert re.search(r"this thread is a process too, <0\.\d+\.0>, and goes on", sync)
        assert re.search(r"3 rooms in \d\.\d\ds, .*: \['room-\d+', 'room-\d+', 'room-\d+'\]", sync)
        assert "POST /rooms/hang  -> Exit(reason='timeout')" in sync
        assert sync.count("-> Ok(value={'name': 'room-") == 2
        assert out.rstrip().endswith("demo finished")
        assert proc.stderr == ""

    def test_no_command_prints_usage_and_returns_2(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main([]) == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: ") and "demo" in err


class TestStandInService:
    async def test_it_creates_rooms_as_json(self) -> None:
        async with DailyService() as service:
            daily = DailyClient(service.port)
            first = await daily.create_room()
            second = await daily.create_room("/rooms/slow")
        assert first["name"] == "room-1"
        assert second == {"name": "room-2", "url": "https://demo.daily.co/room-2"}

    async def test_its_sync_client_creates_rooms_too(self) -> None:
        async with DailyService() as service:
            daily = DailyClient(service.port)
            room = await asyncio.to_thread(daily.create_room_sync, "/rooms?delay=0.01")
            with pytest.raises(DailyError, match="404"):
                await asyncio.to_thread(daily.create_room_sync, "/nowhere")
        assert room == {"name": "room-1", "url": "https://demo.daily.co/room-1"}

    async def test_an_unknown_path_is_an_error(self) -> None:
        async with DailyService() as service:
            with pytest.raises(DailyError, match="404"):
                await DailyClient(service.port).create_room("/nowhere")

    async def test_the_hanging_path_answers_nothing_until_the_service_stops(self) -> None:
        async with DailyService() as service:
            request = asyncio.create_task(DailyClient(service.port).create_room("/rooms/hang"))
            await asyncio.wait_for(service.hanging.wait(), timeout=5.0)
            done, _ = await asyncio.wait({request}, timeout=0.2)
            assert not done
        with pytest.raises(asyncio.IncompleteReadError):  # closed without an answer
            await request

    async def test_it_counts_the_rooms_it_is_making_but_not_hanging_requests(self) -> None:
        async with DailyService() as service:
            daily = DailyClient(service.port)
            hanging = asyncio.create_task(daily.create_room("/rooms/hang"))
            await asyncio.wait_for(service.hanging.wait(), timeout=5.0)
            await asyncio.gather(*(daily.create_room("/rooms?delay=0.01") for _ in range(3)))
            assert 1 <= service.peak <= 3
            assert service.in_flight == 0
        with pytest.raises(asyncio.IncompleteReadError):
            await hanging
