"""The smallest DAG: proves the shared deployment schedules and runs tasks."""

from datetime import datetime

from airflow.sdk import DAG, task

with DAG("deployment_smoke", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def hello() -> dict[str, int]:
        return {"ok": 1}

    hello()
