"""``python -m taskvisor demo``: a narrated tour of taskvisor's Task, in a few seconds."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 when no command is given)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import STEPS, run_demo

        return asyncio.run(run_demo(STEPS))
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
