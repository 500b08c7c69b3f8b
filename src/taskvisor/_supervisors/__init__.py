"""Supervisors: `TaskSupervisor` (dynamic, of tasks), `Supervisor` (static trees), the runner."""
