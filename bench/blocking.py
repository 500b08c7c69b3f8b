"""The blocking API against the sync peers, side by side in one run (issue 10, item 8).

    .venv/bin/python bench/blocking.py [--calls N] [--rounds R] [--items N] [--out DIR]

Round trips from a plain thread, microseconds per call (median of R rounds of N calls, the
systems taking turns within each round so that drift hits them alike):
- ``concurrent.futures``: ``ThreadPoolExecutor(1).submit(f).result()``, the floor;
- taskvisor.blocking: ``Task.await_(Task.async_(f))`` with a coroutine function and with a
  plain function;
- anyio: ``BlockingPortal.call(f)`` (a portal started once), coroutine and plain;
- asgiref: ``async_to_sync(f)()`` (coroutine only; it runs ``asyncio.run`` per call with no
  outer loop);
- asyncio: ``run_coroutine_threadsafe(f(), loop).result()`` on a loop in a thread.

Streams, microseconds per item: taskvisor.blocking's ``for r in Task.async_stream(...)``
against the asyncio API's ``async for`` over the same stream on its own loop (coroutine
function, and a plain function on the thread pool), at ``max_concurrency`` 4 and 100.

Targets: both taskvisor round trips <= 1.3x the thread pool; the blocking stream <= 1.2x the
asyncio stream per item. Prints the table and the verdicts, and writes both to
``bench/results/blocking-pythonX.Y.txt`` and ``.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import taskvisor
from taskvisor import blocking

ROUND_TRIP_LIMIT = 1.3
STREAM_LIMIT = 1.2


async def coro_fn(x: int) -> int:
    return x


def plain_fn(x: int) -> int:
    return x


def per_call(fn: Callable[[], object], n: int) -> float:
    """Microseconds per call of `fn`, over `n` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


@contextlib.contextmanager
def round_trip_systems() -> Iterator[dict[str, Callable[[], object]]]:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
    loop_thread.start()
    systems: dict[str, Callable[[], object]] = {
        "concurrent.futures submit().result()": lambda: pool.submit(plain_fn, 1).result(),
        "taskvisor.blocking await_(async_(coroutine fn))": lambda: blocking.Task.await_(
            blocking.Task.async_(coro_fn, 1)
        ),
        "taskvisor.blocking await_(async_(plain fn))": lambda: blocking.Task.await_(
            blocking.Task.async_(plain_fn, 1)
        ),
        "asyncio run_coroutine_threadsafe().result()": lambda: asyncio.run_coroutine_threadsafe(
            coro_fn(1), loop
        ).result(),
    }
    with contextlib.ExitStack() as stack:
        try:
            from anyio.from_thread import start_blocking_portal

            portal = stack.enter_context(start_blocking_portal())
            systems["anyio BlockingPortal.call(coroutine fn)"] = lambda: portal.call(coro_fn, 1)
            systems["anyio BlockingPortal.call(plain fn)"] = lambda: portal.call(plain_fn, 1)
        except ImportError:
            pass
        try:
            from asgiref.sync import async_to_sync

            to_sync = async_to_sync(coro_fn)
            systems["asgiref async_to_sync(coroutine fn)()"] = lambda: to_sync(1)
        except ImportError:
            pass
        try:
            yield systems
        finally:
            pool.shutdown()
            loop.call_soon_threadsafe(loop.stop)
            loop_thread.join()
            loop.close()


def round_trips(calls: int, rounds: int) -> dict[str, float]:
    with round_trip_systems() as systems:
        for fn in systems.values():  # warm up: pools, portals, the blocking loop
            per_call(fn, max(10, calls // 10))
        samples: dict[str, list[float]] = {name: [] for name in systems}
        for _ in range(rounds):
            for name, fn in systems.items():
                samples[name].append(per_call(fn, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def blocking_stream(fn: Callable[[int], Any], n: int, concurrency: int) -> float:
    start = time.perf_counter()
    with blocking.Task.async_stream(range(n), fn, max_concurrency=concurrency) as results:
        for _ in results:
            pass
    return (time.perf_counter() - start) / n * 1e6


def asyncio_stream(fn: Callable[[int], Any], n: int, concurrency: int) -> float:
    async def main() -> float:
        start = time.perf_counter()
        stream = taskvisor.Task.async_stream(range(n), fn, max_concurrency=concurrency)
        async with stream:
            async for _ in stream:
                pass
        return (time.perf_counter() - start) / n * 1e6

    return asyncio.run(main())


def streams(items: int, rounds: int) -> dict[str, float]:
    cases = {}
    for concurrency in (4, 100):
        for label, fn in (("coroutine fn", coro_fn), ("plain fn", plain_fn)):
            cases[f"blocking stream, {label}, concurrency {concurrency}"] = (
                blocking_stream,
                fn,
                concurrency,
            )
            cases[f"asyncio stream, {label}, concurrency {concurrency}"] = (
                asyncio_stream,
                fn,
                concurrency,
            )
    for run, fn, concurrency in cases.values():  # warm up
        run(fn, max(100, items // 10), concurrency)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (run, fn, concurrency) in cases.items():
            samples[name].append(run(fn, items, concurrency))
    return {name: statistics.median(values) for name, values in samples.items()}


def report(trips: dict[str, float], flows: dict[str, float], args: argparse.Namespace) -> str:
    lines = [
        f"# taskvisor.blocking, {platform.python_implementation()} {platform.python_version()}"
        f" on {platform.machine()}, {time.strftime('%Y-%m-%d')}",
        f"# python bench/blocking.py --calls {args.calls} --rounds {args.rounds} "
        f"--items {args.items}",
        "",
        "round trips from a plain thread (median us per call):",
    ]
    floor = trips["concurrent.futures submit().result()"]
    for name, us in trips.items():
        lines.append(f"  {name:<52} {us:8.1f} us  {us / floor:5.2f}x the thread pool")
    lines += ["", "streams (median us per item):"]
    for name, us in flows.items():
        lines.append(f"  {name:<52} {us:8.1f} us")
    lines += ["", "targets:"]
    for label in ("coroutine fn", "plain fn"):
        ratio = trips[f"taskvisor.blocking await_(async_({label}))"] / floor
        ok = ratio <= ROUND_TRIP_LIMIT
        lines.append(
            f"  {'PASS' if ok else 'FAIL'}  await_(async_({label})) {ratio:5.2f}x "
            f"submit().result() (limit {ROUND_TRIP_LIMIT}x)"
        )
    for name, us in flows.items():
        if not name.startswith("blocking"):
            continue
        base = flows[name.replace("blocking stream", "asyncio stream")]
        ratio = us / base
        ok = ratio <= STREAM_LIMIT
        lines.append(
            f"  {'PASS' if ok else 'FAIL'}  {name} {ratio:5.2f}x the asyncio stream "
            f"(limit {STREAM_LIMIT}x)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--items", type=int, default=5000, help="items per stream run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    trips = round_trips(args.calls, args.rounds)
    flows = streams(args.items, args.rounds)
    text = report(trips, flows, args)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"blocking-python{sys.version_info[0]}.{sys.version_info[1]}"
    (out / f"{stem}.txt").write_text(text + "\n")
    (out / f"{stem}.json").write_text(
        json.dumps({"round_trips_us": trips, "streams_us_per_item": flows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
