"""Every night, resolve issues nobody has seen for a while: a dry run first (its log lists what
would change), then the real run with the same query.

Settings come from params; the organization comes from the ``sentry_default`` connection.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_sentry.operators.issues import ResolveIssuesOperator

with DAG(
    dag_id="nightly_resolve_stale",
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sentry", "example"],
    params={
        "query": Param("is:unresolved lastSeen:+14d", type="string", description="Sentry issue search"),
        "projects": Param(["backend"], type="array"),
        "environments": Param([], type="array"),
        "max_issues": Param(5000, type="integer", minimum=1),
    },
    doc_md=__doc__,
) as dag:
    common = {
        "query": "{{ params.query }}",
        "projects": "{{ params.projects }}",
        "environments": "{{ params.environments }}",
        "max_issues": "{{ params.max_issues }}",
    }
    dry_run = ResolveIssuesOperator(task_id="dry_run", dry_run=True, **common)
    resolve = ResolveIssuesOperator(task_id="resolve_stale", **common)
    dry_run >> resolve
