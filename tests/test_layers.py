"""The sealed runtime: no module outside ``taskvisor._runtime`` touches a process's privates.

Every field and method of the runtime's process records (`Proc`, `Monitored` and the other
kinds) is private to ``_runtime/``: the rest of taskvisor goes through the named calls of
``_runtime/_api.py`` and the runtime's functions. This test reads the source of every other
module and fails on any attribute access to one of those names, except on ``self`` inside a
class of that module that is not itself a process record (a stream's own ``_state``, a
thread call's own ``_fn``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import taskvisor

PACKAGE = Path(taskvisor.__file__).parent
RUNTIME = PACKAGE / "_runtime"
HOOKS = {"_linked_exited", "_on_stop", "_on_end"}  # what a supervisor implements for the runtime


def _runtime_records() -> dict[str, ast.ClassDef]:
    """The process record classes of the runtime (``Proc`` and what derives from it), read
    from its source (the test imports no private module)."""
    classes = {
        node.name: node
        for path in RUNTIME.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    }
    records = {"Proc": classes["Proc"]}
    changed = True
    while changed:
        changed = False
        for name, node in classes.items():
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            if name not in records and bases & set(records):
                records[name] = node
                changed = True
    return records


def _private_names(records: dict[str, ast.ClassDef]) -> set[str]:
    """Their fields (``__slots__``) and methods whose names start with one underscore."""
    names: set[str] = set()
    for node in records.values():
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                names.add(item.name)
            elif isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in item.targets
            ):
                names.update(ast.literal_eval(item.value))
    return {n for n in names if n.startswith("_") and not n.startswith("__")} - HOOKS


RECORDS = _runtime_records()
PRIVATE = _private_names(RECORDS)
OUTSIDE = sorted(
    path for path in PACKAGE.rglob("*.py") if "_runtime" not in path.relative_to(PACKAGE).parts
)


def _record_classes(tree: ast.Module) -> set[str]:
    """The module's classes that are process records (they derive from one)."""
    known = set(RECORDS) | {"SupervisorProcess", "Task"}
    records: set[str] = set()
    changed = True
    while changed:
        changed = False
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name not in records:
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if bases & (known | records):
                    records.add(node.name)
                    changed = True
    return records


def _violations(path: Path, root: Path = PACKAGE) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    records = _record_classes(tree)
    found: list[str] = []

    def visit(node: ast.AST, cls: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Attribute) and child.attr in PRIVATE:
                own = isinstance(child.value, ast.Name) and child.value.id == "self"
                if not own or cls is None or cls in records:
                    found.append(f"{path.relative_to(root)}:{child.lineno}: .{child.attr}")
            visit(child, cls)

    visit(tree, None)
    return found


def test_the_checked_names_are_the_records_privates() -> None:
    assert {"Proc", "Monitored", "Supervising", "Tether", "Adopted"} <= set(RECORDS)
    assert {"_state", "_reason", "_cancels", "_get_pid", "_fn", "_exit_now", "_reply"} <= PRIVATE


@pytest.mark.parametrize("path", OUTSIDE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_outside_the_runtime_touches_process_privates(path: Path) -> None:
    assert _violations(path) == []


def test_the_check_catches_private_reads(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "class Own:\n"
        "    def f(self, p):\n"
        "        return self._state, p._reason\n"  # its own field is fine; p's is not
        "class Sup(SupervisorProcess):\n"
        "    def g(self):\n"
        "        return self._state\n"  # a record's own field is the runtime's
    )
    assert _violations(sample, tmp_path) == ["sample.py:3: ._reason", "sample.py:6: ._state"]
