"""taskvisor: Elixir's Task and Task.Supervisor for Python asyncio.

Spawn work, await it with a timeout, poll it, shut it down, and stream over inputs with
bounded concurrency, with Elixir's semantics: processes, links, monitors and exit reasons.
"""

from ._child_spec import ChildInfo, ChildSpec
from ._errors import (
    MaxChildrenError,
    NotOwnerError,
    RemoteError,
    RemoteTraceback,
    TaskExit,
    TaskTimeout,
    WorkerCrashedError,
)
from ._executors import Executor, ProcessPool, ThreadPool, set_default_executor
from ._process import Process
from ._runtime._pid import Pid
from ._stream import TaskStream
from ._supervisors._application import run_application
from ._supervisors._supervisor import Supervisor
from ._supervisors._task_supervisor import TaskSupervisor
from ._supervisors._tree import ProcessInfo, format_tree, tree
from ._task import Task
from ._types import Exit, ExitReason, Ok
from ._watchdog import LoopWatchdog

__all__ = [
    "ChildInfo",
    "ChildSpec",
    "Executor",
    "Exit",
    "ExitReason",
    "LoopWatchdog",
    "MaxChildrenError",
    "NotOwnerError",
    "Ok",
    "Pid",
    "Process",
    "ProcessInfo",
    "ProcessPool",
    "RemoteError",
    "RemoteTraceback",
    "Supervisor",
    "Task",
    "TaskExit",
    "TaskStream",
    "TaskSupervisor",
    "TaskTimeout",
    "ThreadPool",
    "WorkerCrashedError",
    "format_tree",
    "run_application",
    "set_default_executor",
    "tree",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = "taskvisor"
del _name, _obj

__version__ = "0.1.0"
