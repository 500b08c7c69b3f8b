"""The loop watchdog: a warning that names the coroutine blocking the event loop, and where.

A coroutine that calls blocking code (``time.sleep``, ``requests.get``, a long computation)
freezes every other task on its loop, and nothing in asyncio says which one did it. The
watchdog is a daemon thread that pings the loop (``call_soon_threadsafe``) every half
threshold. While a ping goes unanswered it samples, every half threshold, what the loop's
thread is running: the current asyncio task and the loop step it is in (the frame of the
``Handle._run`` call that runs the task's step or a callback). When the loop has not answered
for a whole threshold and two samples in a row find the same step, that step has held the
loop for at least half of it: the watchdog writes ONE warning for the episode on the
``taskvisor`` logger, naming the process (or the plain asyncio task, or the callback), the
line it is on, and the executor to use instead. When the loop answers again it writes an
INFO record with how long the episode lasted.

A loop that is merely busy (many short steps, none long) is not reported: the samples see
different steps. While the loop answers, the only cost is one ping every half threshold.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import threading
import time
import traceback
from types import CodeType, FrameType, TracebackType
from typing import Any

from ._callables import describe_fn
from ._runtime._api import PID_DRAWING_CODE, describe, function_of, pid_of, process_of
from ._runtime._reports import logger

__all__ = ["LoopWatchdog"]

_ADVICE = 'run blocking code with executor="thread" or CPU-bound code with executor="process"'

_STEP_CODE = asyncio.events.Handle._run.__code__
"""Every loop step (a task's step or a callback) runs inside one call of ``Handle._run``."""

_DRAWING_PID: frozenset[CodeType] = PID_DRAWING_CODE
"""While the loop's thread is inside these, naming a process (which may draw its pid) waits."""


class LoopWatchdog:
    """Warns, naming the task and the line, when a step holds the event loop too long.

    ``LoopWatchdog(threshold=0.1, loop=None)`` watches `loop` (by default the loop running
    when it starts) from a daemon thread. When one step (a coroutine between two ``await``
    points, or a callback) keeps the loop from answering for about `threshold` seconds, it
    logs one WARNING on the ``taskvisor`` logger that names the process (its pid and
    function) or the plain asyncio task and its coroutine, the file and line it is stuck on,
    and suggests ``executor="thread"`` or ``executor="process"``. The record carries the
    facts as ``extra`` fields: ``task_pid`` (a `Pid`, or None outside taskvisor's processes),
    ``function``, ``blocked_for`` (seconds so far), ``task`` (the asyncio task, or None for a
    callback), ``location`` and ``stack``. When the loop answers again, an INFO record with
    the same fields says how long the episode lasted. A step that blocks a loop that was
    answering is reported one to one and a half thresholds after it starts; ``blocked_for``
    counts from the first unanswered ping.

    Use ``with LoopWatchdog(0.2): ...`` or ``async with`` inside a running loop, or call
    `start` and `stop`. Both are idempotent, and a stopped watchdog can be started again.
    Two watchdogs on one loop work independently: each writes its own warning.

    Cancellation: the watchdog is a thread, not a task: cancelling the task that started it
    does not stop it, but leaving its ``with`` block does, on a cancellation too. It never
    interrupts what it reports: blocking code cannot be stopped, only moved off the loop.
    """

    __slots__ = ("_loop", "_threshold", "_watch")

    def __init__(
        self, threshold: float = 0.1, *, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise TypeError(f"threshold must be a number of seconds, got {threshold!r}")
        if not 0 < threshold < math.inf:
            raise ValueError(f"threshold must be a positive number of seconds, got {threshold!r}")
        if loop is not None and not isinstance(loop, asyncio.AbstractEventLoop):
            raise TypeError(f"loop must be an asyncio event loop or None, got {loop!r}")
        self._threshold = float(threshold)
        self._loop = loop
        self._watch: _Watch | None = None

    @property
    def threshold(self) -> float:
        """Seconds a step may hold the loop before it is reported."""
        return self._threshold

    @property
    def running(self) -> bool:
        """Whether the watchdog's thread is watching a loop."""
        return self._watch is not None and self._watch.thread.is_alive()

    def start(self) -> None:
        """Start watching; without a `loop`, the loop running in this thread.

        Raises RuntimeError when no loop is given and none is running. Does nothing if the
        watchdog already runs.

        Cancellation: nothing to cancel; the thread runs until `stop`, or until its loop is
        closed.
        """
        if self.running:
            return
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        loop = here if self._loop is None else self._loop
        if loop is None:
            raise RuntimeError("LoopWatchdog.start() needs a running event loop, or pass loop=")
        # on the loop's own thread we know which thread to sample before the loop answers
        self._watch = _Watch(loop, self._threshold, threading.get_ident() if loop is here else None)

    def stop(self) -> None:
        """Stop watching and wait for the thread to end (at once: it only waits on events).

        Does nothing if the watchdog is not running.

        Cancellation: not a coroutine; it cannot be interrupted and returns promptly.
        """
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()

    def __enter__(self) -> LoopWatchdog:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LoopWatchdog:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LoopWatchdog threshold={self.threshold}s {state}>"


_Sample = tuple["asyncio.Task[Any] | None", FrameType | None, FrameType | None]
"""What the loop's thread runs: its current task, the step's frame, the innermost frame."""


class _Watch:
    """One run of a watchdog: its thread, and the ping it has out on the loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, threshold: float, loop_thread: int | None
    ) -> None:
        self.loop = loop
        self.half = threshold / 2
        self.answered = threading.Event()
        self.answered_at = 0.0
        self.loop_thread = loop_thread  # None: learned from the first answer
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name="taskvisor loop watchdog", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.answered.set()  # wake the thread if it waits for an answer
        if threading.current_thread() is not self.thread:
            self.thread.join()

    def _pong(self) -> None:
        """The answer to a ping: runs on the loop, so it also tells which thread that is."""
        self.answered_at = time.monotonic()
        self.loop_thread = threading.get_ident()
        self.answered.set()

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.answered.clear()
            sent = time.monotonic()
            try:
                self.loop.call_soon_threadsafe(self._pong)
            except RuntimeError:  # the loop is closed: nothing left to watch
                return
            if not self.answered.wait(self.half):
                self._watch_episode(sent)
            self.stopping.wait(self.half)

    def _watch_episode(self, sent: float) -> None:
        """The loop has not answered for half a threshold: sample it until it does."""
        previous = self._sample()
        named = False  # one warning per episode, even if writing it failed
        reported: tuple[str, dict[str, Any]] | None = None
        while not self.answered.wait(self.half):
            if self.loop.is_closed():
                return
            current = self._sample()
            if not named and current is not None and _same_step(previous, current):
                named = True
                reported = _report(current, time.monotonic() - sent)
            previous = current
        if reported is not None and not self.stopping.is_set():
            name, fields = reported
            fields["blocked_for"] = self.answered_at - sent
            logger.info(
                "%s let the event loop run again after blocking it for %.2f s",
                name,
                fields["blocked_for"],
                extra=fields,
            )

    def _sample(self) -> _Sample | None:
        """What the loop's thread runs now: (task, step frame, innermost frame), or None.

        None when it runs no step of this loop, when its thread is not known yet, or when
        naming it now could race with the loop's thread drawing a pid.
        """
        if self.loop_thread is None or not self.loop.is_running():
            return None
        task = asyncio.current_task(self.loop)
        frame = sys._current_frames().get(self.loop_thread)
        step = frame
        while step is not None and step.f_code is not _STEP_CODE:
            if step.f_code in _DRAWING_PID:
                return None
            step = step.f_back
        if task is None and step is None:
            return None
        return task, step, frame


def _same_step(before: _Sample | None, now: _Sample) -> bool:
    """Whether two samples found the loop in one step (one task's step, or one callback)."""
    return before is not None and before[0] is now[0] and before[1] is now[1]


def _report(sample: _Sample, blocked_for: float) -> tuple[str, dict[str, Any]] | None:
    """Write the warning for the step in `sample`; return what the INFO at the end needs."""
    if not logger.isEnabledFor(logging.WARNING):
        return None
    try:
        name, fields = _describe(sample)
        fields["blocked_for"] = blocked_for
        where = f" (in {fields['location']})" if fields["location"] else ""
        logger.warning(
            "%s has blocked the event loop for %.2f s%s; %s",
            name,
            blocked_for,
            where,
            _ADVICE,
            extra=fields,
        )
    except Exception:  # a broken repr must not kill the watchdog
        logger.exception("taskvisor's loop watchdog could not report a blocked event loop")
        return None
    return name, fields


def _describe(sample: _Sample) -> tuple[str, dict[str, Any]]:
    """Name the step: the taskvisor process, the plain asyncio task, or the callback."""
    task, step, frame = sample
    proc = process_of(task) if task is not None else None
    task_pid = pid_of(proc) if proc is not None else None
    fn = function_of(proc) if proc is not None else None
    if proc is not None and fn is not None:
        # the process's own repr, not a subclass's (a Task's would name its owner and reply)
        name, function = describe(proc), describe_fn(fn)
    elif task is not None:
        function = _code_name(getattr(task.get_coro(), "cr_frame", None))
        name = f"asyncio task {task.get_name()!r} (coroutine {function})"
        if proc is not None:  # a plain task adopted as a process
            name = f"{describe(proc)}, {name},"
    else:  # a callback: its function is the frame that Handle._run called
        entry = frame
        while entry is not None and entry.f_back is not step:
            entry = entry.f_back
        function = _code_name(entry)
        name = f"the callback {function} (outside any task)"
    return name, {
        "task_pid": task_pid,
        "function": function,
        "task": task,
        "location": _location(frame),
        "stack": _stack(frame, step),
    }


def _code_name(frame: FrameType | None) -> str:
    if frame is None:
        return "?"
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"


def _location(frame: FrameType | None) -> str | None:
    if frame is None:
        return None
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}, {frame.f_code.co_name}"


def _stack(frame: FrameType | None, step: FrameType | None) -> str:
    """The loop thread's stack inside the step, outermost first, as a traceback prints it."""
    frames = []
    while frame is not None and frame is not step:
        frames.append((frame, frame.f_lineno))
        frame = frame.f_back
    summary = traceback.StackSummary.extract(reversed(frames), lookup_lines=False)
    return "".join(summary.format())
