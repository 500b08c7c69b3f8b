"""taskvisor for sync code: the same names and signatures as the asyncio API, blocking the
calling thread.

    from taskvisor.blocking import Task, TaskSupervisor

    t = Task.async_(fetch, url)          # returns once started
    page = Task.await_(t, timeout=5.0)   # blocks this thread
    with TaskSupervisor(name="Jobs") as sup:
        sup.start_child(send_email, user, restart="transient")

A thin layer over the asyncio core: one event loop runs in a daemon thread
(``taskvisor-blocking``), started on first use; each call runs the asyncio API's function of
the same name there (or on the loop where its supervisor or task lives), for the calling
thread's process, and blocks until it is done. A thread is a process: it has a pid, links,
monitors and ``trap_exit`` (see `Process`, `checkpoint`, `process`). See docs/blocking.md.
"""

from ._blocking._process import Process, checkpoint, process
from ._blocking._stream import BlockingStream
from ._blocking._supervisors import Supervisor, TaskSupervisor
from ._blocking._task import Task
from ._child_spec import ChildInfo, ChildSpec
from ._errors import MaxChildrenError, NotOwnerError, TaskExit, TaskTimeout
from ._runtime._pid import Pid
from ._supervisors._application import run_application
from ._types import Exit, ExitReason, Ok

__all__ = [
    "BlockingStream",
    "ChildInfo",
    "ChildSpec",
    "Exit",
    "ExitReason",
    "MaxChildrenError",
    "NotOwnerError",
    "Ok",
    "Pid",
    "Process",
    "Supervisor",
    "Task",
    "TaskExit",
    "TaskSupervisor",
    "TaskTimeout",
    "checkpoint",
    "process",
    "run_application",
]

for _cls in (BlockingStream, Process, Supervisor, Task, TaskSupervisor):
    _cls.__module__ = "taskvisor.blocking"
del _cls
