"""One module per system under benchmark.

Every timed case is a plain function ``case(n, variant) -> seconds``: it starts a fresh event
loop (or trio run), times the workload *inside* the loop (loop start-up and teardown are not
counted), checks the results outside the timed region, and returns the elapsed seconds.
``variant`` is ``"ret"`` (the body returns at once) or ``"sleep0"`` (the body awaits one
checkpoint: ``asyncio.sleep(0)``, ``anyio.lowlevel.checkpoint()``, ``trio.lowlevel.checkpoint()``).

Every module also offers ``idle(n)`` for the memory probe (``bench/memory_probe.py``): it runs
N tasks blocked on one event and calls back when all are blocked.
"""
