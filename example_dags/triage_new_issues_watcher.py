"""Run a triage DAG whenever new Sentry issues appear: an asset watcher, no sensor, no waiting task.

The triggerer polls Sentry every minute with ``NewIssuesEventTrigger`` (one request when nothing is
new). Each batch of new issues (at most 50, oldest first) becomes one event on the asset
``sentry_new_issues_backend``, and each event schedules a run of this DAG with those issues in
``triggering_asset_events``. The cursor lives in the asset's state store (Airflow 3.3+) or in the
Variable ``sentry_watcher_state.triage_backend`` (3.0-3.2). If the triggerer is stopped in the
two seconds between firing an event and recording the cursor, that one batch fires again at the
next start: make the handling idempotent by issue id (e.g. one ticket per id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

# The same class as airflow_provider_sentry.triggers.issues.NewIssuesEventTrigger, from the module that
# imports the least at DAG parse time (docs/watcher.md).
from airflow_provider_sentry.triggers.issue_events import NewIssuesEventTrigger

new_issues = Asset(
    "sentry_new_issues_backend",
    watchers=[
        AssetWatcher(
            name="sentry_backend",
            trigger=NewIssuesEventTrigger(
                projects=["backend"],
                query="is:unresolved",
                poll_interval=60,
                max_issues=50,
                state_key="triage_backend",  # names the Variable on Airflow 3.0-3.2
            ),
        )
    ],
)

with DAG(
    dag_id="triage_new_issues_watcher",
    schedule=[new_issues],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sentry", "example"],
    doc_md=__doc__,
):

    @task
    def triage(triggering_asset_events: Any = None) -> list[str]:
        """Print each new issue once (a run may carry several events; a repeated batch is skipped by id)."""
        handled: set[str] = set()
        for event in triggering_asset_events[new_issues]:
            for issue in event.extra["payload"]["issues"]:
                if issue["id"] in handled:
                    continue
                handled.add(issue["id"])
                print(f"[{issue['level']}] {issue['shortId']} {issue['title']} (first seen {issue['firstSeen']})")
                print(f"    {issue['permalink']}")
        return sorted(handled, key=int)

    triage()
