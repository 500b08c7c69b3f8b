"""Where functions run: the loop, threads, processes, behind one small interface (`Executor`)."""

from ._base import Call, Executor
from ._choose import ExecutorArg, Runner, check_executor, runner_for
from ._loop import LOOP, LoopExecutor
from ._thread import ThreadPool, default_thread_pool

__all__ = [
    "LOOP",
    "Call",
    "Executor",
    "ExecutorArg",
    "LoopExecutor",
    "Runner",
    "ThreadPool",
    "check_executor",
    "default_thread_pool",
    "runner_for",
]
