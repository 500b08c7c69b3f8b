"""The cluster examples as real programs, one after the other (after the other Ray modules'
clusters have stopped): ``examples/cluster.py`` (a 3-node Ray cluster, a stream across it, a
node killed while two of its items run) and ``examples/cluster_accounts.py`` (the seed's
account setup on remote taskvisor nodes, restarted on another node when its node dies)."""

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


ACCOUNTS = Path(__file__).parent.parent / "examples" / "cluster_accounts.py"


def test_the_account_setup_survives_the_loss_of_its_node() -> None:
    done = subprocess.run(
        [sys.executable, str(ACCOUNTS)],
        capture_output=True,
        text=True,
        timeout=SAFETY_SLOW * 3,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = [line.split("  ", 1)[1] for line in done.stdout.splitlines() if line.startswith("main")]
    assert lines[0] == "taskvisor nodes: worker-a, worker-b"
    assert lines[1] == "setting up ada@example.com on worker-a"
    at = lines.index("the wait on worker-a raised TaskExit(('nodedown', 'worker-a'))")
    assert "-- worker-a's request hangs: killing its Ray node --" in lines[:at]
    assert lines[at + 1] == "setting up ada@example.com on worker-b"  # restarted, elsewhere
    assert lines[-3] == "CRM requests, by node: ['worker-a', 'worker-a', 'worker-a', 'worker-b']"
    home = re.fullmatch(r"crash reports that came home: \[(.*)\]", lines[-2])
    assert home is not None
    assert re.fullmatch(
        r"'<worker-a\.\d+\.0> on worker-a', '<worker-a\.\d+\.0> on worker-a'", home[1]
    )
    assert lines[-1] == "account set up on worker-b: {'crm_id': 'crm-0004', 'location': 'Berlin'}"
    # the two crashes on worker-a were logged here, with the node's name in the text
    reports = re.findall(
        r"Task <worker-a\.\d+\.0> started from \S+ on node 'worker-a' terminating\n"
        r"    \| \*\* \(CRMUnavailable\) POST /users answered 503",
        done.stdout,
    )
    assert len(reports) == 2
