"""`taskvisor.ray` against raw Ray, side by side in one run (issue 11, item 6; issue 12).

    .venv/bin/python bench/ray_node.py [--calls N] [--rounds R] [--items N] [--out DIR]

Starts a local Ray (``ray.init(num_cpus=2)``) and measures, the systems taking turns within
each round so that drift hits them alike:

- round trips, microseconds per call (median of R rounds of N sequential calls):
  ``ray.get(f.remote())`` (raw Ray, from a plain thread), ``await f.remote()`` (raw Ray from
  asyncio), and taskvisor's ``await Task.await_(Task.async_(f, executor=RayNode()))``;
- stream throughput, items per second (median of R rounds of N items, 4 in flight):
  raw Ray's ``ray.wait`` loop keeping 4 refs in flight, and taskvisor's
  ``Task.async_stream(items, f, executor=RayNode(), max_concurrency=4)``.

- remote supervisors (issue 12), microseconds per call: a raw Ray async actor call that runs
  the function it is sent (``await actor.call.remote(f, i)``, the floor for anything run in
  a long-lived actor), and taskvisor's ``await Task.await_(TaskSupervisor.async_((SUP,
  "head"), f, i))``, whose child runs under the supervisor of the taskvisor node "head"
  (`start_node`, a node actor on this Ray node, labelled ``taskvisor-node=head``); for a
  coroutine function (both run it on the actor's loop) and for a plain one (the raw actor
  runs it inline, blocking its loop; taskvisor runs it in a thread there, as everywhere).

Targets: taskvisor's round trip <= 1.3x raw Ray's ``ray.get(f.remote())``, and the remote
supervised round trip <= 1.3x the raw actor call. Prints the tables and the verdicts, and
writes both to ``bench/results/ray-pythonX.Y.txt`` and ``.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray

from taskvisor import Task, TaskSupervisor
from taskvisor.ray import NODE_LABEL, RayNode, start_node, stop_node

ROUND_TRIP_LIMIT = 1.3
IN_FLIGHT = 4


def noop(x: int) -> int:
    return x


raw_noop = ray.remote(num_cpus=1, max_retries=0)(noop)

SUP = "Bench.TaskSupervisor"


async def async_noop(x: int) -> int:
    return x


@ray.remote(num_cpus=0)
class Runner:
    """A raw async actor that runs the function it is sent, as a node actor does: a
    coroutine function on its loop, a plain one inline (taskvisor runs it in a thread)."""

    async def call(self, fn: Callable[[int], Any], x: int) -> Any:
        value = fn(x)
        return await value if asyncio.iscoroutine(value) else value


def raw_get(calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        ray.get(raw_noop.remote(i))
    return (time.perf_counter() - start) / calls * 1e6


def raw_await(calls: int) -> float:
    async def main() -> float:
        start = time.perf_counter()
        for i in range(calls):
            await raw_noop.remote(i)
        return (time.perf_counter() - start) / calls * 1e6

    return asyncio.run(main())


def taskvisor_await(calls: int) -> float:
    node = RayNode()

    async def main() -> float:
        start = time.perf_counter()
        for i in range(calls):
            await Task.await_(Task.async_(noop, i, executor=node), timeout=None)
        return (time.perf_counter() - start) / calls * 1e6

    return asyncio.run(main())


def raw_actor_await(fn: Callable[[int], Any]) -> Callable[[int], float]:
    def run(calls: int) -> float:
        runner = Runner.remote()  # type: ignore[attr-defined]

        async def main() -> float:
            await runner.call.remote(fn, -1)  # the actor is up
            start = time.perf_counter()
            for i in range(calls):
                await runner.call.remote(fn, i)
            return (time.perf_counter() - start) / calls * 1e6

        try:
            return asyncio.run(main())
        finally:
            ray.kill(runner)

    return run


def remote_supervised_await(fn: Callable[[int], Any]) -> Callable[[int], float]:
    def run(calls: int) -> float:
        async def main() -> float:
            start = time.perf_counter()
            for i in range(calls):
                await Task.await_(TaskSupervisor.async_((SUP, "head"), fn, i), timeout=None)
            return (time.perf_counter() - start) / calls * 1e6

        return asyncio.run(main())

    return run


def raw_wait_stream(items: int) -> float:
    start = time.perf_counter()
    pending = [raw_noop.remote(i) for i in range(min(IN_FLIGHT, items))]
    submitted = len(pending)
    done = 0
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        ray.get(ready)
        done += len(ready)
        while submitted < items and len(pending) < IN_FLIGHT:
            pending.append(raw_noop.remote(submitted))
            submitted += 1
    assert done == items
    return items / (time.perf_counter() - start)


def taskvisor_stream(items: int) -> float:
    node = RayNode()

    async def main() -> float:
        start = time.perf_counter()
        count = 0
        async for _ in Task.async_stream(
            range(items), noop, executor=node, max_concurrency=IN_FLIGHT, timeout=None
        ):
            count += 1
        assert count == items
        return items / (time.perf_counter() - start)

    return asyncio.run(main())


def measure(
    cases: dict[str, Callable[[int], float]], n: int, rounds: int, better: Callable[..., float]
) -> dict[str, float]:
    for run in cases.values():  # warm up: workers started, functions exported
        run(max(20, n // 10))
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            samples[name].append(run(n))
    return {name: better(values) for name, values in samples.items()}


REMOTE_CASES = {  # raw actor call, taskvisor's remote supervised call: for each function
    "async def f": (
        "raw Ray: await actor.call.remote(f, i), async def f",
        'taskvisor: await_(TaskSupervisor.async_((SUP, "head"), f, i))',
    ),
    "def f": (
        "raw Ray: the same, def f (run inline in the actor)",
        "taskvisor: the same, def f (run in a thread on the node)",
    ),
}


def report(
    trips: dict[str, float],
    flows: dict[str, float],
    remote: dict[str, float],
    args: argparse.Namespace,
) -> str:
    lines = [
        f"# taskvisor.ray against raw Ray {ray.__version__}, "
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.machine()}, {time.strftime('%Y-%m-%d')}, ray.init(num_cpus=2)",
        f"# python bench/ray_node.py --calls {args.calls} --rounds {args.rounds} "
        f"--items {args.items}",
        "",
        "round trips (median us per call):",
    ]
    floor = trips["raw Ray: ray.get(f.remote())"]
    for name, us in trips.items():
        lines.append(f"  {name:<58} {us:8.0f} us  {us / floor:5.2f}x ray.get")
    lines += ["", f"streams, {IN_FLIGHT} in flight (median items per second):"]
    raw = flows["raw Ray: ray.wait loop"]
    for name, rate in flows.items():
        lines.append(f"  {name:<58} {rate:8.0f} /s  {raw / rate:5.2f}x the time per item")
    lines += ["", "remote supervisors, a node actor on this Ray node (median us per call):"]
    ratios = {}
    for kind, (raw_name, taskvisor_name) in REMOTE_CASES.items():
        actor = remote[raw_name]
        for name in (raw_name, taskvisor_name):
            us = remote[name]
            lines.append(f"  {name:<62} {us:8.0f} us  {us / actor:5.2f}x the actor call")
        ratios[kind] = remote[taskvisor_name] / actor
    ratio = trips["taskvisor: await_(async_(f, executor=RayNode()))"] / floor
    lines += [
        "",
        "targets:",
        f"  {_verdict(ratio)}  round trip {ratio:5.2f}x ray.get(f.remote()) "
        f"(limit {ROUND_TRIP_LIMIT}x)",
    ]
    for kind, remote_ratio in ratios.items():
        lines.append(
            f"  {_verdict(remote_ratio)}  remote supervised round trip, {kind}: "
            f"{remote_ratio:5.2f}x the raw actor call (limit {ROUND_TRIP_LIMIT}x)"
        )
    return "\n".join(lines)


def _verdict(ratio: float) -> str:
    return "PASS" if ratio <= ROUND_TRIP_LIMIT else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--items", type=int, default=1000, help="items per stream run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, labels={NODE_LABEL: "head"})
    try:
        trips: dict[str, Any] = measure(
            {
                "raw Ray: ray.get(f.remote())": raw_get,
                "raw Ray: await f.remote()": raw_await,
                "taskvisor: await_(async_(f, executor=RayNode()))": taskvisor_await,
            },
            args.calls,
            args.rounds,
            statistics.median,
        )
        flows = measure(
            {
                "raw Ray: ray.wait loop": raw_wait_stream,
                "taskvisor: async_stream(executor=RayNode())": taskvisor_stream,
            },
            args.items,
            args.rounds,
            statistics.median,
        )
        asyncio.run(start_node("head", [TaskSupervisor.child_spec(name=SUP)]))
        cases: dict[str, Callable[[int], float]] = {}
        for fn, (raw_name, taskvisor_name) in zip(
            (async_noop, noop), REMOTE_CASES.values(), strict=True
        ):
            cases[raw_name] = raw_actor_await(fn)
            cases[taskvisor_name] = remote_supervised_await(fn)
        remote = measure(
            cases,
            args.calls,
            args.rounds,
            statistics.median,
        )
        asyncio.run(stop_node("head"))
    finally:
        ray.shutdown()
    text = report(trips, flows, remote, args)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"ray-python{sys.version_info[0]}.{sys.version_info[1]}"
    (out / f"{stem}.txt").write_text(text + "\n")
    (out / f"{stem}.json").write_text(
        json.dumps(
            {"round_trips_us": trips, "streams_per_s": flows, "remote_supervised_us": remote},
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
