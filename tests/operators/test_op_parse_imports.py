"""Parsing a DAG that uses the operators, the sensor or the notifier loads only the classes, not the runtime code.

The hook, the sans-I/O core, the exceptions, the state store and the trigger sit behind each module's one
lazy-import block (``_lazy.lazy_module``) and load when a task runs; a fresh interpreter shows whether an
eager import crept back in. The Crons listener, which every Airflow process loads as a plugin, is held to
the same rule. (How long the import takes is measured in bench/p5_import_cost.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys

PARSE_TIME_MODULES = (
    "airflow_provider_sentry.operators.issues",
    "airflow_provider_sentry.operators.releases",
    "airflow_provider_sentry.sensors.issues",
    "airflow_provider_sentry.notifications.sentry",
    "airflow_provider_sentry.crons.listener",
)
RUNTIME_ONLY = (
    "airflow_provider_sentry.core",
    "airflow_provider_sentry.crons.sender",
    "airflow_provider_sentry.exceptions",
    "airflow_provider_sentry.ingestion",
    "airflow_provider_sentry.hooks",
    "airflow_provider_sentry.sensors.state_store",
    "airflow_provider_sentry.triggers",
)


def test_importing_the_operators_and_the_sensor_loads_no_runtime_module() -> None:
    code = (
        "import json, sys\n"
        f"for name in {PARSE_TIME_MODULES!r}: __import__(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('airflow_provider_sentry'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(PARSE_TIME_MODULES) <= set(loaded)
    assert [m for m in loaded if m.startswith(RUNTIME_ONLY)] == []
