"""The seed's account setup on remote taskvisor nodes, surviving the loss of a node.

The Elixir original runs a ``Task.Supervisor`` named ``AccountSetupSupervisor`` and starts
each piece of a user's setup under it with ``restart: :transient``. Here that supervisor runs
on two remote taskvisor nodes of a local 3-node Ray cluster (`taskvisor.ray.start_node`), as
``Task.Supervisor.start_child({AccountSetupSupervisor, :"worker-a@host"}, ...)`` would:

- ``node("worker-a").start_child("AccountSetupSupervisor", create_user, user, ...,
  restart="transient")``: the CRM's stand-in answers 503 twice, so ``create_user`` crashes
  twice and is restarted *on worker-a* by worker-a's supervisor; both crash reports come home
  to this program's log, with the node's name in them.
- The third request hangs, and worker-a's Ray node is killed meanwhile. Children on a node
  that died are not restarted elsewhere by anyone but their owner: here the owner is
  ``set_up_user_account``, a ``restart="transient"`` child of a task supervisor on this side
  (``AccountSetup.Calls``, in the application's tree). Its wait on the node raises
  ``TaskExit(("nodedown", "worker-a"))``, it crashes, and its supervisor restarts it; the
  new attempt sets the account up on worker-b.

The nodes share this machine's file system, so the "database" (the Repo) is a folder, and
every fact the program prints about the nodes comes from it or from the crash reports.

Run it from a clone of the repository (it needs the ``ray`` extra: ``pip install -e
".[ray]"``); it takes about 20 s, most of it Ray starting and stopping::

    python examples/cluster_accounts.py

``tests/test_ray_example.py`` runs it as a program and checks what it prints.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.cluster_utils import Cluster

from taskvisor import Process, Task, TaskExit, TaskSupervisor, run_application
from taskvisor.ray import NODE_LABEL, node, nodes, start_node, stop_node

SUPERVISOR = "AccountSetupSupervisor"
"""The task supervisor each taskvisor node runs, by its registered name."""

NODES = ("worker-a", "worker-b")
"""The taskvisor nodes that set accounts up, in order of preference."""

CALLS = "AccountSetup.Calls"
"""The task supervisor on this side that owns the calls to the nodes."""

HEALTH_CHECKS = {  # a killed node is seen dead in about a second (Ray's default: 30 s)
    "health_check_period_ms": 200,
    "health_check_failure_threshold": 3,
    "health_check_timeout_ms": 200,
    "health_check_initial_delay_ms": 0,
}


def say(text: str) -> None:
    print(f"main {Process.self()}  {text}", flush=True)


@dataclass(frozen=True)
class User:
    email: str
    postcode: str


# -- on the nodes: the Repo (a shared folder) and the two services ------------------------


def save(repo: str, user: User, field: str, value: str) -> None:
    Path(repo, f"{user.email}.{field}").write_text(value)


def account_of(repo: str, user: User) -> dict[str, str]:
    fields = ("crm_id", "location")
    return {f: Path(repo, f"{user.email}.{f}").read_text() for f in fields if _has(repo, user, f)}


def _has(repo: str, user: User, field: str) -> bool:
    return Path(repo, f"{user.email}.{field}").exists()


def this_node() -> str:
    return str(ray.get_runtime_context().get_node_labels()[NODE_LABEL])


class CRMUnavailable(Exception):
    """The CRM's remote service answered with an error."""


async def create_user(user: User, repo: str) -> None:
    """``CRM.create_user``. The CRM's stand-in answers 503 to the first two requests and
    never answers the third; the fourth works. Each request is a line in ``crm.calls``."""
    with Path(repo, "crm.calls").open("a") as calls:
        calls.write(this_node() + "\n")
    call = len(Path(repo, "crm.calls").read_text().split())
    if call <= 2:
        raise CRMUnavailable(f"POST /users answered 503 for {user.email} (request {call})")
    if call == 3:
        Path(repo, "crm.hanging").touch()
        await asyncio.sleep(3600)  # a request that hangs: its node is lost meanwhile
    save(repo, user, "crm_id", f"crm-{call:04d}")


async def set_nearest_location(user: User, repo: str) -> None:
    """``Fulfillment.set_nearest_location``."""
    location = {"1": "Berlin", "2": "Hamburg", "8": "Munich"}.get(user.postcode[:1], "Berlin")
    save(repo, user, "location", location)


async def wait_for_account(user: User, repo: str) -> dict[str, str]:
    """Wait on the node until the user's account has both fields; return it."""
    while len(account := account_of(repo, user)) < 2:
        await asyncio.sleep(0.05)
    return account


# -- on this side ----------------------------------------------------------------------------

lost: set[str] = set()
"""The nodes seen down by this program: an attempt after a node loss goes elsewhere."""


async def set_up_user_account(user: User, repo: str, done: asyncio.Queue[str]) -> None:
    """Set the account up on the first node not lost, and report the node it ended on.

    A ``restart="transient"`` child of `CALLS`: the wait on the node raises
    ``TaskExit(("nodedown", node))`` if the node dies, this attempt crashes, and the
    supervisor starts the next one, which goes to the next node.
    """
    where = next(name for name in NODES if name not in lost)
    say(f"setting up {user.email} on {where}")
    on_node = node(where)
    try:
        crm = await on_node.start_child(SUPERVISOR, create_user, user, repo, restart="transient")
        fulfil = await on_node.start_child(
            SUPERVISOR, set_nearest_location, user, repo, restart="transient"
        )
        say(f"started create_user {crm} and set_nearest_location {fulfil} there")
        ready = TaskSupervisor.async_nolink((SUPERVISOR, where), wait_for_account, user, repo)
        account = await Task.await_(ready, timeout=None)
    except TaskExit as exc:
        if exc.reason == ("nodedown", where):
            lost.add(where)
            say(f"the wait on {where} raised TaskExit({exc.reason!r})")
        raise
    say(f"account ready on {where}: {account}")
    await done.put(where)


async def lose_worker_a_when_hanging(cluster: Cluster, workers: dict[str, Any], repo: str) -> None:
    """Kill worker-a's Ray node once its CRM request hangs and both crash reports of the
    requests before it have come home (so the story is the same on any machine)."""
    while not (Path(repo, "crm.hanging").exists() and len(HomeReports.seen) >= 2):
        await asyncio.sleep(0.02)
    say("-- worker-a's request hangs: killing its Ray node --")
    cluster.remove_node(workers.pop("worker-a"), allow_graceful=False)


def main_for(cluster: Cluster, workers: dict[str, Any], repo: str) -> Any:
    async def main() -> None:
        for name in NODES:
            await start_node(name, [TaskSupervisor.child_spec(name=SUPERVISOR)])
        say(f"taskvisor nodes: {', '.join(sorted(nodes()))}")
        done: asyncio.Queue[str] = asyncio.Queue()
        user = User(email="ada@example.com", postcode="10115")
        killer = Task.async_(lose_worker_a_when_hanging, cluster, workers, repo)
        TaskSupervisor.start_child(
            CALLS, set_up_user_account, user, repo, done, restart="transient"
        )
        where = await done.get()
        await Task.await_(killer)
        requests = Path(repo, "crm.calls").read_text().split()
        say(f"CRM requests, by node: {requests}")
        say(f"crash reports that came home: {HomeReports.seen}")
        say(f"account set up on {where}: {account_of(repo, user)}")
        await stop_node("worker-b")

    return main


# -- logging: one log, this program's and the nodes' -----------------------------------------


class HomeReports(logging.Handler):
    """Counts the crash reports that came home from a node (``extra`` ``node``)."""

    seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        node_name = getattr(record, "node", None)
        if node_name is not None and record.levelno >= logging.ERROR:
            HomeReports.seen.append(f"{getattr(record, 'task_pid', '?')} on {node_name}")


class _IndentedFormatter(logging.Formatter):
    """Log records indented under a bar, so they stand apart from the program's lines."""

    def format(self, record: logging.LogRecord) -> str:
        return textwrap.indent(super().format(record), "    | ", lambda _: True)


def configure_logging() -> None:
    printed = logging.StreamHandler(sys.stdout)
    printed.setFormatter(_IndentedFormatter("%(levelname)s [%(name)s] %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[printed, HomeReports()], force=True)


def start_cluster() -> tuple[Cluster, dict[str, Any]]:
    """A head and the two workers, one CPU each, labelled with their names."""
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "include_dashboard": False,
            "labels": {NODE_LABEL: "head"},
            "_system_config": HEALTH_CHECKS,
        },
    )
    workers = {name: cluster.add_node(num_cpus=1, labels={NODE_LABEL: name}) for name in NODES}
    ray.init(address=cluster.address, log_to_driver=False)
    return cluster, workers


if __name__ == "__main__":
    configure_logging()
    cluster, workers = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as repo:
            children = [TaskSupervisor.child_spec(name=CALLS)]
            code = run_application(children, main=main_for(cluster, workers, repo))
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]
    sys.exit(code)
