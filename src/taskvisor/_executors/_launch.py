"""Starting one worker process, without multiprocessing, so that it never imports ``__main__``.

`multiprocessing`'s ``"spawn"`` and ``"forkserver"`` import the caller's main module again in
every worker (as ``__mp_main__``), which runs a script's module-level code there: without an
``if __name__ == "__main__":`` guard, every worker dies at start. taskvisor's workers have no
use for it (functions from ``__main__`` travel by value, with cloudpickle), so they start on
their own terms:

- ``"spawn"`` (the default): a fresh interpreter (`subprocess.Popen`, with the caller's
  interpreter flags) runs `_BOOTSTRAP`, which sets the caller's ``sys.path`` and loads the
  worker's modules by their file paths, under a private package name, without importing the
  ``taskvisor`` package: a worker imports only the standard library and cloudpickle, and what
  its calls need. Those modules (`_worker`, `_answer`, `_channel`, `_stop_cell`,
  ``_callables``) import nothing else from taskvisor.
- ``"fork"``: `os.fork` from the pool's thread; the child keeps only its own descriptors,
  runs the same worker main and ends with `os._exit`. Fastest, but forking a program that
  runs threads can deadlock the child (a lock another thread held stays held).

Either way the worker gets three descriptors: its end of a socket pair (the calls and their
answers), the write end of an "alive" pipe that only it holds (the caller sees end of file on
the read end when the worker has ended, however it ended), and the stop cell's file. This
needs POSIX (``pass_fds``, signals): on Windows starting a worker raises RuntimeError.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import time
import traceback
from typing import Protocol

from . import _worker

__all__ = ["POSIX", "Started", "launch"]

POSIX = os.name == "posix"

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The directory of the ``taskvisor`` package, whose worker modules `_BOOTSTRAP` loads."""

_BOOTSTRAP = """\
import signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # until the worker sets its own handler
from importlib.machinery import ModuleSpec
from importlib.util import module_from_spec
package, *numbers = sys.argv[1:6]
sys.path[:] = sys.argv[6:]
del sys.argv[1:]  # the calls see the argv of `python -c`
for name, where in (("_taskvisor_worker", package),
                    ("_taskvisor_worker._executors", package + "/_executors")):
    spec = ModuleSpec(name, None, is_package=True)  # its __init__ is never run
    spec.submodule_search_locations = [where]
    sys.modules[name] = module_from_spec(spec)
from _taskvisor_worker._executors._worker import main
main(*map(int, numbers), sys.path)
"""
"""What a spawned worker runs: ``argv`` is the package's directory, the caller's pid, the
worker's three descriptors, then the caller's ``sys.path``."""


class Started(Protocol):
    """A started worker process: a `subprocess.Popen`, or `_Forked`."""

    @property
    def pid(self) -> int: ...

    def wait(self, timeout: float) -> int:
        """Its exit status (negative: the signal that killed it); raises
        `subprocess.TimeoutExpired` if it has not ended within `timeout` seconds."""
        ...


def launch(method: str, *, conn: int, alive: int, stop: int, path: list[str]) -> Started:
    """Start a worker with ``"spawn"`` or ``"fork"``, giving it the descriptors `conn`,
    `alive` and `stop`, and `path` as its ``sys.path``.

    Raises RuntimeError off POSIX, and what starting a process raises (OSError).
    """
    if not POSIX:
        raise RuntimeError(
            "ProcessPool needs a POSIX system (Linux, macOS): its workers get their pipes "
            "with pass_fds and are stopped with signals"
        )
    parent, fds = os.getpid(), (conn, alive, stop)
    if method == "fork":
        return _fork(parent, fds, path)
    args = [
        sys.executable,
        *subprocess._args_from_interpreter_flags(),  # type: ignore[attr-defined]
        "-c",
        _BOOTSTRAP,
        _PACKAGE,
        str(parent),
        *map(str, fds),
        *path,
    ]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, pass_fds=fds, close_fds=True)


class _Forked:
    """A forked worker, waited for as `subprocess.Popen` waits for a spawned one."""

    __slots__ = ("pid", "returncode")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: as Popen, call it 0
                self.returncode = 0
                break
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(min(delay, remaining))
            delay = min(2 * delay, 0.05)
        return self.returncode


def _fork(parent: int, fds: tuple[int, int, int], path: list[str]) -> _Forked:
    pid = os.fork()
    if pid:
        return _Forked(pid)
    code = 1
    try:
        _leave_the_caller_behind(fds)
        _worker.main(parent, *fds, path)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # closed or broken: nothing more to say
                stream.flush()
        os._exit(code)


def _leave_the_caller_behind(keep: tuple[int, ...]) -> None:
    """In a forked child: start as a spawned worker would, with none of the caller's
    descriptors but stdout, stderr and `keep` (stdin reads nothing), and none of its signal
    handlers. In particular the child must not hold other workers' "alive" pipes, or their
    deaths would go unseen."""
    gc.freeze()  # the caller's objects are never collected here: none closes a descriptor
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # until the worker sets its own handler
    signal.set_wakeup_fd(-1)  # an event loop's: it is closed below
    for signum in signal.valid_signals():
        if callable(signal.getsignal(signum)) and signum != signal.SIGINT:
            signal.signal(signum, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
