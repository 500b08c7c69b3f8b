"""FastAPI (Starlette) with a `TaskSupervisor` started in the app's lifespan.

Run it from this folder with ``uvicorn fastapi_tasks:app``. docs/recipes.md explains it;
tests/test_recipes.py runs it under a real uvicorn and stops it with SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.from_thread
from fastapi import FastAPI, HTTPException, Request

from taskvisor import Exit, Ok, Process, Task, TaskSupervisor

TASKS = "web.tasks"
log = logging.getLogger("app.jobs")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One asyncio task runs the lifespan from startup to shutdown, and the supervisor is
    # linked to it: it lives as long as the server. Leaving the block stops its children.
    async with TaskSupervisor(name=TASKS, max_children=1000) as sup:
        app.state.tasks = sup
        yield
    log.info("supervisor stopped")  # every child has stopped by now


app = FastAPI(lifespan=lifespan)


async def export(job: str, seconds: float) -> None:
    """Stands for slow background work: a report, a batch of emails."""
    log.info("export %s started in %s", job, Process.self())
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:  # the supervisor stops it: clean up within `shutdown`
        log.info("export %s stopped before it finished", job)
        raise
    log.info("export %s done", job)


async def fetch_price(symbol: str) -> float:
    """Stands for a call to a slow or flaky service."""
    if symbol == "SLOW":
        await asyncio.sleep(3600)
    if symbol == "BAD":
        raise ValueError(f"no price for {symbol!r}")
    return 42.0


@app.post("/exports/{job}")
async def start_export(job: str, seconds: float = 60.0) -> dict[str, str]:
    # Fire and forget, supervised: it outlives the request, and at server shutdown it is
    # stopped (exit "shutdown") and killed if it has not ended 10 s later.
    pid = TaskSupervisor.start_child(TASKS, export, job, seconds, shutdown=10.0)
    return {"job": job, "pid": str(pid)}


@app.get("/prices/{symbol}")
async def price(request: Request, symbol: str, timeout: float = 1.0) -> dict[str, float]:
    sup: TaskSupervisor = request.app.state.tasks  # the handle; the name TASKS works too
    task = sup.async_nolink(fetch_price, symbol)  # not linked: its crash comes back as Exit
    match await Task.yield_(task, timeout) or await Task.shutdown(task):
        case Ok(value):
            return {symbol: value}
        case Exit(reason):
            raise HTTPException(502, f"price service failed: {reason!r}")
        case None:
            raise HTTPException(504, "price service did not answer in time")


@app.post("/sync/exports/{job}")
def start_export_from_a_thread(job: str, seconds: float = 60.0) -> dict[str, str]:
    # A `def` endpoint runs in a worker thread, where taskvisor's asyncio API raises
    # RuntimeError. Run async code on the loop instead: anyio.from_thread.run runs it
    # in an asyncio task (anyio.from_thread.run_sync would not: a loop callback is refused).
    return anyio.from_thread.run(start_export, job, seconds)
