"""Processes: a pool of worker processes for CPU-bound work, where one call can be killed.

`concurrent.futures.ProcessPoolExecutor` cannot stop a running call, so taskvisor has its own
pool: each worker runs one call at a time, so stopping a call means stopping its worker. A
polite stop interrupts the call and the worker lives on; a kill is SIGKILL, and a new worker
takes the dead one's place. Functions, closures and lambdas travel with cloudpickle, and the
workers see the caller's ``sys.path``. The running part (`_dispatch`) is made by the first
call, so importing taskvisor starts no thread and no process. Workers start without
`multiprocessing` and never import the caller's ``__main__`` (`_launch`), so a script needs no
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._validate import check_choice, check_positive_int
from ._base import Executor

if TYPE_CHECKING:
    from ._dispatch import Dispatcher, ProcessCall

__all__ = ["ProcessPool", "default_process_pool", "set_default"]

START_METHODS = ("spawn", "fork")
"""How workers can start (see `_launch`); the first is the default."""


class ProcessPool(Executor):
    """A pool of worker processes for CPU-bound functions, where one call can be killed.

    Pass it as ``executor=`` (``executor="process"`` uses a shared default pool)::

        pool = ProcessPool(4)
        async for result in Task.async_stream(images, resize, executor=pool, timeout=10.0,
                                              on_timeout="kill_task"):
            ...

    Each worker runs one call at a time. Workers start when calls need them, up to
    `max_workers`, and a worker that ends (killed, crashed, recycled) is replaced at once.
    Functions, closures and lambdas are sent with cloudpickle, so a function defined in the
    caller's own modules, or in a script's ``__main__``, runs as written; the workers see the
    caller's ``sys.path``. A coroutine function runs under ``asyncio.run`` in its worker.
    Exceptions come back as themselves, with the worker's traceback as their ``__cause__``;
    one that cannot travel comes back as `RemoteError`. Workers never outlive the program:
    they exit when it exits or dies, and `close` or `shutdown` ends them sooner. Workers
    never import the caller's main module, so a script needs no
    ``if __name__ == "__main__":`` guard. POSIX only (Linux, macOS).

    Args:
        max_workers: how many calls run at once; default ``os.cpu_count()``.
        start_method: how workers start: ``"spawn"`` (the default: a fresh interpreter
            that imports only the standard library, cloudpickle and what its calls need) or
            ``"fork"`` (fastest, but forking a program that runs threads, as asyncio
            programs do, can deadlock the child).
        max_calls_per_worker: replace a worker after this many calls (None: never), for
            functions that leak memory or other resources.

    Raises:
        ValueError: a bad `max_workers`, `max_calls_per_worker` or `start_method` (among
            them ``"forkserver"``: a fork server imports ``__main__`` in every worker).
        TypeError: `max_workers` or `max_calls_per_worker` not an int.
        RuntimeError: (from a call, when a worker would start) not a POSIX system.

    Cancellation: a polite stop (the task is sent exit ``"shutdown"``) raises
    KeyboardInterrupt in the running call, once, so its ``finally`` blocks run; the worker
    lives on and the task ends with its reason when the call does. A call that was still
    queued never runs. A kill (``"brutal_kill"``, a shutdown timeout,
    ``on_timeout="kill_task"``, a cancel from outside taskvisor) sends SIGKILL to the worker
    at once and starts a new one. A worker that dies on its own (a crash, ``os._exit``, the
    OOM killer) fails its call with `WorkerCrashedError`.
    """

    name = "process"
    crosses_processes = True

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        start_method: str | None = None,
        max_calls_per_worker: int | None = None,
    ) -> None:
        if max_workers is not None:
            check_positive_int(max_workers, "max_workers")
        if start_method == "forkserver":
            raise ValueError(
                "start_method must be 'spawn' or 'fork', got 'forkserver': taskvisor's "
                "workers never import the caller's __main__, and a fork server imports it "
                "in every worker"
            )
        if start_method is not None:
            check_choice(start_method, "start_method", START_METHODS)
        if max_calls_per_worker is not None:
            check_positive_int(max_calls_per_worker, "max_calls_per_worker")
        self._max_workers: int = max_workers or os.cpu_count() or 1
        self._start_method: str = start_method or START_METHODS[0]
        self._max_calls = max_calls_per_worker
        self._lock = threading.Lock()
        self._dispatcher: Dispatcher | None = None

    @property
    def max_workers(self) -> int:
        return self._max_workers

    @property
    def start_method(self) -> str:
        return self._start_method

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> ProcessCall:
        from ._dispatch import ProcessCall

        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.closed:
            dispatcher = self._start_dispatcher()
        call = ProcessCall(dispatcher, fn, args)
        dispatcher.submit(call)
        return call

    def shutdown(self, wait: bool = True, *, kill: bool = False) -> None:
        """Stop taking calls and end the workers; a later call starts the pool again.

        Queued calls are cancelled. Running calls finish first, unless `kill`, which sends
        their workers SIGKILL (and cancels their calls). With `wait`, block until every
        worker has ended.

        Cancellation: a cancelled call ends its task with exit ``"shutdown"``, as any cancel
        from outside taskvisor does. This method blocks the calling thread (with `wait`, until
        the running calls end, unless `kill`); it is not a coroutine and cannot be cancelled.
        """
        with self._lock:
            dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None:
            dispatcher.close(kill)
            if wait:
                dispatcher.join()

    def close(self) -> None:
        """Kill the running calls and end every worker now: ``shutdown(kill=True)``.

        Cancellation: as `shutdown`; it blocks only until the killed workers are reaped.
        """
        self.shutdown(wait=True, kill=True)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start_dispatcher(self) -> Dispatcher:
        from ._dispatch import Dispatcher

        with self._lock:
            if self._dispatcher is None or self._dispatcher.closed:
                self._dispatcher = Dispatcher(
                    self._max_workers, self._start_method, self._max_calls
                )
            return self._dispatcher

    def __repr__(self) -> str:
        calls = f", max_calls_per_worker={self._max_calls}" if self._max_calls else ""
        return (
            f"ProcessPool(max_workers={self._max_workers}, "
            f"start_method={self._start_method!r}{calls})"
        )


_default: Executor | None = None


def default_process_pool() -> Executor:
    """The shared pool behind ``executor="process"`` (a `ProcessPool` made on first use, or
    the executor given to ``set_default_executor("process", ...)``)."""
    global _default
    if _default is None:
        _default = ProcessPool()
    return _default


def set_default(pool: Executor) -> None:
    """Replace the shared pool (see `set_default_executor`)."""
    global _default
    _default = pool
