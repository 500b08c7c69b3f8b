"""Supervisor: a static tree of children, started in order, restarted by a strategy, stopped
in reverse order.

    tree = await Supervisor.start_link(
        [TaskSupervisor.child_spec(name="MyApp.TaskSupervisor"), Task.child_spec(poll, url)],
        strategy="one_for_one",
    )

The supervisor's own process starts each child by calling its spec's start function, so a
child started with a ``start_link`` function is linked to the supervisor, and its callers and
ancestors begin with the supervisor, as in Elixir.
"""

from __future__ import annotations

import collections
import enum
import inspect
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Literal, Protocol, runtime_checkable

from .._child_spec import ChildInfo, ChildSpec
from .._runtime._api import is_exiting, link, pid_of
from .._runtime._pid import Pid, lookup
from .._runtime._proc import Proc
from .._types import ExitReason, ShutdownTimeout
from .._validate import check_choice
from ._base import SupervisorProcess, alive, restarts, stop_supervisor
from ._intensity import RestartIntensity, check_intensity

__all__ = ["HasChildSpec", "Strategy", "Supervisor", "to_child_spec"]

Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]


class ChildState(enum.Enum):
    """A supervised child's lifecycle, one per child spec (changed by the supervisor's task
    and by the child's exit).

    STOPPED -> RUNNING      its start function returned a live process
    RUNNING -> EXITED       it ended on its own: an event the supervisor handles in order
    RUNNING -> STOPPING     the supervisor stops it, to restart it with a sibling
    STOPPING -> STOPPED     it died of that stop: the supervisor's doing, not an event
    STOPPING -> RUNNING     the stop was cut short and it lives on (its exit is an event)
    EXITED -> RUNNING       restarted
    EXITED -> STOPPED       not restarted (its restart, or the intensity, says no)
    * -> STOPPED            it ended while the supervisor itself stops
    """

    STOPPED = "stopped"  # no process: not started yet, ignored, or ended for good
    RUNNING = "running"  # its process runs, linked to the supervisor
    STOPPING = "stopping"  # the supervisor is stopping it for a restart
    EXITED = "exited"  # it ended on its own; its exit waits in the supervisor's events


STOPPED, RUNNING, STOPPING, EXITED = (
    ChildState.STOPPED,
    ChildState.RUNNING,
    ChildState.STOPPING,
    ChildState.EXITED,
)


class _Child:
    """What the supervisor knows of one child spec's process."""

    __slots__ = ("proc", "state")

    def __init__(self) -> None:
        self.proc: Proc | None = None  # while RUNNING or STOPPING
        self.state = STOPPED


@runtime_checkable
class HasChildSpec(Protocol):
    """A class (or object) that says how to run it under a supervisor, as Elixir's modules
    do with ``child_spec/1``: ``MyServer`` or ``(MyServer, opts)`` in a children list."""

    def child_spec(self, *args: Any, **kwargs: Any) -> ChildSpec: ...


def to_child_spec(child: Any, where: str = "child") -> ChildSpec:
    """A `ChildSpec` from what a children list may hold (Elixir's ``Supervisor.child_spec``):
    a spec, a mapping of its fields, ``(cls, opts)`` (``cls.child_spec(**opts)`` for a
    mapping, else ``cls.child_spec(opts)``), or a class with ``child_spec()``."""
    if isinstance(child, ChildSpec):
        return child
    if isinstance(child, Mapping):
        return ChildSpec(**child)
    if isinstance(child, tuple) and len(child) == 2 and hasattr(child[0], "child_spec"):
        owner, opts = child
        spec = owner.child_spec(**opts) if isinstance(opts, Mapping) else owner.child_spec(opts)
    elif hasattr(child, "child_spec"):
        spec = child.child_spec()
    else:
        raise TypeError(
            f"{where} must be a ChildSpec, a mapping of its fields, (cls, opts) or a class "
            f"with child_spec(), got {child!r}"
        )
    if not isinstance(spec, ChildSpec):
        raise TypeError(f"{where}: child_spec() must return a ChildSpec, got {spec!r}")
    return spec


def _specs(children: Iterable[Any]) -> list[ChildSpec]:
    if isinstance(children, str | bytes) or not isinstance(children, Iterable):
        raise TypeError(f"children must be a list of child specs, got {children!r}")
    specs = [to_child_spec(child, f"children[{i}]") for i, child in enumerate(children)]
    seen: set[Hashable] = set()
    for spec in specs:
        if spec.id in seen:
            raise ValueError(
                f"children: two children have the id {spec.id!r}; give each a unique id "
                "(spec.replace(id=...))"
            )
        seen.add(spec.id)
    return specs


class Supervisor(SupervisorProcess):
    """A static supervision tree (Elixir's ``Supervisor``).

    Args:
        children: child specs, in start order (see `to_child_spec` for the forms).
        strategy: on a child's restart, ``"one_for_one"`` restarts it alone,
            ``"one_for_all"`` stops and restarts every child, ``"rest_for_one"`` the child
            and those started after it.
        max_restarts, max_seconds: more than `max_restarts` restarts within `max_seconds`
            stop the supervisor with reason ``"shutdown"`` (its children first);
            ``max_restarts=None`` means no limit. The count is the supervisor's, shared by
            all its children: one child crashing in a loop uses up everyone's budget.
        name: a name to reach it by.

    Cancellation: linked to the process that starts it, as `TaskSupervisor`. Stopping it
    stops the children in reverse start order, each within its own ``shutdown``.
    """

    __slots__ = ("_child_of", "_events", "_specs", "_strategy", "_wakeup")

    _child_of: dict[Hashable, _Child]  # by spec id, one per spec
    _events: collections.deque[tuple[ChildSpec, ExitReason]]
    _specs: list[ChildSpec]  # in start order
    _wakeup: Any

    def __init__(
        self,
        children: Iterable[Any],
        strategy: Strategy = "one_for_one",
        max_restarts: int | None = 3,
        max_seconds: float = 5.0,
        name: Hashable | None = None,
    ) -> None:
        check_choice(strategy, "strategy", ("one_for_one", "one_for_all", "rest_for_one"))
        restarts, seconds = check_intensity(max_restarts, max_seconds)
        self._prepare(name, RestartIntensity(restarts, seconds))
        self._strategy = strategy
        self._specs = _specs(children)
        self._child_of = {spec.id: _Child() for spec in self._specs}
        self._events = collections.deque()
        self._wakeup = None

    @classmethod
    async def start_link(
        cls,
        children: Iterable[Any],
        strategy: Strategy = "one_for_one",
        max_restarts: int | None = 3,
        max_seconds: float = 5.0,
        name: Hashable | None = None,
    ) -> Supervisor:
        """Start the tree, linked to the caller; returns once every child has started.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TypeError, ValueError: a bad child spec or option, at once.
            TaskExit: a child failed to start; ``.reason`` is
                ``("shutdown", ("failed_to_start_child", id, error))`` and the children
                started before it have been stopped.

        Cancellation: see the class.
        """
        sup = cls(
            children,
            strategy=strategy,
            max_restarts=max_restarts,
            max_seconds=max_seconds,
            name=name,
        )
        await sup._boot(True, ("Supervisor.start_link", (name,)))
        return sup

    async def stop(self: Supervisor | Hashable, reason: ExitReason = "normal") -> None:
        """Stop the supervisor: its children first (each within its shutdown), then itself.

        Returns once it is dead; a supervisor already dead is left alone. Its links receive
        `reason` (so a ``"normal"`` stop, the default, stops nobody else).

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`), or outside an asyncio task.
            TaskExit: no supervisor has that name (``"noproc"``), or the caller's own exit
                was already decided by a signal.

        Cancellation: the stop goes on if the caller is interrupted; it is bounded by the
        children's shutdown times plus a 0.1 s grace per kill (a ``None`` shutdown waits).
        """
        await stop_supervisor(self, Supervisor, reason)

    def which_children(self: Supervisor | Hashable) -> list[ChildInfo]:
        """``[ChildInfo(id, pid or None, type, [start function])]``, in start order.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`).
            TaskExit: the supervisor is not alive (``"noproc"``).

        Cancellation: not a wait; nothing to cancel.
        """
        sup = alive(self, Supervisor, ("Supervisor.which_children", (self,)))
        infos = []
        for s in sup._specs:
            proc = sup._child_of[s.id].proc
            infos.append(
                ChildInfo(s.id, None if proc is None else pid_of(proc), s.type, [s.start[0]])
            )
        return infos

    def count_children(self: Supervisor | Hashable) -> dict[str, int]:
        """``{"specs": n, "active": n, "supervisors": n, "workers": n}``, as Elixir's.

        Raises:
            RuntimeError: called from a thread that does not run the event loop (see
                `taskvisor.blocking`).
            TaskExit: the supervisor is not alive (``"noproc"``).

        Cancellation: not a wait; nothing to cancel.
        """
        sup = alive(self, Supervisor, ("Supervisor.count_children", (self,)))
        supervisors = sum(1 for s in sup._specs if s.type == "supervisor")
        return {
            "specs": len(sup._specs),
            "active": sum(1 for child in sup._child_of.values() if child.proc is not None),
            "supervisors": supervisors,
            "workers": len(sup._specs) - supervisors,
        }

    # -- inside: the supervisor's own process ---------------------------------------------

    async def _init(self) -> ExitReason | None:
        for spec in self._specs:
            failure = await self._start(spec)
            if failure is not None:
                await self._stop_children(self._running_in_reverse(), concurrently=False)
                return ("shutdown", ("failed_to_start_child", spec.id, failure))
        return None

    async def _start(self, spec: ChildSpec) -> BaseException | None:
        """Call the spec's start function here; None, or the error that stopped it."""
        fn, args = spec.start
        try:
            started = fn(*args)
            if inspect.isawaitable(started):
                started = await started
        except Exception as exc:
            return exc
        if started is None:  # Elixir's :ignore: the child is not running
            return None
        pid = started if type(started) is Pid else getattr(started, "pid", None)
        if type(pid) is not Pid:
            return TypeError(
                f"the start function of child {spec.id!r} returned {started!r}; it must "
                "return a Pid, an object with a .pid, or None"
            )
        proc = lookup(pid)
        if proc is None:  # it died already: an exit like any other
            self._exited(spec, "noproc")
            return None
        link(self, proc)
        child = self._child_of[spec.id]
        child.proc = proc
        child.state = RUNNING
        return None

    def _exited(self, spec: ChildSpec, reason: ExitReason) -> None:
        """The child of `spec` ended on its own (or failed to restart): an event, in order."""
        self._child_of[spec.id].state = EXITED
        self._events.append((spec, reason))

    async def _run(self) -> None:
        loop = self._loop
        while not is_exiting(self):
            if not self._events:
                self._wakeup = loop.create_future()
                await self._wakeup
                self._wakeup = None
                continue
            spec, reason = self._events.popleft()
            await self._handle_exit(spec, reason)
        await self._stop_children(self._running_in_reverse(), concurrently=False)

    async def _handle_exit(self, spec: ChildSpec, reason: ExitReason) -> None:
        if not restarts(spec.restart, reason) or self._too_many_restarts(spec.id, reason):
            self._child_of[spec.id].state = STOPPED
            if spec.restart == "temporary":
                self._forget(spec)
            return
        index = self._specs.index(spec)
        if self._strategy == "one_for_one":
            again = [spec]
        else:
            # every child it keeps a spec for, running or not (a transient that ended normally)
            again = list(self._specs if self._strategy == "one_for_all" else self._specs[index:])
            await self._stop_quietly([self._child_of[s.id] for s in reversed(again)])
            for dropped in [s for s in again if s.restart == "temporary" and s is not spec]:
                self._forget(dropped)  # a temporary child stopped here is not restarted
                again.remove(dropped)
        for s in again:
            failure = await self._start(s)
            if failure is not None:  # counts as another exit: retried while intensity allows
                self._exited(s, failure)

    def _forget(self, spec: ChildSpec) -> None:
        self._specs.remove(spec)
        del self._child_of[spec.id]

    async def _stop_quietly(self, children: list[_Child]) -> None:
        """Stop siblings for a restart: their exits are the supervisor's doing, not events."""
        stopping = []
        for child in children:
            if child.proc is not None:
                child.state = STOPPING
                stopping.append(child.proc)
        try:
            await self._stop_children(stopping, concurrently=False)
        finally:
            for child in children:
                if child.state is STOPPING:  # cut short: it lives on
                    child.state = RUNNING

    def _running_in_reverse(self) -> list[Proc]:
        running = []
        for spec in reversed(self._specs):
            proc = self._child_of[spec.id].proc
            if proc is not None:
                running.append(proc)
        return running

    def _on_stop(self) -> None:
        super()._on_stop()
        self._wake()

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def _spec_of(self, proc: Proc) -> ChildSpec | None:
        for spec in self._specs:
            if self._child_of[spec.id].proc is proc:
                return spec
        return None

    def _is_child(self, proc: Proc) -> bool:
        return self._spec_of(proc) is not None

    def _child_entries(self) -> list[tuple[Proc, str, Hashable | None]]:
        entries: list[tuple[Proc, str, Hashable | None]] = []
        for spec in self._specs:
            proc = self._child_of[spec.id].proc
            if proc is not None:
                entries.append((proc, spec.restart, spec.id))
        return entries

    def _shutdown_of(self, child: Proc) -> ShutdownTimeout:
        spec = self._spec_of(child)
        return 5.0 if spec is None else spec.shutdown

    def _child_exited(self, child: Proc, reason: ExitReason) -> None:
        spec = self._spec_of(child)
        assert spec is not None
        record = self._child_of[spec.id]
        record.proc = None
        if record.state is STOPPING or is_exiting(self):
            record.state = STOPPED
            return
        self._exited(spec, reason)
        self._wake()
