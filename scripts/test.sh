#!/usr/bin/env bash
# Set everything up and run the whole suite: lint, type check, tests.
# Also runs the tests under every other supported Python found on the machine (3.11-3.13).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh

main_python="${PYTHON:-python3}"
# With the Ray extra: tests/test_ray_*.py start a real Ray (a single node, then a 3-node
# cluster, then the example's, one after the other, never two at once).
venv_for "$main_python" .venv "[dev,ray]"

echo "== ruff"
.venv/bin/python -m ruff check src tests bench examples
.venv/bin/python -m ruff format --check src tests bench examples
echo "== mypy --strict"
.venv/bin/python -m mypy
echo "== import-linter"
.venv/bin/lint-imports --no-cache --no-logo  # the contracts in pyproject.toml
# tests, benchmarks and examples see inside taskvisor through taskvisor.testing only
if grep -rnE --include='*.py' '^\s*(from|import)\s+taskvisor\._[A-Za-z0-9]' tests bench examples; then
    echo "private taskvisor modules imported above: use taskvisor.testing" >&2
    exit 1
fi
echo "== pytest ($(.venv/bin/python --version))"
.venv/bin/python -m pytest -q "$@"

# The same tests under the other supported Pythons, where the machine has them.
main_version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for version in 3.11 3.12 3.13; do
    [ "$version" = "$main_version" ] && continue
    other=$(command -v "python$version" 2>/dev/null || true)
    if [ -z "$other" ] || ! "$other" --version >/dev/null 2>&1; then
        other=$(ls -d "$HOME"/.pyenv/versions/"$version".*/bin/python 2>/dev/null | tail -n 1 || true)
    fi
    if [ -z "$other" ]; then
        echo "== python$version: not installed here, skipped"
        continue
    fi
    venv_for "$other" ".venv-$version" "[dev,ray]"
    echo "== pytest ($(".venv-$version/bin/python" --version))"
    ".venv-$version/bin/python" -m pytest -q "$@"
done
