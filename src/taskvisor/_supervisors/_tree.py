"""A look at the tree: every live supervision tree and process, as plain data and as text.

`tree()` is Erlang observer's applications tab as a snapshot: each supervisor with its
running children (supervisors nested), and every other live process at the top. It reads
the process table once and each supervisor's children once, builds frozen dataclasses,
and touches nothing, so a health endpoint may call it (``bash bench/run.sh --telemetry``
measures it with 10,000 children). `format_tree` renders it as an indented text tree.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from .._callables import describe_fn
from .._runtime._adopt import Adopted
from .._runtime._api import every_process, function_of, pid_of, state_of, task_of
from .._runtime._pid import Pid
from .._runtime._proc import Proc
from .._runtime._reply import Monitored
from ._base import SupervisorProcess
from ._supervisor import Supervisor

__all__ = ["ProcessInfo", "format_tree", "tree"]

Kind = Literal["supervisor", "task_supervisor", "task", "process", "adopted"]


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One live process in `tree()`'s snapshot.

    `kind`: ``"supervisor"`` (a `Supervisor`), ``"task_supervisor"``, ``"task"`` (the task
    of an ``async_``, awaited by its owner), ``"process"`` (``Task.start``, ``start_link``,
    a ``start_child`` child), or ``"adopted"`` (a plain asyncio task that called taskvisor).
    `restart` and `id` are its restart type and child id as a supervisor's child (``None``
    at the top; `id` only for a `Supervisor`'s children); `restarts` is a supervisor's
    restarts in its current window (``None`` for others); `function` is what it runs (for
    an adopted task, its coroutine's name; ``None`` for a supervisor); `state` is ``"spawned"`` (not
    started yet), ``"running"`` or ``"doomed"`` (its exit reason fixed, unwinding).
    """

    pid: Pid
    kind: Kind
    name: Hashable | None
    function: str | None
    restart: str | None
    id: Hashable | None
    restarts: int | None
    state: str
    children: tuple[ProcessInfo, ...]


def tree() -> list[ProcessInfo]:
    """Every live supervision tree and process, as a snapshot: the top-level ones in the
    order they started, each supervisor's children in start order under it.

    Call it on a thread that runs an event loop with taskvisor processes (it reads the
    process table of every loop; another loop's processes may change meanwhile).

    Raises:
        Nothing: a snapshot of what is there.

    Cancellation: not a wait; nothing to cancel.
    """
    procs = every_process()
    under: set[Proc] = set()
    entries: dict[SupervisorProcess, list[tuple[Proc, str, Hashable | None]]] = {}
    for proc in procs:
        if isinstance(proc, SupervisorProcess):
            children = proc._child_entries()
            entries[proc] = children
            under.update(child for child, _, _ in children)
    tops = [p for p in procs if p not in under and state_of(p) != "dead"]  # in start order
    return [_info(p, None, None, entries) for p in tops]


def _info(
    proc: Proc,
    restart: str | None,
    child_id: Hashable | None,
    entries: dict[SupervisorProcess, list[tuple[Proc, str, Hashable | None]]],
) -> ProcessInfo:
    children: tuple[ProcessInfo, ...] = ()
    name: Hashable | None = None
    restarts: int | None = None
    function: str | None = None
    if isinstance(proc, SupervisorProcess):
        kind: Kind = "supervisor" if isinstance(proc, Supervisor) else "task_supervisor"
        name = proc.name
        restarts = proc._recent_restarts()
        children = tuple(
            _info(child, r, i, entries)
            for child, r, i in entries.get(proc, ())
            if state_of(child) != "dead"
        )
    else:
        kind = _kind_of(proc)
        fn = function_of(proc)
        if fn is not None:
            function = describe_fn(fn)
        elif (task := task_of(proc)) is not None:  # adopted: the asyncio task's coroutine
            coro = task.get_coro()
            function = getattr(coro, "__qualname__", None) or task.get_name()
    return ProcessInfo(
        pid=pid_of(proc),
        kind=kind,
        name=name,
        function=function,
        restart=restart,
        id=child_id,
        restarts=restarts,
        state=state_of(proc),
        children=children,
    )


def _kind_of(proc: Proc) -> Kind:
    if isinstance(proc, Adopted):
        return "adopted"
    return "task" if isinstance(proc, Monitored) else "process"


def format_tree(roots: list[ProcessInfo] | None = None) -> str:
    """`roots` (``tree()`` by default) as an indented text tree, one process per line::

        <0.68.0> adopted main
        <0.70.0> supervisor MyApp.Supervisor, 0 restarts in the window
        ├─ <0.64.0> task_supervisor AccountSetup, 1 restart in the window (permanent, id 1)
        │  ├─ <0.66.0> process __main__.create_user (transient)
        │  └─ <0.69.0> task __main__.fetch (temporary)
        └─ <0.65.0> process __main__.tick (permanent, id 'ticker')

    A child's restart type and id are in parentheses, and a state other than running.

    Raises:
        Nothing.

    Cancellation: not a wait; nothing to cancel.
    """
    lines: list[str] = []
    for root in tree() if roots is None else roots:
        _render(root, "", "", lines)
    return "\n".join(lines)


def _render(info: ProcessInfo, lead: str, rest: str, lines: list[str]) -> None:
    words = [repr(info.pid), info.kind]
    if info.name is not None:
        words.append(str(info.name))
    if info.function is not None:
        words.append(info.function)
    text = " ".join(words)
    if info.restarts is not None:
        text += f", {info.restarts} restart{'' if info.restarts == 1 else 's'} in the window"
    details = [d for d in (info.restart, None if info.id is None else f"id {info.id!r}") if d]
    if info.state != "running":
        details.append(info.state)
    if details:
        text += f" ({', '.join(details)})"
    lines.append(lead + text)
    for index, child in enumerate(info.children):
        last = index == len(info.children) - 1
        _render(child, rest + ("└─ " if last else "├─ "), rest + ("   " if last else "│  "), lines)
