"""A deferrable watch whose runs overlap (all runs of one sensor share one watch)."""

import os
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sentry.sensors.issues import NewIssuesSensor

TIMEOUT = int(os.environ.get("SENSOR_DAG_TIMEOUT", "60"))

with DAG("sensor_overlap", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=16) as dag:
    NewIssuesSensor(
        task_id="wait",
        sentry_conn_id="sentry_sensor_overlap",
        deferrable=True,
        poke_interval=1,
        timeout=TIMEOUT,
        soft_fail=True,
    )
