"""Account setup in the background, kept alive by a task supervisor.

A taskvisor port of a classic Elixir ``Task.Supervisor`` example: when a user signs up, two
pieces of fire-and-forget work start under a named task supervisor, each with
``restart: :transient``, so a crash is retried until the work ends normally::

    # application.ex
    children = [{Task.Supervisor, name: YourApp.AccountSetupSupervisor}]

    # account_setup.ex
    def set_up_user_account(user) do
      opts = [restart: :transient]
      Task.Supervisor.start_child(__MODULE__, YourApp.CRM, :create_user, [user], opts)
      Task.Supervisor.start_child(__MODULE__, YourApp.Fulfillment, :set_nearest_location,
                                  [user], opts)
    end

Here the CRM's remote service is an in-process stand-in that answers "503" twice before it
works, so `CRM.create_user` crashes twice: each crash is logged as a crash report and the
supervisor restarts the task (a new pid, the same function, arguments and callers).
`Fulfillment.set_nearest_location` works the first time. The program ends once both have
written to the user's account.

Run it from a clone of the repository::

    python examples/account_setup.py

Its pieces are importable (`set_up_user_account`, `CRM`, `Fulfillment`, `Repo`, `main`, ...);
``tests/test_account_setup.py`` checks them in-process and runs this file as a program.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

from taskvisor import Pid, Process, TaskSupervisor, run_application

SUPERVISOR = "AccountSetupSupervisor"
"""The task supervisor's registered name: `set_up_user_account` reaches it by this name."""

CHILDREN = [TaskSupervisor.child_spec(name=SUPERVISOR)]
"""The application's children (application.ex): one task supervisor, started by name."""


def say(who: str, text: str) -> None:
    """Print one line of the story: who did what, in which process."""
    print(f"{who:<11} {Process.self()}  {text}")


# -- the application's data ----------------------------------------------------------------


@dataclass(frozen=True)
class User:
    email: str
    postcode: str


class Repo:
    """``YourApp.Repo``, in memory: one row of fields per user, and a way to wait for them."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, str]] = {}
        self._changed = asyncio.Event()

    def update(self, user: User, **fields: str) -> None:
        self.rows.setdefault(user.email, {}).update(fields)
        self._changed.set()  # wake every waiter, then start a fresh event for the next change
        self._changed = asyncio.Event()

    async def wait_for(self, user: User, *fields: str) -> dict[str, str]:
        """Wait until the user's row has all of `fields`; return the row."""
        while not self.rows.get(user.email, {}).keys() >= set(fields):
            await self._changed.wait()
        return self.rows[user.email]


# -- the two services (YourApp.CRM and YourApp.Fulfillment), with stand-in remotes ---------


class CRMUnavailable(Exception):
    """The CRM's remote service answered with an error."""


class CRM:
    """``YourApp.CRM``: creates the user in the CRM and stores the CRM's id in the Repo.

    Its remote service is a deterministic stand-in: the first `failures` requests fail.
    """

    def __init__(self, repo: Repo, failures: int = 2) -> None:
        self.repo = repo
        self.failures = failures
        self.calls = 0

    async def create_user(self, user: User) -> None:
        crm_data = parse(await self.fetch_crm_data(user))  # raises on a failed request
        self.repo.update(user, **crm_data)

    async def fetch_crm_data(self, user: User) -> dict[str, Any]:
        """The stand-in for ``POST /users`` on the CRM's API (no network: a loop turn)."""
        self.calls += 1
        call = self.calls
        await asyncio.sleep(0)  # the request is in flight: other tasks run meanwhile
        # A restarted task keeps its callers: they start with whoever called start_child.
        callers = Process.callers()
        if call <= self.failures:
            say("CRM", f"POST /users -> 503 (call {call}; callers {callers})")
            raise CRMUnavailable(f"POST /users answered 503 for {user.email}")
        say("CRM", f"POST /users -> 201 (call {call}; callers {callers})")
        return {"id": f"crm-{call:04d}", "email": user.email}


def parse(crm_data: dict[str, Any]) -> dict[str, str]:
    """What the Repo keeps of the CRM's answer."""
    return {"crm_id": str(crm_data["id"])}


class Fulfillment:
    """``YourApp.Fulfillment``: finds the warehouse nearest to the user and stores it."""

    WAREHOUSES = {"1": "Berlin", "2": "Hamburg", "8": "Munich"}

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.calls = 0

    async def set_nearest_location(self, user: User) -> None:
        self.calls += 1
        await asyncio.sleep(0)  # a lookup in the warehouse service
        location = self.WAREHOUSES.get(user.postcode[:1], "Berlin")
        say("Fulfillment", f"nearest warehouse to {user.postcode}: {location}")
        self.repo.update(user, location=location)


# -- the account setup API (YourApp.AccountSetupSupervisor) ---------------------------------

# The app's services, module-level as Elixir's modules are (the tests swap in fresh ones).
repo = Repo()
crm = CRM(repo, failures=2)
fulfillment = Fulfillment(repo)


def set_up_user_account(user: User) -> tuple[Pid, Pid]:
    """Start the two setup tasks under the supervisor and return their pids at once.

    ``"transient"``: a task that crashes is restarted; one that returns is done. Nobody
    awaits them: the caller goes on, and the work outlives it.
    """
    return (
        TaskSupervisor.start_child(SUPERVISOR, crm.create_user, user, restart="transient"),
        TaskSupervisor.start_child(
            SUPERVISOR, fulfillment.set_nearest_location, user, restart="transient"
        ),
    )


# -- the program ----------------------------------------------------------------------------


async def main() -> None:
    """Sign a user up, then wait until the background work has filled in their account."""
    user = User(email="ada@example.com", postcode="10115")
    say("main", f"signing up {user.email}")
    crm_pid, location_pid = set_up_user_account(user)
    say("main", f"started create_user {crm_pid}, set_nearest_location {location_pid}; going on")
    account = await repo.wait_for(user, "crm_id", "location")
    say("main", f"account ready: {account}")
    say("main", f"CRM.create_user calls: {crm.calls} ({crm.calls - 1} crashed, each restarted)")
    say("main", f"Fulfillment.set_nearest_location calls: {fulfillment.calls}")


class _IndentedFormatter(logging.Formatter):
    """Crash reports indented under a bar, so they stand apart from the program's lines."""

    def format(self, record: logging.LogRecord) -> str:
        return textwrap.indent(super().format(record), "    | ", lambda _: True)


def configure_logging() -> None:
    """Crash reports (ERROR on the ``taskvisor`` logger) go to stdout, in order with prints."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_IndentedFormatter("%(levelname)s [%(name)s] %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)


if __name__ == "__main__":
    configure_logging()
    # Starts the tree (the task supervisor), runs main, and stops everything when main
    # returns; exits 0 after a clean stop (1 if main crashed, 2 if the tree died).
    sys.exit(run_application(CHILDREN, main=main))
