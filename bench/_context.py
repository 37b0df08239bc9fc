"""What every measure shares: the emulator process, the Airflow environment and task stand-ins.

Operators and sensors are executed directly (``op.execute(context)``), as the brief asks, with a
small stand-in for the task instance. The sensor keeps its watch in memory instead of an Airflow
Variable (no metadata DB needed; the store does no requests, so request counts are unaffected).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench._emulator import RemoteEmulator, RequestRecord

ORG = "acme"
PROJECTS = ("backend", "frontend")


def prepare_airflow_env() -> None:
    """A throwaway AIRFLOW_HOME and quiet logs, before anything imports Airflow."""
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")


@dataclass
class FakeTI:
    """The attributes of a task instance our operators and the sensor read, plus an XCom sink."""

    dag_id: str = "bench"
    task_id: str = "task"
    run_id: str = "manual__bench"
    map_index: int = -1
    try_number: int = 1
    xcom: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


def task_context(task_id: str = "task", run_id: str = "manual__bench") -> Any:
    """A stand-in for Airflow's task ``Context`` (a dict with the keys our code reads)."""
    return {"ti": FakeTI(task_id=task_id, run_id=run_id), "task_reschedule_count": 0}


def memory_sensor_class() -> type:
    """``NewIssuesSensor`` with its state in memory (shared by ``state_key`` across instances)."""
    from airflow_provider_sentry.sensors.issues import NewIssuesSensor
    from airflow_provider_sentry.sensors.state_store import InMemoryStateStore

    store = InMemoryStateStore()

    class MemoryNewIssuesSensor(NewIssuesSensor):  # type: ignore[misc,valid-type]
        def state_store(self) -> InMemoryStateStore:
            return store

    MemoryNewIssuesSensor.store = store  # type: ignore[attr-defined]
    return MemoryNewIssuesSensor


@dataclass
class BenchContext:
    """The emulator (in its own process) and helpers to count the requests a block sends."""

    emu: RemoteEmulator
    quick: bool = False

    @contextmanager
    def counting(self) -> Iterator[list[RequestRecord]]:
        """Collect the requests the emulator received during the block (filled on exit)."""
        start = self.emu.request_count()
        records: list[RequestRecord] = []
        try:
            yield records
        finally:
            records.extend(self.emu.requests_since(start))

    def project_id(self, slug: str = "backend") -> str:
        return next(str(p["id"]) for p in self.emu.projects if p["slug"] == slug)

    def seed(self, count: int, *, start: float, step: float = 0.0, **kwargs: Any) -> list[str]:
        """Add issues first seen from ``start``, ``step`` seconds apart; only their ids cross the pipe."""
        kwargs.setdefault("project", "backend")
        return self.emu.seed(count, start=start, step=step, **kwargs)

    def status_counts(self) -> dict[str, int]:
        return dict(self.emu.get("issues", projection="status_counts"))


@contextmanager
def bench_context(quick: bool = False) -> Iterator[BenchContext]:
    prepare_airflow_env()
    with RemoteEmulator(organization=ORG, projects=PROJECTS) as emu:
        saved = {k: os.environ.get(k) for k in ("AIRFLOW_CONN_SENTRY_DEFAULT", "SENTRY_URL", "SENTRY_AUTH_TOKEN")}
        os.environ.update(emu.connection_env())
        try:
            yield BenchContext(emu, quick)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def now() -> float:
    return time.time()
