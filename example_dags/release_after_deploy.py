"""After a deploy: create the Sentry release, set its commits, record the deploy, finalize it, then
gate on release health: wait for enough sessions in the environment and judge the crash-free rate.
Healthy: mark the issues that were open before the deploy as resolved in that release (Sentry then
flags any that come back as regressions). Unhealthy: the gate fails and ``rollback`` runs.

Settings come from params (override with ``airflow dags test release_after_deploy -c '{...}'``); the
organization comes from the ``sentry_default`` connection. Every task is safe to retry.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param, task

from airflow_provider_sentry.operators.issues import ResolveIssuesOperator
from airflow_provider_sentry.operators.releases import (
    CreateDeployOperator,
    CreateReleaseOperator,
    FinalizeReleaseOperator,
    SetCommitsOperator,
)
from airflow_provider_sentry.sensors.releases import ReleaseHealthSensor

VERSION = "{{ params.version or ('backend@' ~ ds_nodash) }}"

with DAG(
    dag_id="release_after_deploy",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["sentry", "example"],
    params={
        "version": Param("", type="string", description="Release version; empty: backend@<ds_nodash>"),
        "projects": Param(["backend"], type="array", description="Sentry project slugs"),
        "refs": Param(["acme/backend@v1.0.0..v1.1.0"], type="array", description="repo@from..to, as sentry-cli"),
        "environment": Param("production", type="string"),
        "deploy_url": Param("", type="string"),
        "resolve_query": Param("is:unresolved", type="string", description="Issues fixed by this release"),
        "max_issues": Param(1000, type="integer", minimum=1),
        "min_crash_free_rate": Param(0.995, type="number", minimum=0, maximum=1, description="Gate threshold"),
        "min_sessions": Param(100, type="integer", minimum=1, description="Sessions needed before judging"),
        "health_window_start": Param(
            "", type="string", description="ISO start of the counted window; empty: the deploy"
        ),
    },
    doc_md=__doc__,
) as dag:
    create = CreateReleaseOperator(task_id="create_release", version=VERSION, projects="{{ params.projects }}")
    set_commits = SetCommitsOperator(task_id="set_commits", version=VERSION, refs="{{ params.refs }}")
    deploy = CreateDeployOperator(
        task_id="deploy",
        version=VERSION,
        environment="{{ params.environment }}",
        url="{{ params.deploy_url }}",
    )
    finalize = FinalizeReleaseOperator(task_id="finalize", version=VERSION)
    gate = ReleaseHealthSensor(
        task_id="release_health_gate",
        version=VERSION,
        projects="{{ params.projects }}",
        environment="{{ params.environment }}",
        min_crash_free_rate="{{ params.min_crash_free_rate }}",
        min_sessions="{{ params.min_sessions }}",
        window_start="{{ params.health_window_start }}",
        poke_interval=60,
        timeout=3600,
        mode="reschedule",
    )

    @task(trigger_rule="one_failed")
    def rollback(version: str, environment: str) -> str:
        """Runs only when the gate failed: put your deploy tool's rollback here."""
        print(f"Rolling back release {version} in {environment}: the release health gate failed")
        return version

    resolve = ResolveIssuesOperator(
        task_id="resolve_in_release",
        query="{{ params.resolve_query }}",
        projects="{{ params.projects }}",
        in_release=VERSION,
        max_issues="{{ params.max_issues }}",
    )
    create >> set_commits >> deploy >> finalize >> gate >> resolve
    gate >> rollback(VERSION, "{{ params.environment }}")
