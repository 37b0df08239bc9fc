"""Issue 11, case 10: a DAG author's own test, run as a user would run it (a separate pytest process,
no repository conftest, imports of ``airflow.sdk`` and the provider only), passes on the first and on
any later run: the ``sentry_airflow`` fixture gives a migrated throwaway DB, runs a DAG defined in the
test (which ``dag.test()`` alone refuses on Airflow 3.3: "the dag is not serialized") and forgets the
sensor's Variable between tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

USER_TEST = """
import time
from datetime import UTC, datetime

from airflow.sdk import DAG

from airflow_provider_sentry.sensors.issues import NewIssuesSensor


def build_dag():
    with DAG("my_triage", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)) as dag:
        NewIssuesSensor(task_id="wait", since="1h", poke_interval=1, timeout=30)
    return dag


def test_first(sentry_emulator, sentry_airflow):
    issue = sentry_emulator.add_issue(title="KeyError: 'user'", first_seen=time.time() - 60)
    run = sentry_airflow.run_dag(build_dag())
    assert run.state == "success"
    assert [i["id"] for i in sentry_airflow.xcom(run, "wait")] == [issue["id"]]


def test_the_same_dag_again_with_a_new_emulator(sentry_emulator, sentry_airflow):
    # a new emulator numbers issues from 1000001 again: only a forgotten watch delivers this one
    issue = sentry_emulator.add_issue(title="TimeoutError", first_seen=time.time() - 30)
    run = sentry_airflow.run_dag(build_dag())
    assert run.state == "success"
    assert [i["id"] for i in sentry_airflow.xcom(run, "wait")] == [issue["id"]]
"""


@pytest.mark.slow
def test_a_dag_authors_test_passes_with_only_the_fixtures(tmp_path: Path) -> None:
    (tmp_path / "test_my_dag.py").write_text(USER_TEST)
    home = tmp_path / "airflow-home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(home),  # a user's (unmigrated) home: the fixture must not need it migrated
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_dag.py"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
