"""Parsing a DAG that uses ReleaseHealthSensor loads only the class: no hook, core, exceptions or trigger."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.operators.test_op_parse_imports import RUNTIME_ONLY


def test_importing_the_release_health_sensor_loads_no_runtime_module() -> None:
    code = (
        "import json, sys\n"
        "import airflow_provider_sentry.sensors.releases\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('airflow_provider_sentry'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "airflow_provider_sentry.sensors.releases" in loaded
    assert [m for m in loaded if m.startswith(RUNTIME_ONLY)] == []
