"""docs/recipes.md: its code is the files under examples/recipes/, and each recipe runs.

- The docs cannot rot: every code block the page introduces with a file's link is exactly
  that file, and every recipe file is on the page.
- FastAPI: the recipe's app under a real uvicorn on 127.0.0.1, driven by httpx, stopped
  with a real SIGTERM. The server's children log to a file (the path comes in an env var),
  so the evidence of what ran and what was stopped comes from inside them.
- pytest-asyncio: pytest in a subprocess, with pytest-asyncio on, on the recipe's test file
  and on a checker that looks at what the fixture's teardown did, and at loop scopes.
- A sync caller: the recipe as a real program.

Nothing here waits for a duration: readiness is a bounded poll of the server, everything
else is a process exit or a line in a file. Timeouts are safety nets against a hang.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import SAFETY_SLOW, server_process

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "examples" / "recipes"
DOC = ROOT / "docs" / "recipes.md"

REFUSED_FROM_A_THREAD = re.compile(
    r"^TaskSupervisor\.start_child was called from thread '[^']+', which is not running an "
    r"event loop\. taskvisor's asyncio API is not thread-safe: .*"
    r"use taskvisor\.blocking: .*\(docs/blocking\.md\)$"
)


# -- the page shows the files ----------------------------------------------------------------

CLAIM = re.compile(r"^\[`(examples/recipes/[\w./]+)`\]\(\.\./\1\):$")
"""A line that introduces the code block after it as the content of a file."""


def claimed_blocks(page: str) -> list[tuple[str, str]]:
    """(path, code) for each fenced block whose previous non-blank line is a CLAIM."""
    lines = page.splitlines(keepends=True)
    blocks: list[tuple[str, str]] = []
    claim: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        if line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if claim is not None:
                blocks.append((claim, "".join(lines[i + 1 : end])))
            claim = None
            i = end + 1
            continue
        match = CLAIM.match(line)
        if match:
            claim = match[1]
        elif line.strip():
            claim = None
        i += 1
    return blocks


def test_every_file_block_in_the_page_is_that_file() -> None:
    blocks = claimed_blocks(DOC.read_text())
    assert blocks, "no code block is introduced as a file's content"
    for path, code in blocks:
        assert code == (ROOT / path).read_text(), f"docs/recipes.md shows a stale {path}"
    shown = {path for path, _ in blocks}
    files = {str(p.relative_to(ROOT)) for p in RECIPES.glob("*.py")}
    assert files == shown, f"recipe files not shown in docs/recipes.md: {files - shown}"


def test_the_page_is_linked_and_answers_the_error_message() -> None:
    """The RuntimeError for a call from a thread sends readers to this page."""
    page = DOC.read_text()
    assert "asyncio.run_coroutine_threadsafe" in page
    assert "(docs/recipes.md)" in (ROOT / "README.md").read_text()
    assert "(recipes.md)" in (ROOT / "docs" / "index.md").read_text()


# -- FastAPI under uvicorn -------------------------------------------------------------------

SERVER = """\
import logging
import os
import socket
import sys

sys.path.insert(0, os.environ["RECIPES"])

import anyio.from_thread
import uvicorn
from fastapi_tasks import TASKS, app, export

from taskvisor import TaskSupervisor

# The children's evidence: the recipe's "app.jobs" logger, to the file the test reads.
handler = logging.FileHandler(os.environ["JOBS_LOG"])
handler.setFormatter(logging.Formatter("%(message)s"))
logging.getLogger("app.jobs").addHandler(handler)
logging.getLogger("app.jobs").setLevel(logging.INFO)


@app.post("/refused")
def refused() -> dict[str, str]:
    # What a `def` endpoint cannot do: both calls raise RuntimeError, and start nothing.
    errors = {}
    try:
        TaskSupervisor.start_child(TASKS, export, "never", 1.0)
    except RuntimeError as exc:
        errors["plain"] = str(exc)
    try:
        anyio.from_thread.run_sync(TaskSupervisor.start_child, TASKS, export, "never", 1.0)
    except RuntimeError as exc:
        errors["run_sync"] = str(exc)
    return errors


# The test made and bound the listening socket (a free port on 127.0.0.1, no race).
listener = socket.socket(fileno=int(os.environ["LISTEN_FD"]))
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listener])
"""


@dataclasses.dataclass
class ServerRun:
    """What one run of the recipe's app did, from its start to its exit after SIGTERM."""

    responses: dict[str, httpx.Response]
    log_before_sigterm: list[str]
    log: list[str]
    returncode: int
    stderr: str


def wait_for_lines(path: Path, wanted: int, proc: subprocess.Popen[str]) -> list[str]:
    """Poll `path` until it has `wanted` lines (bounded; fails early if `proc` died)."""
    deadline = time.monotonic() + SAFETY_SLOW
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= wanted:
            return lines
        assert proc.poll() is None, f"the server exited: {proc.returncode}"
        time.sleep(0.01)
    raise AssertionError(f"{path} never had {wanted} lines")


def wait_until_serving(client: httpx.Client, proc: subprocess.Popen[str]) -> None:
    """Poll the server until it answers (bounded retries; fails early if it died)."""
    for _ in range(int(SAFETY_SLOW / 0.5)):
        assert proc.poll() is None, f"the server exited: {proc.returncode}"
        try:
            client.get("/openapi.json", timeout=0.5).raise_for_status()
            return
        except httpx.TransportError:
            continue
    raise AssertionError("the server never answered")


@pytest.fixture(scope="module")
def server_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRun]:
    """Run the app under uvicorn: make the requests, send SIGTERM, collect the evidence."""
    tmp = tmp_path_factory.mktemp("fastapi")
    (tmp / "server.py").write_text(SERVER)
    jobs_log = tmp / "jobs.log"
    env = {"RECIPES": str(RECIPES), "JOBS_LOG": str(jobs_log)}
    with server_process(tmp / "server.py", env) as (proc, url):
        responses: dict[str, httpx.Response] = {}
        with httpx.Client(base_url=url, timeout=SAFETY_SLOW) as client:
            wait_until_serving(client, proc)
            responses["async"] = client.post("/exports/a", params={"seconds": 3600})
            responses["def"] = client.post("/sync/exports/b", params={"seconds": 3600})
            responses["quick"] = client.post("/exports/c", params={"seconds": 0})
            responses["refused"] = client.post("/refused")
            # they answer at once; a long timeout keeps a slow machine from turning them to 504
            responses["price"] = client.get("/prices/ACME", params={"timeout": SAFETY_SLOW})
            responses["bad"] = client.get("/prices/BAD", params={"timeout": SAFETY_SLOW})
            responses["slow"] = client.get("/prices/SLOW", params={"timeout": 0.05})
        # a and b started, c started and ended: 4 lines, then the server is stopped
        before = wait_for_lines(jobs_log, 4, proc)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=SAFETY_SLOW)
        yield ServerRun(
            responses, before, jobs_log.read_text().splitlines(), proc.returncode, stderr
        )


def started_line(job: str, response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["job"] == job
    return f"export {job} started in {body['pid']}"  # logged by the child, with its own pid


class TestFastAPI:
    def test_an_async_endpoint_starts_a_supervised_child(self, server_run: ServerRun) -> None:
        assert started_line("a", server_run.responses["async"]) in server_run.log_before_sigterm
        quick = started_line("c", server_run.responses["quick"])
        assert server_run.log_before_sigterm.index(quick) < server_run.log.index("export c done")

    def test_a_def_endpoint_starts_one_through_anyio_from_thread_run(
        self, server_run: ServerRun
    ) -> None:
        assert started_line("b", server_run.responses["def"]) in server_run.log_before_sigterm

    def test_a_def_endpoint_calling_taskvisor_directly_is_refused(
        self, server_run: ServerRun
    ) -> None:
        response = server_run.responses["refused"]
        assert response.status_code == 200, response.text
        errors = response.json()
        assert REFUSED_FROM_A_THREAD.match(errors["plain"]), errors["plain"]
        assert errors["run_sync"] == (
            "TaskSupervisor.start_child must be called from inside an asyncio task (for "
            "example under asyncio.run(main())), not from a loop callback"
        )
        assert not any("never" in line for line in server_run.log)  # nothing was started

    def test_async_nolink_then_yield_or_shutdown(self, server_run: ServerRun) -> None:
        responses = server_run.responses
        assert (responses["price"].status_code, responses["price"].json()) == (
            200,
            {"ACME": 42.0},
        )
        assert responses["bad"].status_code == 502
        assert responses["bad"].json() == {
            "detail": "price service failed: ValueError(\"no price for 'BAD'\")"
        }
        stderr = server_run.stderr  # its crash report, and nothing else from start to exit
        assert stderr.startswith("Task <") and stderr.endswith("Args: ['BAD']\n"), stderr
        assert stderr.count(" terminating\n") == 1
        assert "** (ValueError) no price for 'BAD'" in stderr
        assert responses["slow"].status_code == 504  # not done in time: shut down

    def test_sigterm_stops_the_children_then_the_supervisor(self, server_run: ServerRun) -> None:
        """uvicorn shuts down, its lifespan ends, the supervisor stops its children (their
        cancellation handler runs), then the lifespan's last line; then uvicorn re-raises
        the SIGTERM it caught, so the process ends by that signal."""
        after = server_run.log[len(server_run.log_before_sigterm) :]
        assert sorted(after[:2]) == [
            "export a stopped before it finished",
            "export b stopped before it finished",
        ]
        assert after[2:] == ["supervisor stopped"]
        assert server_run.returncode == -signal.SIGTERM, server_run.stderr
        # nothing was logged during the shutdown (no child killed or abandoned): the last
        # thing on stderr is the crash report of /prices/BAD, from before the SIGTERM
        assert server_run.stderr.endswith("Args: ['BAD']\n"), server_run.stderr


# -- pytest-asyncio --------------------------------------------------------------------------

PYTEST_INI = """\
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""

CHECKER = """\
import asyncio

import pytest
import pytest_asyncio
from test_supervisor_fixture import running, task_supervisor  # the recipe's

from taskvisor import Process, Task, TaskSupervisor

seen = {}


@pytest_asyncio.fixture
async def after_teardown():
    # Set up before task_supervisor, so torn down after it: look at what its teardown did.
    yield seen
    assert not Process.alive(seen["sup"].pid)
    assert seen["child cleaned up"]
    assert asyncio.all_tasks() == {asyncio.current_task()}  # the supervisor's parent ended


async def child(started):
    started.set()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        seen["child cleaned up"] = True
        raise


@pytest.mark.asyncio
async def test_teardown_stops_the_supervisor_and_its_children(after_teardown, task_supervisor):
    seen["sup"] = task_supervisor
    started = asyncio.Event()
    TaskSupervisor.start_child(task_supervisor, child, started)
    await started.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_supervisor():
    async with running(TaskSupervisor()) as sup:
        yield sup


@pytest.mark.asyncio(loop_scope="module")
async def test_a_module_supervisor_works_on_the_module_loop(module_supervisor):
    assert await Task.await_(module_supervisor.async_(asyncio.sleep, 0, "ok")) == "ok"


@pytest.mark.asyncio
async def test_a_module_supervisor_is_refused_on_a_function_loop(module_supervisor):
    with pytest.raises(RuntimeError, match="runs another event loop than the one"):
        module_supervisor.async_(asyncio.sleep, 0)
"""


def test_the_pytest_asyncio_fixture(tmp_path: Path) -> None:
    """The recipe's two tests pass (the obvious fixture's supervisor is dead in its test; the
    recipe's is alive and usable), and the checker's: teardown stops the supervisor and its
    children and leaves no task; a module-scoped one works only on the module's loop."""
    (tmp_path / "pytest.ini").write_text(PYTEST_INI)
    (tmp_path / "test_checker.py").write_text(CHECKER)
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "asyncio", "-p", "no:cacheprovider"),
            *("-c", str(tmp_path / "pytest.ini"), "-q", "-rA"),
            *(str(RECIPES / "test_supervisor_fixture.py"), str(tmp_path / "test_checker.py")),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(RECIPES)},
        capture_output=True,
        text=True,
        timeout=SAFETY_SLOW,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    passed = set(re.findall(r"^PASSED \S*::(\w+)$", out, re.MULTILINE))
    assert passed == {
        "test_the_obvious_fixture_yields_a_dead_supervisor",
        "test_the_fixture_yields_a_live_supervisor",
        "test_teardown_stops_the_supervisor_and_its_children",
        "test_a_module_supervisor_works_on_the_module_loop",
        "test_a_module_supervisor_is_refused_on_a_function_loop",
    }, out
    assert re.search(r"^5 passed in ", out, re.MULTILINE), out  # no error, no warning


# -- a sync caller ---------------------------------------------------------------------------


def test_sync_callers() -> None:
    """The recipe as a program. A thread's direct call is refused; through
    run_coroutine_threadsafe it gets its results, and a crash comes back as TaskExit (reported
    once). Without a loop, a blocking portal runs the supervisor, which stops its child when
    its block ends."""
    proc = subprocess.run(
        [sys.executable, "-W", "error", str(RECIPES / "sync_caller.py")],
        capture_output=True,
        text=True,
        timeout=SAFETY_SLOW,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    refused, *rest = proc.stdout.splitlines()
    assert refused.startswith(
        "refused: TaskSupervisor.async_ was called from thread 'legacy-worker', which is not "
        "running an event loop. taskvisor's asyncio API is not thread-safe"
    ), refused
    assert re.fullmatch(r"watching prices in <0\.\d+\.0>", rest.pop(4)), rest
    assert rest == [
        "square(2) = 4",
        "square(3) = 9",
        "square(-1) failed: ValueError('negative input: -1')",
        "square(4) = 16",
        "stopped watching prices",
        "the supervisor has stopped",
    ]
    assert proc.stderr.startswith("Task <"), proc.stderr  # the crash report, and only it
    assert proc.stderr.endswith("Args: [-1]\n"), proc.stderr
    assert proc.stderr.count(" terminating\n") == 1
    assert "** (ValueError) negative input: -1" in proc.stderr
