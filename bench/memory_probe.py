"""Idle memory per task, for ONE system, in this (fresh) process; prints one JSON line.

    python bench/memory_probe.py SYSTEM N METHOD

SYSTEM: asyncio | taskvisor | asyncio+uvloop | taskvisor+uvloop | anyio | trio, and for the
        gc method also asyncio-list (create_task, held in a list only),
        taskvisor-start_child (TaskSupervisor.start_child under one supervisor) and
        taskvisor-async_ (Task.async_); "asyncio" is create_task with a strong-reference
        set, "taskvisor" is Task.start
METHOD: tracemalloc (bytes the Python allocator holds for the N tasks, traced from just
        before the spawn until all N are blocked), rss (resident set size delta,
        /proc/self/statm, in a run without tracemalloc) or gc (objects tracked by the cyclic
        garbage collector, len(gc.get_objects()), in a run without tracemalloc).

Each system first runs the same path with 200 tasks (warm-up, so one-time allocations such as
code caches and free lists are not charged to the N tasks), then collects garbage, takes a
baseline, starts N tasks that each block on one shared event, waits until all are blocked,
collects garbage again and measures. GC stays enabled throughout. The JSON line has
``bytes_per_task`` (for gc: ``objects_per_task``, and ``types``: the same delta per type,
for the types with at least 0.5 per task), the delta divided by N.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import sys
import tracemalloc
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: peak RSS is the best we have
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _type_name(o: object) -> str:
    t = type(o)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def main() -> None:
    system, n, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    samples: list[int] = []
    by_type: list[collections.Counter[str]] = []

    def measure() -> None:
        gc.collect()
        if method == "tracemalloc":
            if not tracemalloc.is_tracing():
                tracemalloc.start()
            samples.append(tracemalloc.get_traced_memory()[0])
        elif method == "gc":
            # The count by type comes before the baseline count and after the final one, so
            # that what counting allocates stays out of the delta (but the first Counter).
            if not samples:
                by_type.append(collections.Counter(map(_type_name, gc.get_objects())))
            samples.append(len(gc.get_objects()))
            if len(samples) == 2:
                by_type.append(collections.Counter(map(_type_name, gc.get_objects())))
        elif method == "rss":
            samples.append(rss_bytes())
        else:
            raise SystemExit(f"unknown method {method!r}")

    loop = "uvloop" if system.endswith("+uvloop") else "asyncio"
    if system in ("asyncio", "asyncio+uvloop"):
        from systems import asyncio_bare

        asyncio_bare.idle(n, measure, loop=loop)
    elif system == "asyncio-list":
        from systems import asyncio_bare

        asyncio_bare.idle(n, measure, how="list")
    elif system in ("taskvisor", "taskvisor+uvloop"):
        from systems import taskvisor_sys

        taskvisor_sys.idle(n, measure, loop=loop)
    elif system in ("taskvisor-start_child", "taskvisor-async_"):
        from systems import taskvisor_sys

        taskvisor_sys.idle(n, measure, how=system.split("-", 1)[1])
    elif system == "anyio":
        from systems import anyio_sys

        anyio_sys.idle(n, measure)
    elif system == "trio":
        from systems import trio_sys

        trio_sys.idle(n, measure)
    else:
        raise SystemExit(f"unknown system {system!r}")
    if method == "tracemalloc":
        tracemalloc.stop()
    before, after = samples
    out: dict[str, Any] = {"system": system, "n": n, "method": method}
    if method == "gc":
        out["objects_per_task"] = (after - before) / n
        delta = by_type[1] - by_type[0]
        out["types"] = {t: k / n for t, k in delta.most_common() if k >= n / 2}
    else:
        out["bytes_per_task"] = (after - before) / n
    print(json.dumps(out))


if __name__ == "__main__":
    main()
