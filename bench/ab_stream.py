"""async_stream and the spawn paths, this checkout against an earlier revision, in turns.

    python bench/ab_stream.py --base 1634ed9            # 7 rounds, N = 10,000
    python bench/ab_stream.py --base 1634ed9 --rounds 9 --n 20000
    python bench/ab_stream.py --base 1634ed9 --instructions   # valgrind: instructions per item

A change to the stream engine must not slow its hot path. Figures taken at different times
on a shared machine move by more than the change, so this puts the base revision's
``src/`` in a temporary directory (``git archive``) and runs both, one after the other, in
fresh interpreters, round after round; the table shows each one's median and the ratio
new/base. With ``--instructions`` it counts instructions instead of seconds
(``valgrind --tool=callgrind``, N and 3N items, ``PYTHONHASHSEED=0``): the difference per
item is the same from run to run whatever else the machine does. Cases: a sync input
(``range(N)``) with ``timeout=None`` and ``timeout=5.0``, and an async generator input;
``max_concurrency=100``, ordered, tasks that return at once; and "threads": a plain function
in the shared thread pool, ``max_concurrency=8``, ``timeout=5.0`` (the pool, and the timing
of items from the start of their calls). Two more cases time the spawn paths: "windows"
(``Task.async_`` + ``Task.await_many``, 100 at a time), "await" (``Task.async_`` then
``Task.await_``, one at a time) and "start_child"
(``TaskSupervisor.start_child`` until the supervisor holds no child). ``--case`` picks some.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CASE = textwrap.dedent(
    """
    import asyncio, gc, sys, time
    from taskvisor import Task, TaskSupervisor

    N, CASE = int(sys.argv[1]), sys.argv[2]

    async def work(i):
        return i

    def plain(i):
        return i

    async def agen(n):
        for i in range(n):
            yield i

    async def windows():  # Task.async_ + await_many, 100 at a time
        for start in range(0, N, 100):
            await Task.await_many([Task.async_(work, i) for i in range(start, start + 100)])

    async def await_each():  # Task.async_ + Task.await_, one at a time
        for i in range(N):
            await Task.await_(Task.async_(work, i))

    async def start_children():  # until the supervisor holds no child
        async with TaskSupervisor() as sup:
            for i in range(N):
                TaskSupervisor.start_child(sup, work, i)
            while TaskSupervisor.children(sup):
                await asyncio.sleep(0)

    async def main():
        spawns = {"windows": windows, "await": await_each, "start_child": start_children}
        if CASE in spawns:
            t0 = time.perf_counter()
            await spawns[CASE]()
            return time.perf_counter() - t0
        items = agen(N) if CASE == "async input" else range(N)
        timeout = 5.0 if CASE in ("timeout=5.0", "threads") else None
        fn, limit = (plain, 8) if CASE == "threads" else (work, 100)
        t0 = time.perf_counter()
        count = 0
        async for _ in Task.async_stream(items, fn, max_concurrency=limit, timeout=timeout):
            count += 1
        assert count == N
        return time.perf_counter() - t0

    gc.collect()
    print(asyncio.run(main()))
    """
)

CASES = (
    *("timeout=None", "timeout=5.0", "async input", "threads"),
    *("windows", "await", "start_child"),
)


def run(src: str, n: int, case: str) -> float:
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run(
        [sys.executable, "-c", CASE, str(n), case],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout)


def instructions(src: str, n: int, case: str) -> int:
    """Instructions one run executes (interpreter start-up included)."""
    env = {**os.environ, "PYTHONPATH": src, "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        [
            *("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"),
            *(sys.executable, "-c", CASE, str(n), case),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    collected = [line for line in out.stderr.splitlines() if "Collected" in line]
    return int(collected[-1].split()[-1])


def per_item_instructions(src: str, n: int, case: str) -> float:
    return (instructions(src, 3 * n, case) - instructions(src, n, case)) / (2 * n)


def base_src(rev: str, into: str) -> str:
    archive = os.path.join(into, "base.tar")
    subprocess.run(["git", "archive", "-o", archive, rev, "src"], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return os.path.join(into, "src")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision to compare against")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--instructions", action="store_true", help="count with valgrind")
    parser.add_argument(
        "--case", action="append", choices=CASES, help="only this case (may be repeated)"
    )
    args = parser.parse_args()
    cases = tuple(args.case) if args.case else CASES
    new = os.path.join(ROOT, "src")
    with tempfile.TemporaryDirectory() as tmp:
        old = base_src(args.base, tmp)
        if args.instructions:
            print(f"N = {args.n:,} and {3 * args.n:,}, base {args.base}, instructions per item")
            print(f"{'case':<14} {'base':>8} {'new':>8} {'new/base':>9}")
            for case in cases:
                base = per_item_instructions(old, args.n, case)
                now = per_item_instructions(new, args.n, case)
                print(f"{case:<14} {base:8.0f} {now:8.0f} {now / base:9.3f}")
            return
        samples: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            for case in cases:
                pair = [("base", old), ("new", new)]
                if r % 2:
                    pair.reverse()
                for name, src in pair:
                    samples.setdefault((name, case), []).append(run(src, args.n, case))
    print(f"N = {args.n:,}, {args.rounds} rounds, base {args.base}, median µs per item")
    print(f"{'case':<14} {'base':>8} {'new':>8} {'new/base':>9}")
    for case in cases:
        base = statistics.median(samples[("base", case)]) / args.n * 1e6
        now = statistics.median(samples[("new", case)]) / args.n * 1e6
        print(f"{case:<14} {base:8.2f} {now:8.2f} {now / base:9.3f}")


if __name__ == "__main__":
    main()
