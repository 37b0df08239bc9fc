#!/usr/bin/env bash
# `make demo`: run the example DAGs end to end against the bundled emulator (see scripts/demo.py).
set -euo pipefail
venv=${1:-.venv}
exec timeout -s KILL 600 "$venv/bin/python" scripts/demo.py
