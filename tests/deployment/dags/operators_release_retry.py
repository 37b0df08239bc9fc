"""Release operators on the real deployment, through the connection ``operators_release_sentry``: one task
that creates, finalizes and deploys a release to two environments, retried by Airflow itself."""

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_sentry.operators.releases import CreateReleaseOperator

with DAG(
    "operators_release_retry",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    params={"version": "backend@1.0.0"},
):
    CreateReleaseOperator(
        task_id="release",
        version="{{ params.version }}",
        projects=["backend", "frontend"],
        url="https://ci.example.com/builds/1",
        finalize=True,
        deploy=[{"environment": "production"}, {"environment": "staging"}],
        sentry_conn_id="operators_release_sentry",
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
