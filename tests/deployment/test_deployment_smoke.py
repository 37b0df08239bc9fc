"""The shared stack itself: a trivial DAG runs to success on the real scheduler and worker."""

from __future__ import annotations

from tests.deployment.stack import Deployment


def test_a_manual_run_succeeds(deployment: Deployment) -> None:
    run_id = deployment.trigger("deployment_smoke")
    assert deployment.wait_run("deployment_smoke", run_id, timeout=120) == "success"
    assert deployment.xcom("deployment_smoke", run_id, "hello") == {"ok": 1}
