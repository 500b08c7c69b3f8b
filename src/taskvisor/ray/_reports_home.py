"""Crash reports that come home, and this program's sign of life for a node.

A task run through a ``(name, node)`` address brings its crash report home in its answer
(`taskvisor.ray._remote`). A child started with ``node(...).start_child`` has no answer to
bring it: the first such call for a node starts a follower here, a daemon thread that asks
the node (`NodeActor.reports`, a long poll) for the reports of the children this process
started there, restarts included, and logs each on this process's ``taskvisor`` logger with
the node's name (`log_remote_report`). It ends when the node or Ray goes away.

The follower's polls are also how the node knows this program is alive: Ray does not end
a detached actor's calls when the program that made them dies, so a node stops the linked
children of a caller it has not heard from within its ``caller_timeout`` (as a BEAM link
to a lost node delivers ``"noconnection"``). A linked remote call and a `NodeHandle.link`
start the follower too.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import ray

from .._runtime._reports import crash_text
from ._actors import CALLER_ID
from ._node_actor import Report

__all__ = ["follow", "log_remote_report"]

logger = logging.getLogger("taskvisor")

_POLL = 2.0  # seconds a poll waits on the node (at most a third of its caller_timeout)
_followed: set[str] = set()
_lock = threading.Lock()


def follow(node: str, actor: Any) -> None:
    """Bring home the crash reports of the children this process starts on `node`."""
    with _lock:
        if node in _followed:
            return
        _followed.add(node)
    threading.Thread(
        target=_follow, args=(node, actor), name=f"taskvisor reports from {node}", daemon=True
    ).start()


def _follow(node: str, actor: Any) -> None:
    after = 0
    try:
        while ray.is_initialized():
            newest, reports = ray.get(actor.reports.remote(CALLER_ID, after, _POLL))
            after = newest
            for report in reports:
                log_remote_report(node, report)
    except BaseException:  # the node is down, or Ray shut down (SystemExit): nothing more
        pass
    finally:
        with _lock:
            _followed.discard(node)


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
