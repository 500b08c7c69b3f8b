"""``examples/cluster.py`` as a real program: a 3-node Ray cluster, a stream across it, a node
killed while two of its items run (after the other Ray modules' clusters have stopped)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")

from support import SAFETY_SLOW

EXAMPLE = Path(__file__).parent.parent / "examples" / "cluster.py"


def test_the_cluster_example_shows_the_lost_nodes_items_and_nodedown() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=SAFETY_SLOW * 3,
        check=True,
    )
    out = done.stdout
    items = re.findall(r"^  item +(\d+): (.*)$", out, re.MULTILINE)
    assert [int(n) for n, _ in items] == list(range(12))  # one result per input, in order
    lost = [text for _, text in items if text.startswith("Exit")]
    assert set(lost) == {"Exit('noconnection')"}
    assert len(lost) >= 2  # the two items that ran on worker-b when it was killed
    for _, text in items:
        assert text in ("Exit('noconnection')", "Ok, ran on head", "Ok, ran on worker-a") or (
            text == "Ok, ran on worker-b"  # an item of worker-b that ended before the kill
        )
    assert "a call to worker-b now: TaskExit(('nodedown', 'worker-b'))" in out
