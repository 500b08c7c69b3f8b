"""The process model: pids, the process table, links, monitors, exit signals, trap_exit.

Imports nothing from the rest of taskvisor except its types, errors and crash reports.
"""
