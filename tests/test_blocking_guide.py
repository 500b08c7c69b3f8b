"""docs/blocking.md and the README's sync example: every example that is a whole program runs.

A code block is a whole program when every name it uses is defined in it (the others are
fragments: they use a `fetch` or a `score_user` of yours). Each runs as a real program (sync
code in the main thread, as a user would run it), with ResourceWarnings as errors: it must
exit 0, print what the page says it prints, and leave on stderr nothing but the crash report
of the crash it shows.
"""

from __future__ import annotations

import builtins
import re
import subprocess
import symtable
import sys
import textwrap
from pathlib import Path

import pytest

from support import SAFETY_SLOW

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "blocking.md"
README = ROOT / "README.md"

BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```$", re.MULTILINE | re.DOTALL)

EXPECTED = {
    # a distinctive line of the block: the lines it prints, in order
    "print(other + Task.await_(task))  # 44": [
        "44",
        "[0, 2, 4, 6, 8]",
        *(f"ok {2 * n}" for n in range(6)),
    ],
    "def main() -> None:  # a plain function": ["Ok(value='report sent to ada')"],
    'raise ValueError("linked crash")': ["interrupted: ValueError('linked crash')"],
    'with TaskSupervisor(name="Jobs", max_children=10) as sup:': [
        "Exit(reason=ConnectionError('no answer for ada'))"
    ],
    "print(other + Task.await_(task))               # 44": [
        "44",
        *(f"ok {2 * n}" for n in range(10)),
    ],
}


def undefined_names(code: str) -> set[str]:
    """The global names `code` uses without defining or importing them (builtins aside)."""
    module = symtable.symtable(code, "<example>", "exec")
    defined = {s.get_name() for s in module.get_symbols() if s.is_assigned() or s.is_imported()}
    used: set[str] = set()
    tables = [module]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for symbol in table.get_symbols():
            if symbol.is_referenced() and (table is module or symbol.is_global()):
                used.add(symbol.get_name())
    return used - defined - set(dir(builtins))


def programs(page: Path) -> list[str]:
    """The code blocks of `page` that are whole programs, dedented."""
    blocks = [textwrap.dedent(code) for _, code in BLOCK.findall(page.read_text())]
    return [code for code in blocks if not undefined_names(code)]


CASES = [
    pytest.param(code, id=f"{page.name}-{number}")
    for page in (GUIDE, README)
    for number, code in enumerate(programs(page))
    if page is GUIDE or "taskvisor.blocking" in code
]


def test_the_pages_have_programs_and_each_expected_output_is_on_a_page() -> None:
    assert len(CASES) >= 6
    text = GUIDE.read_text() + README.read_text()
    for line in EXPECTED:
        assert line in text, f"no example has the line {line!r} any more"


@pytest.mark.parametrize("code", CASES)
def test_the_example_runs(code: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=SAFETY_SLOW,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = next((lines for line, lines in EXPECTED.items() if line in code), [])
    assert proc.stdout.splitlines() == expected
    reports = proc.stderr.count(" terminating\n")
    if reports:  # the crash the example causes, reported once, and nothing else
        assert proc.stderr.startswith("Task <"), proc.stderr
        assert reports == 1, proc.stderr
    else:
        assert proc.stderr == ""
