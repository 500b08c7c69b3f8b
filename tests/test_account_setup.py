"""examples/account_setup.py, the seed's ``AccountSetupSupervisor``: in-process, through its
importable pieces, and as a real program run by ``run_application``.

The CRM stand-in fails twice before it works, so ``CRM.create_user`` crashes twice and its
``"transient"`` restart retries it; ``Fulfillment.set_nearest_location`` works at once.
Everything is sequenced by events and loop turns, never by the clock.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from support import settle
from taskvisor import Pid, Process, Supervisor, TaskSupervisor

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "account_setup.py"
GUARD = 30.0
"""Seconds before a wait that should end in a few loop turns fails instead of hanging."""


def _load_example() -> ModuleType:
    """Import examples/account_setup.py as the module ``account_setup`` (not on sys.path)."""
    spec = importlib.util.spec_from_file_location("account_setup", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


account_setup = _load_example()
ADA = account_setup.User(email="ada@example.com", postcode="10115")
CREATE_USER = "account_setup.CRM.create_user"


class RecordingCRM(account_setup.CRM):
    """The example's CRM, noting which process made each request and its callers."""

    def __init__(self, repo: Any) -> None:
        super().__init__(repo, failures=2)
        self.runs: list[tuple[Pid, list[Pid]]] = []

    async def fetch_crm_data(self, user: Any) -> dict[str, Any]:
        self.runs.append((Process.self(), Process.callers()))
        result: dict[str, Any] = await super().fetch_crm_data(user)
        return result


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example module with fresh services (its module-level repo, crm and fulfillment)."""
    repo = account_setup.Repo()
    monkeypatch.setattr(account_setup, "repo", repo)
    monkeypatch.setattr(account_setup, "crm", RecordingCRM(repo))
    monkeypatch.setattr(account_setup, "fulfillment", account_setup.Fulfillment(repo))
    return account_setup


def crash_reports(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "taskvisor" and r.levelno >= logging.ERROR]


async def until_no_children(sup: object, turns: int = 10_000) -> None:
    """Let the loop run until the task supervisor has no children (bounded turns, no clock)."""
    for _ in range(turns):
        if not TaskSupervisor.children(sup):
            return
        await asyncio.sleep(0)
    raise AssertionError(f"children still running: {TaskSupervisor.children(sup)}")


class TestInProcess:
    async def test_the_crm_is_retried_until_it_works_and_both_tasks_end(
        self, app: ModuleType, caplog_taskvisor: pytest.LogCaptureFixture
    ) -> None:
        me = Process.self()
        async with TaskSupervisor(name=app.SUPERVISOR) as sup:
            crm_pid, location_pid = app.set_up_user_account(ADA)
            assert set(TaskSupervisor.children(app.SUPERVISOR)) == {crm_pid, location_pid}
            async with asyncio.timeout(GUARD):
                account = await app.repo.wait_for(ADA, "crm_id", "location")
            await until_no_children(sup)
            await settle()  # a transient child that returned is not restarted: still none
            assert TaskSupervisor.children(app.SUPERVISOR) == []

        assert account == {"crm_id": "crm-0003", "location": "Berlin"}
        assert app.crm.calls == 3  # two crashes, then a success
        assert app.fulfillment.calls == 1
        pids = [pid for pid, _ in app.crm.runs]
        assert pids[0] == crm_pid  # the first call is the child start_child returned
        assert len(set(pids)) == 3 and location_pid not in pids  # each restart: a new pid
        for _, callers in app.crm.runs:  # every restart keeps the original callers
            assert callers[:1] == [me]

        reports = crash_reports(caplog_taskvisor)
        assert [r.task_pid for r in reports] == pids[:2]  # one report per crash, in order
        for record in reports:
            assert record.function == CREATE_USER
            assert isinstance(record.reason, app.CRMUnavailable)
            assert record.starter == me
            assert f"Function: {CREATE_USER}" in record.getMessage()

    async def test_main_under_the_application_tree(
        self,
        app: ModuleType,
        caplog_taskvisor: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The example's own children and main, in a `Supervisor` started here."""
        async with Supervisor(app.CHILDREN):
            async with asyncio.timeout(GUARD):
                await app.main()
            await until_no_children(app.SUPERVISOR)
        out = capsys.readouterr().out
        assert out.count("POST /users -> 503") == 2
        assert out.count("POST /users -> 201") == 1
        assert "nearest warehouse to 10115: Berlin" in out
        assert "CRM.create_user calls: 3 (2 crashed, each restarted)" in out
        assert "Fulfillment.set_nearest_location calls: 1" in out
        assert len(crash_reports(caplog_taskvisor)) == 2

    async def test_a_crm_that_works_at_once_leaves_no_crash_report(
        self, app: ModuleType, caplog_taskvisor: pytest.LogCaptureFixture
    ) -> None:
        app.crm.failures = 0
        async with TaskSupervisor(name=app.SUPERVISOR) as sup:
            app.set_up_user_account(ADA)
            async with asyncio.timeout(GUARD):
                account = await app.repo.wait_for(ADA, "crm_id", "location")
            await until_no_children(sup)
        assert account == {"crm_id": "crm-0001", "location": "Berlin"}
        assert (app.crm.calls, app.fulfillment.calls) == (1, 1)
        assert crash_reports(caplog_taskvisor) == []


class TestAsAProgram:
    def test_it_runs_and_exits_0_with_the_story(self) -> None:
        """``python examples/account_setup.py``: run_application starts the tree, main runs,
        and when it returns everything stops and the program exits 0.

        ResourceWarnings are errors, so anything left open would show up on stderr.
        """
        proc = subprocess.run(
            [sys.executable, "-W", "error::ResourceWarning", str(EXAMPLE)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stderr == ""
        out = proc.stdout
        assert out.count("POST /users -> 503") == 2
        assert out.count("POST /users -> 201") == 1
        # the two crash reports, on stdout (in order with the prints), naming the function
        assert out.count("| ERROR [taskvisor] Task <") == 2
        assert out.count("| ** (CRMUnavailable) POST /users answered 503 for ada@example.com") == 2
        assert out.count("| Function: __main__.CRM.create_user") == 2
        assert "nearest warehouse to 10115: Berlin" in out
        ready = re.search(r"account ready: (\{.*\})", out)
        assert ready is not None
        assert "'crm_id': 'crm-0003'" in ready[1] and "'location': 'Berlin'" in ready[1]
        # every CRM call, the restarted ones too, has main's process first among its callers
        main_pid = re.search(r"^main +(<[\d.]+>)  signing up", out, re.MULTILINE)
        assert main_pid is not None
        crm_callers = re.findall(r"^CRM +(<[\d.]+>) .*callers \[(<[\d.]+>)", out, re.MULTILINE)
        assert len({pid for pid, _ in crm_callers}) == 3
        assert {first for _, first in crm_callers} == {main_pid[1]}
        assert out.rstrip().splitlines()[-1].endswith("Fulfillment.set_nearest_location calls: 1")
