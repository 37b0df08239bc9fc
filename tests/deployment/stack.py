"""One real Airflow deployment shared by every ``deployment`` test: api-server, scheduler, dag-processor
and triggerer (LocalExecutor, SQLite, loopback only), built on the UI test's :class:`AirflowStack`.

The DAGs live in ``tests/deployment/dags`` and start paused. A test creates its own emulator, registers it
as a connection through the REST API (components read connections from the metadata DB at run time), and
unpauses or triggers only its own DAGs, so tests share the stack and not their data.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.ui.ui_airflow_stack import COMPONENTS, VENV_BIN, AirflowStack, ApiError, stop_process_group

DAGS_FOLDER = Path(__file__).resolve().parent / "dags"
FINISHED = ("success", "failed")

# Settings every deployment test may rely on. Crons: DAG ids starting with "crons_" are monitored, through
# the connection "sentry_crons" (created by the Crons test).
EXTRA_ENV = {
    "AIRFLOW__CORE__PARALLELISM": "8",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
    "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": "16",
    "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    "AIRFLOW__TRIGGERER__DEFAULT_CAPACITY": "1000",
    "AIRFLOW__SENTRY_CRONS__DAGS": "crons_*",
    "AIRFLOW__SENTRY_CRONS__CONN_ID": "sentry_crons",
    # Crons test kills the scheduler mid-run: the restarted one resets the orphaned tasks within ~10 s.
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
}


@dataclass
class Deployment:
    """The running stack plus the REST calls the tests need."""

    stack: AirflowStack

    # -- components -------------------------------------------------------------------------
    def stop_component(self, name: str, grace: float = 10.0) -> None:
        """Stop one component (TERM, then KILL after ``grace``; ``grace=0`` is a kill)."""
        proc = self.stack.processes.pop(name)
        stop_process_group(proc, grace)

    def start_component(self, name: str) -> None:
        import subprocess

        with self.stack._log(name) as log:
            self.stack.processes[name] = subprocess.Popen(
                [str(VENV_BIN / "airflow"), *COMPONENTS[name]],
                env=self.stack._env,
                cwd=self.stack.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def restart_component(self, name: str, grace: float = 10.0) -> None:
        self.stop_component(name, grace)
        self.start_component(name)

    # -- REST ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        return self.stack.request(method, path, body)

    def add_connection(self, conn_id: str, conn_type: str = "sentry", **fields: Any) -> None:
        """Create (or replace) a connection in the metadata DB, e.g. from ``emulator.connection_json()`` fields."""
        try:
            self.request("DELETE", f"/api/v2/connections/{conn_id}")
        except ApiError as exc:
            if exc.status != 404:
                raise
        self.request("POST", "/api/v2/connections", {"connection_id": conn_id, "conn_type": conn_type, **fields})

    def set_variable(self, key: str, value: str) -> None:
        try:
            self.request("DELETE", f"/api/v2/variables/{urllib.parse.quote(key, safe='')}")
        except ApiError as exc:
            if exc.status != 404:
                raise
        self.request("POST", "/api/v2/variables", {"key": key, "value": value})

    def get_variable(self, key: str) -> str | None:
        try:
            return str(self.request("GET", f"/api/v2/variables/{urllib.parse.quote(key, safe='')}")["value"])
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def wait_parsed(self, dag_id: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.request("GET", f"/api/v2/dags/{dag_id}")
                return
            except ApiError as exc:
                if exc.status != 404:
                    raise
            time.sleep(0.5)
        raise TimeoutError(f"{dag_id} was never parsed\n{self.stack.log_tail()}")

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.wait_parsed(dag_id)
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, run_id: str | None = None) -> str:
        """Start a manual run now (unpausing the DAG) and return its run id."""
        self.set_paused(dag_id, False)
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"])

    def run_path(self, dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&order_by=logical_date")["dag_runs"])

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 120.0) -> str:
        """Wait until the run finishes; return its state (``success`` or ``failed``)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.request("GET", self.run_path(dag_id, run_id))["state"]
            if state in FINISHED:
                return str(state)
            time.sleep(0.5)
        raise TimeoutError(f"{dag_id}/{run_id} still {state} after {timeout} s\n{self.stack.log_tail()}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(self.request("GET", self.run_path(dag_id, run_id) + "/taskInstances?limit=100")["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, key: str = "return_value") -> Any:
        path = f"{self.run_path(dag_id, run_id)}/taskInstances/{task_id}/xcomEntries/{key}?map_index={map_index}"
        path += "&deserialize=true&stringify=false"
        return self.request("GET", path)["value"]


def kill_component(deployment: Deployment, name: str) -> None:
    """SIGKILL one component's whole process group at once (no TERM first: nothing gets to clean up)."""
    import os
    import signal

    proc = deployment.stack.processes.pop(name)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
    proc.wait(timeout=30)
