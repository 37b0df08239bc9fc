#!/usr/bin/env bash
# The real-deployment tests (tests/deployment: one real Airflow stack, real scheduler and triggerer).
# They kill and restart components and race real processes on a 2-core machine, so a test that fails is
# run once more on a fresh stack; both outcomes are printed, and the step fails if the re-run fails too.
set -uo pipefail
venv=${1:-.venv}
shift || true
report=$(mktemp -d)/deployment.xml
"$venv/bin/python" -m pytest -m deployment tests/deployment --junitxml="$report" "$@"
status=$?
[ "$status" -eq 0 ] && exit 0
[ -s "$report" ] || exit "$status"
mapfile -t failed < <("$venv/bin/python" - "$report" <<'PY'
import sys
import xml.etree.ElementTree as ET

for case in ET.parse(sys.argv[1]).iter("testcase"):
    if case.find("failure") is not None or case.find("error") is not None:
        module = case.get("classname", "").replace(".", "/")
        print(f"{module}.py::{case.get('name')}")
PY
)
[ "${#failed[@]}" -gt 0 ] || exit "$status"
echo "=== re-running ${#failed[@]} failed real-deployment test(s) once, on a fresh stack: ${failed[*]}"
"$venv/bin/python" -m pytest -m deployment "${failed[@]}" "$@"
