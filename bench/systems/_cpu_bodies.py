"""The functions `bench/cpu.py` sends to worker processes, in an importable module.

Every pool gets the same function objects and pickles them by reference (a worker imports
this module), so the comparison measures the pools, not how functions travel.
"""

from __future__ import annotations

from typing import Any


def burn(n: int) -> int:
    """The CPU item: ``sum(i * i for i in range(n))``."""
    return sum(i * i for i in range(n))


def ident(x: Any) -> Any:
    """The tiny task: returns its argument."""
    return x
