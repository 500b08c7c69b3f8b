"""Logging for the demo: crash reports from the ``taskvisor`` logger, indented into the story.

Records go to stdout (not stderr) so that they keep their place among the narrated lines
when the output is piped.
"""

from __future__ import annotations

import logging
import sys
import textwrap

from ._narrate import INDENT

__all__ = ["configure_logging"]


class _IndentedFormatter(logging.Formatter):
    """Prefix each record with its level and logger, and indent every line of it."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return textwrap.indent(text, INDENT + "| ", lambda _: True)


def configure_logging() -> None:
    """``logging.basicConfig`` for the demo: ERROR records of ``taskvisor`` become visible."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_IndentedFormatter("%(levelname)s [%(name)s] %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
