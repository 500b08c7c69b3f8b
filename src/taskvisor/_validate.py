"""Argument checks that name the argument, run at call time (Elixir validates eagerly too)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from ._callables import describe_fn

__all__ = [
    "check_bool",
    "check_choice",
    "check_fn",
    "check_positive_int",
    "check_shutdown",
    "check_timeout",
    "hide_catch_all",
    "keywords_for_fn",
    "show_options",
]

F = TypeVar("F", bound=Callable[..., Any])


def check_fn(fn: Any, name: str = "fn") -> None:
    """Refuse what cannot be started as a task; close a coroutine object passed by mistake."""
    if callable(fn):
        return
    if hasattr(fn, "send") and hasattr(fn, "close") and hasattr(fn, "cr_code"):
        fn.close()  # the user wrote fn() instead of fn; don't leave "never awaited" behind
        raise TypeError(
            f"{name} must be a function, got the coroutine object {fn!r}: "
            f"pass the function and its arguments, e.g. Task.async_(work, x), not work(x)"
        )
    raise TypeError(f"{name} must be callable, got {fn!r}")


def check_timeout(value: Any, name: str = "timeout") -> float | None:
    """A timeout is ``None`` (infinity) or a non-negative number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {value!r}")
    if value < 0 or math.isnan(value):
        raise ValueError(f"{name} must be >= 0 seconds or None for infinity, got {value!r}")
    return None if math.isinf(value) else float(value)


def check_shutdown(value: Any, name: str = "shutdown", infinity: bool = True) -> Any:
    """A shutdown is ``"brutal_kill"`` or a timeout: a non-negative number of seconds, or
    ``None`` (wait forever) unless `infinity` is refused (streams, as Elixir's)."""
    allowed = "a number of seconds >= 0, None or 'brutal_kill'"
    if not infinity:
        allowed = "a number of seconds >= 0 or 'brutal_kill'"
    if isinstance(value, str):
        if value == "brutal_kill":
            return value
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    if value is None and not infinity:
        raise ValueError(f"{name} must be {allowed}, got None")
    try:
        return check_timeout(value, name)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must be {allowed}, got {value!r}") from None


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_choice(value: Any, name: str, choices: Collection[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        options = " or ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be {options}, got {value!r}")
    return value


def keywords_for_fn(call: str, fn: Any, kwargs: dict[str, Any], before: str = "") -> TypeError:
    """The error for keyword arguments given to `call` that were meant for `fn`.

    Options of taskvisor's functions are keyword-only and `fn`'s arguments are positional,
    so ``Task.async_(fetch, url, retries=3)`` would otherwise fail with a bare "unexpected
    keyword argument"; this says what to write instead. `before` is what comes before `fn`
    in a call of `call` (``"items, "``, ``"sup, "``), for the example.
    """
    names = ", ".join(repr(name) for name in kwargs)
    given = ", ".join(f"{name}={value!r}" for name, value in kwargs.items())
    what = describe_fn(fn) if callable(fn) else "fn"
    short = getattr(fn, "__name__", "fn")
    return TypeError(
        f"{call}() got unexpected keyword argument(s) {names}: they are not options of "
        f"{call}, and keyword arguments are not passed to {what}; to pass them, bind them "
        f"with functools.partial, e.g. {call}({before}functools.partial({short}, {given}), ...)"
    )


def hide_catch_all(func: F) -> F:
    """Leave a ``**kwargs`` catch-all out of ``inspect.signature(func)``: it exists only to
    give `keywords_for_fn`'s hint, and is not part of the function's contract."""
    return _public_signature(func, [])


def show_options(annotations: Mapping[str, Any], defaults: Mapping[str, Any]) -> Callable[[F], F]:
    """A decorator that shows, in ``inspect.signature(func)`` (and ``help()``), in place of
    the ``**options`` catch-all of ``func``, the keyword options that its overloads take as
    ``**options: Unpack[SomeTypedDict]``: one keyword-only parameter per key of the
    TypedDict (`annotations`, its ``__annotations__``), with its default, in the order of
    `defaults` (which may hold more options than the TypedDict)."""
    missing = annotations.keys() - defaults.keys()
    if missing:
        raise TypeError(f"no default for the option(s) {sorted(missing)}")
    options = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=default,
            annotation=getattr(annotations[name], "__forward_arg__", annotations[name]),
        )
        for name, default in defaults.items()
        if name in annotations
    ]

    def decorate(func: F) -> F:
        return _public_signature(func, options)

    return decorate


def _public_signature(func: F, options: list[inspect.Parameter]) -> F:
    signature = inspect.signature(func)
    params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    func.__signature__ = signature.replace(parameters=params + options)  # type: ignore[attr-defined]
    return func
