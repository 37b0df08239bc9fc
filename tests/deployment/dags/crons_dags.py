"""DAGs for the Sentry Crons deployment test (tests/deployment/test_crons_deployment.py).

``[sentry_crons] dags`` is ``crons_*`` in the stack, through the connection ``sentry_crons``. Every DAG runs
each minute once unpaused (catchup off), so a bounded test sees a few scheduled runs.
"""

import time
from datetime import datetime, timedelta

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_sentry.crons import sentry_crons_params
from airflow_provider_sentry.notifications.sentry import SentryNotifier

with DAG(
    "crons_ok",
    schedule="* * * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Vienna"),
    catchup=False,
    dagrun_timeout=timedelta(minutes=5),
    params=sentry_crons_params(checkin_margin=2),
):

    @task
    def work() -> int:
        time.sleep(2)
        return 1

    work()

with DAG("crons_fail", schedule="* * * * *", start_date=datetime(2024, 1, 1), catchup=False):

    @task(on_failure_callback=SentryNotifier(sentry_conn_id="sentry_crons", tags={"team": "data"}))
    def boom() -> None:
        raise ValueError("the nightly export broke")

    boom()

with DAG("crons_kill", schedule="* * * * *", start_date=datetime(2024, 1, 1), catchup=False, max_active_runs=1):

    @task
    def slow() -> int:
        time.sleep(20)
        return 1

    slow()

with DAG(
    "crons_optout",
    schedule="* * * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params=sentry_crons_params(enabled=False),
):

    @task
    def quick() -> int:
        return 1

    quick()
