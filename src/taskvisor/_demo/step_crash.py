"""Step 4: a linked task crashes: what its owner sees, and the crash report it leaves.

The step's own process traps exits, so the crash reaches it as data: `Task.await_` raises
`TaskExit`, `Task.yield_` returns `Exit`, and the link's signal waits in its queue. A handler
that does not trap exits is interrupted at its next ``await``, whatever it was waiting for.
"""

from __future__ import annotations

import asyncio

from taskvisor import Exit, Process, Task, TaskExit

from ._narrate import Narrator
from ._step import Step

__all__ = ["STEP"]


async def create_crm_user(user: str) -> None:
    """YourApp.CRM.create_user: the CRM answers something the parser does not expect."""
    await asyncio.sleep(0.01)  # fetch_crm_data(user)
    raise ValueError(f"unexpected CRM payload for {user!r}")


async def handle_signup(user: str, say: Narrator) -> str:
    """A request handler that does not trap exits: it starts the CRM task and works on."""
    Task.async_(create_crm_user, user)
    say.say(f"handler {Process.self()}: started the CRM task, now doing other work")
    try:
        await asyncio.sleep(30)  # unrelated work; the link interrupts it
    except asyncio.CancelledError:
        say.say(f"handler {Process.self()}: interrupted at its await by the linked crash")
        raise
    return "never reached"


async def run(say: Narrator) -> None:
    Process.flag("trap_exit", True)
    me = Process.self()
    say.say(f"this step's process {me} traps exits: linked crashes become data")

    say.part(
        "an owner that traps exits awaits a task that crashes",
        "Task.await(Task.async(fn -> YourApp.CRM.create_user(user) end))",
        "await Task.await_(Task.async_(create_crm_user, user))",
    )
    task = Task.async_(create_crm_user, "ada")
    try:
        await Task.await_(task)
    except TaskExit as exc:
        say.say(f"Task.await_ raised TaskExit, reason={exc.reason!r}")
        for line in str(exc).splitlines():
            say.note(line)
    signal = await Process.receive_exit(timeout=1.0)
    say.say(f"the link's exit signal was kept, not fatal: receive_exit() -> {signal}")

    say.part(
        "a handler that does not trap exits dies of its task's crash; we watch it",
        "Task.yield(Task.async(fn -> handle_signup(user) end), 1000)",
        "await Task.yield_(Task.async_(handle_signup, user), 1.0)",
    )
    handler = Task.async_(handle_signup, "grace", say)
    result = await Task.yield_(handler, timeout=1.0)
    say.say(f"Task.yield_(handler) -> {result!r}")
    if isinstance(result, Exit):
        say.note("the handler died of its task's crash, with the same reason (no second report)")
    say.say(f"and its link signal: receive_exit() -> {await Process.receive_exit(timeout=1.0)}")


STEP = Step(
    title="A linked crash and its crash report",
    elixir="""
        Process.flag(:trap_exit, true)
        task = Task.async(fn -> YourApp.CRM.create_user(user) end)
        Task.await(task)   # ** (exit) exited in: Task.await(...) ** (EXIT) an exception was raised
    """,
    python="""
        Process.flag("trap_exit", True)
        task = Task.async_(create_crm_user, user)
        await Task.await_(task)   # raises TaskExit(ValueError(...))
    """,
    run=run,
)
