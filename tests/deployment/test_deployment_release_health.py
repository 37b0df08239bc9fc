"""ReleaseHealthSensor on a real Airflow: waits while the release has too few sessions, then passes (XCom)
or fails, in deferrable mode (the real triggerer) and reschedule mode (the real scheduler)."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any

import pytest

from airflow_provider_sentry.testing import SentryEmulator
from tests.deployment.stack import Deployment


def register(deployment: Deployment, emu: SentryEmulator) -> None:
    conn = json.loads(emu.connection_json())
    deployment.add_connection(
        "release_health_sentry", host=conn["host"], password=conn["password"], extra=json.dumps(conn["extra"])
    )


def wait_for(predicate: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.5)


def gate_log(deployment: Deployment, dag_id: str, run_id: str, try_number: int) -> str:
    """One try's log of the gate, as the REST API serves it."""
    path = f"{deployment.run_path(dag_id, run_id)}/taskInstances/gate/logs/{try_number}"
    return json.dumps(deployment.request("GET", path).get("content"))


def state_mismatches(deployment: Deployment, dag_id: str, run_id: str) -> list[str]:
    """Airflow's own "state mismatch" audit entries for the run: the scheduler failed the task instance on an
    executor event (in reschedule mode, a late one for the previous poke: apache/airflow#71172)."""
    path = f"/api/v2/eventLogs?dag_id={dag_id}&run_id={urllib.parse.quote(run_id, safe='')}&event=state%20mismatch"
    return [str(entry.get("extra")) for entry in deployment.request("GET", path)["event_logs"]]


def task_log(deployment: Deployment, dag_id: str, run_id: str, emu: SentryEmulator) -> str:
    """Every try's log of the gate, Airflow's state-mismatch entries and the emulator's requests, for a
    failure message."""
    parts = []
    try:
        (ti,) = deployment.task_instances(dag_id, run_id)
        for try_number in range(1, int(ti["try_number"]) + 1):
            parts.append(f"try {try_number}: {gate_log(deployment, dag_id, run_id, try_number)[-3000:]}")
        parts.append(f"state mismatches: {state_mismatches(deployment, dag_id, run_id)}")
    except Exception as exc:  # diagnostics only
        parts.append(f"(no log: {exc})")
    requests = [f"{r.method} {r.path} {r.status}" for r in emu.requests]
    return "\n".join([*parts, f"requests: {requests}"])


def session_queries(emu: SentryEmulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith("/sessions/"))


@pytest.mark.parametrize("mode", ["deferrable", "reschedule"])
@pytest.mark.parametrize("healthy", [True, False])
def test_gate_waits_then_judges(deployment: Deployment, mode: str, healthy: bool) -> None:
    version = f"backend@{mode}-{healthy}"
    with SentryEmulator() as emu:
        emu.add_release(version, ["backend"])
        emu.add_deploy(version, "production")
        register(deployment, emu)
        dag_id = f"release_health_gate_{mode}"
        run_id = deployment.trigger(dag_id, conf={"version": version})
        wait_for(lambda: session_queries(emu) >= 2, timeout=240)  # two checks found no sessions and waited
        emu.add_sessions(version, healthy=100 if healthy else 80, crashed=0 if healthy else 20)
        state = deployment.wait_run(dag_id, run_id, timeout=300)
        (ti,) = deployment.task_instances(dag_id, run_id)
        assert not state_mismatches(deployment, dag_id, run_id), (
            "Airflow's scheduler, not the sensor, ended the gate on a late executor event (after a reschedule:"
            " apache/airflow#71172; after a deferral: apache/airflow#72716)\n"
            + task_log(deployment, dag_id, run_id, emu)
        )
        if healthy:
            assert state == "success" and ti["state"] == "success", task_log(deployment, dag_id, run_id, emu)
            result = deployment.xcom(dag_id, run_id, "gate")
            assert result["sessions"] == 100 and result["crash_free_rate"] == 1.0
        else:
            # failed once, by the sensor's own verdict
            assert state == "failed" and ti["state"] == "failed" and ti["try_number"] == 1, task_log(
                deployment, dag_id, run_id, emu
            )
            assert "Sentry release health gate failed" in gate_log(deployment, dag_id, run_id, 1), task_log(
                deployment, dag_id, run_id, emu
            )
