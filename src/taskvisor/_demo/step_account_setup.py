"""A step: the seed's ``AccountSetupSupervisor``: fire-and-forget work under a task supervisor,
restarted with ``restart="transient"`` until it works.

The program of ``examples/account_setup.py``, narrated. That file is not installed with the
package, so this step has its own stand-ins (the same behaviour, told through the narrator):
a CRM whose service answers 503 twice, so ``create_user`` crashes twice and is restarted, and
a Fulfillment service that works at once. No network and no clock: loop turns and events.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from taskvisor import Pid, Process, Supervisor, TaskSupervisor, format_tree, tree

from ._narrate import INDENT, Narrator
from ._step import Step

__all__ = ["STEP"]

SUPERVISOR = "AccountSetupSupervisor"


class CRMUnavailable(Exception):
    """The CRM's service answered with an error."""


@dataclass
class CRM:
    """``YourApp.CRM``, whose service fails the first `failures` requests."""

    say: Narrator
    failures: int = 2
    calls: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def create_user(self, user: str) -> None:
        self.calls += 1
        call = self.calls
        await asyncio.sleep(0)  # POST /users to the CRM
        where = f"CRM {Process.self()} (callers {Process.callers()})"
        if call <= self.failures:
            self.say.say(f"{where}: call {call}: POST /users -> 503, it crashes")
            raise CRMUnavailable(f"POST /users answered 503 for {user}")
        self.say.say(f"{where}: call {call}: POST /users -> 201, user created")
        self.done.set()


@dataclass
class Fulfillment:
    """``YourApp.Fulfillment``: stores the warehouse nearest to the user."""

    say: Narrator
    calls: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def set_nearest_location(self, user: str) -> None:
        self.calls += 1
        await asyncio.sleep(0)  # a lookup in the warehouse service
        self.say.say(f"Fulfillment {Process.self()}: nearest warehouse for {user}: Berlin")
        self.done.set()


def set_up_user_account(user: str, crm: CRM, fulfillment: Fulfillment) -> tuple[Pid, Pid]:
    """``AccountSetupSupervisor.set_up_user_account(user)``: two transient children."""
    return (
        TaskSupervisor.start_child(SUPERVISOR, crm.create_user, user, restart="transient"),
        TaskSupervisor.start_child(
            SUPERVISOR, fulfillment.set_nearest_location, user, restart="transient"
        ),
    )


async def run(say: Narrator) -> None:
    crm, fulfillment = CRM(say), Fulfillment(say)
    async with Supervisor([TaskSupervisor.child_spec(name=SUPERVISOR)]) as tree_sup:
        say.say(f"the application's tree {tree_sup.pid} started the task supervisor {SUPERVISOR!r}")
        crm_pid, location_pid = set_up_user_account("ada@example.com", crm, fulfillment)
        say.say(f"set_up_user_account(user) in {Process.self()} returned at once:")
        say.note(f"create_user {crm_pid} and set_nearest_location {location_pid} run on their own")
        say.note("the application's tree now, as taskvisor.format_tree() shows it:")
        for line in format_tree([info for info in tree() if info.pid == tree_sup.pid]).split("\n"):
            say.line(INDENT * 2 + line)
        await crm.done.wait()
        await fulfillment.done.wait()
        while children := TaskSupervisor.children(SUPERVISOR):
            await asyncio.sleep(0)  # each returns right after setting its event
        say.say(f"both done; TaskSupervisor.children({SUPERVISOR!r}) -> {children}")
        say.note(
            f"create_user ran {crm.calls} times: {crm.calls - 1} crashes, each restarted "
            "under a new pid with the same callers"
        )
        say.note(f"set_nearest_location ran {fulfillment.calls} time")
        say.note('"transient": restarted after a crash, not after a normal return')
    say.say("the tree stopped, and its task supervisor with it")
    say.note("the same program, runnable from a clone: python examples/account_setup.py")


STEP = Step(
    title="Background work kept alive (Task.Supervisor.start_child, restart: :transient)",
    elixir="""
        children = [{Task.Supervisor, name: YourApp.AccountSetupSupervisor}]

        def set_up_user_account(user) do
          opts = [restart: :transient]
          Task.Supervisor.start_child(__MODULE__, YourApp.CRM, :create_user, [user], opts)
          Task.Supervisor.start_child(__MODULE__, YourApp.Fulfillment, :set_nearest_location,
                                      [user], opts)
        end
    """,
    python="""
        children = [TaskSupervisor.child_spec(name="AccountSetupSupervisor")]

        def set_up_user_account(user):
            TaskSupervisor.start_child("AccountSetupSupervisor", crm.create_user, user,
                                       restart="transient")
            TaskSupervisor.start_child("AccountSetupSupervisor", fulfillment.set_nearest_location,
                                       user, restart="transient")
    """,
    run=run,
)
