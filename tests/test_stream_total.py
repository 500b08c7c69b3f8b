"""`TaskStream.total`, ``len()`` and ``__length_hint__`` (issue 14, item 4's first part): the
number of results a stream yields, known when its input is Sized, so that progress bars
(real tqdm and rich, writing to a StringIO) show a total."""

from __future__ import annotations

import io
import operator
import re
from collections.abc import AsyncIterator

import pytest

from support import reply
from taskvisor import Task, TaskSupervisor, blocking

tqdm_asyncio = pytest.importorskip("tqdm.asyncio")
tqdm_std = pytest.importorskip("tqdm")
rich_progress = pytest.importorskip("rich.progress")
rich_console = pytest.importorskip("rich.console")


async def numbers() -> AsyncIterator[int]:
    for i in range(3):
        yield i


def plain(x: int) -> int:
    return x


async def test_a_sized_input_gives_the_total() -> None:
    for items in ([1, 2, 3], range(3), {"a": 1, "b": 2, "c": 3}, (1, 2, 3)):
        async with Task.async_stream(items, reply) as stream:
            assert stream.total == 3 and len(stream) == 3
            assert operator.length_hint(stream) == 3
            assert len([r async for r in stream]) == 3
    async with (
        TaskSupervisor() as sup,
        TaskSupervisor.async_stream_nolink(sup, range(5), reply) as supervised,
    ):
        assert supervised.total == 5
        assert len([r async for r in supervised]) == 5


async def test_an_unsized_input_has_no_total_and_the_stream_stays_true() -> None:
    for items in ((i for i in range(3)), numbers()):
        async with Task.async_stream(items, reply) as stream:
            assert stream.total is None
            assert operator.length_hint(stream, -1) == -1
            with pytest.raises(TypeError, match="no known length"):
                len(stream)
            assert bool(stream)  # `if stream:` never asks its length
            assert len([r async for r in stream]) == 3
    async with Task.async_stream([], reply) as empty:
        assert empty.total == 0 and bool(empty)


async def test_tqdm_shows_the_total_of_an_async_stream() -> None:
    out = io.StringIO()
    async with Task.async_stream(range(7), reply) as stream:
        async for _ in tqdm_asyncio.tqdm(stream, file=out, mininterval=0):
            pass
    assert re.search(r"\b7/7\b", out.getvalue())


def test_tqdm_and_rich_show_the_total_of_a_blocking_stream() -> None:
    with blocking.Task.async_stream(range(4), plain) as stream:
        assert stream.total == 4 and len(stream) == 4 and operator.length_hint(stream) == 4
        out = io.StringIO()
        assert len(list(tqdm_std.tqdm(stream, file=out, mininterval=0))) == 4
    assert re.search(r"\b4/4\b", out.getvalue())
    with blocking.Task.async_stream(range(6), plain) as stream:
        text = io.StringIO()
        console = rich_console.Console(file=text, width=80, force_terminal=False)
        with rich_progress.Progress(
            rich_progress.MofNCompleteColumn(), console=console, auto_refresh=False
        ) as progress:
            for _ in progress.track(stream):
                pass
            [task] = progress.tasks
            assert task.total == 6 and task.completed == 6
    assert "6/6" in text.getvalue()
    with blocking.Task.async_stream((i for i in range(2)), plain) as unsized:
        assert unsized.total is None and operator.length_hint(unsized, -1) == -1
        assert bool(unsized) and len(list(unsized)) == 2
