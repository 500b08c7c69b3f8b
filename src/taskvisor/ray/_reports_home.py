"""Crash reports that come home: those of children this process started on a node.

A task run through a ``(name, node)`` address brings its crash report home in its answer
(`taskvisor.ray._remote`). A child started with ``node(...).start_child`` has no answer to
bring it: the first such call for a node starts a follower here, a daemon thread that asks
the node (`NodeActor.reports`, a long poll) for the reports of the children this process
started there, restarts included, and logs each on this process's ``taskvisor`` logger with
the node's name (`log_remote_report`). It ends when the node or Ray goes away.
"""

from __future__ import annotations

import threading
from typing import Any

import ray

from ._remote import CALLER_ID, log_remote_report

__all__ = ["follow"]

_POLL = 2.0  # seconds a poll waits on the node for a report
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
