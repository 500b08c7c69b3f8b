#!/usr/bin/env bash
# Set everything up (a .venv with taskvisor) and run the demo: python -m taskvisor demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
venv_for "${PYTHON:-python3}" .venv ""
exec .venv/bin/python -m taskvisor demo
