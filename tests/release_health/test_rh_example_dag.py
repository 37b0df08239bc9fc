"""example_dags/release_after_deploy.py with its release health gate, end to end with dag.test(): a healthy
release is promoted (its fixed issues resolved), an unhealthy one fails the gate and runs the rollback."""

from __future__ import annotations

from typing import Any

from airflow_provider_sentry.testing import SentryEmulator
from tests.operators.test_op_example_dags import load
from tests.release_health.gate_runner import sessions_once_deployed


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_unhealthy_release_fails_the_gate_and_rolls_back(airflow_db: None, sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    emu.add_repo("acme/backend")
    emu.before_request(sessions_once_deployed(emu, "backend@6.6.6", healthy=180, crashed=20))
    run = load("release_after_deploy").dag.test(run_conf={"version": "backend@6.6.6"})
    got = states(run)
    assert got["release_health_gate"] == "failed"
    assert got["rollback"] == "success"
    assert got["resolve_in_release"] == "upstream_failed"
    assert run.state == "failed"


def test_healthy_release_skips_the_rollback(airflow_db: None, sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    emu.add_repo("acme/backend")
    emu.before_request(sessions_once_deployed(emu, "backend@7.7.7", healthy=199, crashed=1))
    run = load("release_after_deploy").dag.test(run_conf={"version": "backend@7.7.7"})
    got = states(run)
    assert (got["release_health_gate"], got["resolve_in_release"], got["rollback"]) == ("success", "success", "skipped")
    assert run.state == "success"
