"""The three "done when" checks of the sensor scale issue on the real scheduler, triggerer and workers:
a burst of 400 + 10 past the candidate threshold, three overlapping deferrable runs and a final run, and
a mapped sensor over two projects across two runs. Each prints its counts: 0 lost, 0 duplicated."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_sentry.testing import SentryEmulator
from tests.delivery_counts import counts
from tests.deployment.stack import Deployment


@pytest.fixture
def emulator() -> Iterator[SentryEmulator]:
    with SentryEmulator() as emu:
        yield emu


def register(deployment: Deployment, conn_id: str, emu: SentryEmulator) -> None:
    conn = json.loads(emu.connection_json())
    fields = {k: v for k, v in conn.items() if k != "conn_type"}
    fields["extra"] = json.dumps(fields.get("extra") or {})
    deployment.add_connection(conn_id, **fields)


def issues_of(deployment: Deployment, dag_id: str, run_id: str, map_index: int = -1) -> list[str]:
    try:
        value = deployment.xcom(dag_id, run_id, "wait", map_index=map_index)
    except Exception:  # skipped (soft_fail timeout): no XCom
        return []
    return [item["id"] for item in value or []]


def issue_lists(emu: SentryEmulator) -> int:
    return sum(1 for r in emu.requests if r.path.endswith("/issues/"))


def wait_for(predicate: Any, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_burst_of_400_plus_10_past_the_threshold(deployment: Deployment, emulator: SentryEmulator) -> None:
    emu = emulator
    emu.max_candidates = 500
    emu.member_projects = ["backend"]
    register(deployment, "sentry_sensor_burst", emu)
    now = int(time.time())
    for n in range(600):
        emu.add_issue(f"old {n}", project=("backend", "frontend")[n % 2], first_seen=now - 7200 - n)
    run1 = deployment.trigger("sensor_burst")
    wait_for(lambda: issue_lists(emu) >= 2)
    expected = {i["id"] for i in emu.add_issues(400, project="backend", first_seen=now - 60)}
    expected |= {i["id"] for i in emu.add_issues(10, project="frontend", first_seen=now - 30)}
    deployment.wait_run("sensor_burst", run1, timeout=180)
    run2 = deployment.trigger("sensor_burst")
    deployment.wait_run("sensor_burst", run2, timeout=180)
    got = issues_of(deployment, "sensor_burst", run1) + issues_of(deployment, "sensor_burst", run2)
    result = counts(got, expected)
    print("burst 400+10 (real scheduler):", result)
    assert result["lost"] == result["duplicated"] == result["unexpected"] == 0


def test_three_overlapping_deferrable_runs_and_a_final_run(deployment: Deployment, emulator: SentryEmulator) -> None:
    emu = emulator
    register(deployment, "sentry_sensor_overlap", emu)
    now = int(time.time())
    emu.add_issues(5, first_seen=now - 3600)
    first = deployment.trigger("sensor_overlap")
    wait_for(lambda: deployment.get_variable("sentry_sensor_state.sensor_overlap.wait") is not None)
    runs = [deployment.trigger("sensor_overlap") for _ in range(3)]
    before = issue_lists(emu)
    wait_for(lambda: issue_lists(emu) >= before + 6)  # the three are polling (worker poke + trigger)
    expected = {i["id"] for i in emu.add_issues(27, first_seen=now - 20)}
    for run in [first, *runs]:
        deployment.wait_run("sensor_overlap", run, timeout=240)
    final = deployment.trigger("sensor_overlap")
    deployment.wait_run("sensor_overlap", final, timeout=240)
    per_run = {run: issues_of(deployment, "sensor_overlap", run) for run in [first, *runs, final]}
    got = [i for ids in per_run.values() for i in ids]
    result = counts(got, expected)
    print("three overlapping deferrable runs + a final run (real scheduler):", result,
          [len(ids) for ids in per_run.values()])  # fmt: skip
    assert result["lost"] == result["duplicated"] == result["unexpected"] == 0


def test_mapped_sensor_over_two_projects_across_two_runs(deployment: Deployment, emulator: SentryEmulator) -> None:
    emu = emulator
    register(deployment, "sentry_sensor_mapped", emu)
    now = int(time.time())
    run1 = deployment.trigger("sensor_mapped")
    wait_for(lambda: issue_lists(emu) >= 2)  # both map indexes recorded their baseline
    web = {i["id"] for i in emu.add_issues(3, project="backend", first_seen=now - 30)}
    api = {i["id"] for i in emu.add_issues(2, project="frontend", first_seen=now - 30)}
    deployment.wait_run("sensor_mapped", run1, timeout=180)
    web |= {i["id"] for i in emu.add_issues(1, project="backend", first_seen=now - 10)}
    api |= {i["id"] for i in emu.add_issues(1, project="frontend", first_seen=now - 10)}
    run2 = deployment.trigger("sensor_mapped")
    deployment.wait_run("sensor_mapped", run2, timeout=180)
    result = {
        0: counts(
            issues_of(deployment, "sensor_mapped", run1, 0) + issues_of(deployment, "sensor_mapped", run2, 0), web
        ),
        1: counts(
            issues_of(deployment, "sensor_mapped", run1, 1) + issues_of(deployment, "sensor_mapped", run2, 1), api
        ),
    }
    print("mapped sensor over two projects, two runs (real scheduler):", result)
    for value in result.values():
        assert value["lost"] == value["duplicated"] == value["unexpected"] == 0
