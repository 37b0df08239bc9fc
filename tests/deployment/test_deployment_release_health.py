"""ReleaseHealthSensor on a real Airflow: waits while the release has too few sessions, then passes (XCom)
or fails, in deferrable mode (the real triggerer) and reschedule mode (the real scheduler)."""

from __future__ import annotations

import json
import time
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


def task_log(deployment: Deployment, dag_id: str, run_id: str, emu: SentryEmulator) -> str:
    """The gate's log and the emulator's request log, for a failure message."""
    try:
        logs = [
            deployment.request("GET", f"{deployment.run_path(dag_id, run_id)}/taskInstances/gate/logs/{n}")
            for n in (1, 2)
        ]
        log = "\n".join(str(entry)[-3000:] for entry in logs)
    except Exception as exc:  # diagnostics only
        log = f"(no log: {exc})"
    requests = [f"{r.method} {r.path} {r.status}" for r in emu.requests]
    return f"{str(log)[-4000:]}\nrequests: {requests}"


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
        if healthy:
            assert state == "success" and ti["state"] == "success", task_log(deployment, dag_id, run_id, emu)
            result = deployment.xcom(dag_id, run_id, "gate")
            assert result["sessions"] == 100 and result["crash_free_rate"] == 1.0
        else:
            assert state == "failed" and ti["state"] == "failed" and ti["try_number"] == 1
