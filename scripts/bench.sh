#!/usr/bin/env bash
# `make bench`: install the benchmark-only dependencies (pinned in constraints/bench.txt), then run every
# benchmark against the emulator on loopback and print the table (also written to bench/results/latest.md).
set -euo pipefail
venv=${1:-.venv}
airflow_version=${AIRFLOW_VERSION:-3.3.2}
limit=${BENCH_TIMEOUT:-900}   # hard stop for the whole run, in seconds
cd "$(dirname "$0")/.."
export UV_COMPILE_BYTECODE=1  # the import-cost measure compares installed packages: give them .pyc
if command -v uv >/dev/null 2>&1; then
  uv pip install --quiet --python "$venv/bin/python" \
    -c "constraints/airflow-${airflow_version}.txt" -c constraints/bench.txt apache-airflow-providers-http
else
  "$venv/bin/python" -m pip install --quiet \
    -c "constraints/airflow-${airflow_version}.txt" -c constraints/bench.txt apache-airflow-providers-http
fi
export AIRFLOW_HOME
AIRFLOW_HOME=$(mktemp -d)
trap 'rm -rf "$AIRFLOW_HOME"' EXIT
export AIRFLOW__CORE__LOAD_EXAMPLES=False
timeout --kill-after=30 "$limit" "$venv/bin/python" -m bench.run "${@:2}"
