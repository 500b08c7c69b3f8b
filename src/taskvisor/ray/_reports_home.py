"""Crash reports that come home, and this program's sign of life for a node.

A task run through a ``(name, node)`` address brings its crash report home in its answer
(`taskvisor.ray._remote`). A child started with ``node(...).start_child`` has no answer to
bring it: the first such call for a node on an event loop starts a follower there, a task
that asks the node (`NodeActor.reports`, a long poll) for the reports of the children that
loop's caller started there, restarts included, and logs each on this process's
``taskvisor`` logger with the node's name (`log_remote_report`). It ends when the node or
Ray goes away, or the loop ends.

The follower's polls are also how the node knows its caller is alive: Ray does not end a
detached actor's calls when the program that made them dies, so a node stops the linked
children of a caller it has not heard from within its ``caller_timeout`` (as a BEAM link
to a lost node delivers ``"noconnection"``). A linked remote call and a `NodeHandle.link`
start the follower too. A loop blocked for longer than that looks lost, as a BEAM node that
misses its ticks does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import ray

from .._runtime._reports import crash_text
from ._actors import caller_id
from ._node_actor import Report

__all__ = ["follow", "log_remote_report"]

logger = logging.getLogger("taskvisor")

_POLL = 2.0  # seconds a poll waits on the node (at most a third of its caller_timeout)
_followers: dict[tuple[str, asyncio.AbstractEventLoop], asyncio.Task[None]] = {}


def follow(node: str, actor: Any) -> None:
    """Bring home the crash reports of the children this loop starts on `node`, and tell
    the node that this loop's caller lives (once per node and loop)."""
    loop = asyncio.get_running_loop()
    key = (node, loop)
    if key in _followers:
        return
    follower = loop.create_task(_follow(node, actor, caller_id(loop)))
    _followers[key] = follower
    follower.add_done_callback(lambda _: _followers.pop(key, None))


async def _follow(node: str, actor: Any, caller: str) -> None:
    """Poll `node` for `caller`'s crash reports until the node or Ray goes away (or the
    loop ends: its cancel ends this too). On the loop, not in a thread of its own: a
    thread that calls Ray while the program shuts Ray down makes Ray end the process."""
    after = 0
    with contextlib.suppress(Exception):  # the node is down, or Ray shut down: nothing more
        while ray.is_initialized():
            ref = actor.reports.remote(caller, after, _POLL)
            after, reports = await asyncio.wrap_future(ref.future())
            for report in reports:
                log_remote_report(node, report)


def log_remote_report(node: str, report: Report) -> None:
    """Log a crash report from `node` on this process's ``taskvisor`` logger: its text
    names the node, and ``extra`` has the node's fields and ``node``."""
    if not logger.isEnabledFor(logging.ERROR):
        return
    text = crash_text(
        report["task_pid"],
        report["starter"],
        report["banner"],
        report["traceback"],
        report["function"],
        report["args_text"],
        node,
    )
    logger.error(
        text,
        extra={
            "node": node,
            "task_pid": report["task_pid"],
            "starter": report["starter"],
            "callers": report["callers"],
            "function": report["function"],
            "reason": report["reason_text"],
            "traceback": report["traceback"],
            "remote": True,
        },
    )
