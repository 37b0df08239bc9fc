"""The three "done when" checks of the scale issue with ``dag.test()`` (the metadata DB, the real
Variable, real reschedules and deferrals), against the emulator:

- a burst of 400 + 10 issues across two projects in an organisation past the candidate threshold;
- three overlapping deferrable runs and a final run;
- a mapped sensor over two projects across two runs.

Each prints and asserts its counts: 0 lost, 0 duplicated. The DAGs are those of the real-deployment
test (``tests/deployment/dags/sensor_*.py``), which runs the same checks on a real scheduler."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from airflow_provider_sentry._compat import TaskDeferred
from airflow_provider_sentry.testing import SentryEmulator
from airflow_provider_sentry.triggers.issues import NewIssuesTrigger
from tests.delivery_counts import counts
from tests.sensor.harness import variable_store
from tests.trigger_loop import first_event

DAGS = Path(__file__).resolve().parents[2] / "tests" / "deployment" / "dags"

pytestmark = pytest.mark.slow


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentryEmulator]:
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS))
    bundle = {"name": "sensor-dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
              "kwargs": {"path": str(DAGS)}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps([bundle]))
    with SentryEmulator() as emu:
        for conn in ("BURST", "OVERLAP", "MAPPED"):
            monkeypatch.setenv(f"AIRFLOW_CONN_SENTRY_SENSOR_{conn}", emu.connection_json())
        yield emu


def load_dag(name: str, timeout: int) -> Any:
    spec = importlib.util.spec_from_file_location(f"dags_{name}", DAGS / f"{name}.py")
    assert spec and spec.loader
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    task = dag.get_task("wait")
    if hasattr(task, "partial_kwargs"):  # a mapped sensor
        task.partial_kwargs["timeout"] = timeout
    else:
        task.timeout = timeout
    return dag


def delivered(dag_id: str) -> dict[tuple[str, int], list[str]]:
    """The sensor's XCom per (run, map index): what each run handed downstream."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(XComModel.run_id, XComModel.map_index, XComModel.value).where(
                XComModel.dag_id == dag_id, XComModel.task_id == "wait", XComModel.key == "return_value"
            )
        ).all()
    result = {}
    for run_id, map_index, value in rows:
        items = json.loads(value) if isinstance(value, str) else value
        result[(run_id, map_index)] = [item["id"] for item in items or []]
    return result


def reset(dag_id: str) -> None:
    from airflow.models import Variable

    for suffix in ("", ".0", ".1"):
        Variable.delete(f"sentry_sensor_state.{dag_id}.wait{suffix}")


START = datetime(2026, 1, 1, tzinfo=UTC)


def test_burst_of_400_plus_10_across_two_projects_past_the_threshold(
    airflow_db: None, emulator: SentryEmulator
) -> None:
    emu = emulator
    reset("sensor_burst")
    emu.max_candidates = 500  # scaled 1:10 with the organisation below
    emu.member_projects = ["backend"]
    now = int(time.time())
    for n in range(600):
        emu.add_issue(f"old {n}", project=("backend", "frontend")[n % 2], first_seen=now - 7200 - n)
    expected: set[str] = set()
    lists = 0

    def burst_after_the_baseline(record: Any) -> None:
        nonlocal lists
        if record.path.endswith("/issues/"):
            lists += 1
            if lists == 2:  # run 1 recorded its baseline and polls again: the burst lands
                expected.update(i["id"] for i in emu.add_issues(400, project="backend", first_seen=now - 60))
                expected.update(i["id"] for i in emu.add_issues(10, project="frontend", first_seen=now - 30))

    emu.before_request(burst_after_the_baseline)
    dag = load_dag("sensor_burst", timeout=30)
    for day in range(3):  # run 1 delivers; the next runs find nothing more (soft_fail timeout: skipped)
        if day:
            dag = load_dag("sensor_burst", timeout=4)
        dag.test(logical_date=START + timedelta(days=day))
    got = [i for ids in delivered("sensor_burst").values() for i in ids]
    result = counts(got, expected)
    print("burst 400+10 (dag.test):", result)
    assert result["lost"] == result["duplicated"] == result["unexpected"] == 0


def test_three_overlapping_deferrable_runs_and_a_final_run(
    airflow_db: None, emulator: SentryEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three runs of the DAG's deferrable sensor defer with the same state (their triggers overlap) and
    all find the same 27 issues; the commits (the Variable in the metadata DB) re-filter the stale
    batches; a final run follows. (``dag.test()`` runs a trigger inline without its timeout, so the runs
    are driven here step by step; the real-deployment test runs them on the scheduler and triggerer.)"""
    emu = emulator
    reset("sensor_overlap")
    now = int(time.time())
    emu.add_issues(5, first_seen=now - 3600)
    sensor = load_dag("sensor_overlap", timeout=30).get_task("wait")
    store = variable_store()
    monkeypatch.setattr(sensor, "state_store", lambda: store)  # the metadata DB, read and written directly

    def context(run: str) -> Any:
        return {"ti": SimpleNamespace(dag_id="sensor_overlap", task_id="wait", run_id=run, map_index=-1)}

    with pytest.raises(TaskDeferred):
        sensor.execute(context("o0"))  # the watch begins (baseline), then waits
    triggers = {}
    for run in ("o1", "o2", "o3"):
        with pytest.raises(TaskDeferred) as info:
            sensor.execute(context(run))
        triggers[run] = info.value.trigger
    expected = {i["id"] for i in emu.add_issues(27, first_seen=now - 20)}
    events = {run: asyncio.run(first_event(NewIssuesTrigger(**t.serialize()[1]))) for run, t in triggers.items()}
    per_run: dict[str, list[str]] = {}
    for run, event in events.items():
        assert event is not None and len(event.payload["issues"]) == 27  # each trigger found the same batch
        try:
            per_run[run] = [i["id"] for i in sensor.execute_complete(context(run), event.payload)]
        except TaskDeferred:
            per_run[run] = []  # nothing of its batch was left: it waits again
    result_final = sensor.poke(context("final"))
    per_run["final"] = [i["id"] for i in result_final.xcom_value] if hasattr(result_final, "xcom_value") else []
    got = [i for ids in per_run.values() for i in ids]
    result = counts(got, expected)
    print("three overlapping deferrable runs + a final run (metadata DB Variable):", result, "per run:",
          {run: len(ids) for run, ids in per_run.items()})  # fmt: skip
    assert result["lost"] == result["duplicated"] == result["unexpected"] == 0


def test_mapped_sensor_over_two_projects_across_two_runs(airflow_db: None, emulator: SentryEmulator) -> None:
    emu = emulator
    reset("sensor_mapped")
    now = int(time.time())
    emu.add_issues(3, project="backend", first_seen=now - 3600)
    load_dag("sensor_mapped", timeout=3).test(logical_date=START)  # each map index records its baseline
    web = {i["id"] for i in emu.add_issues(3, project="backend", first_seen=now - 30)}
    api = {i["id"] for i in emu.add_issues(2, project="frontend", first_seen=now - 30)}
    load_dag("sensor_mapped", timeout=20).test(logical_date=START + timedelta(days=1))
    web |= {i["id"] for i in emu.add_issues(1, project="backend", first_seen=now - 10)}
    api |= {i["id"] for i in emu.add_issues(1, project="frontend", first_seen=now - 10)}
    load_dag("sensor_mapped", timeout=20).test(logical_date=START + timedelta(days=2))
    per = delivered("sensor_mapped")
    by_index = {index: [i for (_, m), ids in per.items() if m == index for i in ids] for index in (0, 1)}
    result = {0: counts(by_index[0], web), 1: counts(by_index[1], api)}
    print("mapped sensor over two projects, two runs (dag.test):", result)
    for value in result.values():
        assert value["lost"] == value["duplicated"] == value["unexpected"] == 0
