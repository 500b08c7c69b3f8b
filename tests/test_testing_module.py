"""taskvisor.testing: what its helpers report, and that it stays out of ``import taskvisor``."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from support import forever, settle, wait_then, wait_until_down
from taskvisor import Process, Task
from taskvisor.testing import (
    asyncio_task_of,
    exit_queue_limit,
    live_processes,
    live_tasks,
    pid_table_size,
    process_state,
)


class TestTheProcessTable:
    async def test_a_started_process_is_counted_until_it_has_ended(self) -> None:
        Process.self()  # adopt this task and draw its pid first
        count, tasks, pids = live_processes(), live_tasks(), pid_table_size()
        go = asyncio.Event()
        pid = Task.start(wait_then, go, None)
        assert live_processes() == count + 1
        assert len(live_tasks() - tasks) == 1
        assert pid_table_size() == pids + 1  # Task.start drew its pid
        go.set()
        await wait_until_down(pid)
        assert (live_processes(), live_tasks(), pid_table_size()) == (count, tasks, pids)

    async def test_a_process_is_spawned_then_running_then_doomed_then_gone(self) -> None:
        pid = Task.start(forever)
        assert process_state(pid) == "spawned"  # its function has not run a step yet
        await settle(1)
        assert process_state(pid) == "running"
        aio = asyncio_task_of(pid)
        assert aio is not None and aio in live_tasks() and not aio.done()
        Process.exit(pid, "shutdown")
        assert process_state(pid) == "doomed"  # its reason is fixed; it has yet to unwind
        await wait_until_down(pid)
        assert process_state(pid) is None and asyncio_task_of(pid) is None
        assert aio.done()


class TestExitQueueLimit:
    async def test_the_limit_holds_inside_the_block_only(self) -> None:
        Process.flag("trap_exit", True)
        me = Process.self()
        with exit_queue_limit(1):
            Process.exit(me, "inside-1")
            Process.exit(me, "inside-2")
        Process.exit(me, "after-1")
        Process.exit(me, "after-2")
        got = [await Process.receive_exit(0) for _ in range(4)]
        assert got == [(me, "inside-2"), (me, "after-1"), (me, "after-2"), None]


def test_import_taskvisor_leaves_it_out_and_it_imports_no_test_framework() -> None:
    check = (
        "import sys, taskvisor\n"
        "assert 'taskvisor.testing' not in sys.modules and 'taskvisor._demo' not in sys.modules\n"
        "import taskvisor.testing\n"
        "tops = {m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)\n"
        "site = {'__main__', '_distutils_hack'}  # the interpreter's and setuptools' own\n"
        "third_party = {m for m in tops - site if not m.startswith('__editable__')}\n"
        "assert third_party == {'taskvisor', 'cloudpickle'}, third_party\n"
    )
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
