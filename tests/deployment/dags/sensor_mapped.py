"""A mapped sensor: one map index per project, each its own watch."""

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sentry.sensors.issues import NewIssuesSensor

TIMEOUT = int(os.environ.get("SENSOR_DAG_TIMEOUT", "60"))

with DAG("sensor_mapped", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=1) as dag:
    NewIssuesSensor.partial(
        task_id="wait",
        sentry_conn_id="sentry_sensor_mapped",
        mode="reschedule",
        poke_interval=1,
        timeout=TIMEOUT,
        soft_fail=True,
    ).expand(projects=[["backend"], ["frontend"]])
