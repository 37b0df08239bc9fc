"""The asset-watcher deployment test's DAG: an asset watched by NewIssuesEventTrigger and a DAG scheduled on
it that returns (XCom) the payloads of the events that triggered each run. Connection: ``sentry_watcher``."""

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider_sentry.triggers.issues import NewIssuesEventTrigger

NEW_ISSUES = Asset(
    "watcher_sentry_new_issues",
    watchers=[
        AssetWatcher(
            name="watcher_sentry_backend",
            trigger=NewIssuesEventTrigger(
                sentry_conn_id="sentry_watcher", projects=["backend"], poll_interval=2, max_issues=5
            ),
        )
    ],
)

with DAG("watcher_triage", schedule=[NEW_ISSUES], start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def receive(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        return [dict(event.extra["payload"]) for event in triggering_asset_events[NEW_ISSUES]]

    receive()
