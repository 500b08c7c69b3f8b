#!/usr/bin/env bash
# The one command: bash bench/run.sh [--quick] [run.py options...]
#                  bash bench/run.sh --soak [soak_start_child.py options...]
# Creates/uses .venv at the repository root, installs taskvisor with its `bench` extra
# (uvloop, aiometer, anyio, trio, aiojobs, pebble), then runs every system side by side
# (or, with --soak first, only the start_child soak).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
if [ "${1:-}" = "--soak" ]; then
    shift
    exec .venv/bin/python bench/soak_start_child.py "$@"
fi
if ! command -v elixir >/dev/null 2>&1; then
    echo "elixir: not installed (apt-get install elixir)" >&2
fi
exec .venv/bin/python bench/run.py "$@"
