"""cProfile the taskvisor workloads (and their bare-asyncio baselines) at N=10_000.

    .venv/bin/python bench/profile_taskvisor.py WORKLOAD [ret|sleep0] [N]

WORKLOAD: spawn | stream | stream5 | start | start_child | stream_thread (a plain function
on the thread pool; its baseline is the run_in_executor window).

Prints the top functions by self time (tottime). cProfile inflates Python-level call
overhead, so read the ranking, not the absolute numbers; compare with the same profile of
the bare-asyncio baseline (printed second).
"""

from __future__ import annotations

import cProfile
import gc
import os
import pstats
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from systems import asyncio_bare, taskvisor_sys

Case = Callable[[int, str], float]
CASES: dict[str, tuple[Case, Case]] = {
    "spawn": (taskvisor_sys.spawn, asyncio_bare.spawn),
    "stream": (lambda n, v: taskvisor_sys.stream(n, v, timeout=None), asyncio_bare.stream),
    "stream5": (
        lambda n, v: taskvisor_sys.stream(n, v, timeout=5.0),
        lambda n, v: asyncio_bare.stream(n, v, timeout=5.0),
    ),
    "start": (taskvisor_sys.start, asyncio_bare.start),
    "start_child": (taskvisor_sys.start_child, asyncio_bare.start_child),
    "stream_thread": (taskvisor_sys.stream_thread, asyncio_bare.stream_thread),
}


def main() -> None:
    workload = sys.argv[1] if len(sys.argv) > 1 else "spawn"
    variant = sys.argv[2] if len(sys.argv) > 2 else "ret"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
    top = int(os.environ.get("TOP", "18"))
    for name, fn in zip(("taskvisor", "bare asyncio"), CASES[workload], strict=True):
        fn(n, variant)  # warm-up
        gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        fn(n, variant)
        prof.disable()
        print(f"=== {name}: {workload} [{variant}] N={n:,} ===")
        stats = pstats.Stats(prof).sort_stats("tottime")
        stats.print_stats(top)


if __name__ == "__main__":
    main()
