"""taskvisor benchmark harness: every system, side by side, in one run.

    bash bench/run.sh            # full run: N = 10_000 and 100_000, 5 rounds
    bash bench/run.sh --quick    # smoke: N = 10_000, 3 rounds
    bash bench/run.sh --python 3.11,3.13   # the full run under each of those Pythons

Timed workloads (each for two task bodies: "ret" returns at once, "sleep0" awaits one
checkpoint first):
  spawn   spawn N tasks, await all of their results
  stream  N items through a window of 100 concurrent tasks, results in input order
  stream_thread  the same for a plain (sync) function on a thread pool: taskvisor's
          default ThreadPool against a window of loop.run_in_executor futures on a
          ThreadPoolExecutor of the same size ("sleep0": the function calls time.sleep(0))
  start   fire-and-forget N tasks, wait until every one has run
  start_child  N supervised fire-and-forget children (TaskSupervisor.start_child and its
          peers), wait until the owner has seen every one end
Memory workload:
  idle    N tasks each blocked on one shared event: bytes per task (tracemalloc and RSS
          delta), and GC-tracked objects per task (len(gc.get_objects()) delta), in a fresh
          subprocess per system and method
Soak (bench/soak_start_child.py, in a fresh subprocess; --no-soak skips it):
  1,000,000 TaskSupervisor.start_child calls (100,000 with --quick), 10% crashing once under
  restart="transient": RSS at intervals, and the checks (children() == [] at the end, every
  item completed exactly once, RSS flat after warm-up)
CPU (bench/cpu.py, in a fresh subprocess; --no-cpu skips it):
  a CPU-bound map and tiny calls on 2 worker processes: taskvisor's ProcessPool against
  sequential, concurrent.futures, pebble and Elixir

Timing: all Python systems run in this one process; each measurement gets a fresh event
loop (loop set-up is not timed) and a gc.collect() before it (GC stays enabled). Systems
alternate in rounds (the order rotates every round) after one discarded warm-up round; the
table shows the median over the rounds. Elixir runs its own rounds in one `elixir` process.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import json
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

from systems import (  # noqa: E402
    aiojobs_sys,
    aiometer_sys,
    anyio_sys,
    asyncio_bare,
    taskvisor_sys,
    trio_sys,
)

VARIANTS = ("ret", "sleep0")
WORKLOADS = {
    "spawn": "spawn+await",
    "stream": "async_stream c=100",
    "start": "start (fire&forget)",
    "start_child": "start_child (supervised)",
    "stream_thread": "async_stream plain fn, threads c=100",
}


@dataclasses.dataclass(frozen=True)
class Case:
    workload: str  # spawn | stream | start | start_child
    system: str  # the row label
    run: Callable[[int, str], float] | None  # None: measured elsewhere (Elixir)
    baseline: bool = False
    slow: bool = False  # a slow peer: fewer rounds at large N (--rounds-slow) to fit the budget


def _cases() -> list[Case]:
    a, tv = asyncio_bare, taskvisor_sys
    uv = "uvloop"
    return [
        # -- spawn + await -----------------------------------------------------------------
        Case("spawn", "asyncio create_task+gather", a.spawn, baseline=True),
        Case("spawn", "taskvisor async_+await_many", tv.spawn),
        Case("spawn", "uvloop: asyncio create_task+gather", lambda n, v: a.spawn(n, v, uv)),
        Case("spawn", "uvloop: taskvisor async_+await_many", lambda n, v: tv.spawn(n, v, uv)),
        Case("spawn", "aiometer run_all (unbounded)", aiometer_sys.spawn, slow=True),
        Case("spawn", "anyio task group", anyio_sys.spawn, slow=True),
        Case("spawn", "trio nursery", trio_sys.spawn),
        # -- async_stream, max_concurrency=100, ordered -----------------------------------
        Case("stream", "asyncio task window", a.stream, baseline=True),
        Case(
            "stream", "asyncio task window + timeout(5.0)", lambda n, v: a.stream(n, v, timeout=5.0)
        ),
        Case(
            "stream",
            "taskvisor async_stream timeout=5.0",
            lambda n, v: tv.stream(n, v, timeout=5.0),
        ),
        Case(
            "stream",
            "taskvisor async_stream timeout=None",
            lambda n, v: tv.stream(n, v, timeout=None),
        ),
        Case("stream", "uvloop: asyncio task window", lambda n, v: a.stream(n, v, uv)),
        Case(
            "stream",
            "uvloop: asyncio task window + timeout(5.0)",
            lambda n, v: a.stream(n, v, uv, timeout=5.0),
        ),
        Case(
            "stream",
            "uvloop: taskvisor async_stream timeout=5.0",
            lambda n, v: tv.stream(n, v, uv, timeout=5.0),
        ),
        Case(
            "stream",
            "uvloop: taskvisor async_stream timeout=None",
            lambda n, v: tv.stream(n, v, uv, timeout=None),
        ),
        Case("stream", "aiometer run_all max_at_once=100", aiometer_sys.stream, slow=True),
        Case("stream", "anyio CapacityLimiter(100)", anyio_sys.stream, slow=True),
        Case("stream", "trio CapacityLimiter(100)", trio_sys.stream),
        # -- fire and forget ---------------------------------------------------------------
        Case("start", "asyncio create_task+strong-ref set", a.start, baseline=True),
        Case("start", "taskvisor Task.start", tv.start),
        Case("start", "uvloop: asyncio create_task+strong-ref set", lambda n, v: a.start(n, v, uv)),
        Case("start", "uvloop: taskvisor Task.start", lambda n, v: tv.start(n, v, uv)),
        Case("start", "anyio task group start_soon", anyio_sys.start, slow=True),
        Case("start", "trio nursery start_soon", trio_sys.start),
        # -- supervised fire and forget: start_child until the owner holds no child ----------
        Case("start_child", "asyncio create_task+strong-ref set", a.start_child, baseline=True),
        Case("start_child", "taskvisor TaskSupervisor.start_child", tv.start_child),
        Case(
            "start_child",
            "uvloop: asyncio create_task+strong-ref set",
            lambda n, v: a.start_child(n, v, uv),
        ),
        Case(
            "start_child",
            "uvloop: taskvisor TaskSupervisor.start_child",
            lambda n, v: tv.start_child(n, v, uv),
        ),
        Case("start_child", "aiojobs Scheduler.spawn", aiojobs_sys.start_child),
        # -- async_stream of a plain function, on a thread pool of the same size -----------
        Case("stream_thread", "asyncio run_in_executor window", a.stream_thread, baseline=True),
        Case("stream_thread", "taskvisor async_stream timeout=None", tv.stream_thread),
        Case(
            "stream_thread",
            "uvloop: asyncio run_in_executor window",
            lambda n, v: a.stream_thread(n, v, uv),
        ),
        Case(
            "stream_thread",
            "uvloop: taskvisor async_stream timeout=None",
            lambda n, v: tv.stream_thread(n, v, uv),
        ),
    ]


ELIXIR_ROWS = {  # elixir_bench.exs workload name -> (our workload, row label)
    "spawn": ("spawn", "elixir Task.async+await_many"),
    "stream_t5": ("stream", "elixir async_stream timeout=5000"),
    "stream_inf": ("stream", "elixir async_stream timeout=:infinity"),
    "start": ("start", "elixir Task.start"),
    "start_child": ("start_child", "elixir Task.Supervisor.start_child"),
}
MEMORY_SYSTEMS = ["asyncio", "taskvisor", "asyncio+uvloop", "taskvisor+uvloop", "anyio", "trio"]
MEMORY_LABELS = {
    "asyncio": "asyncio create_task+strong-ref set",
    "taskvisor": "taskvisor Task.start",
    "asyncio+uvloop": "uvloop: asyncio create_task+strong-ref set",
    "taskvisor+uvloop": "uvloop: taskvisor Task.start",
    "anyio": "anyio task group",
    "trio": "trio nursery",
    "elixir": "elixir Task.start (:erlang.memory(:processes))",
}
# GC-tracked objects per live process: memory_probe.py system -> row label
GC_SYSTEMS = {
    "asyncio-list": "asyncio create_task (held in a list)",
    "asyncio": "asyncio create_task+strong-ref set",
    "taskvisor": "taskvisor Task.start",
    "taskvisor-start_child": "taskvisor TaskSupervisor.start_child",
    "taskvisor-async_": "taskvisor Task.async_",
}
# the bare-asyncio row each taskvisor row is held against (the baseline of its timed workload)
GC_BASELINE = {
    "taskvisor": "asyncio",
    "taskvisor-start_child": "asyncio",
    "taskvisor-async_": "asyncio-list",
}


def is_bare(case: Case) -> bool:
    """A bare-asyncio row (a baseline on the default loop or on uvloop)."""
    return case.system.removeprefix("uvloop: ").startswith("asyncio ")


def select(cases: list[Case], only: str | None) -> list[Case]:
    """With `only`: every row of the workload named `only` (spawn, stream, start,
    start_child, stream_thread), or the rows whose label contains it plus the bare-asyncio
    rows (default loop and uvloop) of the workloads those rows belong to."""
    if not only:
        return cases
    if only in WORKLOADS:
        return [c for c in cases if c.workload == only]
    workloads = {c.workload for c in cases if only in c.system}
    return [c for c in cases if c.workload in workloads and (only in c.system or is_bare(c))]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- timing ------------------------------------------------------------------------------


class GCClock:
    """Seconds spent in the cyclic garbage collector during a measurement (gc.callbacks)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._t0 = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._t0


GC_CLOCK = GCClock()


def measure(case: Case, n: int, variant: str) -> tuple[float, float]:
    """(elapsed seconds, of which seconds in the garbage collector)."""
    assert case.run is not None
    gc.collect()  # every case starts from the same collector state
    before = GC_CLOCK.total
    elapsed = case.run(n, variant)
    return elapsed, GC_CLOCK.total - before


Key = tuple[str, str, int, str]  # (workload, body, N, system)


def run_python_rounds(
    cases: list[Case],
    n: int,
    rounds: int,
    rounds_slow: int,
    samples: dict[Key, list[float]],
    gc_samples: dict[Key, list[float]],
) -> None:
    jobs = [(c, v) for v in VARIANTS for c in cases]
    for r in range(rounds):
        t0 = time.perf_counter()
        k = (r * 7) % len(jobs)  # rotate the order every round
        for case, variant in jobs[k:] + jobs[:k]:
            if case.slow and r >= rounds_slow:
                continue
            key = (case.workload, variant, n, case.system)
            elapsed, in_gc = measure(case, n, variant)
            samples.setdefault(key, []).append(elapsed)
            gc_samples.setdefault(key, []).append(in_gc)
        log(f"  N={n:>7,} round {r + 1}/{rounds}: {time.perf_counter() - t0:5.1f} s")


def run_elixir_time(
    ns: list[int], rounds: int, workloads: set[str], samples: dict[Key, list[float]]
) -> None:
    names = [name for name, (wl, _label) in ELIXIR_ROWS.items() if wl in workloads]
    cmd = [
        "elixir",
        os.path.join(HERE, "elixir_bench.exs"),
        "time",
        "--n",
        ",".join(map(str, ns)),
        "--rounds",
        str(rounds),
        "--only",
        ",".join(names),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split("\t")
        if parts[0] != "TIME":
            continue
        name, variant, n, _round, us = parts[1:]
        workload, label = ELIXIR_ROWS[name]
        samples.setdefault((workload, variant, int(n), label), []).append(int(us) / 1e6)


# -- memory ------------------------------------------------------------------------------


Memory = dict[tuple[int, str], dict[str, float]]  # (N, system) -> method -> bytes per task
GCObjects = dict[tuple[int, str], dict[str, Any]]  # (N, system) -> the probe's gc line


def probe(system: str, n: int, method: str) -> dict[str, Any]:
    """bench/memory_probe.py in a fresh process: its JSON line."""
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "memory_probe.py"), system, str(n), method],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return line


def run_memory(ns: list[int], with_elixir: bool) -> tuple[Memory, GCObjects]:
    """Fresh subprocess per (system, N, method)."""
    results: Memory = {}
    objects: GCObjects = {}
    for n in ns:
        for system in MEMORY_SYSTEMS:
            for method in ("tracemalloc", "rss"):
                value = probe(system, n, method)["bytes_per_task"]
                results.setdefault((n, system), {})[method] = value
        for system in GC_SYSTEMS:
            objects[(n, system)] = probe(system, n, "gc")
        if with_elixir:
            cmd = ["elixir", os.path.join(HERE, "elixir_bench.exs"), "memory", "--n", str(n)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split("\t")
                if parts[0] == "MEMORY":
                    results[(n, "elixir")] = {"processes": float(parts[2])}
        log(f"  memory N={n:,} done")
    return results, objects


# -- soak --------------------------------------------------------------------------------


def run_soak(extra: list[str]) -> tuple[str, bool]:
    """bench/soak_start_child.py in a fresh process: (its output, whether it passed)."""
    cmd = [sys.executable, os.path.join(HERE, "soak_start_child.py"), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 1: a check failed (reported); anything else broke
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout.rstrip(), proc.returncode == 0


def run_cpu(quick: bool, no_elixir: bool) -> str:
    """bench/cpu.py in a fresh process: its report."""
    cmd = [sys.executable, os.path.join(HERE, "cpu.py")]
    cmd += ["--quick"] if quick else []
    cmd += ["--no-elixir"] if no_elixir else []
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.rstrip()


# -- report ------------------------------------------------------------------------------


def fmt_row(cols: list[str], widths: list[int], right: set[int]) -> str:
    return "  ".join(
        c.rjust(w) if i in right else c.ljust(w)
        for i, (c, w) in enumerate(zip(cols, widths, strict=True))
    )


def table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows] if r) for i in range(len(header))]
    lines = [fmt_row(header, widths, right), "  ".join("-" * w for w in widths)]
    lines += [fmt_row(r, widths, right) if r else "" for r in rows]
    return "\n".join(lines)


def time_report(
    samples: dict[Key, list[float]],
    gc_samples: dict[Key, list[float]],
    order: list[tuple[str, str]],
    ns: list[int],
) -> tuple[str, dict[Key, float]]:
    med = {k: statistics.median(v) for k, v in samples.items()}
    # the same median with the time spent in the cyclic GC taken out (Python rows only)
    ex_gc = {
        k: statistics.median(t - g for t, g in zip(samples[k], v, strict=True))
        for k, v in gc_samples.items()
    }
    base_label = {c.workload: c.system for c in _cases() if c.baseline}
    rows: list[list[str]] = []
    for workload in WORKLOADS:
        for n in ns:
            for variant in VARIANTS:
                base = med.get((workload, variant, n, base_label[workload]))
                for wl, label in order:
                    key = (wl, variant, n, label)
                    if wl != workload or key not in med:
                        continue
                    m, xs = med[key], samples[key]
                    spread = (max(xs) - min(xs)) / m * 100 if m else 0.0
                    ratio = f"{m / base:.2f}x" if base else "-"
                    gcs = gc_samples.get(key)
                    in_gc = f"{statistics.median(gcs) * 1e3:.1f}" if gcs else "-"
                    base_key = (workload, variant, n, base_label[workload])
                    ratio_ex = (
                        f"{ex_gc[key] / ex_gc[base_key]:.2f}x"
                        if key in ex_gc and ex_gc.get(base_key)
                        else "-"
                    )
                    rows.append(
                        [
                            f"{WORKLOADS[workload]} [{variant}]",
                            f"{n:,}",
                            label,
                            f"{m * 1e3:.1f}",
                            f"{m / n * 1e6:.2f}",
                            ratio,
                            in_gc,
                            ratio_ex,
                            f"{len(xs)}",
                            f"{spread:.0f}%",
                        ]
                    )
                if rows and rows[-1]:
                    rows.append([])
    header = [
        "workload [body]",
        "N",
        "system",
        "median ms",
        "per-item µs",
        "ratio",
        "gc ms",
        "ratio ex-gc",
        "runs",
        "spread",
    ]
    return table(header, rows[:-1], {1, 3, 4, 5, 6, 7, 8, 9}), med


def memory_report(mem: Memory, ns: list[int]) -> str:
    rows: list[list[str]] = []
    for n in ns:
        base = mem.get((n, "asyncio"), {}).get("tracemalloc")
        for system in [*MEMORY_SYSTEMS, "elixir"]:
            r = mem.get((n, system))
            if r is None:
                continue
            if system == "elixir":
                tm, rss, v = f"{r['processes']:.0f}", "-", r["processes"]
            else:
                tm, rss, v = f"{r['tracemalloc']:.0f}", f"{r['rss']:.0f}", r["tracemalloc"]
            rows.append(
                [
                    "idle task memory",
                    f"{n:,}",
                    MEMORY_LABELS[system],
                    tm,
                    rss,
                    f"{v / base:.2f}x" if base else "-",
                ]
            )
        rows.append([])
    header = ["workload", "N", "system", "bytes/task", "RSS bytes/task", "ratio"]
    return table(header, rows[:-1], {1, 3, 4, 5})


def gc_objects_report(objects: GCObjects, ns: list[int]) -> str:
    """Objects per process, then (at the first N) the same by type, one column per system."""
    rows: list[list[str]] = []
    for n in ns:
        for system, label in GC_SYSTEMS.items():
            r = objects.get((n, system))
            if r is None:
                continue
            base = objects.get((n, GC_BASELINE.get(system, "")))
            delta = f"{r['objects_per_task'] - base['objects_per_task']:+.2f}" if base else "-"
            rows.append(
                [
                    "GC-tracked objects per process",
                    f"{n:,}",
                    label,
                    f"{r['objects_per_task']:.2f}",
                    delta,
                    GC_SYSTEMS[GC_BASELINE[system]] if base else "",
                ]
            )
        rows.append([])
    header = ["workload", "N", "system", "objects/process", "delta", "against"]
    out = [table(header, rows[:-1], {1, 3, 4})]
    n = ns[0]
    systems = [s for s in GC_SYSTEMS if (n, s) in objects]
    types: dict[str, None] = {}  # every type with at least 0.5 per process somewhere, in order
    for system in systems:
        types.update(dict.fromkeys(objects[(n, system)]["types"]))
    by_type = [
        [t, *(f"{objects[(n, s)]['types'].get(t, 0.0):.2f}" for s in systems)] for t in types
    ]
    by_type.append(["total", *(f"{objects[(n, s)]['objects_per_task']:.2f}" for s in systems)])
    short = [GC_SYSTEMS[s].removeprefix("taskvisor ").removeprefix("asyncio ") for s in systems]
    out += [
        "",
        f"By type (N={n:,}; per process; the types with at least 0.5 per process):",
        table(["type", *short], by_type, set(range(1, len(systems) + 1))),
    ]
    return "\n".join(out)


@dataclasses.dataclass(frozen=True)
class Check:
    """One line of the targets: `system` against `base` in `workload`, at every N and body."""

    what: str
    workload: str
    system: str
    base: str
    primary: bool = True  # counts for the target's verdict; else printed as informational


# Issue 9, item 6: the targets, taskvisor against bare asyncio on the default loop (the
# verdict); the same on uvloop is printed as information.
TARGETS: list[tuple[str, float, list[Check]]] = [
    (
        "spawn+await <= 1.2x create_task+gather",
        1.2,
        [
            Check(
                "taskvisor vs asyncio",
                "spawn",
                "taskvisor async_+await_many",
                "asyncio create_task+gather",
            ),
            Check(
                "uvloop: taskvisor vs asyncio",
                "spawn",
                "uvloop: taskvisor async_+await_many",
                "uvloop: asyncio create_task+gather",
                primary=False,
            ),
        ],
    ),
    (
        "start <= 1.2x create_task+strong-ref set",
        1.2,
        [
            Check(
                "taskvisor vs asyncio",
                "start",
                "taskvisor Task.start",
                "asyncio create_task+strong-ref set",
            ),
            Check(
                "uvloop: taskvisor vs asyncio",
                "start",
                "uvloop: taskvisor Task.start",
                "uvloop: asyncio create_task+strong-ref set",
                primary=False,
            ),
        ],
    ),
    (
        "start_child <= 1.25x create_task+strong-ref set",
        1.25,
        [
            Check(
                "taskvisor vs asyncio",
                "start_child",
                "taskvisor TaskSupervisor.start_child",
                "asyncio create_task+strong-ref set",
            ),
            Check(
                "uvloop: taskvisor vs asyncio",
                "start_child",
                "uvloop: taskvisor TaskSupervisor.start_child",
                "uvloop: asyncio create_task+strong-ref set",
                primary=False,
            ),
        ],
    ),
    (
        "async_stream (c=100, ordered, timeout=None) <= 1.3x task window",
        1.3,
        [
            Check(
                "timeout=None vs window",
                "stream",
                "taskvisor async_stream timeout=None",
                "asyncio task window",
            ),
            Check(
                "uvloop: timeout=None vs window",
                "stream",
                "uvloop: taskvisor async_stream timeout=None",
                "uvloop: asyncio task window",
                primary=False,
            ),
            Check(
                "timeout=5.0 vs window + timeout(5.0)",
                "stream",
                "taskvisor async_stream timeout=5.0",
                "asyncio task window + timeout(5.0)",
                primary=False,
            ),
            Check(
                "timeout=5.0 vs window without timeout (strict)",
                "stream",
                "taskvisor async_stream timeout=5.0",
                "asyncio task window",
                primary=False,
            ),
        ],
    ),
    (
        "async_stream of a plain function on threads <= 1.3x run_in_executor window",
        1.3,
        [
            Check(
                "taskvisor vs asyncio",
                "stream_thread",
                "taskvisor async_stream timeout=None",
                "asyncio run_in_executor window",
            ),
            Check(
                "uvloop: taskvisor vs asyncio",
                "stream_thread",
                "uvloop: taskvisor async_stream timeout=None",
                "uvloop: asyncio run_in_executor window",
                primary=False,
            ),
        ],
    ),
]
STRETCH = 1.10  # the stretch limit for every primary cell
MEMORY_LIMIT = 1600  # bytes per idle task (the larger of tracemalloc and RSS)
GC_EXTRA = 1  # GC-tracked objects a process may hold beyond its bare-asyncio baseline


def targets_report(
    med: dict[Key, float],
    mem: Memory,
    objects: GCObjects,
    ns: list[int],
    soak_ok: bool | None = None,
) -> tuple[str, dict[str, bool]]:
    lines: list[str] = []
    verdicts: dict[str, bool] = {}

    def cells(check: Check) -> list[tuple[int, str, float]]:
        """(N, body, ratio) for every cell measured."""
        out = []
        for n in ns:
            for v in VARIANTS:
                a, b = (
                    med.get((check.workload, v, n, check.system)),
                    med.get((check.workload, v, n, check.base)),
                )
                if a is not None and b is not None:
                    out.append((n, v, a / b))
        return out

    def line(ok: bool, what: str, n: int, v: str, ratio: float, limit: float, note: str) -> str:
        tag = "PASS" if ok else "FAIL"
        return f"  {tag}  {what:<52} N={n:>7,} [{v:<6}] {ratio:5.2f}x (limit {limit}x){note}"

    for target, limit, checks in TARGETS:
        headed = False
        for check in checks:
            for n, v, ratio in cells(check):
                if not headed:
                    headed = True
                    lines.append(f"{target}:")
                ok = ratio <= limit
                note = "" if check.primary else "  (informational)"
                lines.append(line(ok, check.what, n, v, ratio, limit, note))
                if check.primary:
                    verdicts[target] = verdicts.get(target, True) and ok

    t_mem = f"idle memory <= {MEMORY_LIMIT:,} bytes per task"
    if mem:
        lines.append(f"{t_mem}:")
        for n in ns:
            for system in ("taskvisor", "taskvisor+uvloop"):
                r = mem.get((n, system))
                if r is None:
                    continue
                worst = max(r["tracemalloc"], r["rss"])
                ok = worst <= MEMORY_LIMIT
                verdicts[t_mem] = verdicts.get(t_mem, True) and ok
                lines.append(
                    f"  {'PASS' if ok else 'FAIL'}  {system:<52} N={n:>7,} "
                    f"tracemalloc {r['tracemalloc']:.0f} B, RSS {r['rss']:.0f} B "
                    f"(limit {MEMORY_LIMIT:,} B)"
                )
    t_gc = f"GC-tracked objects per process <= bare asyncio's + {GC_EXTRA}"
    if objects:
        lines.append(f"{t_gc}:")
        for n in ns:
            for system, base in GC_BASELINE.items():
                r, b = objects.get((n, system)), objects.get((n, base))
                if r is None or b is None:
                    continue
                extra = r["objects_per_task"] - b["objects_per_task"]
                ok = extra <= GC_EXTRA + 0.01  # a few objects in all, not per process
                verdicts[t_gc] = verdicts.get(t_gc, True) and ok
                lines.append(
                    f"  {'PASS' if ok else 'FAIL'}  {GC_SYSTEMS[system]:<52} N={n:>7,} "
                    f"{r['objects_per_task']:.2f} vs {b['objects_per_task']:.2f} "
                    f"({GC_SYSTEMS[base]}): {extra:+.2f}"
                )
    if soak_ok is not None:
        t6 = "soak: start_child with crashes: children() back to [], each item once, RSS flat"
        lines += [f"{t6}:", f"  {'PASS' if soak_ok else 'FAIL'}  (see the soak above)"]
        verdicts[t6] = soak_ok

    # The stretch (issue 9, item 6), reported either way: every primary cell <= 1.10x, and
    # taskvisor on uvloop faster than bare asyncio on the default loop.
    stretch: dict[str, bool] = {}
    t_cells = f"stretch: every target cell <= {STRETCH}x"
    t_uv = "stretch: taskvisor on uvloop faster than bare asyncio on the default loop"
    cell_lines: list[str] = []
    uv_lines: list[str] = []
    for _target, _limit, checks in TARGETS:
        for check in checks:
            if not check.primary:
                continue
            for n, v, ratio in cells(check):
                ok = ratio <= STRETCH
                stretch[t_cells] = stretch.get(t_cells, True) and ok
                what = f"{check.workload}: {check.what}"
                cell_lines.append(line(ok, what, n, v, ratio, STRETCH, ""))
            uv = dataclasses.replace(
                check, what=f"uvloop: {check.what}", system=f"uvloop: {check.system}"
            )
            for n, v, ratio in cells(uv):
                ok = ratio < 1.0
                stretch[t_uv] = stretch.get(t_uv, True) and ok
                uv_lines.append(line(ok, f"{check.workload}: {uv.what}", n, v, ratio, 1.0, ""))
    if cell_lines:
        lines += [f"{t_cells} (informational):", *cell_lines]
    if uv_lines:
        lines += [f"{t_uv} (informational; limit: below 1.0x):", *uv_lines]

    summary = ["", "Summary:"] + [
        f"  {'PASS' if ok else 'FAIL'}  {t}" for t, ok in verdicts.items()
    ]
    summary += [f"  {'PASS' if ok else 'FAIL'}  {t} (informational)" for t, ok in stretch.items()]
    return "\n".join(lines + summary), verdicts


# -- main --------------------------------------------------------------------------------


def machine_info() -> str:
    versions = []
    for pkg in ("taskvisor", "uvloop", "aiometer", "anyio", "trio", "aiojobs"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{pkg} (missing)")
    elixir = "not installed"
    if shutil.which("elixir"):
        try:
            out = subprocess.run(
                ["elixir", "--version"], capture_output=True, text=True, timeout=60
            ).stdout
            elixir = " / ".join(line.strip() for line in out.splitlines() if line.strip())
        except (OSError, subprocess.SubprocessError):
            elixir = "installed (version unknown)"
    try:
        rev = subprocess.run(
            ["git", "-C", HERE, "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return "\n".join(
        [
            f"date:     {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
            f"revision: {rev or 'unknown'} (git describe --always --dirty)",
            f"machine:  {platform.machine()}, {os.cpu_count()} CPUs (nproc), {platform.platform()}",
            f"python:   {platform.python_implementation()} {platform.python_version()}",
            f"packages: {', '.join(versions)}",
            f"elixir:   {elixir}",
        ]
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="N=10_000 only, 3 rounds (smoke)")
    p.add_argument(
        "--n",
        type=lambda s: [int(x) for x in s.split(",")],
        help="comma-separated N values (default 10000,100000)",
    )
    p.add_argument("--rounds", type=int, help="rounds for N <= 10_000 (default 5)")
    p.add_argument("--rounds-large", type=int, help="rounds for N > 10_000 (default: as --rounds)")
    p.add_argument(
        "--rounds-slow",
        type=int,
        default=3,
        help="rounds for the slow peers (aiometer, anyio) at N > 10_000 (default 3)",
    )
    p.add_argument(
        "--no-memory",
        action="store_true",
        help="skip the idle-memory workload (bytes and GC-tracked objects per task)",
    )
    p.add_argument("--no-elixir", action="store_true", help="skip Elixir even if installed")
    p.add_argument(
        "--no-soak", action="store_true", help="skip the start_child soak (also skipped by --only)"
    )
    p.add_argument(
        "--no-cpu", action="store_true", help="skip bench/cpu.py (also skipped by --only)"
    )
    p.add_argument(
        "--soak",
        action="store_true",
        help="run only the soak (1,000,000 start_child calls) and exit; "
        "`bash bench/run.sh --soak [soak options]` passes options on to it",
    )
    p.add_argument(
        "--only",
        help="only one workload (spawn, stream, start, start_child, stream_thread), or only the "
        "rows whose label contains this text (plus the bare-asyncio rows of their workloads)",
    )
    p.add_argument(
        "--out",
        default=os.path.join(HERE, "results"),
        help="where to write latest.txt and latest.json, and the same as python3.X.txt and "
        ".json (default bench/results)",
    )
    args = p.parse_args()
    if args.soak:
        return subprocess.run(
            [sys.executable, os.path.join(HERE, "soak_start_child.py")]
        ).returncode

    ns = args.n or ([10_000] if args.quick else [10_000, 100_000])
    rounds = args.rounds or (3 if args.quick else 5)
    rounds_large = args.rounds_large or rounds
    cases = select(_cases(), args.only)
    workloads = {c.workload for c in cases}
    have_elixir = shutil.which("elixir") is not None and not args.no_elixir

    started = time.perf_counter()
    header = machine_info()
    print(header, flush=True)
    argv = " ".join(sys.argv[1:])
    print(f"command:  bash bench/run.sh {argv}".rstrip())
    rounds_slow = min(args.rounds_slow, rounds_large)
    slow = ", ".join(sorted({c.system.split()[0] for c in cases if c.slow}))
    except_slow = (
        f", except the slow peers ({slow}): {rounds_slow} at larger N, to stay within ~10 minutes"
        if slow
        else ""
    )
    print(
        f"rounds:   {rounds} for N <= 10,000; {rounds_large} for larger N{except_slow}. "
        "Median reported; one warm-up round (N=2,000) discarded.\n",
        flush=True,
    )

    samples: dict[Key, list[float]] = {}
    gc_samples: dict[Key, list[float]] = {}
    log("warm-up round (N=2,000, discarded)")
    run_python_rounds(cases, 2_000, 1, 1, {}, {})
    for n in ns:
        log(f"timing N={n:,}")
        if n <= 10_000:
            run_python_rounds(cases, n, rounds, rounds, samples, gc_samples)
        else:
            run_python_rounds(
                cases, n, rounds_large, min(rounds_slow, rounds_large), samples, gc_samples
            )

    if have_elixir:
        log("elixir timing")
        # Elixir uses one round count for all N: the larger of the two keeps the 100k rows
        # at least as well sampled as the Python ones (it is fast).
        run_elixir_time(ns, max(rounds, rounds_large), workloads, samples)
    elif not args.no_elixir:
        print("elixir: not installed (apt-get install elixir)\n", flush=True)

    mem: Memory = {}
    objects: GCObjects = {}
    if not args.no_memory:
        log("memory and GC-tracked objects (fresh subprocess per system, N and method)")
        mem, objects = run_memory(ns, have_elixir)

    soak: tuple[str, bool] | None = None
    if not args.no_soak and not args.only:
        soak_n = 100_000 if args.quick else 1_000_000
        log(f"soak: {soak_n:,} start_child calls (fresh subprocess)")
        soak = run_soak(["--n", str(soak_n)])

    cpu: str | None = None
    if not args.no_cpu and not args.only:
        log("cpu: bench/cpu.py (fresh subprocess)")
        cpu = run_cpu(args.quick, args.no_elixir)

    order = [(c.workload, c.system) for c in cases]
    for name, (wl, label) in ELIXIR_ROWS.items():
        del name
        order.append((wl, label))
    text, med = time_report(samples, gc_samples, order, ns)
    out = [text]
    if mem:
        out += ["", memory_report(mem, ns)]
    if objects:
        out += ["", gc_objects_report(objects, ns)]
    if soak is not None:
        out += ["", "Soak (bench/soak_start_child.py):", soak[0]]
    if cpu is not None:
        out += ["", "CPU-bound work on processes (bench/cpu.py):", cpu]
    targets, verdicts = targets_report(med, mem, objects, ns, None if soak is None else soak[1])
    out += ["", "Targets (ratios of medians; taskvisor vs bare asyncio on the same loop):", targets]
    elapsed = time.perf_counter() - started
    out += ["", f"total wall time: {elapsed:.0f} s"]
    report = "\n".join(out)
    print(report, flush=True)

    raw = {
        "machine": header,
        "ns": ns,
        "rounds": rounds,
        "rounds_large": rounds_large,
        "time_samples_s": [
            {"workload": k[0], "body": k[1], "n": k[2], "system": k[3], "samples": v}
            for k, v in samples.items()
        ],
        "memory_bytes_per_task": [{"n": k[0], "system": k[1], **v} for k, v in mem.items()],
        "gc_objects_per_task": list(objects.values()),
        "targets": verdicts,
        "soak": None if soak is None else soak[0],
        "cpu": cpu,
    }
    os.makedirs(args.out, exist_ok=True)
    # latest.*, and python3.X.* (so that a run under each Python keeps its own)
    for name in ("latest", "python{}.{}".format(*sys.version_info[:2])):
        with open(os.path.join(args.out, f"{name}.txt"), "w") as f:
            f.write(header + "\n\n" + report + "\n")
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            json.dump(raw, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
