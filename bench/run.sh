#!/usr/bin/env bash
# The one command: bash bench/run.sh [--python VERSIONS] [--quick] [run.py options...]
#                  bash bench/run.sh [--python VERSIONS] --soak [soak_start_child.py options...]
#                  bash bench/run.sh [--python VERSIONS] --blocking [blocking.py options...]
#                  bash bench/run.sh [--python VERSIONS] --ray [ray_node.py options...]
#                  bash bench/run.sh [--python VERSIONS] --telemetry [telemetry.py options...]
# Without --python: creates/uses .venv at the repository root (python3), installs taskvisor
# with its `bench` extra (uvloop, aiometer, anyio, trio, aiojobs, pebble), then runs every
# system side by side (or, with --soak, only the start_child soak).
# --python 3.11,3.13: the same under each of those Pythons in turn, one after the other, each
# in its own venv: .venv if that is the version, else .venv-bench-X.Y (made on first use).
# The interpreter is pythonX.Y on the PATH, else the newest ~/.pyenv/versions/X.Y.*.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

python_for() {  # the interpreter for version $1, or nothing
    local found
    found=$(command -v "python$1" 2>/dev/null || true)
    if [ -n "$found" ] && "$found" --version >/dev/null 2>&1; then
        echo "$found"
        return
    fi
    ls -d "$HOME"/.pyenv/versions/"$1".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true
}

version_of() {  # X.Y of the interpreter $1
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'
}

run_in() {  # run_in PYTHON VENV ARGS...: make VENV with PYTHON if missing, install, run
    local python="$1" venv="$2"
    shift 2
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
    fi
    local extras='.[bench]'
    [ "${1:-}" = "--ray" ] && extras='.[bench,ray]'
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$extras"
    echo "== $("$venv/bin/python" --version) ($venv)" >&2
    if [ "${1:-}" = "--soak" ]; then
        shift
        "$venv/bin/python" bench/soak_start_child.py "$@"
    elif [ "${1:-}" = "--blocking" ]; then
        shift
        "$venv/bin/python" bench/blocking.py "$@"
    elif [ "${1:-}" = "--ray" ]; then
        shift
        "$venv/bin/python" bench/ray_node.py "$@"
    elif [ "${1:-}" = "--telemetry" ]; then
        shift
        "$venv/bin/python" bench/telemetry.py "$@"
    else
        "$venv/bin/python" bench/run.py "$@"
    fi
}

versions=""
if [ "${1:-}" = "--python" ]; then
    versions="${2:?--python needs versions, e.g. --python 3.11,3.13}"
    shift 2
fi
if [ "${1:-}" != "--soak" ] && [ "${1:-}" != "--blocking" ] && [ "${1:-}" != "--ray" ] && [ "${1:-}" != "--telemetry" ] && ! command -v elixir >/dev/null 2>&1; then
    echo "elixir: not installed (apt-get install elixir)" >&2
fi
if [ -z "$versions" ]; then
    run_in python3 .venv "$@"
    exit
fi
for version in ${versions//,/ }; do
    python=$(python_for "$version")
    if [ -z "$python" ]; then
        echo "python$version: not found (neither on the PATH nor in ~/.pyenv/versions)" >&2
        exit 2
    fi
    venv=".venv-bench-$version"
    if [ -x .venv/bin/python ] && [ "$(version_of .venv/bin/python)" = "$version" ]; then
        venv=.venv
    fi
    run_in "$python" "$venv" "$@"
done
