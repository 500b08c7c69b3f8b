"""Test harness: `async def` tests run in a fresh event loop, then no process may be left.

After each async test's loop has closed, taskvisor's process table must be empty: every
process the test started either ended or was stopped by the loop's teardown, with its exit
bookkeeping done. A leak here means a lost process or a missing exit.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from taskvisor.testing import reset_process_table


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    leftover = reset_process_table()
    assert not leftover, f"processes left in the table after the test: {leftover}"
    return True


@pytest.fixture
def caplog_taskvisor(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog capturing the `taskvisor` logger at ERROR."""
    caplog.set_level("ERROR", logger="taskvisor")
    yield caplog
