"""What telemetry costs the spawn path: spawn + await with no handler, with a no-op handler
attached to the task events, and after detaching it, in turns (issue 13).

    .venv/bin/python bench/telemetry.py [--n 10000] [--rounds 7]

Each round times ``Task.async_`` + ``Task.await_many`` of N tasks that return at once (100
at a time) three ways, one after the other in this interpreter: **none** (no handler: the
plain wrapper), **no-op handler** (a handler that does nothing, attached to
``("taskvisor", "task", "start" | "stop" | "exception")``: the observed wrapper, the
metadata and the calls), and **detached** (the same handler detached again: the plain
wrapper swapped back). The table shows medians in microseconds per task and the ratio to
"none". The cost of "none" against the core before telemetry is measured by
``bench/ab_stream.py --base <rev> --case windows`` (the base's ``src/`` in a fresh
interpreter), since one interpreter cannot hold both. Target: "none" and "detached" within
2 % of each other and of the base.

It then times supervised spawn + await without and with `taskvisor.contrib.opentelemetry`'s
spans (if opentelemetry-sdk is installed: the SDK's simple processor and in-memory exporter),
and a look at the tree: ``taskvisor.tree()`` and ``format_tree()`` with one
`TaskSupervisor` holding `--children` running children (10,000 by default), the cost of
calling them from a health endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

from taskvisor import Task, TaskSupervisor, format_tree, telemetry, tree

TASK_EVENTS = [("taskvisor", "task", end) for end in ("start", "stop", "exception")]


async def work(i: int) -> int:
    return i


def spawn_await(n: int) -> float:
    async def main() -> float:
        gc.collect()
        start = time.perf_counter()
        for first in range(0, n, 100):
            await Task.await_many([Task.async_(work, i) for i in range(first, first + 100)])
        return (time.perf_counter() - start) / n * 1e6

    return asyncio.run(main())


def no_op(event: tuple[str, ...], measurements: dict[str, Any], metadata: dict[str, Any]) -> None:
    pass


def supervised_spawn_await(n: int) -> float:
    """The same under a TaskSupervisor (its children are what OpenTelemetry spans by default)."""

    async def main() -> float:
        gc.collect()
        async with TaskSupervisor() as sup:
            start = time.perf_counter()
            for first in range(0, n, 100):
                tasks = [TaskSupervisor.async_(sup, work, i) for i in range(first, first + 100)]
                await Task.await_many(tasks)
            return (time.perf_counter() - start) / n * 1e6

    return asyncio.run(main())


def with_spans(n: int, rounds: int) -> tuple[float, float] | None:
    """Median us per supervised task without and with taskvisor.contrib.opentelemetry's
    spans (the SDK, a simple processor, an in-memory exporter), or None without the SDK."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from taskvisor.contrib import opentelemetry as taskvisor_otel
    except ImportError:
        return None
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    plain, spanned = [], []
    for _ in range(rounds):
        plain.append(supervised_spawn_await(n))
        instrumentation = taskvisor_otel.instrument(tracer_provider=provider)
        spanned.append(supervised_spawn_await(n))
        instrumentation.uninstrument()
        exporter.clear()
    return statistics.median(plain), statistics.median(spanned)


def look_at_the_tree(children: int, rounds: int) -> tuple[float, float]:
    """Median milliseconds of tree() and of format_tree() with `children` running."""

    async def main() -> tuple[float, float]:
        held = asyncio.Event()
        async with TaskSupervisor(name="Bench.Tree") as sup:
            for _ in range(children):
                TaskSupervisor.start_child(sup, held.wait)
            await asyncio.sleep(0)
            snapshots, texts = [], []
            for _ in range(rounds):
                start = time.perf_counter()
                roots = tree()
                snapshots.append((time.perf_counter() - start) * 1e3)
                start = time.perf_counter()
                format_tree(roots)
                texts.append((time.perf_counter() - start) * 1e3)
            assert sum(len(r.children) for r in roots) == children
            held.set()
        return statistics.median(snapshots), statistics.median(texts)

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--children", type=int, default=10_000)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {"none": [], "no-op handler": [], "detached": []}
    spawn_await(args.n // 10)  # warm up
    for _ in range(args.rounds):
        samples["none"].append(spawn_await(args.n))
        telemetry.attach_many("bench", TASK_EVENTS, no_op)
        samples["no-op handler"].append(spawn_await(args.n))
        telemetry.detach("bench")
        samples["detached"].append(spawn_await(args.n))
    none = statistics.median(samples["none"])
    print(
        f"# python bench/telemetry.py --n {args.n} --rounds {args.rounds} "
        f"--children {args.children}"
    )
    print("spawn + await_many, 100 at a time (median us per task):")
    for name, values in samples.items():
        us = statistics.median(values)
        print(f"  {name:<16} {us:7.2f} us  {us / none:5.2f}x none")
    spans = with_spans(args.n, args.rounds)
    if spans is None:
        print("OpenTelemetry spans: opentelemetry-sdk is not installed, skipped")
    else:
        plain, spanned = spans
        print("supervised spawn + await_many, OpenTelemetry spans (median us per task):")
        print(f"  no instrumentation {plain:7.2f} us")
        print(f"  a span per task    {spanned:7.2f} us  {spanned / plain:5.2f}x")
    snapshot, text = look_at_the_tree(args.children, args.rounds)
    print(f"a look at the tree, {args.children} children (median ms):")
    print(f"  tree()           {snapshot:7.1f} ms")
    print(f"  format_tree()    {text:7.1f} ms (of the snapshot)")


if __name__ == "__main__":
    main()
