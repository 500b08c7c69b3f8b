"""`taskvisor.tree()` and `format_tree()`: a snapshot of every live supervision tree and process,
as observer's applications tab shows it."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from support import SAFETY, until
from taskvisor import (
    Process,
    ProcessInfo,
    Supervisor,
    Task,
    TaskSupervisor,
    format_tree,
    tree,
)


async def hold(event: asyncio.Event) -> None:
    await event.wait()


async def crash_once(state: dict[str, int], event: asyncio.Event) -> None:
    state["runs"] = state.get("runs", 0) + 1
    if state["runs"] == 1:
        raise ValueError("the first run crashes")
    await event.wait()


def by_pid(roots: list[ProcessInfo], pid: object) -> ProcessInfo:
    [found] = [info for info in roots if info.pid == pid]
    return found


async def test_the_tree_of_an_application() -> None:
    release = asyncio.Event()
    children = [
        TaskSupervisor.child_spec(name="Tree.Tasks"),
        Task.child_spec(hold, release).replace(id="ticker", restart="permanent"),
    ]
    state: dict[str, int] = {}
    async with Supervisor(children, name="Tree.App") as app:
        kept = TaskSupervisor.start_child(
            "Tree.Tasks", crash_once, state, release, restart="transient"
        )
        awaited = TaskSupervisor.async_("Tree.Tasks", hold, release)
        loose = Task.start(hold, release)
        await until(lambda: state.get("runs") == 2, "the restart")
        roots = tree()
        me = Process.self()
        assert [r.pid for r in roots if r.pid in (me, app.pid, loose)] == [me, app.pid, loose]

        top = by_pid(roots, app.pid)
        assert (top.kind, top.name, top.restart, top.restarts, top.state) == (
            "supervisor",
            "Tree.App",
            None,
            0,
            "running",
        )
        tasks, ticker = top.children
        assert (tasks.kind, tasks.name, tasks.id, tasks.restart) == (
            "task_supervisor",
            "Tree.Tasks",
            "Tree.Tasks",
            "permanent",
        )
        assert tasks.restarts == 1  # crash_once was restarted once in the window
        assert (ticker.kind, ticker.id, ticker.restart) == ("process", "ticker", "permanent")
        assert ticker.function is not None and ticker.function.endswith(".hold")
        task, restarted = tasks.children  # in start order: the restart is the newest
        assert restarted.pid != kept and restarted.restart == "transient"
        assert restarted.function is not None and restarted.function.endswith(".crash_once")
        assert (task.pid, task.kind, task.restart, task.id) == (
            awaited.pid,
            "task",
            "temporary",
            None,
        )
        assert by_pid(roots, loose).kind == "process" and by_pid(roots, me).kind == "adopted"
        assert by_pid(roots, me).function == "test_the_tree_of_an_application"
        # children are only under their supervisor, and dead processes nowhere
        assert all(r.pid not in (restarted.pid, task.pid, kept) for r in roots)
        with pytest.raises(dataclasses.FrozenInstanceError):
            top.name = "changed"  # type: ignore[misc]

        text = format_tree([top])
        lines = text.split("\n")
        assert lines[0] == f"{app.pid!r} supervisor Tree.App, 0 restarts in the window"
        assert lines[1] == (
            f"├─ {tasks.pid!r} task_supervisor Tree.Tasks, 1 restart in the window "
            "(permanent, id 'Tree.Tasks')"
        )
        assert lines[2] == f"│  ├─ {task.pid!r} task {task.function} (temporary)"
        assert lines[3] == f"│  └─ {restarted.pid!r} process {restarted.function} (transient)"
        assert lines[4] == f"└─ {ticker.pid!r} process {ticker.function} (permanent, id 'ticker')"
        assert len(lines) == 5
        assert f"{loose!r} process" in format_tree()  # the whole snapshot by default
        release.set()
        assert await Task.await_(awaited, SAFETY) is None


async def test_a_doomed_process_says_so() -> None:
    Process.flag("trap_exit", True)
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await release.wait()
        finally:
            await release.wait()  # unwinds slowly: its fate is fixed meanwhile

    pid = Task.start_link(stubborn)
    await asyncio.sleep(0)
    Process.exit(pid, "shutdown")
    await asyncio.sleep(0)
    assert by_pid(tree(), pid).state == "doomed"
    assert f"{pid!r} process" in format_tree() and "(doomed)" in format_tree()
    release.set()
    assert await Process.receive_exit(SAFETY) == (pid, "shutdown")
    assert all(info.pid != pid for info in tree())
