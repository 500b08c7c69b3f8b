"""``python -m taskvisor demo``: a narrated tour of taskvisor's Task, in a few seconds."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ._watchdog import LoopWatchdog

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    run_as_module = sys.argv[0].endswith("__main__.py")
    parser = argparse.ArgumentParser(
        prog="python -m taskvisor" if run_as_module else "taskvisor",
        description="taskvisor: Elixir's Task and Task.Supervisor for Python asyncio.",
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("demo", help="run a narrated tour of Task (takes a few seconds)")
    return parser


async def _demo() -> int:
    """The demo's steps, under a loop watchdog: a step that blocks the loop is named."""
    from ._demo import STEPS, run_demo
    from ._demo.step_watchdog import WATCHDOG_THRESHOLD

    with LoopWatchdog(WATCHDOG_THRESHOLD):
        return await run_demo(STEPS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 when no command is given)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return asyncio.run(_demo())
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
