"""Tasks under a supervisor on a taskvisor node: the caller's proxy and its remote child.

``TaskSupervisor.async_(("MyApp.TaskSupervisor", "worker-a"), fn)`` starts a local proxy task
whose executor is `RemoteSupervised`: its call (`RemoteCall`) is one `NodeActor.run` on the
node's actor, which starts the child under the named supervisor there and answers when the
child is dead. What the node answers, and what Ray says, is translated here:

=====================================================  =======================================
the node (or Ray) says                                 the proxy's call
=====================================================  =======================================
``ok``: the child's value                              the value
``crash``: the child raised; its crash report          the exception (``__cause__``: the
                                                       child's traceback); the report is
                                                       logged here, with the node's name, and
                                                       the proxy reports nothing more
``exit``: the child exited with a reason               after our stop: stopped (the proxy's
(``"shutdown"``, ``"killed"``, ``"noproc"`` for a      reason is sealed); else
name not registered there)                             ``TaskExit(reason)``
``refused``: `MaxChildrenError` from the supervisor    that exception
``RayActorError`` (the node's Ray node died, its       ``TaskExit(NoConnection(node))``: the
actor died or was stopped), or no node of the name     proxy exits ``"noconnection"``, waits
                                                       raise ``("nodedown", node)``
=====================================================  =======================================

A stop of the proxy asks the node to stop the child (exit ``"shutdown"``), and the answer
still comes when the child is dead; a kill asks the node to kill it and gives up on the answer
at once, since Ray cannot force an actor call to end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
from collections.abc import Callable, Hashable
from typing import Any

from .._errors import TaskExit
from .._executors import Executor, ExecutorArg
from .._executors._outcome import decode, resolve
from .._runtime._reports import mark_reported
from .._types import ShutdownTimeout
from ._actors import actor_of, caller_id, forget_actor, is_node_loss, nodedown_of
from ._executor import DONE, KILLED, RUNNING, STOPPING, CallState, on_loop_when_done
from ._reports_home import follow, log_remote_report

__all__ = ["Connector", "RemoteCall", "RemoteSupervised"]

logger = logging.getLogger("taskvisor")

_call_ids = itertools.count(1)


class Connector:
    """The core's way to taskvisor nodes on Ray (`taskvisor._supervisors._remote`)."""

    def supervised(
        self,
        node: str,
        supervisor: Hashable,
        shutdown: ShutdownTimeout,
        executor: ExecutorArg,
        linked: bool,
    ) -> RemoteSupervised:
        return RemoteSupervised(node, supervisor, shutdown, executor, linked)


class RemoteSupervised(Executor):
    """Calls that run as children of `supervisor` on the taskvisor node `node`.

    `linked`: their proxies are linked to their callers. The node then stops such a child
    with ``"noconnection"`` when this whole program is lost (no sign of life from it within
    the node's ``caller_timeout``: `follow` is that sign), as a BEAM link to a lost node.
    """

    name = "remote"

    def __init__(
        self,
        node: str,
        supervisor: Hashable,
        shutdown: ShutdownTimeout,
        executor: ExecutorArg,
        linked: bool,
    ) -> None:
        self.node = node
        self.supervisor = supervisor
        self.shutdown = shutdown
        self.executor = executor
        self.linked = linked

    def start(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> RemoteCall:
        loop = asyncio.get_running_loop()
        actor = actor_of(self.node)
        call_id = f"{caller_id(loop)}.{next(_call_ids)}"
        if actor is None:
            return RemoteCall(self, fn, call_id, None, None, loop)
        if self.linked:
            follow(self.node, actor)  # this program's sign of life for the node
        ref = actor.run.remote(
            (call_id, self.supervisor, fn, args, self.shutdown, self.executor, self.linked)
        )
        return RemoteCall(self, fn, call_id, actor, ref, loop)

    def __repr__(self) -> str:
        return f"RemoteSupervised({self.supervisor!r}, node={self.node!r})"


class RemoteCall:
    """One remote child, as the proxy's `Call` (see the module's table)."""

    __slots__ = ("_actor", "_id", "executor", "fn", "future", "loop", "state")

    def __init__(
        self,
        executor: RemoteSupervised,
        fn: Callable[..., Any],
        call_id: str,
        actor: Any,
        ref: Any,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.executor = executor
        self.fn = fn
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self._id = call_id
        self._actor = actor
        self.state: CallState = RUNNING
        if ref is None:  # no such node: the call never starts
            self.state = DONE
            self.future.set_exception(nodedown_of(executor.node))
        else:
            on_loop_when_done(ref, loop, self._settle)

    def stop(self) -> None:
        if self.state is RUNNING:
            self.state = STOPPING
            self._tell("shutdown")

    def kill(self) -> None:
        if self.state is RUNNING or self.state is STOPPING:
            self.state = KILLED
            self._tell("kill")
        self.future.cancel()

    def _tell(self, how: str) -> None:
        try:
            self._actor.stop_call.remote(self._id, how)
        except Exception as exc:  # Ray is gone (shut down): so is the call
            logger.warning(
                "could not stop the remote call %s on node %r: %r",
                self._id,
                self.executor.node,
                exc,
                extra={"node": self.executor.node, "action": "remote_stop_failed"},
            )

    def _settle(self, answer: concurrent.futures.Future[Any]) -> None:
        future = self.future
        if future.done():  # killed: its outcome no longer matters
            return
        stopped = self.state is STOPPING
        self.state = DONE
        node = self.executor.node
        error = answer.exception()
        if error is not None:
            if is_node_loss(error):
                forget_actor(node, self._actor)
                future.set_exception(nodedown_of(node, error))
            else:  # Ray failed the call itself (a value or function that could not travel)
                future.set_exception(getattr(error, "cause", None) or error)
            return
        kind, body, report = answer.result()
        if kind == "ok" or kind == "refused":
            resolve(future, body, self.fn)  # the value, or the refusal (MaxChildrenError)
        elif kind == "crash":
            crash = decode(body, self.fn)[1]
            if report is not None:
                log_remote_report(node, report)
                mark_reported(crash, node)
            future.set_exception(crash)
        elif stopped and kind == "exit":
            future.cancel()  # the child ended stopped: the proxy ends with its own reason
        else:
            future.set_exception(TaskExit(body, detail=f"on the taskvisor node {node!r}"))
