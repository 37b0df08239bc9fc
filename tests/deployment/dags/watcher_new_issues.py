"""The asset-watcher deployment tests' DAGs: each scheduled on an asset watched by NewIssuesEventTrigger through
its own connection, returning (XCom) the payloads of the events that triggered the run.

- ``watcher_triage`` (connection ``sentry_watcher``): waves and a graceful triggerer restart;
- ``watcher_kill`` (connection ``sentry_watcher_kill``): a triggerer killed right after firing.
"""

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_sentry.triggers.issues import NewIssuesEventTrigger


def watched_dag(dag_id: str, conn_id: str) -> None:
    asset = Asset(
        f"{dag_id}_new_issues",
        watchers=[
            AssetWatcher(
                name=f"{dag_id}_backend",
                trigger=NewIssuesEventTrigger(
                    sentry_conn_id=conn_id, projects=["backend"], poll_interval=2, max_issues=5
                ),
            )
        ],
    )
    with DAG(dag_id, schedule=[asset], start_date=datetime(2024, 1, 1), catchup=False):

        @task
        def receive(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
            return [dict(event.extra["payload"]) for event in triggering_asset_events[asset]]

        receive()


watched_dag("watcher_triage", "sentry_watcher")
watched_dag("watcher_kill", "sentry_watcher_kill")
