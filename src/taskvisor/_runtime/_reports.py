"""Crash reports: the facts of an abnormal exit as data, then Elixir's text for them.

One ERROR record on the ``taskvisor`` logger per crash, none for normal, shutdown or killed
exits, none for adopted tasks. The text reads like Elixir's translated ``Task`` report::

    Task <0.70.0> started from <0.64.0> terminating
    ** (ValueError) boom
        Traceback (most recent call last):
          ...
    Function: myapp.jobs.send_email
        Args: ['ada@example.com']

and the same facts ride on the record as structured ``extra`` fields: ``task_pid``,
``starter``, ``function``, ``task_args`` (``args`` is taken by LogRecord), ``reason``,
``callers``, ``traceback`` and ``crash_report`` (the whole `CrashReport`).
"""

from __future__ import annotations

import logging
import os
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._callables import describe_fn
from .._types import ExitReason

if TYPE_CHECKING:
    from ._pid import Pid
    from ._proc import Proc

__all__ = [
    "CrashReport",
    "banner_of",
    "crash_text",
    "format_report",
    "log_event",
    "logger",
    "mark_reported",
    "report_crash",
    "reported_on",
    "user_traceback",
]

logger = logging.getLogger("taskvisor")

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_DEMO_DIR = os.path.join(_PACKAGE_DIR, "_demo") + os.sep  # the demo's steps are user code


@dataclass(frozen=True, slots=True)
class CrashReport:
    """What Elixir's ``{Task.Supervisor, :terminating}`` report carries, made Python."""

    task_pid: Pid
    starter: Pid | None
    function: str
    args: tuple[Any, ...]
    reason: ExitReason
    exception: BaseException
    callers: list[Pid]

    @property
    def traceback(self) -> str:
        """The exception and the task's own stack (taskvisor's wrapper frames left out)."""
        return user_traceback(self.exception)


def _is_machinery(filename: str) -> bool:
    """Whether a frame of `filename` is taskvisor's own (the demo's steps are not)."""
    return filename.startswith(_PACKAGE_DIR) and not filename.startswith(_DEMO_DIR)


def user_traceback(exc: BaseException) -> str:
    """`exc` and its traceback as text, from the first frame outside taskvisor (the
    runtime's wrapper frames are left out)."""
    tb = exc.__traceback__
    while tb is not None and _is_machinery(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def format_report(report: CrashReport) -> str:
    """Elixir's translated crash report text for `report`."""
    return crash_text(
        report.task_pid,
        report.starter,
        banner_of(report.reason),
        report.traceback,
        report.function,
        repr(list(report.args)),
    )


def banner_of(reason: ExitReason) -> str:
    """A crash report's first line under the title: the exception, or the reason."""
    if isinstance(reason, BaseException):
        return f"** ({type(reason).__name__}) {reason}"
    return f"** (stop) {reason!r}"


def crash_text(
    task_pid: Pid,
    starter: Pid | None,
    banner: str,
    traceback_text: str,
    function: str,
    args_text: str,
    node: str | None = None,
) -> str:
    """A crash report's text from its parts (`format_report`, or a report from `node`)."""
    started = f" started from {starter!r}" if starter is not None else ""
    where = f" on node {node!r}" if node is not None else ""
    stack = "".join("    " + line + "\n" for line in traceback_text.rstrip("\n").split("\n"))
    return (
        f"Task {task_pid!r}{started}{where} terminating\n{banner}\n{stack}"
        f"Function: {function}\n    Args: {args_text}"
    )


def log_event(proc: Proc | None, action: str, message: str, **extra: Any) -> None:
    """A WARNING on the ``taskvisor`` logger for something a running service should know:
    taskvisor had to force a stop (closed a coroutine, abandoned a task or a thread, killed
    children) or dropped something (exit signals).

    Structured ``extra``: ``task_pid`` and ``function`` of `proc` (None when there is none),
    ``action`` (what taskvisor did: ``"closed_coroutine"``, ``"abandoned_task"``,
    ``"abandoned_thread"``, ``"killed_children"``, ``"dropped_exit_signals"``) and any
    `extra` given. A log record rather than `warnings.warn`: its text names a pid, so warnings
    would grow the warnings registry by one entry per event in a long-running server.
    Never raises into the runtime.
    """
    if not logger.isEnabledFor(logging.WARNING):
        return
    try:
        fields = {
            "task_pid": None if proc is None else proc._get_pid(),
            "function": None if proc is None or proc._fn is None else describe_fn(proc._fn),
            "action": action,
            **extra,
        }
        logger.warning(message, extra=fields)
    except Exception:  # a broken repr must not break the runtime
        logger.exception("taskvisor could not log %s", action)


_REPORTED_ON = "_taskvisor_reported_on"


def mark_reported(exc: BaseException, node: str) -> None:
    """Mark `exc` as a crash already reported on `node` (a remote child's, whose report
    comes home on its own): the local process that ends with it reports nothing."""
    setattr(exc, _REPORTED_ON, node)


def reported_on(exc: BaseException) -> str | None:
    """The node that already reported the crash `exc`, or None."""
    node: str | None = getattr(exc, _REPORTED_ON, None)
    return node


def report_crash(proc: Proc, reason: ExitReason, exc: BaseException) -> None:
    """Log the crash of `proc` (unless another node reported it); never raises into the
    runtime."""
    if not logger.isEnabledFor(logging.ERROR) or reported_on(exc) is not None:
        return
    try:
        callers = [p._get_pid() for p in proc._callers()]
        report = CrashReport(
            task_pid=proc._get_pid(),
            starter=callers[0] if callers else None,
            function=describe_fn(proc._fn) if proc._fn is not None else "?",
            args=proc._args,
            reason=reason,
            exception=exc,
            callers=callers,
        )
        logger.error(
            format_report(report),
            extra={
                "task_pid": report.task_pid,
                "starter": report.starter,
                "function": report.function,
                "task_args": report.args,
                "reason": reason,
                "callers": callers,
                "traceback": report.traceback,
                "crash_report": report,
            },
        )
    except Exception:  # a broken repr in the args must not break the runtime
        logger.exception("taskvisor could not write the crash report of %r", proc)
