"""A watch with no ``projects`` over an organisation past Sentry's candidate threshold: bursts arrive."""

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sentry.sensors.issues import NewIssuesSensor

TIMEOUT = int(os.environ.get("SENSOR_DAG_TIMEOUT", "60"))

with DAG("sensor_burst", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=1) as dag:
    NewIssuesSensor(
        task_id="wait",
        sentry_conn_id="sentry_sensor_burst",
        max_issues=1000,
        mode="reschedule",
        poke_interval=1,
        timeout=TIMEOUT,
        soft_fail=True,
    )
