"""Must-show: ``dag.test()`` of example_dags/triage_new_issues.py across DAG runs against the emulator.
The cursor is carried by the real Airflow Variable, through real reschedules."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
VARIABLE = "sentry_sensor_state.triage_new_issues.wait_for_new_issues"


def load_dag() -> Any:
    spec = importlib.util.spec_from_file_location("example_triage_new_issues", EXAMPLES / "triage_new_issues.py")
    assert spec and spec.loader
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    sensor = dag.get_task("wait_for_new_issues")
    sensor.timeout, sensor.poke_interval = 30, 1  # short in tests
    return dag


def forwarded(dag_id: str, run_id: str) -> list[str]:
    """What the triage task returned (its XCom), i.e. what the sensor delivered to it."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        value = session.execute(
            select(XComModel.value).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.task_id == "triage",
                XComModel.key == "return_value",
            )
        ).scalar_one()
    return list(json.loads(value) if isinstance(value, str) else value)


def test_each_run_delivers_only_what_arrived_after_the_previous_one(airflow_db: None, sentry_emulator: Any) -> None:
    from airflow.models import Variable

    emu = sentry_emulator
    Variable.delete(VARIABLE)
    now = datetime.now(UTC)
    emu.add_issue(first_seen=now - timedelta(hours=3))  # older than since="1h": never delivered
    first = [i["id"] for i in emu.add_issues(2, first_seen=now - timedelta(minutes=20))]
    dag = load_dag()
    start = datetime(2026, 1, 5, tzinfo=UTC)

    run1 = dag.test(logical_date=start)
    assert run1.state == "success"
    assert forwarded(dag.dag_id, run1.run_id) == first

    second = [i["id"] for i in emu.add_issues(3, first_seen=now - timedelta(minutes=1))]
    run2 = dag.test(logical_date=start + timedelta(hours=1))
    assert run2.state == "success"
    assert forwarded(dag.dag_id, run2.run_id) == second

    # Run 3 starts with nothing new: the sensor reschedules (new process state, XCom wiped) and the
    # issue that arrives meanwhile is delivered from the cursor kept in the Variable.
    issue_lists: list[str] = []

    def arrive_after_first_poke(record: Any) -> None:
        if record.path.endswith("/issues/"):
            issue_lists.append(record.path)
            if len(issue_lists) == 2:
                emu.add_issue(first_seen=datetime.now(UTC) - timedelta(seconds=2))

    emu.before_request(arrive_after_first_poke)
    run3 = dag.test(logical_date=start + timedelta(hours=2))
    assert run3.state == "success"
    third = forwarded(dag.dag_id, run3.run_id)
    assert len(third) == 1 and third[0] not in first + second
    assert len(issue_lists) == 2  # two pokes, one request each

    state = json.loads(Variable.get(VARIABLE))
    assert state["batches"][-1]["run_key"].startswith(f"triage_new_issues/{run3.run_id}/")
