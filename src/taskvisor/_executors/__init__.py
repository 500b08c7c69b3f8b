"""Where functions run: the loop, threads, processes, behind one small interface (`Executor`)."""

from .._errors import RemoteError, WorkerCrashedError
from ._base import Call, Executor
from ._choose import (
    ExecutorArg,
    Runner,
    check_executor,
    executor_of,
    runner_for,
    set_default_executor,
)
from ._loop import LOOP, LoopExecutor
from ._process import ProcessPool, default_process_pool
from ._thread import ThreadPool, default_thread_pool

__all__ = [
    "LOOP",
    "Call",
    "Executor",
    "ExecutorArg",
    "LoopExecutor",
    "ProcessPool",
    "RemoteError",
    "Runner",
    "ThreadPool",
    "WorkerCrashedError",
    "check_executor",
    "default_process_pool",
    "default_thread_pool",
    "executor_of",
    "runner_for",
    "set_default_executor",
]
