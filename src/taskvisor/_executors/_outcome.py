"""How a call crosses the pipe to a worker process, and its outcome comes back: the caller's side.

A call is its function and arguments, pickled with cloudpickle (closures and lambdas too). A
worker answers each call with one message (`_answer`, the worker's side): its value, its
exception, or "stopped" (a polite stop interrupted it). An exception always carries the
worker's traceback as text, set as its ``__cause__`` (a `RemoteTraceback`) when it arrives;
one that cannot be pickled in the worker, or unpickled here, arrives as a `RemoteError` with
its type name, message and traceback. A value that cannot be pickled is an error of the call,
raised in the worker; one that cannot be unpickled here is raised here, with a note.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable
from typing import Any

import cloudpickle  # type: ignore[import-untyped]

from .._callables import describe_fn
from .._errors import RemoteError, RemoteTraceback

__all__ = ["decode", "encode_call", "resolve"]


def encode_call(fn: Callable[..., Any], args: tuple[Any, ...]) -> bytes:
    """A call of ``fn(*args)``, for a worker (raises if they cannot be pickled)."""
    data: bytes = cloudpickle.dumps((fn, args))
    return data


def decode(answer: bytes, fn: Callable[..., Any]) -> tuple[bool, Any]:
    """``(True, value)`` or ``(False, exception)`` for a worker's answer (never STOPPED).

    Raises what unpickling the value raised, with a note, if the value cannot be rebuilt.
    """
    try:
        ok, body = pickle.loads(answer)
    except Exception as exc:
        exc.add_note(f"{describe_fn(fn)} returned, in a worker, a value that cannot be unpickled")
        raise
    if ok:
        return True, body
    data, type_name, message, text = body
    if data is None:
        return False, RemoteError(type_name, message, text)
    try:
        error = pickle.loads(data)
    except Exception:
        return False, RemoteError(type_name, message, text)
    error.__cause__ = RemoteTraceback(text)
    return False, error


def resolve(future: asyncio.Future[Any], answer: bytes, fn: Callable[..., Any]) -> None:
    """Resolve `future` with a worker's answer (never STOPPED): its value or its exception,
    or the error of a value that cannot be unpickled here."""
    try:
        ok, body = decode(answer, fn)
    except Exception as exc:
        future.set_exception(exc)
        return
    if ok:
        future.set_result(body)
    else:
        future.set_exception(body)
