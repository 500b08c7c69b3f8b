"""CPU-bound work on worker processes: taskvisor's ProcessPool against the peers.

    python bench/cpu.py            # alone (bench/run.py runs it too, in a fresh process)
    python bench/cpu.py --quick    # 3 rounds instead of 5

Workloads, every pool with 2 workers:
  map    64 items of ``sum(i * i for i in range(200_000))``: sequential in this process (the
         baseline), taskvisor ``Task.async_stream(items, burn, executor=ProcessPool(2),
         max_concurrency=2)``, ``concurrent.futures.ProcessPoolExecutor(2).map``, pebble
         ``ProcessPool(2).map``, and Elixir's ``Task.async_stream(max_concurrency: 2)`` on
         the same sum when ``elixir`` is installed (its own sequential run is its baseline)
  tiny   2,000 calls of a function that returns its argument: calls per second through
         each pool (taskvisor's stream with max_concurrency 2 and 64)
  start  a fresh pool until its first result (reported apart: the timed workloads above
         run on pools already started, one call per worker)

Each round runs every case once, the order rotating; the table shows the median of the
rounds. The functions live in an importable module (``systems/_cpu_bodies.py``), so every
pool pickles them by reference.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pebble  # noqa: E402
from systems._cpu_bodies import burn, ident  # noqa: E402

from taskvisor import Ok, ProcessPool, Task  # noqa: E402

WORKERS = 2
ITEMS = 64
N = 200_000
TINY = 2_000
SPEEDUP_TARGET = 1.8  # taskvisor map vs sequential
PEER_TARGET = 1.1  # taskvisor map per item vs ProcessPoolExecutor.map and pebble

# -- one measurement each: seconds ---------------------------------------------------------


def run_taskvisor(pool: ProcessPool, fn: Callable[[Any], Any], items: list[Any], c: int) -> float:
    async def main() -> float:
        started = time.perf_counter()
        results = [
            r
            async for r in Task.async_stream(
                items, fn, executor=pool, max_concurrency=c, timeout=None
            )
        ]
        elapsed = time.perf_counter() - started
        assert all(isinstance(r, Ok) for r in results)
        return elapsed

    return asyncio.run(main())


def run_cf(pool: concurrent.futures.ProcessPoolExecutor, fn: Any, items: list[Any]) -> float:
    started = time.perf_counter()
    list(pool.map(fn, items))
    return time.perf_counter() - started


def run_pebble(pool: pebble.ProcessPool, fn: Any, items: list[Any]) -> float:
    started = time.perf_counter()
    list(pool.map(fn, items).result())
    return time.perf_counter() - started


def run_sequential(items: list[int]) -> float:
    started = time.perf_counter()
    [burn(n) for n in items]
    return time.perf_counter() - started


# -- pools ---------------------------------------------------------------------------------

MAKERS: dict[str, Callable[[], Any]] = {
    "taskvisor": lambda: ProcessPool(WORKERS),
    "cf": lambda: concurrent.futures.ProcessPoolExecutor(WORKERS),
    "pebble": lambda: pebble.ProcessPool(max_workers=WORKERS),
}


def start_pool(name: str) -> tuple[Any, float]:
    """A fresh pool, and the seconds it took to its first result."""
    started = time.perf_counter()
    pool = MAKERS[name]()
    if name == "taskvisor":
        run_taskvisor(pool, ident, [1], 1)
    elif name == "cf":
        pool.submit(ident, 1).result()
    else:
        pool.schedule(ident, args=(1,)).result()
    return pool, time.perf_counter() - started


def warm(name: str, pool: Any) -> None:
    """Every worker started and its imports done: one small CPU call per worker, together."""
    items = [10_000] * WORKERS
    if name == "taskvisor":
        run_taskvisor(pool, burn, items, WORKERS)
    elif name == "cf":
        run_cf(pool, burn, items)
    else:
        run_pebble(pool, burn, items)


def stop_pool(name: str, pool: Any) -> None:
    if name == "taskvisor":
        pool.close()
    elif name == "cf":
        pool.shutdown()
    else:
        pool.close()
        pool.join()


# -- elixir --------------------------------------------------------------------------------


def run_elixir(rounds: int) -> dict[str, list[float]]:
    cmd = [
        "elixir",
        os.path.join(HERE, "elixir_cpu.exs"),
        "--items",
        str(ITEMS),
        "--n",
        str(N),
        "--rounds",
        str(rounds),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    times: dict[str, list[float]] = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if parts[0] == "TIME":
            times.setdefault(parts[1], []).append(int(parts[3]) / 1e6)
    return times


# -- report --------------------------------------------------------------------------------


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in [header, ["-" * w for w in widths], *rows]
    )


def machine() -> str:
    versions = []
    for pkg in ("taskvisor", "cloudpickle", "pebble"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (missing)")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"machine:  {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
            f"python:   {platform.python_implementation()} {platform.python_version()}",
            f"packages: {', '.join(versions)}",
            f"load:     {load} (1/5/15 min, at start)",
        ]
    )


def map_row(label: str, seconds: float, baseline: float, note: str = "") -> list[str]:
    speedup = f"{baseline / seconds:.2f}x{note}"
    return [label, f"{seconds * 1e3:.0f}", f"{seconds / ITEMS * 1e3:.2f} ms", speedup, ""]


def tiny_row(label: str, seconds: float) -> list[str]:
    per_call = f"{seconds / TINY * 1e6:.1f} µs"
    return [label, f"{seconds * 1e3:.0f}", per_call, "", f"{TINY / seconds:,.0f}"]


def report(
    med: dict[str, float],
    elixir: dict[str, list[float]],
    startup: dict[str, list[float]],
    first: dict[str, float],
    rounds: int,
) -> str:
    seq = med[SEQUENTIAL]
    rows = [
        map_row(name, m, seq) if name.startswith("map") else tiny_row(name, m)
        for name, m in med.items()
    ]
    if elixir:
        e_seq, e_stream = (statistics.median(elixir[k]) for k in ("sequential", "stream"))
        rows.append(map_row("map: elixir sequential", e_seq, e_seq))
        rows.append(
            map_row("map: elixir Task.async_stream c=2", e_stream, e_seq, " (vs its sequential)")
        )
    out = [
        "",
        f"map: {ITEMS} x sum(i*i for i in range({N:_})); tiny: {TINY:,} calls of ident(x); "
        f"median of {rounds} rounds",
        table(["case (2 workers)", "median ms", "per item", "speedup", "calls/s"], rows),
        "",
        "pool startup, a fresh pool until its first result (ms; median of the rounds):",
    ]
    for name in MAKERS:
        median = statistics.median(startup[name]) * 1e3
        out.append(f"  {name:<10} {median:7.1f}   (the program's first: {first[name] * 1e3:.1f})")
    out.append(
        '  (taskvisor\'s workers are fresh interpreters, "spawn"; '
        "the peers use multiprocessing's default start method)"
    )
    tv, cf, pb = med[TASKVISOR], med[CF], med[PEBBLE]
    checks = [
        (f"map speedup vs sequential >= {SPEEDUP_TARGET}x", seq / tv, seq / tv >= SPEEDUP_TARGET),
        (f"map time <= {PEER_TARGET}x ProcessPoolExecutor.map", tv / cf, tv / cf <= PEER_TARGET),
        (f"map time <= {PEER_TARGET}x pebble map", tv / pb, tv / pb <= PEER_TARGET),
    ]
    out += ["", "Targets (taskvisor's map):"]
    out += [f"  {'PASS' if ok else 'FAIL'}  {what}: {value:.2f}x" for what, value, ok in checks]
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------

SEQUENTIAL = "map: sequential (this process)"
TASKVISOR = "map: taskvisor async_stream c=2"
CF = "map: ProcessPoolExecutor.map"
PEBBLE = "map: pebble ProcessPool.map"


def cases(pools: dict[str, Any]) -> dict[str, Callable[[], float]]:
    items = [N] * ITEMS
    tiny = list(range(TINY))
    tv, cf, pb = pools["taskvisor"], pools["cf"], pools["pebble"]
    return {
        SEQUENTIAL: lambda: run_sequential(items),
        TASKVISOR: lambda: run_taskvisor(tv, burn, items, WORKERS),
        CF: lambda: run_cf(cf, burn, items),
        PEBBLE: lambda: run_pebble(pb, burn, items),
        "tiny: taskvisor async_stream c=2": lambda: run_taskvisor(tv, ident, tiny, WORKERS),
        "tiny: taskvisor async_stream c=64": lambda: run_taskvisor(tv, ident, tiny, 64),
        "tiny: ProcessPoolExecutor.map": lambda: run_cf(cf, ident, tiny),
        "tiny: pebble ProcessPool.map": lambda: run_pebble(pb, ident, tiny),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 rounds instead of 5")
    p.add_argument("--rounds", type=int, help="rounds (default 5, or 3 with --quick)")
    p.add_argument("--no-elixir", action="store_true", help="skip Elixir even if installed")
    args = p.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    have_elixir = shutil.which("elixir") is not None and not args.no_elixir
    header = machine()
    print(header, flush=True)

    pools: dict[str, Any] = {}
    first: dict[str, float] = {}  # the program's first pool of each kind
    for name in MAKERS:
        pools[name], first[name] = start_pool(name)
        warm(name, pools[name])
    timed = cases(pools)
    samples: dict[str, list[float]] = {name: [] for name in timed}
    names = list(timed)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(timed[name]())
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    for name, pool in pools.items():
        stop_pool(name, pool)

    startup: dict[str, list[float]] = {name: [] for name in MAKERS}
    for _ in range(rounds):
        for name in MAKERS:
            pool, seconds = start_pool(name)
            startup[name].append(seconds)
            stop_pool(name, pool)
    elixir = run_elixir(rounds) if have_elixir else {}

    med = {name: statistics.median(xs) for name, xs in samples.items()}
    text = report(med, elixir, startup, first, rounds)
    print(text, flush=True)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "cpu.txt"), "w") as f:
        f.write(header + "\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
