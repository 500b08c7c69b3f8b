"""Flask: a `taskvisor.blocking.process` scope around each request.

    from flask import Flask
    from taskvisor.contrib.flask import init_app

    app = Flask(__name__)
    init_app(app)

Each request then runs as a process of its own: WSGI servers reuse their threads (one thread
for every request in a gunicorn sync worker, a pool in waitress), and without a scope a task
linked to the thread during one request could crash during a later one and interrupt it
(`TaskExit` from that request's next taskvisor call). The scope opens in a
``before_request`` function and closes in a ``teardown_request`` function: ``"normal"``, or
with the exception the request failed with (what Flask passes to its teardown functions: an
exception no error handler answered), and then every task linked to it is stopped. An HTTP
error (``abort(404)``) is an answer, so a normal end. A process that exits ``"normal"``
stops nothing: a task linked to it runs on, unlinked.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import flask

from taskvisor import blocking
from taskvisor.blocking import Pid

__all__ = ["init_app"]

_SCOPE = "taskvisor_process_scope"
"""Where the request's open scope is kept, on `flask.g`."""


def init_app(app: flask.Flask) -> None:
    """Run each request of `app` in a `taskvisor.blocking.process` scope of its own.

    Registers a ``before_request`` function that opens the scope and a ``teardown_request``
    function that closes it, with the request's exception as the reason when it has one,
    else ``"normal"``. Call it before registering hooks of your own that use taskvisor:
    Flask runs ``before_request`` functions in the order they were registered and teardown
    functions in the reverse order, so the scope then covers them. Calling it again for the
    same app does nothing.

    Raises:
        RuntimeError (from the ``before_request`` function, for each request): the request
            is handled in a thread that runs an event loop, where blocking calls would stall
            it (an ``async def`` view: use the asyncio API there).
    """
    if _SCOPE in app.extensions:
        return
    app.extensions[_SCOPE] = True
    app.before_request(_open_scope)
    app.teardown_request(_close_scope)


def _open_scope() -> None:
    """Before the request: a new process for the calling thread, until the teardown."""
    scope = blocking.process()
    scope.__enter__()
    setattr(flask.g, _SCOPE, scope)


def _close_scope(error: BaseException | None) -> None:
    """After the request: its process exits, with `error` (stopping what it linked) or
    ``"normal"``. Nothing to do if the scope was never opened (an earlier
    ``before_request`` function answered or failed first)."""
    scope: AbstractContextManager[Pid] | None = flask.g.pop(_SCOPE, None)
    if scope is None:
        return
    if error is None:
        scope.__exit__(None, None, None)
    else:
        scope.__exit__(type(error), error, error.__traceback__)
