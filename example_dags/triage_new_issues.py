"""Every hour, hand the Sentry issues first seen since the last run to a triage task.

The sensor waits (in reschedule mode, freeing the worker slot between pokes) until at least one
new issue exists, then returns them oldest first. Its cursor lives in the Airflow Variable
``sentry_sensor_state.triage_new_issues.wait_for_new_issues``: each run delivers only issues that
arrived after the previous delivery. The very first run backfills the last hour (``since``).
If an hour passes with no new issue, the sensor times out and, with ``soft_fail``, the run is
skipped rather than failed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_sentry.sensors.issues import NewIssuesSensor

with DAG(
    dag_id="triage_new_issues",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # one sensor per watch at a time
    tags=["sentry", "example"],
    doc_md=__doc__,
) as dag:
    new_issues = NewIssuesSensor(
        task_id="wait_for_new_issues",
        projects=["backend"],
        query="is:unresolved",
        since="1h",
        max_issues=50,
        mode="reschedule",
        poke_interval=300,
        timeout=3600,
        soft_fail=True,
    )

    @task
    def triage(issues: list[dict[str, Any]]) -> list[str]:
        """Print each new issue and forward the ids (e.g. to a ticketing task)."""
        for issue in issues:
            print(f"[{issue['level']}] {issue['shortId']} {issue['title']} (first seen {issue['firstSeen']})")
            print(f"    {issue['permalink']}")
        return [issue["id"] for issue in issues]

    triage(new_issues.output)
