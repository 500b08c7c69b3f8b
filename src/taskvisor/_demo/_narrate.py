"""How the demo talks: titles, the code a step mirrors, what happened, and timings."""

from __future__ import annotations

import sys
import textwrap
import time
from typing import TextIO

__all__ = ["INDENT", "Narrator"]

INDENT = "    "


class Narrator:
    """Writes the demo's narration to `out` (stdout), indented under each step's title."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout
        self._started = time.perf_counter()

    def title(self, number: int, total: int, title: str) -> None:
        self._write(f"\n=== Step {number}/{total}: {title} ===")

    def code(self, label: str, code: str) -> None:
        """Show `code` under `label` (``Elixir``, ``taskvisor``), as a block."""
        self._write(f"{INDENT}{label}:")
        self._write(textwrap.indent(textwrap.dedent(code).strip("\n"), INDENT * 2))

    def part(self, title: str, elixir: str, python: str) -> None:
        """Open a part of a step: its title and the one call it mirrors, in both languages."""
        self._write(f"{INDENT}-- {title}")
        self._write(f"{INDENT * 2}Elixir:    {elixir}")
        self._write(f"{INDENT * 2}taskvisor: {python}")

    def say(self, text: str) -> None:
        """One line of what happened; the timestamp is seconds since the step started."""
        self._write(f"{INDENT}[{self.elapsed():5.2f}s] {text}")

    def note(self, text: str) -> None:
        """A remark with no timestamp (an explanation, not an event)."""
        self._write(f"{INDENT}-> {text}")

    def restart_clock(self) -> None:
        self._started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def line(self, text: str = "") -> None:
        self._write(text)

    def _write(self, text: str) -> None:
        print(text, file=self._out, flush=True)
