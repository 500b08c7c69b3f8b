"""Idle memory per task, for ONE system, in this (fresh) process; prints one JSON line.

    python bench/memory_probe.py SYSTEM N METHOD

SYSTEM: asyncio | taskvisor | asyncio+uvloop | taskvisor+uvloop | anyio | trio
METHOD: tracemalloc (bytes the Python allocator holds for the N tasks, traced from just
        before the spawn until all N are blocked) or rss (resident set size delta,
        /proc/self/statm, in a run without tracemalloc).

Each system first runs the same path with 200 tasks (warm-up, so one-time allocations such as
code caches and free lists are not charged to the N tasks), then collects garbage, takes a
baseline, starts N tasks that each block on one shared event, waits until all are blocked,
collects garbage again and measures. GC stays enabled throughout.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: peak RSS is the best we have
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def main() -> None:
    system, n, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    samples: list[int] = []

    def measure() -> None:
        gc.collect()
        if method == "tracemalloc":
            if not tracemalloc.is_tracing():
                tracemalloc.start()
            samples.append(tracemalloc.get_traced_memory()[0])
        else:
            samples.append(rss_bytes())

    if system in ("asyncio", "asyncio+uvloop"):
        from systems import asyncio_bare as mod

        mod.idle(n, measure, loop="uvloop" if system.endswith("uvloop") else "asyncio")
    elif system in ("taskvisor", "taskvisor+uvloop"):
        from systems import taskvisor_sys as mod

        mod.idle(n, measure, loop="uvloop" if system.endswith("uvloop") else "asyncio")
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
    print(
        json.dumps(
            {"system": system, "n": n, "method": method, "bytes_per_task": (after - before) / n}
        )
    )


if __name__ == "__main__":
    main()
