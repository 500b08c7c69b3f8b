"""Telemetry events in the shape of Erlang's ``:telemetry``: names, handlers, and dispatch.

An event is a tuple of strings (``("taskvisor", "task", "stop")``), emitted with a dict of
*measurements* (numbers: times in nanoseconds) and a dict of *metadata*. A handler is
attached under an id to one or more events and runs synchronously, in the emitting process,
for each of them; one that raises is detached and the detach logged once, as ``:telemetry``
does. The public names are in `taskvisor.telemetry`.

Nothing here costs anything while no handler listens: taskvisor's emitters ask `listened`
first (rare events), or are swapped in only while someone listens (a process's start and
stop: the runtime watches the handlers through `on_change`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ._errors import TaskExit

__all__ = [
    "Event",
    "Handler",
    "HandlerInfo",
    "attach",
    "attach_many",
    "detach",
    "emit",
    "execute",
    "exit_kind",
    "list_handlers",
    "listened",
    "on_change",
    "span",
]

Event = tuple[str, ...]
Handler = Callable[[Event, dict[str, Any], dict[str, Any]], object]

logger = logging.getLogger("taskvisor")


@dataclass(frozen=True, slots=True)
class HandlerInfo:
    """One attached handler for one event, as `list_handlers` describes it."""

    id: str
    event: Event
    function: Handler


_events_of: dict[str, tuple[Event, ...]] = {}  # handler id -> its events
_functions: dict[str, Handler] = {}  # handler id -> its function
_by_event: dict[Event, tuple[tuple[str, Handler], ...]] = {}  # what `emit` reads
_observers: list[Callable[[], None]] = []
_span_contexts = itertools.count(1)


def attach(handler_id: str, event: Event, handler: Handler) -> None:
    """Call ``handler(event, measurements, metadata)`` for every `event` emitted.

    Raises:
        TypeError: `handler_id` is not a string, `event` not a tuple of strings, or
            `handler` not callable.
        ValueError: a handler is already attached under `handler_id`, or `event` is empty.
    """
    attach_many(handler_id, [_check_event(event, "event")], handler)


def attach_many(handler_id: str, events: Iterable[Event], handler: Handler) -> None:
    """Call `handler` for each of `events`, under the one id `handler_id`.

    Raises:
        TypeError, ValueError: as `attach` (an empty `events` is a ValueError).
    """
    if not isinstance(handler_id, str):
        raise TypeError(f"handler_id must be a string, got {handler_id!r}")
    if not callable(handler):
        raise TypeError(f"handler must be callable, got {handler!r}")
    if isinstance(events, tuple) and events and all(isinstance(e, str) for e in events):
        raise TypeError(f"events must be a list of events, got one event {events!r}")
    checked = tuple(dict.fromkeys(_check_event(e, "events") for e in events))
    if not checked:
        raise ValueError("events must name at least one event")
    if handler_id in _events_of:
        raise ValueError(f"a telemetry handler is already attached as {handler_id!r}")
    _events_of[handler_id] = checked
    _functions[handler_id] = handler
    for event in checked:
        _by_event[event] = (*_by_event.get(event, ()), (handler_id, handler))
    _changed()


def detach(handler_id: str) -> None:
    """Detach the handler attached as `handler_id` from all its events.

    Raises:
        LookupError: no handler is attached under that id (``:telemetry``'s
            ``{:error, :not_found}``).
    """
    events = _events_of.pop(handler_id, None)
    if events is None:
        raise LookupError(f"no telemetry handler is attached as {handler_id!r}")
    del _functions[handler_id]
    for event in events:
        left = tuple(h for h in _by_event[event] if h[0] != handler_id)
        if left:
            _by_event[event] = left
        else:
            del _by_event[event]
    _changed()


def list_handlers(prefix: Event = ()) -> list[HandlerInfo]:
    """The handlers attached to events that start with `prefix` (every one for ``()``),
    one entry per handler and event, in the order they were attached.

    Raises:
        TypeError: `prefix` is not a tuple of strings.
    """
    if not isinstance(prefix, tuple) or not all(isinstance(p, str) for p in prefix):
        raise TypeError(f"prefix must be a tuple of strings, got {prefix!r}")
    return [
        HandlerInfo(handler_id, event, _functions[handler_id])
        for handler_id, events in _events_of.items()
        for event in events
        if event[: len(prefix)] == prefix
    ]


def execute(
    event: Event, measurements: dict[str, Any], metadata: dict[str, Any] | None = None
) -> None:
    """Emit `event` (your own, or one of taskvisor's names) to the handlers attached to it.

    Raises:
        TypeError: `event` is not a non-empty tuple of strings, or `measurements` or
            `metadata` not a dict.
    """
    _check_event(event, "event")
    if not isinstance(measurements, dict):
        raise TypeError(f"measurements must be a dict, got {measurements!r}")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {metadata!r}")
    emit(event, measurements, metadata)


@contextlib.contextmanager
def span(prefix: Event, metadata: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Emit ``prefix + ("start",)`` now, and ``prefix + ("stop",)`` when the block ends, or
    ``prefix + ("exception",)`` if it raises (then the exception goes on), as
    ``:telemetry.span``. The block gets the stop event's metadata (a copy of `metadata`) to
    add to. Every event of one span carries the same ``telemetry_span_context``.

    Measurements: ``system_time`` and ``monotonic_time`` on start; ``duration`` and
    ``monotonic_time`` on stop and exception (nanoseconds). An exception's metadata adds
    ``kind`` (``"error"`` for an exception, ``"exit"`` for a `TaskExit` or a cancel),
    ``reason``, ``exception`` and ``traceback`` (the exception's traceback object).

    Raises:
        TypeError: a bad `prefix` or `metadata`.
    """
    _check_event(prefix, "prefix")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {metadata!r}")
    start_metadata = {} if metadata is None else dict(metadata)
    start_metadata["telemetry_span_context"] = next(_span_contexts)
    start = time.monotonic_ns()
    emit(
        (*prefix, "start"), {"system_time": time.time_ns(), "monotonic_time": start}, start_metadata
    )
    stop_metadata = dict(start_metadata)
    try:
        yield stop_metadata
    except BaseException as exc:
        end = time.monotonic_ns()
        kind, reason = exit_kind(exc)
        failed = {**stop_metadata, "kind": kind, "reason": reason, "exception": exc}
        failed["traceback"] = exc.__traceback__
        emit((*prefix, "exception"), {"duration": end - start, "monotonic_time": end}, failed)
        raise
    end = time.monotonic_ns()
    emit((*prefix, "stop"), {"duration": end - start, "monotonic_time": end}, stop_metadata)


def exit_kind(exc: BaseException) -> tuple[str, Any]:
    """An exception's ``kind`` and ``reason`` for an exception event: ``("exit", reason)``
    for `TaskExit` and the exits taskvisor maps (a cancel is ``"shutdown"``), else
    ``("error", exc)``."""
    if isinstance(exc, TaskExit):
        return "exit", exc.reason
    if isinstance(exc, GeneratorExit):
        return "exit", "killed"
    if isinstance(exc, asyncio.CancelledError):  # someone's cancel: taskvisor's "shutdown"
        return "exit", "shutdown"
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
        return "exit", exc
    return "error", exc


# -- for taskvisor's emitters -----------------------------------------------------------------


def listened(event: Event) -> bool:
    """Whether any handler is attached to `event` (the check before building an event)."""
    return event in _by_event


def emit(event: Event, measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
    """Call the handlers of `event`; detach (and log) any that raises. Never raises."""
    for handler_id, handler in _by_event.get(event, ()):
        try:
            handler(event, measurements, metadata)
        except Exception:
            _drop(handler_id, event)


def on_change(observer: Callable[[], None]) -> None:
    """Call `observer` after every attach and detach (the runtime swaps its hooks then)."""
    _observers.append(observer)


# -- inside ------------------------------------------------------------------------------------


def _check_event(event: object, name: str) -> Event:
    if not isinstance(event, tuple) or not all(isinstance(part, str) for part in event):
        raise TypeError(f"{name} must be a tuple of strings, like ('myapp', 'done'), got {event!r}")
    if not event:
        raise ValueError(f"{name} must not be empty")
    return event


def _drop(handler_id: str, event: Event) -> None:
    """A handler raised: detach it (if no other event's call did already) and say so once."""
    if handler_id not in _events_of:
        return
    detach(handler_id)
    logger.error(
        "the telemetry handler %r raised on the event %r and was detached",
        handler_id,
        event,
        exc_info=True,
        extra={"handler_id": handler_id, "event": event, "action": "telemetry_handler_detached"},
    )


def _changed() -> None:
    for observer in _observers:
        observer()
