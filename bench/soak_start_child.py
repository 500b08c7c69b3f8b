"""Soak: 1,000,000 TaskSupervisor.start_child calls, 10% of them crashing once, memory flat.

    .venv/bin/python bench/soak_start_child.py            # the full soak (about a minute)
    .venv/bin/python bench/soak_start_child.py --n 100000 # a shorter one
    bash bench/run.sh --soak [options]                    # the same, through the one command

One task supervisor gets N children with ``restart="transient"``, in batches (10,000 by
default: start a batch, wait until every child of it has ended, start the next), so the loop
is never flooded. Every 10th item crashes the first time it runs: its per-item flag is set,
the body clears it and raises, the supervisor restarts the child (transient: an abnormal
exit) and the second run succeeds. So 100,000 of the 1,000,000 children crash once and
every item completes exactly once.

Restart intensity: the supervisor gets ``max_restarts`` = the number of crashing items
(100,000 for the full soak) within ``max_seconds=5.0``, so the limit cannot be reached even
if every crash fell in one window; the intensity's window then holds at most the restarts of
the last 5 s, a bounded amount.

Crash reports are not printed: a handler on the ``taskvisor`` logger counts them (the
reports are still built, as in production), and the logger does not propagate them.

Printed: resident set size (VmRSS from /proc/self/status) before the first batch, at
intervals (every 10% of N by default) and after, with the completions, the crashes counted
and the most children alive at once since the last reading; then the checks (all must hold,
else the exit status is 1): ``children(sup) == []``, completions == N exactly, crash reports
== the crashing items, no flag left set, no other log record, the supervisor still running,
the process table and pid table back to their size before the soak, and RSS growth from
the warm-up reading (the first interval) to the end within ``--max-growth-mib`` (8 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import resource
import sys
import time

from taskvisor import Process, TaskSupervisor
from taskvisor.testing import live_processes, pid_table_size, process_state


def rss_kib() -> int:
    """The resident set size now, in KiB (VmRSS; peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


class CountReports(logging.Handler):
    """Counts the crash reports (and any other record) instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.crashes = 0
        self.other: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "crash_report"):
            self.crashes += 1
        elif len(self.other) < 20:
            self.other.append(record.getMessage()[:200])


class Crash(Exception):
    """The planned crash of an item's first run."""


async def soak(args: argparse.Namespace, reports: CountReports) -> tuple[list[list[str]], bool]:
    n, batch, every = args.n, args.batch, args.crash_every
    flags = bytearray(n)  # 1: the item crashes the next time it runs (then clears it)
    flags[::every] = b"\x01" * len(range(0, n, every))
    crashing = sum(flags)
    sleep0 = args.body == "sleep0"
    done = 0
    goal = 0
    batch_done = asyncio.Event()

    async def item(i: int) -> None:
        nonlocal done
        if sleep0:
            await asyncio.sleep(0)
        if flags[i]:
            flags[i] = 0
            raise Crash(i)
        done += 1
        if done == goal:
            batch_done.set()

    rows: list[list[str]] = []
    t0 = time.perf_counter()
    warm_kib = 0

    peak = 0  # the most children alive at once since the last reading

    def row(label: str, kib: int) -> None:
        nonlocal peak
        elapsed = time.perf_counter() - t0
        delta = "" if not warm_kib else f"{(kib - warm_kib) / 1024:+.1f}"
        rows.append(
            [
                label,
                f"{done:,}",
                f"{reports.crashes:,}",
                f"{peak:,}",
                f"{kib / 1024:.1f}",
                delta,
                f"{elapsed:.1f}",
            ]
        )
        peak = 0

    Process.self()  # adopt this task and draw its pid now (crash reports name it as caller)
    live_before, pids_before = live_processes(), pid_table_size()
    async with TaskSupervisor(max_restarts=max(crashing, 3), max_seconds=5.0) as sup:
        start_child, children = TaskSupervisor.start_child, TaskSupervisor.children
        live_with_sup = live_processes()
        gc.collect()
        row("before", rss_kib())
        t0 = time.perf_counter()
        next_report = args.report_every
        for lo in range(0, n, batch):
            hi = min(lo + batch, n)
            goal = hi
            batch_done.clear()
            for i in range(lo, hi):
                start_child(sup, item, i, restart="transient")
            peak = max(peak, len(children(sup)))
            await batch_done.wait()
            while children(sup):  # every child of the batch has ended, restarts included
                await asyncio.sleep(0)
            if hi >= next_report or hi == n:
                next_report += args.report_every
                kib = rss_kib()
                label = f"after {hi:,}"
                if not warm_kib:
                    row(label + " (warm-up)", kib)
                    warm_kib = kib
                else:
                    row(label, kib)
        left = children(sup)
        sup_running = process_state(sup.pid) == "running"
        live_after = live_processes()
    gc.collect()
    end_kib = rss_kib()
    row("after stop + gc.collect()", end_kib)
    elapsed = time.perf_counter() - t0

    growth_mib = (end_kib - warm_kib) / 1024
    checks = [
        ("children(sup) == [] at the end", left == []),
        (f"completions == {n:,} exactly (got {done:,})", done == n),
        (
            f"crash reports == {crashing:,} crashing items (got {reports.crashes:,})",
            reports.crashes == crashing,
        ),
        ("every crash flag cleared (each crashing item ran twice)", not any(flags)),
        ("no other log record (no restart-intensity shutdown)", not reports.other),
        ("supervisor still running at the end", sup_running),
        (
            f"process table back to its size: {live_after} == {live_with_sup} with the "
            f"supervisor, {live_processes()} == {live_before} after its stop",
            live_after == live_with_sup and live_processes() == live_before,
        ),
        (
            f"pid table back to its size ({pid_table_size()} == {pids_before})",
            pid_table_size() == pids_before,
        ),
        (
            f"RSS growth after warm-up {growth_mib:+.1f} MiB <= {args.max_growth_mib} MiB",
            growth_mib <= args.max_growth_mib,
        ),
    ]
    print(
        f"{n:,} start_child calls (+{crashing:,} restarts) in {elapsed:.1f} s: "
        f"{(n + crashing) / elapsed:,.0f} children/s",
        flush=True,
    )
    ok = True
    for what, good in checks:
        ok = ok and good
        print(f"  {'PASS' if good else 'FAIL'}  {what}")
    for msg in reports.other:
        print(f"  other log record: {msg}")
    return rows, ok


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="start_child calls (1,000,000)")
    p.add_argument("--batch", type=int, default=10_000, help="children per batch (10,000)")
    p.add_argument(
        "--crash-every", type=int, default=10, help="every k-th item crashes once (10: 10%%)"
    )
    p.add_argument(
        "--report-every", type=int, help="an RSS reading every this many items (default N/10)"
    )
    p.add_argument(
        "--body",
        choices=("sleep0", "ret"),
        default="sleep0",
        help="sleep0 (default): each child awaits asyncio.sleep(0) first, so a whole batch "
        "is alive at once; ret: it runs to the end in its first step",
    )
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument(
        "--max-growth-mib",
        type=float,
        default=8.0,
        help="the RSS growth allowed from the warm-up reading to the end (8 MiB)",
    )
    args = p.parse_args()
    if args.report_every is None:
        args.report_every = max(args.n // 10, args.batch)

    reports = CountReports()
    tv_logger = logging.getLogger("taskvisor")
    tv_logger.addHandler(reports)
    tv_logger.propagate = False

    factory = None
    if args.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    print(
        f"soak: {args.n:,} TaskSupervisor.start_child(restart='transient'), batches of "
        f"{args.batch:,}, every {args.crash_every}th item crashes once; body {args.body}; "
        f"loop {args.loop}; python {sys.version.split()[0]}; pid {os.getpid()}",
        flush=True,
    )
    with asyncio.Runner(loop_factory=factory) as runner:
        rows, ok = runner.run(soak(args, reports))

    header = ["point", "completed", "crashes", "peak children", "RSS MiB", "Δ warm MiB", "s"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for j, r in enumerate([header, ["-" * w for w in widths], *rows]):
        print(
            "  ".join(
                c.ljust(w) if i == 0 or j == 1 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    print(f"\nsoak: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
