"""What every supervisor is: a process that owns children, restarts them and stops them in order.

A supervisor is a process of its own (an asyncio task with a pid, links and a registered
name). It traps its children's exits: a child's exit reaches `_child_exited` at once, inside
the child's last step, never as a signal that could stop the supervisor. Its parent (the
process that started it) is linked: if the parent exits, for any reason, the supervisor stops.

Stopping is orderly: the reason is fixed first (state DOOMED, no cancel), then the
supervisor's own task stops the children, each with exit ``"shutdown"`` and a kill after its
``shutdown`` seconds, and only then dies with that reason, which its links receive.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Hashable, Iterable
from typing import Any, Self, TypeVar

from .._callables import describe_fn
from .._errors import TaskExit
from .._reasons import is_normal, is_shutdown
from .._runtime._adopt import current, live_caller
from .._runtime._api import (
    caller_of,
    exit_now,
    is_alive,
    is_exiting,
    is_running,
    kill,
    pid_of,
    reason_of,
    seal,
    start,
    state_of,
    unlink,
    watch,
)
from .._runtime._calling import check_on_loop, running_loop
from .._runtime._proc import Proc
from .._runtime._reports import log_event, logger
from .._runtime._stopping import begin_stop
from .._runtime._supervising import Supervising, ask_stop
from .._runtime._suspend import suspend, wake
from .._telemetry import emit, listened
from .._types import ExitReason, ShutdownTimeout
from ._intensity import RestartIntensity
from ._registry import register, unregister, whereis
from ._remote import locate

__all__ = [
    "SUPERVISOR_INIT",
    "SUPERVISOR_MAX_CHILDREN",
    "SUPERVISOR_MAX_RESTARTS",
    "SUPERVISOR_RESTART",
    "SUPERVISOR_STOP",
    "SupervisorProcess",
    "alive",
    "check_name",
    "resolve",
    "restarts",
    "stop_supervisor",
]

SUPERVISOR_INIT = ("taskvisor", "supervisor", "init")
SUPERVISOR_STOP = ("taskvisor", "supervisor", "stop")
SUPERVISOR_RESTART = ("taskvisor", "supervisor", "restart")
SUPERVISOR_MAX_RESTARTS = ("taskvisor", "supervisor", "max_restarts")
SUPERVISOR_MAX_CHILDREN = ("taskvisor", "supervisor", "max_children")


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def check_name(name: object) -> Hashable | None:
    """A registered name is None or any hashable value (usually a string)."""
    if name is not None and not _hashable(name):
        raise TypeError(f"name must be hashable (usually a string), got {name!r}")
    return name


def restarts(restart: str, reason: ExitReason) -> bool:
    """Whether a child with this ``restart`` is restarted after exiting with `reason`:
    ``"permanent"`` always, ``"transient"`` unless the exit was ``"normal"``, ``"shutdown"``
    or ``("shutdown", detail)`` (Elixir's rule), ``"temporary"`` never."""
    if restart == "temporary":
        return False
    if restart == "permanent":
        return True
    return not (is_normal(reason) or is_shutdown(reason))


class Boot(enum.Enum):
    """A supervisor object before and after it starts its process.

    NEW -> STARTED      `start_link` or ``async with`` started its process (a supervisor
                        starts once); its process's lifecycle (running, exiting, dead) says
                        the rest
    """

    NEW = "new"  # built and checked: no process, no event loop, no pid yet
    STARTED = "started"  # its process was started, on `_loop`


NEW, STARTED = Boot.NEW, Boot.STARTED


class SupervisorProcess(Supervising):
    """The process record shared by `TaskSupervisor` and `Supervisor`."""

    __slots__ = ("_began", "_intensity", "_loop", "_name", "_phase", "_stop_asked", "_up")

    _began: int  # time.monotonic_ns() when it came up, 0 before (its stop event's duration)
    _phase: Boot
    _intensity: RestartIntensity
    _loop: asyncio.AbstractEventLoop  # set when STARTED
    _name: Hashable | None
    _stop_asked: asyncio.Future[None]
    _up: asyncio.Future[None]

    def _prepare(self, name: object, intensity: RestartIntensity) -> None:
        """Fill in a new supervisor's record (NEW: its process starts later, once)."""
        start(self, None, (), None, None)
        self._phase = NEW
        self._began = 0
        self._name = check_name(name)
        self._intensity = intensity

    # -- subclass hooks -------------------------------------------------------------------

    async def _init(self) -> ExitReason | None:
        """Start the first children, in the supervisor's own process, before it counts as up;
        return None, or the reason it could not start (its children are stopped by then)."""
        return None

    async def _run(self) -> None:
        """The supervisor's life once up: return when it has stopped its children."""
        raise NotImplementedError

    def _is_child(self, proc: Proc) -> bool:
        raise NotImplementedError

    def _child_exited(self, child: Proc, reason: ExitReason) -> None:
        raise NotImplementedError

    def _shutdown_of(self, child: Proc) -> ShutdownTimeout:
        raise NotImplementedError

    def _child_entries(self) -> list[tuple[Proc, str, Hashable | None]]:
        """The running children, oldest first: ``(process, restart, child id or None)``."""
        raise NotImplementedError

    # -- starting -------------------------------------------------------------------------

    async def _boot(self, link: bool, call: tuple[str, tuple[Any, ...]]) -> None:
        """Start the supervisor's own process (linked to the caller) and wait until it runs."""
        if self._phase is STARTED:
            raise RuntimeError(f"{self!r} was already started; a supervisor starts once")
        loop = running_loop(call[0])
        caller = live_caller(loop, *call)
        name = self._name
        if name is not None:
            register(name, self)
        self._phase = STARTED
        self._loop = loop
        self._up = loop.create_future()
        self._stop_asked = loop.create_future()
        start(self, self._serve, (), caller, loop, caller if link else None)
        await suspend(caller, self._up, call)

    async def _serve(self) -> None:
        failure: ExitReason | None = "killed"  # what start_link raises if init is interrupted
        try:
            failure = await self._init()
            if failure is not None:  # start_link raises it: the caller need not die of it too
                caller = caller_of(self)
                if caller is not None:
                    unlink(self, caller)
                seal(self, failure)
        finally:
            if not self._up.done():
                if failure is None:
                    self._up.set_result(None)
                else:
                    reason = reason_of(self) if is_exiting(self) else failure
                    self._up.set_exception(
                        TaskExit(reason, (f"{type(self).__name__}.start_link", ()))
                    )
        if failure is None:
            self._began = time.monotonic_ns()
            if listened(SUPERVISOR_INIT):
                measurements = {"system_time": time.time_ns(), "monotonic_time": self._began}
                emit(SUPERVISOR_INIT, measurements, self._telemetry_metadata())
            await self._run()

    async def __aenter__(self) -> Self:
        """Start it, linked to the caller; leaving the block stops it, children first."""
        await self._boot(True, (f"{type(self).__name__}.__aenter__", (self._name,)))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await stop_supervisor(self, SupervisorProcess, "normal", leaving=True)

    def _live(self, call: tuple[str, tuple[Any, ...]]) -> SupervisorProcess:
        """This supervisor, if it can take a request now; else exit ``"noproc"``."""
        if self._phase is NEW:
            raise self._not_started()
        check_on_loop(self._loop, call[0], self)
        if not is_running(self):
            raise TaskExit("noproc", call)
        return self

    def _not_started(self) -> RuntimeError:
        kind = type(self).__name__
        return RuntimeError(f"{self!r} is not started: use `async with` or {kind}.start_link")

    @property
    def pid(self) -> Any:
        """The supervisor's process id."""
        if self._phase is NEW:
            raise self._not_started()
        return pid_of(self)

    @property
    def name(self) -> Hashable | None:
        """The name it is registered under, or None."""
        return self._name

    # -- exits: a supervisor traps them (see `Supervising`) ----------------------------------

    def _linked_exited(self, source: Proc, reason: ExitReason) -> None:
        if self._is_child(source):
            self._child_exited(source, reason)
        elif source is caller_of(self) or not is_normal(reason):
            ask_stop(self, reason)  # the parent exited (any reason), or a linked crash

    def _on_stop(self) -> None:
        if not self._stop_asked.done():
            self._stop_asked.set_result(None)

    def _on_end(self, reason: ExitReason) -> None:
        if self._name is not None:
            unregister(self._name, self)
        if self._began and listened(SUPERVISOR_STOP):  # it came up: its init was emitted
            now = time.monotonic_ns()
            metadata = {**self._telemetry_metadata(), "reason": reason}
            emit(SUPERVISOR_STOP, {"duration": now - self._began, "monotonic_time": now}, metadata)

    def _recent_restarts(self) -> int:
        """Its restarts in the current window (0 before it came up)."""
        return self._intensity.recent(self._loop.time()) if self._began else 0

    def _telemetry_metadata(self) -> dict[str, Any]:
        """What every supervisor event says of the supervisor."""
        return {
            "supervisor": (pid_of(self), self._name),
            "kind": type(self).__name__,
            "max_restarts": self._intensity.max_restarts,
            "max_seconds": self._intensity.max_seconds,
        }

    def _too_many_restarts(self, child: object, reason: ExitReason) -> bool:
        """Count a restart of `child` (its pid, or its id in a `Supervisor`), which exited
        with `reason`; past the limit, log it and stop with ``"shutdown"``."""
        intensity = self._intensity
        if intensity.allow(self._loop.time()):
            if listened(SUPERVISOR_RESTART):
                metadata = {**self._telemetry_metadata(), "child": child, "reason": reason}
                emit(SUPERVISOR_RESTART, {"count": intensity.count}, metadata)
            return False
        if listened(SUPERVISOR_MAX_RESTARTS):
            metadata = {**self._telemetry_metadata(), "child": child, "reason": reason}
            emit(SUPERVISOR_MAX_RESTARTS, {"restarts": intensity.count}, metadata)
        logger.error(
            "%r reached its maximum restart intensity (%r) and shuts down",
            self,
            self._intensity,
            extra={"supervisor": pid_of(self), "reason": "reached_max_restart_intensity"},
        )
        ask_stop(self, "shutdown")
        return True

    # -- stopping -------------------------------------------------------------------------

    async def _stop_children(self, children: list[Proc], concurrently: bool) -> None:
        """Stop `children` (all at once, or one by one in the order given) within their
        shutdown times; warn, naming them, about the ones that had to be killed."""
        killed: list[Proc] = []
        timers = []
        if concurrently:
            timers = [self._stop_one(child, killed) for child in children]
            await _until_dead(children)
        else:
            for child in children:
                timers.append(self._stop_one(child, killed))
                await _until_dead([child])
        for timer in timers:
            if timer is not None:
                timer.cancel()
        if killed:
            log_event(
                self,
                "killed_children",
                f"{self!r} had to kill {len(killed)} child(ren) that did not stop within "
                f"their shutdown time: {', '.join(map(repr, killed))}",
                children=[pid_of(child) for child in killed],
            )

    def _stop_one(self, child: Proc, killed: list[Proc]) -> asyncio.TimerHandle | None:
        """`begin_stop` as the supervisor, noting the children its timer had to kill."""

        def kill_late() -> None:
            if is_alive(child):
                killed.append(child)
                kill(child, self)

        return begin_stop(child, self, self._shutdown_of(child), kill_late)

    def __repr__(self) -> str:
        kind = type(self).__name__
        if self._phase is NEW:
            return f"<{kind} name={self._name!r} not started>"
        name = "" if self._name is None else f" name={self._name!r}"
        return f"<{kind} {pid_of(self)!r}{name} {state_of(self)}>"


async def _until_dead(procs: Iterable[Proc]) -> None:
    """Wait until every process in `procs` is dead."""
    pending = [p for p in procs if is_alive(p)]
    if not pending:
        return
    done = asyncio.get_running_loop().create_future()
    left = len(pending)

    def on_death(_: Proc) -> None:
        nonlocal left
        left -= 1
        if left == 0 and not done.done():
            done.set_result(None)

    for proc in pending:
        watch(proc, on_death)
    await done


S = TypeVar("S", bound=SupervisorProcess)


async def stop_supervisor(
    sup_or_name: object, kind: type[S], reason: ExitReason, leaving: bool = False
) -> None:
    """``kind.stop``: stop a supervisor (children first) and wait until it is dead.

    `leaving` is ``async with`` ending: a caller whose own exit is already decided still
    stops the supervisor, with its own reason, before its exit goes on.
    """
    call = (f"{kind.__name__}.stop", (sup_or_name, reason))
    sup = resolve(sup_or_name, kind, call)
    me = current(call[0])
    if sup._phase is STARTED:
        check_on_loop(sup._loop, call[0], sup)
    doomed = is_exiting(me)
    if doomed:
        if not leaving:
            raise exit_now(me, call)
        reason = reason_of(me)
    if sup._phase is NEW or not is_alive(sup):
        return
    died = sup._loop.create_future()
    watch(sup, lambda _: wake(died))
    ask_stop(sup, reason)
    if doomed:
        await died  # a cleanup on the way out: the caller's exit goes on after it
    else:
        await suspend(me, died, call)


def alive(sup_or_name: object, kind: type[S], call: tuple[str, tuple[Any, ...]]) -> S:
    """The started, live supervisor for a query; else RuntimeError or exit ``"noproc"``."""
    sup = resolve(sup_or_name, kind, call)
    if sup._phase is NEW:
        raise sup._not_started()
    check_on_loop(sup._loop, call[0], sup)
    if not is_alive(sup):
        raise TaskExit("noproc", call)
    return sup


def loop_of_supervisor(sup_or_name: object) -> asyncio.AbstractEventLoop | None:
    """The loop a started supervisor (or the one registered under a name) lives on, else
    None (read from any thread: the blocking API runs calls there)."""
    sup = sup_or_name if isinstance(sup_or_name, SupervisorProcess) else None
    if sup is None and _hashable(sup_or_name):
        sup = whereis(sup_or_name)
    if sup is None or sup._phase is NEW:
        return None
    return sup._loop


def resolve(sup: object, kind: type[S], call: tuple[str, tuple[Any, ...]]) -> S:
    """A `kind` of supervisor from its handle or its registered name."""
    if not isinstance(sup, SupervisorProcess):
        name = sup
        if not _hashable(name):
            raise TypeError(f"supervisor must be a {kind.__name__} or its name, got {name!r}")
        name, node = locate(name)
        if node is not None:
            method = call[0].rpartition(".")[2]
            raise ValueError(
                f"{call[0]}: {sup!r} names a supervisor on the taskvisor node {node!r}, which "
                f"only a network round trip reaches: use "
                f"await taskvisor.ray.node({node!r}).{method}({name!r}, ...)"
            )
        sup = whereis(name)
        if sup is None:
            running_loop(call[0])  # from another thread, that is what to say first
            if callable(name):  # TaskSupervisor.start_child(fetch, 1): the supervisor forgotten
                raise TypeError(
                    f"{call[0]}: the first argument must be a {kind.__name__} or its registered "
                    f"name, got the function {describe_fn(name)}; pass the supervisor first, "
                    f"e.g. {call[0]}(sup, {getattr(name, '__name__', 'fn')}, ...)"
                )
            raise TaskExit(
                "noproc", call, detail=f"no supervisor is registered under the name {name!r}"
            )
    if not isinstance(sup, kind):
        raise TypeError(f"{sup!r} is not a {kind.__name__}")
    return sup
