"""The options of ``async_stream``, written once.

`StreamOptions` names and types the keyword options of `Task.async_stream`;
`SupervisedStreamOptions` adds ``shutdown`` for `TaskSupervisor.async_stream` and
``async_stream_nolink``. Their overloads take ``**options: Unpack[...]``, so a type checker
sees each option with its type; `DEFAULTS` holds the default of each, `stream_signature`
(and `supervised_stream_signature`) show them in ``inspect.signature`` and ``help()`` as
ordinary keyword-only parameters, `stream_options` fills in the defaults at call time (and
gives a keyword meant for the function its `functools.partial` hint), and
`validate_stream_options` checks them, under their own names, when the stream is built.

None of the options selects an overload (the result type depends only on whether ``fn`` is
a coroutine function), so all of them live here.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypedDict, cast

from ._executors import ExecutorArg
from ._types import ShutdownTimeout, Timeout
from ._validate import (
    check_bool,
    check_choice,
    check_positive_int,
    check_timeout,
    keywords_for_fn,
    show_options,
)

__all__ = [
    "DEFAULTS",
    "StreamOptions",
    "SupervisedStreamOptions",
    "stream_options",
    "stream_signature",
    "supervised_stream_signature",
    "validate_stream_options",
]


class StreamOptions(TypedDict, total=False):
    """The keyword options of `Task.async_stream` (their defaults are in `DEFAULTS`)."""

    max_concurrency: int | None
    """How many tasks run at once; None: the executor's number of workers, else
    ``os.cpu_count()``."""
    ordered: bool
    """Results in input order (True) or as they finish."""
    timeout: Timeout
    """Seconds each task gets from when its function starts running; None: no limit."""
    on_timeout: Literal["exit", "kill_task"]
    """On a timeout, raise `TaskTimeout` (``"exit"``) or yield ``Exit("timeout")``."""
    zip_input_on_exit: bool
    """Exits carry ``(item, reason)``."""
    executor: ExecutorArg
    """Where ``fn`` runs (None: on the loop for a coroutine function, else in a thread)."""


class SupervisedStreamOptions(StreamOptions, total=False):
    """`StreamOptions` and the supervised tasks' ``shutdown`` (`TaskSupervisor`'s streams)."""

    shutdown: ShutdownTimeout
    """Seconds each task gets to stop when the supervisor stops, or ``"brutal_kill"``
    (``None``, infinity, is refused, as by Elixir's streams)."""


DEFAULTS: Final[SupervisedStreamOptions] = {
    "max_concurrency": None,  # decided when the stream is built: see `build_stream`
    "ordered": True,
    "timeout": 5.0,
    "on_timeout": "exit",
    "zip_input_on_exit": False,
    "shutdown": 5.0,
    "executor": None,
}
"""The default of every stream option, as Elixir's; their order is the signatures'."""

_TASK_DEFAULTS: Final[dict[str, object]] = {
    name: value for name, value in DEFAULTS.items() if name in StreamOptions.__annotations__
}
_SUPERVISED_DEFAULTS: Final[dict[str, object]] = dict(DEFAULTS)

stream_signature = show_options(StreamOptions.__annotations__, DEFAULTS)
"""Decorator: `StreamOptions` in ``inspect.signature`` in place of ``**options``."""

supervised_stream_signature = show_options(SupervisedStreamOptions.__annotations__, DEFAULTS)
"""Decorator: `SupervisedStreamOptions` in ``inspect.signature`` in place of ``**options``."""


def stream_options(
    call: str, fn: Any, given: dict[str, Any], supervised: bool = False
) -> SupervisedStreamOptions:
    """Every option of a stream: the `given` keywords of `call`, the defaults for the rest.

    Raises:
        TypeError: a keyword that is not an option (meant for `fn`, or misspelled), with
            the `functools.partial` hint; the options' values are checked later, by
            `validate_stream_options`.
    """
    defaults = _SUPERVISED_DEFAULTS if supervised else _TASK_DEFAULTS
    unknown = {name: value for name, value in given.items() if name not in defaults}
    if unknown:
        raise keywords_for_fn(call, fn, unknown, "sup, items, " if supervised else "items, ")
    return cast(SupervisedStreamOptions, {**defaults, **given})


def validate_stream_options(options: StreamOptions, max_concurrency: int) -> float | None:
    """Check the options (as `stream_options` completed them) when the stream is built, under
    their own names; `max_concurrency` is the one in effect (its default decided). Returns the
    checked timeout. ``executor`` is checked by whoever picks the runner."""
    check_positive_int(max_concurrency, "max_concurrency")
    check_choice(options["on_timeout"], "on_timeout", ("exit", "kill_task"))
    checked_timeout = check_timeout(options["timeout"])
    check_bool(options["ordered"], "ordered")
    check_bool(options["zip_input_on_exit"], "zip_input_on_exit")
    return checked_timeout
