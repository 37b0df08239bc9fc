"""A nightly export whose every scheduled run checks in to Sentry Crons, with failures reported as issues.

Monitoring needs no code here: ``[sentry_crons] dags`` selects the DAG (for example
``AIRFLOW__SENTRY_CRONS__DAGS="monitored_*"``), and the schedule, timezone and ``dagrun_timeout`` become the
monitor's settings. ``sentry_crons_params`` only tunes this DAG's monitor; ``SentryNotifier`` sends each task
failure, with its traceback, to the project of the ``sentry_default`` connection's DSN.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_sentry.crons import sentry_crons_params
from airflow_provider_sentry.notifications.sentry import SentryNotifier

with DAG(
    dag_id="monitored_nightly_export",
    schedule="30 2 * * *",  # monitor: crontab "30 2 * * *", timezone Europe/Vienna
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Vienna"),
    catchup=False,
    dagrun_timeout=timedelta(hours=1),  # monitor: max_runtime 60 minutes
    params=sentry_crons_params(checkin_margin=10, failure_issue_threshold=2),
    default_args={"on_failure_callback": SentryNotifier(tags={"team": "data"})},
    tags=["sentry", "example"],
):

    @task
    def export_orders() -> int:
        """Stands in for the real work."""
        return 42

    export_orders()
