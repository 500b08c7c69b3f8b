"""Django: a middleware that runs each request in a `taskvisor.blocking.process` scope.

Add it to ``MIDDLEWARE`` in your settings, near the top so that the scope covers the
middleware below it (Django calls them in list order, each wrapping the next)::

    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "taskvisor.contrib.django.ProcessScopeMiddleware",
        ...
    ]

Each request then runs as a process of its own: WSGI servers reuse their threads (one thread
for every request in a gunicorn sync worker, a pool in waitress), and without a scope a task
linked to the thread during one request could crash during a later one and interrupt it
(`TaskExit` from that request's next taskvisor call). The scope closes when the response is
returned: ``"normal"``, or, if the request failed, with the exception Django answered with a
500 (the one it sends ``got_request_exception`` for, raised by the view or by a middleware
below this one), and then every task linked to it is stopped. An exception Django answers
with a 4xx response (`Http404`, `PermissionDenied`, ...) is an answer, so a normal end. A
process that exits ``"normal"`` stops nothing: a task linked to it runs on, unlinked. A
streaming response's content is produced after the scope has closed.

Sync only: under ASGI, Django runs it in a thread (a blocking call must not run on the
event loop's thread).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponseBase

from taskvisor import blocking
from taskvisor.blocking import Pid

__all__ = ["ProcessScopeMiddleware"]

_FAILED = "_taskvisor_request_exception"
"""Where the exception a request failed with is kept, on the request."""


class ProcessScopeMiddleware:
    """Run each request in a `taskvisor.blocking.process` scope of its own.

    New-style Django middleware: put ``"taskvisor.contrib.django.ProcessScopeMiddleware"``
    in ``MIDDLEWARE``, near the top. Within the request the thread is a new process; when
    the response is returned it exits ``"normal"``, or with the exception the request
    failed with (answered with a 500), which stops the tasks linked to it.

    Raises:
        RuntimeError (for each request): it runs in a thread that runs an event loop, where
            blocking calls would stall the loop.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        """Handle `request` inside its scope; close the scope as the request ended."""
        scope = blocking.process()
        scope.__enter__()
        try:
            response = self.get_response(request)
        except BaseException as exc:  # rare: Django answers exceptions below with a response
            _close(scope, exc)
            raise
        _close(scope, vars(request).pop(_FAILED, None))
        return response


def _keep_failure(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django answers an exception with a 500: keep it on the request, for the scope's end
    (sent while the exception is handled, so it is the one `sys.exc_info` holds)."""
    error = sys.exc_info()[1]
    if request is not None and error is not None and _FAILED not in vars(request):
        setattr(request, _FAILED, error)


got_request_exception.connect(_keep_failure, dispatch_uid="taskvisor.contrib.django")


def _close(scope: AbstractContextManager[Pid], error: BaseException | None) -> None:
    if error is None:
        scope.__exit__(None, None, None)
    else:
        scope.__exit__(type(error), error, error.__traceback__)
