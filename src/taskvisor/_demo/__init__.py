"""The demo behind ``python -m taskvisor demo``: the seed's examples, narrated, one per step.

Each step is a module with a `Step`; `STEPS` lists them in the order they run. A new step
(supervisors, process pools) is a new module and one more line here.
"""

from __future__ import annotations

from . import (
    step_account_setup,
    step_blocking,
    step_concurrent,
    step_crash,
    step_processes,
    step_start,
    step_stream,
    step_watchdog,
    step_yield,
)
from ._runner import run_demo
from ._step import Step

__all__ = ["STEPS", "Step", "run_demo"]

STEPS: tuple[Step, ...] = (
    step_concurrent.STEP,
    step_start.STEP,
    step_stream.STEP,
    step_crash.STEP,
    step_yield.STEP,
    step_watchdog.STEP,
    step_account_setup.STEP,
    step_processes.STEP,
    step_blocking.STEP,
)
