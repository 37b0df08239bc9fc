"""Test set-up: a throwaway AIRFLOW_HOME before Airflow is imported, and a migrated DB on demand."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-test-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "example_dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ.setdefault("AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET", "5")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated SQLite metadata DB, for tests that run ``dag.test()``."""
    from airflow.utils import db

    db.resetdb()
