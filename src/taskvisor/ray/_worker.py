"""What runs inside a Ray worker for a `RayNode` call: the function, and its answer.

A call's answer has the process pool's format (`taskvisor._executors._answer`): its value,
or its exception with the worker's traceback as text, so that an exception comes back as
itself with that traceback as its ``__cause__``, or as `RemoteError` when it cannot travel,
exactly as from a `ProcessPool`. A coroutine (a coroutine function, or a function that hands
one back) runs under ``asyncio.run``, on the worker's own loop.

Ray's polite cancel is a KeyboardInterrupt raised in the worker's Python code: it is let
through, so that Ray reports the call cancelled (`TaskCancelledError`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from .._callables import await_if_awaitable, describe_fn
from .._executors._answer import encode_error, encode_value

__all__ = ["run_call"]


def run_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> bytes:
    """Run ``fn(*args)`` in this worker and return its answer.

    Raises:
        KeyboardInterrupt: Ray's polite cancel landed in the call.
    """
    try:
        value = fn(*args)
        if inspect.isawaitable(value):
            value = asyncio.run(await_if_awaitable(value))
        try:
            return encode_value(value)
        except Exception as exc:
            exc.add_note(f"{describe_fn(fn)} returned a value that cannot be pickled")
            raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        return encode_error(exc, tb.tb_next if tb is not None and tb.tb_next else tb)
