#!/usr/bin/env bash
# Create the venv and install the provider with its test extras, pinned by the committed constraints.
set -euo pipefail
venv=${1:-.venv}
airflow_version=${2:-3.3.2}
constraints="constraints/airflow-${airflow_version}.txt"
[ -f "$constraints" ] || { echo "no constraints file $constraints" >&2; exit 2; }
export UV_COMPILE_BYTECODE=1   # PYTHONDONTWRITEBYTECODE is common: without .pyc every airflow call pays ~1.6 s
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet "uv==0.13.9" || python3 -m pip install --quiet --user "uv==0.13.9"
  export PATH="$HOME/.local/bin:$PATH"
fi
[ -x "$venv/bin/python" ] || uv venv --quiet --python 3.11 "$venv"
uv pip install --quiet --python "$venv/bin/python" -c "$constraints" \
  "apache-airflow==${airflow_version}" -e ".[test]"
echo "venv $venv ready (Airflow ${airflow_version})"
