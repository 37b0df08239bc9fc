"""CreateReleaseOperator retried by a real Airflow (try_number 2 comes from the scheduler, not a stand-in):
try 1 creates the release for one project and posts one deploy, then fails; meanwhile another job deploys the
same release to the same environment, which hides ours in Sentry's last-deploy-per-environment list.
Try 2 must finish the release (201 for the added project, finalize and url from the returned release) and
post neither a second release nor a duplicate deploy."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_sentry.testing import SentryEmulator
from tests.deployment.stack import Deployment

DAG_ID = "operators_release_retry"


def test_a_retried_release_task_finishes_without_duplicates(deployment: Deployment) -> None:
    version = "backend@retry-1"
    with SentryEmulator() as emu:
        conn = json.loads(emu.connection_json())
        deployment.add_connection(
            "operators_release_sentry", host=conn["host"], password=conn["password"], extra=json.dumps(conn["extra"])
        )
        emu.add_release(version, ["frontend"])  # another job created it for frontend only
        done: set[str] = set()

        def fail_first_staging_deploy(record: Any) -> None:  # try 1 fails after its production deploy
            body = record.body if record.method == "POST" else None
            if isinstance(body, dict) and body.get("environment") == "staging" and "fault" not in done:
                done.add("fault")
                emu.inject("status", status=400, path="/deploys/", method="POST")  # taken by this request

        def another_job_deploys(record: Any) -> None:
            posts = [r for r in emu.requests if r.method == "POST" and r.path.endswith("/releases/")]
            if len(posts) == 2 and "other" not in done:  # try 2 has started
                done.add("other")
                emu.add_deploy(version, "production", name="another-job")

        emu.before_request(fail_first_staging_deploy)
        emu.before_request(another_job_deploys)
        run_id = deployment.trigger(DAG_ID, conf={"version": version})
        state = deployment.wait_run(DAG_ID, run_id, timeout=300)
        log = [f"{r.method} {r.path} {r.status}" for r in emu.requests]
        (ti,) = deployment.task_instances(DAG_ID, run_id)
        assert state == "success" and ti["try_number"] == 2, log
        (release,) = emu.releases
        assert release["dateReleased"] and release["url"] == "https://ci.example.com/builds/1", log
        assert {p["slug"] for p in release["projects"]} == {"backend", "frontend"}
        names = sorted((d["environment"], d["name"] == "another-job") for d in emu.deploys)
        assert names == [("production", False), ("production", True), ("staging", False)], log
        result = deployment.xcom(DAG_ID, run_id, "release")
        production, staging = result["deploy"]
        assert production["created"] is False and production["superseded_by"]["name"] == "another-job"
        assert staging["created"] is True
