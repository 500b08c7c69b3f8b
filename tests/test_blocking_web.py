"""taskvisor.blocking in web servers, and taskvisor.contrib's per-request process scopes.

Real parts only, on 127.0.0.1:

- Flask under waitress (a real WSGI server, in a background thread of this process) with one
  worker thread, so that every request runs in the same, reused thread: request 1 links a
  task that crashes after its response has been sent; with `init_app` request 2 is a new
  process and answers, without it request 2 fails with the crash's `TaskExit`. A request
  that fails closes its scope with its exception, which stops what it linked; an HTTP
  error (``abort(404)``) is a normal end, which stops nothing.
- Django in a subprocess (its settings are global to an interpreter), through
  `django.test.Client`'s real request handling, in one reused worker thread: the same
  cases, with and without `ProcessScopeMiddleware`.
- FastAPI under a real uvicorn (tests/test_recipes.py's pattern): plain ``def`` endpoints
  use the app's supervisor, started by the asyncio API in the lifespan, by name; its
  children run on the server's loop thread. An endpoint that catches an awaited task's
  crash goes on with a new process.
- `blocking.process()` and the crash of an awaited linked task, in a reused thread: two
  fixes these cases needed (a `TaskExit` out of a scope exits with its reason; a crash is
  told to the awaiting thread once).

Sequencing is by events, files and process exits; the only waits on time are safety bounds
(a bounded poll) that turn a hang into a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import flask
import httpx
import pytest
import waitress
from waitress import wasyncore

import taskvisor
from support import SAFETY, SAFETY_SLOW, eventually, reply, server_process
from taskvisor import blocking
from taskvisor.blocking import Pid, TaskExit
from taskvisor.contrib.flask import init_app
from taskvisor.testing import live_processes
from test_recipes import wait_for_lines, wait_until_serving

CRASH = "crash after the response"

# -- helpers --------------------------------------------------------------------------------


def dead(*pids: Pid) -> bool:
    """Whether every one of `pids` has exited, its links and monitors fired."""
    return not any(blocking.Process.alive(pid) for pid in pids)


@pytest.fixture(autouse=True)
def scoped() -> Iterator[None]:
    """The test thread in a process scope of its own; afterwards nothing may run."""
    with blocking.process():
        yield
    eventually(lambda: live_processes() == 0, "every process of the test ended")


def crash_after(release: threading.Event) -> None:
    """Crash once `release` is set (a plain function: it runs in the thread pool)."""
    if not release.wait(SAFETY):
        raise AssertionError("never released")
    raise RuntimeError(CRASH)


async def hold(stopped: threading.Event) -> None:
    """Run until stopped; say so from its ``finally``."""
    try:
        await asyncio.Event().wait()
    finally:
        stopped.set()


async def trap(ready: threading.Event, seen: dict[str, Any]) -> None:
    """Trap exits, then keep the reason of the first exit signal in ``seen["trapped"]``."""
    taskvisor.Process.flag("trap_exit", True)
    ready.set()
    got = await taskvisor.Process.receive_exit(SAFETY)
    seen["trapped"] = None if got is None else got[1]


# -- Flask under waitress -------------------------------------------------------------------


@dataclasses.dataclass
class FlaskApp:
    """A Flask app whose views report what they saw, for the test's thread to check."""

    app: flask.Flask
    seen: dict[str, Any] = dataclasses.field(default_factory=dict)
    errors: list[BaseException] = dataclasses.field(default_factory=list)  # unhandled
    stopped: threading.Event = dataclasses.field(default_factory=threading.Event)


def flask_app(scoped: bool) -> FlaskApp:
    app = flask.Flask(__name__)
    if scoped:
        init_app(app)
    web = FlaskApp(app)
    seen = web.seen

    @app.get("/first")
    def first() -> flask.Response:
        release = threading.Event()
        seen["crasher"] = blocking.Task.start_link(crash_after, release)
        seen["first"] = blocking.Process.self()
        response = flask.jsonify(thread=threading.get_ident())
        # Called by the server once it has sent the response (after the teardown).
        response.call_on_close(release.set)
        return response

    @app.get("/second")
    def second() -> flask.Response:
        seen["second"] = blocking.Process.self()
        return flask.jsonify(thread=threading.get_ident())

    @app.get("/fails")
    def fails() -> flask.Response:
        seen["holder"] = blocking.Task.start_link(hold, web.stopped)
        ready = threading.Event()
        seen["trapper"] = blocking.Task.start_link(trap, ready, seen)
        assert ready.wait(SAFETY)
        seen["raised"] = RuntimeError("the view failed")
        raise seen["raised"]

    @app.get("/missing")
    def missing() -> flask.Response:
        seen["holder"] = blocking.Task.start_link(hold, web.stopped)
        seen["missing"] = blocking.Process.self()
        flask.abort(404)

    def record(sender: flask.Flask, exception: BaseException, **extra: Any) -> None:
        web.errors.append(exception)

    flask.got_request_exception.connect(record, app, weak=False)
    return web


@contextlib.contextmanager
def serving(app: flask.Flask) -> Iterator[httpx.Client]:
    """Serve `app` with waitress on 127.0.0.1 in a background thread, with one worker
    thread (every request runs in it); yield a client; then stop the server."""
    sockets: dict[int, Any] = {}
    server = waitress.create_server(app, map=sockets, host="127.0.0.1", port=0, threads=1)
    thread = threading.Thread(target=server.run, name="waitress-server", daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.effective_port}"
        with httpx.Client(base_url=base, timeout=SAFETY_SLOW) as client:
            yield client
    finally:
        # closed from its own thread (what the trigger is for): its loop ends with its map
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(sockets))
        except OSError:  # its trigger's pipe is gone already: close the map from here; the
            wasyncore.close_all(sockets)  # loop sees it empty at its next poll (1 s)
        thread.join(SAFETY_SLOW)
        server.task_dispatcher.shutdown(timeout=SAFETY_SLOW)
        assert not thread.is_alive()


def first_then_second(web: FlaskApp) -> tuple[httpx.Response, httpx.Response]:
    """Request 1, the crash of its linked task once its response is sent, request 2."""
    with serving(web.app) as client:
        first = client.get("/first")
        assert first.status_code == 200, first.text
        crasher, pid = web.seen["crasher"], web.seen["first"]
        # the crash has happened, and has reached every process it was going to reach
        eventually(lambda: dead(crasher, pid), "the crash, and the end of request 1's process")
        return first, client.get("/second")


def test_flask_each_request_on_a_reused_thread_is_a_process_of_its_own() -> None:
    web = flask_app(scoped=True)
    first, second = first_then_second(web)
    assert second.status_code == 200, second.text
    assert first.json()["thread"] == second.json()["thread"]  # the same worker thread
    assert web.seen["second"] != web.seen["first"]
    assert web.errors == []


def test_flask_without_init_app_the_crash_fails_the_next_request() -> None:
    """The control: the same two requests, no scope; request 2 gets request 1's crash."""
    web = flask_app(scoped=False)
    _, second = first_then_second(web)
    assert second.status_code == 500
    [error] = web.errors
    assert isinstance(error, TaskExit)
    assert repr(error.reason) == repr(RuntimeError(CRASH))
    assert "second" not in web.seen  # Process.self() raised it


def test_flask_a_failed_request_closes_its_scope_with_its_exception() -> None:
    web = flask_app(scoped=True)
    with serving(web.app) as client:
        assert client.get("/fails").status_code == 500
        assert web.stopped.wait(SAFETY)  # the linked task was stopped: its finally ran
        eventually(lambda: "trapped" in web.seen, "the trapping task got the exit signal")
    assert web.errors == [web.seen["raised"]]
    assert web.seen["trapped"] is web.seen["raised"]  # the process exited with it


def test_flask_an_http_error_is_a_normal_end() -> None:
    """``abort(404)`` is Flask's answer, not a failure: the scope ends "normal", and a task
    linked to it runs on."""
    web = flask_app(scoped=True)
    with serving(web.app) as client:
        assert client.get("/missing").status_code == 404
        eventually(lambda: dead(web.seen["missing"]), "the end of the request's process")
        holder = web.seen["holder"]
        assert blocking.Process.alive(holder)
        assert not web.stopped.is_set()
        blocking.Process.exit(holder, "kill")
        assert web.stopped.wait(SAFETY)
    assert web.errors == []


def test_flask_init_app_twice_registers_one_scope() -> None:
    web = flask_app(scoped=True)
    init_app(web.app)
    app = web.app
    assert (len(app.before_request_funcs[None]), len(app.teardown_request_funcs[None])) == (1, 1)


# -- blocking.process() itself ---------------------------------------------------------------


@pytest.mark.parametrize("reason", ["normal", ValueError("from a task")], ids=["normal", "error"])
def test_a_scope_left_by_task_exit_exits_with_its_reason(reason: Any) -> None:
    """``raise TaskExit(reason)`` out of a scope is Elixir's ``exit(reason)``, as it is out of
    a task's function: the scope's process exits with `reason`, not with the TaskExit (a
    view that lets one escape, a teardown that passes it on). "normal" stops nothing."""
    seen: dict[str, Any] = {}
    stopped = threading.Event()

    def request() -> None:
        with blocking.process() as pid:
            seen["pid"] = pid
            seen["holder"] = blocking.Task.start_link(hold, stopped)
            ready = threading.Event()
            blocking.Task.start_link(trap, ready, seen)
            assert ready.wait(SAFETY)
            raise TaskExit(reason)

    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        with pytest.raises(TaskExit):
            worker.submit(request).result(SAFETY)
        eventually(lambda: "trapped" in seen, "the trapping task got the exit signal")
        assert seen["trapped"] is reason
        assert dead(seen["pid"])
        if reason == "normal":
            assert blocking.Process.alive(seen["holder"])
            assert not stopped.is_set()
            blocking.Process.exit(seen["holder"], "kill")
        assert stopped.wait(SAFETY)


async def fail(message: str) -> None:
    await asyncio.sleep(0)
    raise RuntimeError(message)


def test_the_crash_of_an_awaited_linked_task_is_told_once() -> None:
    """A thread with no scope (a FastAPI ``def`` endpoint's worker thread) awaits a linked task
    that crashes: `Task.await_` raises the link's `TaskExit` (with its sender, as in the
    asyncio API), and that is the thread's one telling: its next call, the next request on
    that thread, is a new process. (A fix: the wait used to take the DOWN first, and the
    link's signal was told again by the thread's next call.)"""

    def request() -> tuple[TaskExit, Pid, Pid]:
        before = blocking.Process.self()
        task = blocking.Task.async_(fail, "awaited")
        with pytest.raises(TaskExit) as caught:
            blocking.Task.await_(task, SAFETY)
        assert caught.value.sender == task.pid
        return caught.value, before, task.pid

    def next_request() -> tuple[Pid, int]:
        return blocking.Process.self(), blocking.Task.await_(blocking.Task.async_(reply, 7))

    with concurrent.futures.ThreadPoolExecutor(1) as worker:
        error, before, crashed = worker.submit(request).result(SAFETY)
        assert repr(error.reason) == repr(RuntimeError("awaited"))
        eventually(lambda: dead(before, crashed), "the crash, and the thread's process's end")
        after, value = worker.submit(next_request).result(SAFETY)
    assert value == 7
    assert after != before


# -- Django (in a subprocess: its settings are global) ----------------------------------------

DJANGO = """\
import asyncio
import concurrent.futures
import json
import threading
import time

import django
from django.conf import settings

MIDDLEWARE = "taskvisor.contrib.django.ProcessScopeMiddleware"
settings.configure(
    DEBUG=True,
    SECRET_KEY="only for this test",  # the debug 500 page reads it
    ALLOWED_HOSTS=["testserver", "127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[MIDDLEWARE],
)
django.setup()

import taskvisor
from django.core.signals import request_finished
from django.http import Http404, JsonResponse
from django.test import Client, override_settings
from django.urls import path

from taskvisor import blocking

SAFETY = 10.0
seen = {}


def eventually(check, what):
    deadline = time.monotonic() + SAFETY
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


def dead(*pids):
    return not any(blocking.Process.alive(pid) for pid in pids)


def crash_after(release):
    if not release.wait(SAFETY):
        raise AssertionError("never released")
    raise RuntimeError("crash after the response")


async def hold(stopped):
    try:
        await asyncio.Event().wait()
    finally:
        stopped.set()


async def trap(ready):
    taskvisor.Process.flag("trap_exit", True)
    ready.set()
    got = await taskvisor.Process.receive_exit(SAFETY)
    seen["trapped"] = None if got is None else got[1]


def first(request):
    release = threading.Event()
    seen["release"] = release  # set once the response is closed (request_finished)
    seen["crasher"] = blocking.Task.start_link(crash_after, release)
    seen["first"] = blocking.Process.self()
    return JsonResponse({"thread": threading.get_ident()})


def second(request):
    seen["second"] = blocking.Process.self()
    return JsonResponse({"thread": threading.get_ident()})


def fails(request):
    seen["holder"] = blocking.Task.start_link(hold, seen["stopped"])
    ready = threading.Event()
    seen["trapper"] = blocking.Task.start_link(trap, ready)
    assert ready.wait(SAFETY)
    seen["raised"] = RuntimeError("the view failed")
    raise seen["raised"]


def missing(request):
    seen["holder"] = blocking.Task.start_link(hold, seen["stopped"])
    seen["missing"] = blocking.Process.self()
    raise Http404("no such thing")


def release_the_crash(sender, **kwargs):
    release = seen.pop("release", None)
    if release is not None:
        release.set()


request_finished.connect(release_the_crash)
urlpatterns = [
    path("first", first),
    path("second", second),
    path("fails", fails),
    path("missing", missing),
]


def first_then_second(client, worker):
    # request 1, the crash of its linked task once it has returned, request 2: both in the
    # same worker thread (a server's reused thread)
    seen.clear()
    r1 = worker.submit(client.get, "/first").result()
    eventually(lambda: dead(seen["crasher"], seen["first"]), "the crash, request 1's end")
    out = {"first": r1.status_code, "first_thread": r1.json()["thread"]}
    try:
        r2 = worker.submit(client.get, "/second").result()
    except Exception as exc:  # the test client raises what the view raised
        out["second_raised"] = repr(exc)
        out["second_reason"] = repr(getattr(exc, "reason", None))
    else:
        out["second"] = r2.status_code
        out["second_thread"] = r2.json()["thread"]
        out["new_pid"] = seen["second"] != seen["first"]
    return out


def failing(client, worker):
    seen.clear()
    seen["stopped"] = threading.Event()
    r = worker.submit(client.get, "/fails").result()
    stopped = seen["stopped"].wait(SAFETY)
    eventually(lambda: "trapped" in seen, "the trapping task got the exit signal")
    return {
        "status": r.status_code,
        "holder_stopped": stopped,
        "trapped_the_raised": seen["trapped"] is seen["raised"],
        "trapped": repr(seen["trapped"]),
    }


def missing_page(client, worker):
    seen.clear()
    seen["stopped"] = threading.Event()
    r = worker.submit(client.get, "/missing").result()
    eventually(lambda: dead(seen["missing"]), "the end of the request's process")
    out = {
        "status": r.status_code,
        "holder_alive": blocking.Process.alive(seen["holder"]),
        "holder_stopped": seen["stopped"].is_set(),
    }
    blocking.Process.exit(seen["holder"], "kill")
    out["holder_stopped_when_killed"] = seen["stopped"].wait(SAFETY)
    return out


results = {}
with blocking.process(), concurrent.futures.ThreadPoolExecutor(1) as worker:
    results["scoped"] = first_then_second(Client(), worker)
    quiet = Client(raise_request_exception=False)
    results["fails"] = failing(quiet, worker)
    results["missing"] = missing_page(quiet, worker)
    with override_settings(MIDDLEWARE=[]):
        # a new worker: the old one's process is not touched by the control
        with concurrent.futures.ThreadPoolExecutor(1) as control:
            results["unscoped"] = first_then_second(Client(), control)
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def django_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    script = tmp_path_factory.mktemp("django") / "django_app.py"
    script.write_text(DJANGO)
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=SAFETY_SLOW
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return results


def test_django_each_request_on_a_reused_thread_is_a_process_of_its_own(
    django_run: dict[str, Any],
) -> None:
    scoped = django_run["scoped"]
    assert (scoped["first"], scoped.get("second")) == (200, 200), scoped
    assert scoped["first_thread"] == scoped["second_thread"]
    assert scoped["new_pid"]


def test_django_without_the_middleware_the_crash_fails_the_next_request(
    django_run: dict[str, Any],
) -> None:
    unscoped = django_run["unscoped"]
    assert unscoped["first"] == 200
    assert unscoped["second_raised"].startswith("TaskExit("), unscoped
    assert unscoped["second_reason"] == repr(RuntimeError(CRASH))


def test_django_a_failed_request_closes_its_scope_with_its_exception(
    django_run: dict[str, Any],
) -> None:
    assert django_run["fails"] == {
        "status": 500,
        "holder_stopped": True,
        "trapped_the_raised": True,
        "trapped": repr(RuntimeError("the view failed")),
    }


def test_django_an_http_404_is_a_normal_end(django_run: dict[str, Any]) -> None:
    assert django_run["missing"] == {
        "status": 404,
        "holder_alive": True,
        "holder_stopped": False,
        "holder_stopped_when_killed": True,
    }


# -- FastAPI `def` endpoints under uvicorn --------------------------------------------------

FASTAPI = """\
import asyncio
import os
import socket
import threading
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

import taskvisor
from taskvisor import blocking

LOG = os.environ["JOBS_LOG"]


def log(line):
    with open(LOG, "a") as f:
        f.write(line + "\\n")


@asynccontextmanager
async def lifespan(app):
    app.state.loop_thread = threading.current_thread().name
    async with taskvisor.TaskSupervisor(name="Jobs"):  # the asyncio API, on the server's loop
        yield
    log("supervisor stopped")


app = FastAPI(lifespan=lifespan)


async def work(x):
    await asyncio.sleep(0)
    return {"value": 2 * x, "ran_on": threading.current_thread().name}


async def job(name):
    log(f"job {name} started on {threading.current_thread().name}")
    try:
        await asyncio.Event().wait()
    finally:
        log(f"job {name} stopped")


@app.get("/double/{x}")
def double(x: int):  # a plain def endpoint: Starlette runs it in a worker thread
    task = blocking.TaskSupervisor.async_("Jobs", work, x)
    reply = blocking.Task.await_(task, timeout=60.0)
    here = threading.current_thread().name
    return {**reply, "endpoint_thread": here, "loop_thread": app.state.loop_thread}


async def fail(x):
    await asyncio.sleep(0)
    raise ValueError(f"no result for {x}")


@app.get("/fallback/{x}")
def fallback(x: int):  # blocking.Task: on the blocking API's loop, linked to this thread
    try:
        return blocking.Task.await_(blocking.Task.async_(fail, x), 60.0)
    except taskvisor.TaskExit as exc:  # the linked crash, told once
        caught = repr(exc.reason)
    reply = blocking.Task.await_(blocking.Task.async_(work, x), 60.0)  # a new process
    blocking.Process.self()  # the same one: the crash is never told again
    return {**reply, "caught": caught}


@app.post("/jobs/{name}")
def start_job(name: str):
    pid = blocking.TaskSupervisor.start_child("Jobs", job, name)
    children = blocking.TaskSupervisor.children("Jobs")
    return {"pid": str(pid), "children": [str(child) for child in children]}


listener = socket.socket(fileno=int(os.environ["LISTEN_FD"]))
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])
"""


@dataclasses.dataclass
class FastAPIRun:
    responses: dict[str, httpx.Response]
    log_before_sigterm: list[str]
    log: list[str]
    returncode: int
    stderr: str


@pytest.fixture(scope="module")
def fastapi_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPIRun]:
    """The app under uvicorn (tests/test_recipes.py's way): requests, then SIGTERM."""
    tmp = tmp_path_factory.mktemp("fastapi_blocking")
    (tmp / "server.py").write_text(FASTAPI)
    jobs_log = tmp / "jobs.log"
    with server_process(tmp / "server.py", {"JOBS_LOG": str(jobs_log)}) as (proc, url):
        responses: dict[str, httpx.Response] = {}
        with httpx.Client(base_url=url, timeout=SAFETY_SLOW) as client:
            wait_until_serving(client, proc)
            responses["double"] = client.get("/double/21")
            responses["job a"] = client.post("/jobs/a")
            responses["job b"] = client.post("/jobs/b")
            responses["fallback"] = client.get("/fallback/4")
        before = wait_for_lines(jobs_log, 2, proc)  # both jobs started
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=SAFETY_SLOW)
        log = jobs_log.read_text().splitlines()
        yield FastAPIRun(responses, before, log, proc.returncode, stderr)


def test_fastapi_def_endpoint_awaits_a_task_of_the_apps_supervisor(
    fastapi_run: FastAPIRun,
) -> None:
    response = fastapi_run.responses["double"]
    assert response.status_code == 200, response.text + fastapi_run.stderr
    body = response.json()
    assert body["value"] == 42
    assert body["ran_on"] == body["loop_thread"]  # on the server's loop, in its thread
    assert body["endpoint_thread"] != body["loop_thread"]


def test_fastapi_def_endpoint_goes_on_after_a_crash_it_caught(fastapi_run: FastAPIRun) -> None:
    """The crash of an awaited task raises `TaskExit` in the endpoint once; the thread's
    next call works (a new process)."""
    response = fastapi_run.responses["fallback"]
    assert response.status_code == 200, response.text + fastapi_run.stderr
    body = response.json()
    assert (body["caught"], body["value"]) == (repr(ValueError("no result for 4")), 8)
    stderr = fastapi_run.stderr  # its crash report, and nothing else from start to exit
    assert stderr.startswith("Task <") and stderr.endswith("Args: [4]\n"), stderr
    assert stderr.count(" terminating\n") == 1
    assert "** (ValueError) no result for 4" in stderr


def test_fastapi_def_endpoint_starts_children_and_lists_them(fastapi_run: FastAPIRun) -> None:
    a, b = fastapi_run.responses["job a"], fastapi_run.responses["job b"]
    assert (a.status_code, b.status_code) == (200, 200), a.text + b.text
    assert a.json()["pid"] in a.json()["children"]
    assert b.json()["children"] == [a.json()["pid"], b.json()["pid"]]  # oldest first
    loop_thread = fastapi_run.responses["double"].json()["loop_thread"]
    assert sorted(fastapi_run.log_before_sigterm) == [
        f"job a started on {loop_thread}",
        f"job b started on {loop_thread}",
    ]


def test_fastapi_the_children_stop_with_the_server(fastapi_run: FastAPIRun) -> None:
    after = fastapi_run.log[len(fastapi_run.log_before_sigterm) :]
    assert sorted(after[:2]) == ["job a stopped", "job b stopped"]
    assert after[2:] == ["supervisor stopped"]
    assert fastapi_run.returncode == -signal.SIGTERM, fastapi_run.stderr


# -- imports ---------------------------------------------------------------------------------


IMPORTS = """\
import json
import sys

import taskvisor
import taskvisor.blocking
import taskvisor.contrib


def loaded():
    names = ("flask", "django", "waitress", "taskvisor.contrib.flask", "taskvisor.contrib.django")
    return [name for name in names if name in sys.modules]


out = {"core": loaded()}
__import__(f"taskvisor.contrib.{sys.argv[1]}")
out["after"] = loaded()
print(json.dumps(out))
"""


def test_taskvisor_never_imports_the_integrations_or_their_frameworks() -> None:
    """``import taskvisor`` (and ``taskvisor.blocking``, ``taskvisor.contrib``) imports no web
    framework; each integration imports its own framework only."""
    seen = {}
    for name in ("flask", "django"):
        proc = subprocess.run(
            [sys.executable, "-c", IMPORTS, name],
            capture_output=True,
            text=True,
            timeout=SAFETY_SLOW,
        )
        assert proc.returncode == 0, proc.stderr
        seen[name] = json.loads(proc.stdout)
    assert seen == {
        "flask": {"core": [], "after": ["flask", "taskvisor.contrib.flask"]},
        "django": {"core": [], "after": ["django", "taskvisor.contrib.django"]},
    }
