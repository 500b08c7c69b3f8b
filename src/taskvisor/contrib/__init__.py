"""Integrations at the edge: web frameworks and exporters.

Each module imports its framework and is imported only when used; importing `taskvisor`
(or `taskvisor.blocking`) never imports them, nor their frameworks.

- `taskvisor.contrib.flask`: ``init_app(app)``, a process scope per request.
- `taskvisor.contrib.django`: ``ProcessScopeMiddleware``, a process scope per request.
- `taskvisor.contrib.prometheus`: ``install(registry=None)``, metrics from the telemetry
  events (docs/observability.md).

Why a scope per request (flask, django): a server reuses its threads for request after
request, and a thread is a process (`taskvisor.blocking`). Without a scope, a task linked
to the thread in one request could crash during a later one and interrupt it. With one,
each request is a process of its own, which exits when the request ends (see
`taskvisor.blocking.process`).
"""
