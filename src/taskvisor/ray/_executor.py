"""`RayNode`: an executor whose calls run on a Ray cluster, stopped and killed there for real.

A call is one Ray task running `_worker.run_call(fn, args)`. Its `future` is resolved on the
caller's loop from Ray's own future (``ref.future()``, resolved in a Ray thread), and what
Ray says is translated once, here (`RayCall._outcome`):

=====================================================  =======================================
Ray says                                               the call's outcome
=====================================================  =======================================
an answer (value or exception, the process pool's)     the value; the exception as itself,
                                                       the worker's traceback its __cause__
``TaskCancelledError`` after our `stop` or `kill`      stopped: the process ends with the
                                                       reason its fate was sealed with
``TaskCancelledError`` nobody here asked for           ``TaskExit("shutdown")``
``WorkerCrashedError``, ``OutOfMemoryError``           taskvisor's `WorkerCrashedError`
``NodeDiedError``; ``TaskUnschedulableError`` for a    ``TaskExit(NoConnection(node))``: the
placed call (its node is gone); no live node of the    process exits ``"noconnection"``, its
name at the start                                      waits raise ``("nodedown", node)``
``RayTaskError`` (an error outside the function)       its cause, Ray's text as __cause__
anything else (``ObjectLostError``, ...)               the exception, a crash
=====================================================  =======================================
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import ray
from ray import exceptions as ray_errors
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from .._callables import describe_fn
from .._errors import RemoteTraceback, TaskExit, WorkerCrashedError
from .._executors import Executor
from .._executors._outcome import resolve
from .._reasons import NoConnection
from .._validate import check_timeout
from . import _nodes
from ._worker import run_call

__all__ = [
    "RayCall",
    "RayNode",
    "on_loop_when_done",
]

logger = logging.getLogger("taskvisor")

_run_call: Any = None  # ray.remote(run_call), made by the first call


class RayNode(Executor):
    """Run functions on a Ray cluster: anywhere, or on the node of a given name.

    Pass it as ``executor=`` wherever an executor goes (`Task.async_`, streams, a
    supervisor's default for its children)::

        ray.init(address="auto")                # taskvisor never starts Ray itself
        gpu = RayNode("worker-a", resources={"GPU": 1})
        result = await Task.await_(Task.async_(train, shard, executor=gpu), timeout=600)

    The process stays on this loop, with its links and monitors; only the function runs on
    Ray, in a Ray worker process. Functions travel as Ray sends them: a lambda, a closure
    or a function of the script's ``__main__`` by value; a function of a module by
    reference, so that module must be importable on the nodes (installed there, or sent with
    ``runtime_env={"py_modules": [...]}``), and so must taskvisor. A coroutine function runs
    under ``asyncio.run`` on the worker's own loop. Exceptions come back as themselves with
    the worker's traceback as their ``__cause__`` (`RemoteTraceback`), or as `RemoteError`
    when they cannot travel, as from a `ProcessPool`.

    Args:
        node: the name of the node to run on: the value of its Ray label
            ``taskvisor-node`` (``ray start --labels='{"taskvisor-node": "worker-a"}'``);
            None runs anywhere. A name names one Ray node (the first live one with it).
        num_cpus: the CPUs each call reserves (Ray's ``num_cpus``; fractions allowed).
        resources: other Ray resources each call reserves, e.g. ``{"GPU": 1}`` (``"GPU"``
            becomes Ray's ``num_gpus``).
        runtime_env: Ray's ``runtime_env`` for the calls (``py_modules``, ``pip``,
            ``env_vars``, ...).
        max_retries: how often Ray re-runs a call whose worker or node died, before
            taskvisor sees the failure (-1: without end). 0 by default: restarts belong to
            supervisors, and a re-run repeats the function's side effects.
        stop_grace: seconds after a polite stop at which the call is killed, for stops that
            have no timeout of their own (a linked exit); None (the default) never does.

    Raises:
        TypeError, ValueError: a bad argument, named.
        RuntimeError: (when a call starts) Ray is not initialised in this program.

    Cancellation: a polite stop (exit ``"shutdown"`` and other exit signals) is
    ``ray.cancel(ref)``: a KeyboardInterrupt at the call's next Python bytecode, so its
    ``finally`` blocks run; a call blocked in C (``time.sleep``, a socket, a lock) does not
    see it until that returns (ray-project/ray#32954). A kill (``"brutal_kill"``, a shutdown
    timeout, ``on_timeout="kill_task"``, a cancel from outside taskvisor, ``stop_grace``) is
    ``ray.cancel(ref, force=True)``: the worker process is killed and Ray starts another.
    A call whose node dies ends the process ``"noconnection"``; every wait on it raises
    ``TaskExit(("nodedown", node))``.
    """

    name = "ray"
    crosses_processes = True

    def __init__(
        self,
        node: str | None = None,
        *,
        num_cpus: float = 1,
        resources: Mapping[str, float] | None = None,
        runtime_env: Mapping[str, Any] | None = None,
        max_retries: int = 0,
        stop_grace: float | None = None,
    ) -> None:
        if node is not None:
            if not isinstance(node, str):
                raise TypeError(f"node must be a node's name (a str) or None, got {node!r}")
            if not node:
                raise ValueError("node must be a node's name or None, got ''")
        self._node = node
        self._num_cpus = _check_amount(num_cpus, "num_cpus")
        self._resources = _check_resources(resources)
        if runtime_env is not None and not isinstance(runtime_env, Mapping):
            raise TypeError(
                f"runtime_env must be a dict (Ray's runtime_env) or None, got {runtime_env!r}"
            )
        self._runtime_env = dict(runtime_env) if runtime_env is not None else None
        if isinstance(max_retries, bool) or not isinstance(max_retries, int):
            raise TypeError(f"max_retries must be an int, got {max_retries!r}")
        if max_retries < -1:
            raise ValueError(f"max_retries must be >= 0, or -1 for no limit, got {max_retries!r}")
        self._max_retries = max_retries
        self._stop_grace = check_timeout(stop_grace, "stop_grace")
        self._placed: dict[str | None, Any] = {}  # node id (None: anywhere) -> Ray options

    @property
    def node(self) -> str | None:
        """The name of the node calls run on, or None for anywhere."""
        return self._node

    @property
    def stop_grace(self) -> float | None:
        """Seconds from a polite stop to a kill, or None."""
        return self._stop_grace

    @property
    def max_workers(self) -> int | None:
        """How many calls fit at once: the CPUs of the node (or cluster) over `num_cpus`;
        None before ``ray.init`` or with ``num_cpus=0``."""
        if self._num_cpus == 0 or not ray.is_initialized():
            return None
        return max(1, math.floor(_nodes.cpus_of(self._node) / self._num_cpus + 1e-9))

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> RayCall:
        if not ray.is_initialized():
            raise RuntimeError(
                f"{self!r} needs Ray running in this program: call ray.init() (a local "
                "Ray) or ray.init(address=...) (a cluster) before starting tasks on it"
            )
        loop = asyncio.get_running_loop()
        name = self._node
        if name is None:
            return RayCall(self, fn, self._options(None).remote(fn, args), loop, None)
        found = _nodes.node_id(name)
        if found is None:
            return RayCall.lost(self, fn, loop, name)
        return RayCall(self, fn, self._options(found).remote(fn, args), loop, found)

    def _options(self, node_id: str | None) -> Any:
        """The Ray remote function with this executor's options, placed on `node_id`."""
        options = self._placed.get(node_id)
        if options is None:
            global _run_call
            if _run_call is None:
                _run_call = ray.remote(run_call)
            chosen: dict[str, Any] = {
                "num_cpus": self._num_cpus,
                "max_retries": self._max_retries,
                "retry_exceptions": False,
            }
            resources = dict(self._resources)
            if "GPU" in resources:
                chosen["num_gpus"] = resources.pop("GPU")
            if resources:
                chosen["resources"] = resources
            if self._runtime_env is not None:
                chosen["runtime_env"] = self._runtime_env
            if node_id is not None:
                chosen["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=False)
            options = self._placed[node_id] = _run_call.options(**chosen)
        return options

    def __repr__(self) -> str:
        parts = [] if self._node is None else [repr(self._node)]
        parts.append(f"num_cpus={self._num_cpus:g}")
        if self._resources:
            parts.append(f"resources={self._resources!r}")
        if self._max_retries:
            parts.append(f"max_retries={self._max_retries}")
        if self._stop_grace is not None:
            parts.append(f"stop_grace={self._stop_grace:g}")
        return f"RayNode({', '.join(parts)})"


class CallState(enum.Enum):
    """Where a `RayCall` is in its life."""

    RUNNING = "running"  # submitted to Ray -> STOPPING (stop) | KILLED (kill) | DONE (answer)
    STOPPING = "stopping"  # ray.cancel(ref) sent -> KILLED (kill, stop_grace) | DONE (answer)
    KILLED = "killed"  # ray.cancel(ref, force=True) sent, the future cancelled; final
    DONE = "done"  # the future holds the outcome; final


RUNNING, STOPPING, KILLED, DONE = CallState


def on_loop_when_done(
    ref: Any,
    loop: asyncio.AbstractEventLoop,
    settle: Callable[[concurrent.futures.Future[Any]], object],
) -> None:
    """Call ``settle(answer)`` on `loop` when Ray's call `ref` is done (Ray resolves its
    future in a thread of its own); dropped if the loop has closed meanwhile."""

    def answered(answer: concurrent.futures.Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for it any more
            loop.call_soon_threadsafe(settle, answer)

    ref.future().add_done_callback(answered)


class RayCall:
    """One call on Ray: the `Call` the runtime drives (see the module's table)."""

    __slots__ = ("_grace", "_node_id", "_ref", "executor", "fn", "future", "loop", "state")

    def __init__(
        self,
        executor: RayNode,
        fn: Callable[..., Any],
        ref: ray.ObjectRef[Any] | None,
        loop: asyncio.AbstractEventLoop,
        node_id: str | None,
    ) -> None:
        self.executor = executor
        self.fn = fn
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self._ref = ref
        self._node_id = node_id
        self.state = RUNNING
        self._grace: asyncio.TimerHandle | None = None
        if ref is not None:
            on_loop_when_done(ref, loop, self._settle)

    @classmethod
    def lost(
        cls, executor: RayNode, fn: Callable[..., Any], loop: asyncio.AbstractEventLoop, name: str
    ) -> RayCall:
        """A call that cannot start: no live node is called `name`."""
        call = cls(executor, fn, None, loop, None)
        call.state = DONE
        call.future.set_exception(_nodedown(name))
        return call

    def stop(self) -> None:
        if self.state is RUNNING:
            self.state = STOPPING
            self._cancel(force=False)
            grace = self.executor.stop_grace
            if grace is not None:
                self._grace = self.loop.call_later(grace, self.kill)

    def kill(self) -> None:
        if self.state is RUNNING or self.state is STOPPING:
            self.state = KILLED
            self._end_grace()
            self._cancel(force=True)
        self.future.cancel()

    def _cancel(self, force: bool) -> None:
        try:
            ray.cancel(self._ref, force=force)
        except Exception as exc:  # Ray is gone (shut down): so is the call
            logger.warning(
                "could not cancel the Ray call of %s: %r",
                describe_fn(self.fn),
                exc,
                extra={"function": describe_fn(self.fn), "action": "ray_cancel_failed"},
            )

    def _end_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    # -- the answer -----------------------------------------------------------------------

    def _settle(self, answer: concurrent.futures.Future[Any]) -> None:
        future = self.future
        if future.done():  # killed: its outcome no longer matters
            return
        stopped = self.state is STOPPING
        self.state = DONE
        self._end_grace()
        error = answer.exception()
        if error is None:
            resolve(future, answer.result(), self.fn)
            return
        outcome = self._outcome(error, stopped)
        if outcome is None:
            future.cancel()
        else:
            future.set_exception(outcome)

    def _outcome(self, error: BaseException, stopped: bool) -> BaseException | None:
        """What Ray's `error` means for the call: its exception, or None for "stopped"."""
        if _cancelled(error):
            if stopped:
                return None
            return TaskExit(
                "shutdown", detail="the call was cancelled on Ray from outside taskvisor"
            )
        name = self.executor.node
        if isinstance(error, ray_errors.NodeDiedError) or (
            isinstance(error, ray_errors.TaskUnschedulableError) and name is not None
        ):
            dead_id = self._node_id or _nodes.node_of_error(error)
            if name is None:
                name = _nodes.name_of(dead_id) if dead_id else "unknown"
            _nodes.forget(name, dead_id)
            lost = _nodedown(name)
            lost.__cause__ = error
            return lost
        if isinstance(error, ray_errors.WorkerCrashedError | ray_errors.OutOfMemoryError):
            crashed = WorkerCrashedError(describe_fn(self.fn), None, None, _first_line(error))
            crashed.__cause__ = error
            return crashed
        if isinstance(error, ray_errors.RayTaskError):
            cause = error.cause
            if isinstance(cause, Exception):
                cause.__cause__ = RemoteTraceback(str(error))
                return cause
        return error


def _cancelled(error: BaseException) -> bool:
    if isinstance(error, ray_errors.TaskCancelledError):
        return True
    cause = getattr(error, "cause", None) if isinstance(error, ray_errors.RayTaskError) else None
    return isinstance(cause, ray_errors.TaskCancelledError | KeyboardInterrupt)


def _nodedown(name: str) -> TaskExit:
    return TaskExit(NoConnection(name), detail=f"the Ray node {name!r} is gone or unknown")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_amount(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return value


def _check_resources(resources: Any) -> dict[str, float]:
    if resources is None:
        return {}
    if not isinstance(resources, Mapping):
        raise TypeError(f"resources must be a dict of Ray resources or None, got {resources!r}")
    checked = {}
    for key, amount in resources.items():
        if not isinstance(key, str):
            raise TypeError(f"resources must have str keys, got {key!r}")
        if key == "CPU":
            raise ValueError("resources must not name 'CPU': use num_cpus")
        checked[key] = _check_amount(amount, f"resources[{key!r}]")
    return checked
