"""``airflow dags test`` run again and again from a shell keeps one watch: the first process records the
baseline, the next delivers exactly the issue created in between, the one after that finds nothing.

The watch lives in a Variable in the metadata DB, not in the process, so separate CLI processes share it
as a scheduler's runs do. This is how a DAG author tries the sensor by hand before deploying it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_sentry.testing import SentryEmulator

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAG_FILE = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_sentry.sensors.issues import NewIssuesSensor

with DAG("cli_watch", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    NewIssuesSensor(task_id="watch", poke_interval=1, timeout=3, mode="poke", soft_fail=True)
"""


def airflow(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=240, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    return output


@pytest.mark.slow
def test_separate_dags_test_processes_share_one_watch(tmp_path: Path) -> None:
    home = tmp_path / "airflow"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "cli_watch.py").write_text(DAG_FILE)
    with SentryEmulator() as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
            AIRFLOW_CONN_SENTRY_DEFAULT=emu.connection_json(),
        )
        airflow(env, "db", "migrate")

        first = airflow(env, "dags", "test", "cli_watch")
        assert "Recorded a baseline for watch 'cli_watch.watch'" in first
        assert "Delivering" not in first

        issue = emu.add_issue("KeyError: 'user'")
        second = airflow(env, "dags", "test", "cli_watch")
        assert "Recorded a baseline" not in second
        assert "Delivering: 1 new Sentry issue(s) for watch 'cli_watch.watch'" in second

        third = airflow(env, "dags", "test", "cli_watch")
        assert "Recorded a baseline" not in third and "Delivering" not in third
        assert "No new Sentry issues" in third
        assert str(issue["id"]) not in third
