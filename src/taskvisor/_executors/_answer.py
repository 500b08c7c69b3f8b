"""A worker's answer to one call: its value, its exception, or "stopped".

This is the worker's half of the wire (the caller's half, and the whole format, is
`_outcome`). It imports nothing from taskvisor, so a worker can load it without importing the
package (see `_launch`). Values and exceptions travel with cloudpickle; an exception also
carries its type name, its message and the worker's traceback as text, which always travel,
even when the exception itself cannot.
"""

from __future__ import annotations

import traceback
from types import TracebackType
from typing import Any

import cloudpickle  # type: ignore[import-untyped]

__all__ = ["STOPPED", "encode_error", "encode_value"]

STOPPED = b"S"
"""The answer of a call that a polite stop interrupted (KeyboardInterrupt escaped it)."""

_VALUE = True
_ERROR = False


def encode_value(value: Any) -> bytes:
    """The answer for a call that returned `value` (raises if `value` cannot be pickled)."""
    data: bytes = cloudpickle.dumps((_VALUE, value))
    return data


def encode_error(exc: BaseException, tb: TracebackType | None) -> bytes:
    """The answer for a call that raised `exc`; `tb` is its traceback from the call down."""
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    try:
        data: bytes | None = cloudpickle.dumps(exc)
    except Exception:
        data = None
    answer: bytes = cloudpickle.dumps((_ERROR, (data, _type_name(exc), _message(exc), text)))
    return answer


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return (
        cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"
    )


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose str() failed>"
