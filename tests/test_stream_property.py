"""Properties of `Task.async_stream` over random inputs (hypothesis).

Each item is ``(index, behaviour)``: return at once, crash, hang past the timeout (it waits on
an event that never fires), or finish after a few ``sleep(0)``s. The consumer traps exits, so
a crash is emitted as ``Exit`` instead of taking the consumer down. Only hanging items ever
meet the (short) timeout; every other item ends within a few loop turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from support import SAFETY
from taskvisor import Exit, Ok, Pid, Process, Task
from taskvisor.testing import reset_process_table

TIMEOUT = 0.05
"""Per-task timeout: only hanging items reach it."""


Item = tuple[int, tuple[Any, ...]]

behaviours = st.one_of(
    st.just(("return",)),
    st.just(("crash",)),
    st.just(("hang",)),
    st.integers(min_value=1, max_value=4).map(lambda n: ("slow", n)),
)
non_hanging = st.one_of(
    st.just(("return",)),
    st.just(("crash",)),
    st.integers(min_value=1, max_value=4).map(lambda n: ("slow", n)),
)


async def run_item(item: Item) -> Item:
    index, behaviour = item
    kind = behaviour[0]
    if kind == "crash":
        raise RuntimeError(f"crash {index}")
    if kind == "hang":
        await asyncio.Event().wait()
    if kind == "slow":
        for _ in range(behaviour[1]):
            await asyncio.sleep(0)
    return item


def run_in_fresh_loop(main: Any) -> Any:
    """`asyncio.run(main)`, then the harness's check: no process may be left in the table."""
    try:
        return asyncio.run(main)
    finally:
        leftover = reset_process_table()
        assert not leftover, f"processes left in the table: {leftover}"


def item_of(result: Ok[Any] | Exit) -> Item:
    """The input a result belongs to: returned by Ok, zipped into Exit."""
    if isinstance(result, Ok):
        return result.value  # type: ignore[no-any-return]
    item, _reason = result.reason
    return item  # type: ignore[no-any-return]


def check_result(item: Item, result: Ok[Any] | Exit) -> None:
    index, behaviour = item
    kind = behaviour[0]
    if kind in ("return", "slow"):
        assert result == Ok(item)
    elif kind == "crash":
        assert isinstance(result, Exit), result
        zipped, reason = result.reason
        assert zipped == item
        assert isinstance(reason, RuntimeError) and str(reason) == f"crash {index}"
    else:
        assert result == Exit((item, "timeout"))


# -- one result per input, in order when ordered ------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(behaviours, max_size=10),
    max_concurrency=st.integers(min_value=1, max_value=8),
    ordered=st.booleans(),
    waits=st.none() | st.lists(st.booleans(), min_size=10, max_size=10),
)
def test_one_result_per_input_with_the_right_outcome(
    kinds: list[tuple[Any, ...]], max_concurrency: int, ordered: bool, waits: list[bool] | None
) -> None:
    """`waits`: None for a list as input, else an async input that waits (a loop turn)
    before the items marked True."""
    items: list[Item] = list(enumerate(kinds))

    async def async_input() -> AsyncIterator[Item]:
        assert waits is not None
        for item, wait in zip(items, waits, strict=False):
            if wait:
                await asyncio.sleep(0)
            yield item

    async def consume() -> list[Ok[Any] | Exit]:
        Process.flag("trap_exit", True)
        results: list[Ok[Any] | Exit] = []
        stream = Task.async_stream(
            items if waits is None else async_input(),
            run_item,
            max_concurrency=max_concurrency,
            ordered=ordered,
            timeout=TIMEOUT,
            on_timeout="kill_task",
            zip_input_on_exit=True,
        )
        async with stream:
            async for result in stream:
                results.append(result)
        return results

    results = run_in_fresh_loop(consume())
    assert len(results) == len(items)
    got = [item_of(r) for r in results]
    if ordered:
        assert got == items
    else:
        assert sorted(got) == items
    for result in results:
        check_result(item_of(result), result)


# -- leaving early ------------------------------------------------------------------------


async def _take_then_close(
    items: list[Item], max_concurrency: int, ordered: bool, k: int, timeout: float | None
) -> tuple[int, int, list[Pid]]:
    """Take k results, break, aclose(); return (#pulled, #taken, pids still alive)."""
    Process.flag("trap_exit", True)
    pulled: list[Item] = []
    started: list[Pid] = []

    def source() -> Iterator[Item]:
        for item in items:
            pulled.append(item)
            yield item

    async def fn(item: Item) -> Item:
        started.append(Process.self())
        return await run_item(item)

    stream = Task.async_stream(
        source(),
        fn,
        max_concurrency=max_concurrency,
        ordered=ordered,
        timeout=timeout,
        on_timeout="kill_task",
        zip_input_on_exit=True,
    )
    taken = 0
    async with asyncio.timeout(SAFETY):  # a safety net: a correct run ends long before
        async for _result in stream:
            taken += 1
            if taken >= k:
                break
        await stream.aclose()
    still_alive = [pid for pid in started if Process.alive(pid)]
    assert len(started) <= len(pulled)
    return len(pulled), taken, still_alive


def obtainable(kinds: list[tuple[Any, ...]], max_concurrency: int) -> int:
    """Results an unordered stream can give when hanging items never end (no timeout).

    Items start in input order and only a finished task frees its slot, so the stream stalls
    once `max_concurrency` hanging tasks hold every slot.
    """
    hanging = results = 0
    for kind in kinds:
        if kind[0] == "hang":
            hanging += 1
            if hanging == max_concurrency:
                break
        else:
            results += 1
    return results


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(behaviours, min_size=1, max_size=12),
    max_concurrency=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_break_after_k_results_starts_at_most_k_plus_max_concurrency_tasks(
    kinds: list[tuple[Any, ...]], max_concurrency: int, data: st.DataObject
) -> None:
    """Unordered, no timeout: input is pulled only while no result is ready.

    When the k-th result is awaited, k - 1 were returned and at most `max_concurrency` run,
    so at most k - 1 + max_concurrency items were ever pulled (within the k +
    max_concurrency of the contract). Hanging items never end by themselves here: only
    aclose() can stop them, and it must do so before it returns.
    """
    can_take = obtainable(kinds, max_concurrency)
    assume(can_take >= 1)
    items: list[Item] = list(enumerate(kinds))
    k = data.draw(st.integers(min_value=1, max_value=can_take), label="k")
    pulled, taken, still_alive = run_in_fresh_loop(
        _take_then_close(items, max_concurrency, False, k, None)
    )
    assert taken == k
    assert pulled <= k - 1 + max_concurrency
    assert still_alive == [], "aclose() returned while tasks of the stream were alive"


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=20),
    max_concurrency=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_break_after_k_in_order_when_tasks_finish_in_order(
    n: int, max_concurrency: int, data: st.DataObject
) -> None:
    """Ordered, with tasks that finish in input order (nothing waits behind a slow head)."""
    items: list[Item] = [(i, ("return",)) for i in range(n)]
    k = data.draw(st.integers(min_value=1, max_value=n), label="k")
    pulled, taken, still_alive = run_in_fresh_loop(
        _take_then_close(items, max_concurrency, True, k, TIMEOUT)
    )
    assert taken == k
    assert pulled <= k - 1 + max_concurrency
    assert still_alive == []


@settings(max_examples=30, deadline=None)
@given(
    kinds=st.lists(non_hanging, min_size=1, max_size=12),
    max_concurrency=st.integers(min_value=1, max_value=8),
    ordered=st.booleans(),
    data=st.data(),
)
def test_aclose_after_any_prefix_leaves_no_task_alive(
    kinds: list[tuple[Any, ...]], max_concurrency: int, ordered: bool, data: st.DataObject
) -> None:
    """Ordered or not, closing early kills every running task before aclose() returns."""
    items: list[Item] = list(enumerate(kinds))
    k = data.draw(st.integers(min_value=1, max_value=len(items)), label="k")
    _pulled, taken, still_alive = run_in_fresh_loop(
        _take_then_close(items, max_concurrency, ordered, k, TIMEOUT)
    )
    assert taken == k
    assert still_alive == []
