"""Step 3: ``Task.async_stream`` over requests to a local stand-in of the Daily.co API.

Ordered results, a per-item timeout that kills a hanging request, results in completion
order with ``ordered=False``, and a concurrency bound seen from the service's side.
"""

from __future__ import annotations

from typing import Any

from taskvisor import Ok, Task

from ._daily import DailyClient
from ._narrate import Narrator
from ._service import DailyService
from ._step import Step

__all__ = ["STEP"]


async def run(say: Narrator) -> None:
    async with DailyService() as service:
        say.say(f"stand-in Daily service listening on 127.0.0.1:{service.port}")
        daily = DailyClient(service.port)
        await _ordered(say, daily)
        await _timeout(say, daily)
        await _unordered(say, daily)
        await _bounded(say, daily, service)
    say.say("stand-in service stopped; its sockets are closed")


async def _ordered(say: Narrator, daily: DailyClient) -> None:
    async def create_daily_room(_: int) -> dict[str, Any]:
        return await daily.create_room()

    rooms = [r async for r in Task.async_stream(range(1, 3), create_daily_room)]
    say.say("results, in input order:")
    for room in rooms:
        say.note(repr(room))


async def _timeout(say: Narrator, daily: DailyClient) -> None:
    say.part(
        "a request that hangs is killed after its own timeout; the others succeed",
        "Task.async_stream(paths, &create_room/1, timeout: 1000, on_timeout: :kill_task)",
        'Task.async_stream(paths, daily.create_room, timeout=1.0, on_timeout="kill_task")',
    )
    paths = ["/rooms", "/rooms/hang", "/rooms/slow"]
    say.restart_clock()
    stream = Task.async_stream(
        paths, daily.create_room, max_concurrency=3, timeout=1.0, on_timeout="kill_task"
    )
    results = [r async for r in stream]
    for path, result in zip(paths, results, strict=True):
        say.say(f"POST {path:<12} -> {result!r}")


async def _unordered(say: Narrator, daily: DailyClient) -> None:
    say.part(
        "ordered=False: results in completion order",
        "Task.async_stream(delays, &room_after/1, ordered: false)",
        "Task.async_stream(delays, room_after, ordered=False)",
    )

    async def room_after(delay: float) -> str:
        room = await daily.create_room(f"/rooms?delay={delay}")
        return f"{room['name']} (took {delay}s)"

    say.restart_clock()
    delays = [0.3, 0.1, 0.2]
    async with Task.async_stream(delays, room_after, ordered=False, max_concurrency=3) as stream:
        async for result in stream:
            say.say(f"arrived: {result!r}")


async def _bounded(say: Narrator, daily: DailyClient, service: DailyService) -> None:
    say.part(
        "max_concurrency=2: at most two requests at a time",
        "Task.async_stream(1..6, fn _ -> create_room() end, max_concurrency: 2)",
        "Task.async_stream(range(6), create_room, max_concurrency=2)",
    )

    async def create_room(_: int) -> str:
        room = await daily.create_room("/rooms?delay=0.1")
        return str(room["name"])

    service.reset_peak()
    say.restart_clock()
    results = [r async for r in Task.async_stream(range(6), create_room, max_concurrency=2)]
    names = [r.value if isinstance(r, Ok) else r for r in results]
    say.say(f"{len(results)} rooms: {names}")
    say.note(f"the service saw at most {service.peak} requests at once")


STEP = Step(
    title="Concurrent requests with Task.async_stream",
    elixir="""
        1..2 |> Task.async_stream(fn _ -> DailyHelper.createDailyRoom() end) |> Enum.to_list()
        #=> [{:ok, %{...}}, {:ok, %{...}}]
    """,
    python="""
        [r async for r in Task.async_stream(range(1, 3), create_daily_room)]
        #=> [Ok(value={...}), Ok(value={...})]
    """,
    run=run,
)
