"""The process model: pids, the process table, links, monitors, exit signals, trap_exit.

The sealed core: `_proc` (the process record and its lifecycle), `_reply` and `_waiting`
(the owner's monitor of a task), `_executing` (a process holding its executor's call),
`_supervising` (the supervisor kind of process), `_tether` (a stream's end of its link),
`_stopping`, `_suspend` (the one timed wait), `_adopt` (the caller guard), `_exits`
(trap_exit), `_observe` (a process's telemetry events, swapped in while listened to) and
`_reports` (crash reports and operational logs). The rest of taskvisor reads
and changes processes only through `_api`'s named calls and those modules' functions, never
through a record's fields. Imports nothing from the rest of taskvisor except its types,
errors, reason classifier, callables and telemetry dispatch.
"""
