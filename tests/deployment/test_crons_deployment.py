"""Sentry Crons on a real scheduler: one check-in per scheduled run, errors and notifier issues, opt-out,
manual runs left alone, and a scheduler SIGKILLed mid-run still closing that run's one check-in.

One scenario (about three minutes) runs once for the module; each test asserts one property of it. The stack
sets ``[sentry_crons] dags = crons_*`` and ``conn_id = sentry_crons``; the DAGs are in ``dags/crons_dags.py``.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from airflow_provider_sentry.core.crons import check_in_id
from airflow_provider_sentry.testing import SentryEmulator
from tests.deployment.stack import Deployment, kill_component

# The scenario (fixture) runs inside the first test: about 80 s alone, several minutes on a loaded machine.
pytestmark = pytest.mark.timeout(900)
DAGS = ("crons_ok", "crons_fail", "crons_kill", "crons_optout")
T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, deployment: Deployment) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(1.0)
    raise TimeoutError(f"{what} not reached in {timeout} s\n{deployment.stack.log_tail()}")


def guid(dag_id: str, run_id: str) -> str:
    return str(uuid.UUID(check_in_id(dag_id, run_id)))


@dataclass
class Scenario:
    emu: SentryEmulator
    runs: dict[str, list[dict[str, Any]]]
    manual_run: str
    kill_run: str
    timings: dict[str, float] = field(default_factory=dict)

    def started_scheduled(self, dag_id: str) -> list[dict[str, Any]]:
        return [r for r in self.runs[dag_id] if r["run_type"] == "scheduled" and r["start_date"]]


@pytest.fixture(scope="module")
def scenario(deployment: Deployment) -> Iterator[Scenario]:
    emu = SentryEmulator().start()
    extra = {"organization": emu.organization, "dsn": emu.dsn("backend")}
    deployment.add_connection("sentry_crons", host=emu.url, password=emu.token, extra=json.dumps(extra))
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    try:
        manual_run = deployment.trigger("crons_ok", run_id="manual_crons_ok_1")  # also unpauses crons_ok
        for dag_id in DAGS[1:]:
            deployment.set_paused(dag_id, False)

        def kill_candidate() -> str | None:
            for run in deployment.runs("crons_kill"):
                if run["run_type"] == "scheduled" and run["state"] == "running":
                    wanted = guid("crons_kill", run["dag_run_id"])
                    if any(c["id"] == wanted for c in emu.checkins("crons_kill")):
                        return str(run["dag_run_id"])
            return None

        kill_run = wait_for("a running crons_kill run with its in_progress check-in", kill_candidate, 150, deployment)
        timings["in_progress_seen"] = time.monotonic() - t0
        time.sleep(3)  # the task is mid-sleep
        kill_component(deployment, "scheduler")
        timings["scheduler_killed"] = time.monotonic() - t0
        time.sleep(2)
        deployment.start_component("scheduler")

        def enough() -> bool:
            finished = {
                dag_id: [
                    r
                    for r in deployment.runs(dag_id)
                    if r["run_type"] == "scheduled" and r["state"] in ("success", "failed")
                ]
                for dag_id in ("crons_ok", "crons_fail", "crons_optout")
            }
            kill_state = deployment.request("GET", deployment.run_path("crons_kill", kill_run))["state"]
            return all(len(runs) >= 2 for runs in finished.values()) and kill_state in ("success", "failed")

        wait_for("two finished scheduled runs per DAG and the killed run finished", enough, 300, deployment)
        timings["runs_finished"] = time.monotonic() - t0
        for dag_id in DAGS:
            deployment.set_paused(dag_id, True)

        def settled() -> bool:
            return not any(r["state"] == "running" for dag_id in DAGS for r in deployment.runs(dag_id))

        wait_for("no running run left", settled, 180, deployment)

        runs = {dag_id: deployment.runs(dag_id) for dag_id in DAGS}

        def delivered() -> bool:
            for dag_id in ("crons_ok", "crons_fail", "crons_kill"):
                by_id = {c["id"]: c for c in emu.checkins(dag_id)}
                for run in runs[dag_id]:
                    if run["run_type"] == "scheduled" and run["start_date"]:
                        found = by_id.get(guid(dag_id, run["dag_run_id"]))
                        if found is None or found["status"] == "in_progress":
                            return False
            return True

        wait_for("every finished scheduled run's terminal check-in", delivered, 30, deployment)
        timings["all_checked_in"] = time.monotonic() - t0
        print("crons scenario timings (s):", {k: round(v, 1) for k, v in timings.items()})
        yield Scenario(emu, runs, manual_run, kill_run, timings)
    finally:
        for dag_id in DAGS:
            with contextlib.suppress(Exception):
                deployment.set_paused(dag_id, True)
        emu.stop()


def test_one_ok_check_in_per_finished_scheduled_run(scenario: Scenario) -> None:
    runs = scenario.started_scheduled("crons_ok")
    checkins = scenario.emu.checkins("crons_ok")
    assert len(runs) >= 2
    assert sorted(c["id"] for c in checkins) == sorted(guid("crons_ok", r["dag_run_id"]) for r in runs)
    by_id = {c["id"]: c for c in checkins}
    for run in runs:
        checkin = by_id[guid("crons_ok", run["dag_run_id"])]
        assert (checkin["status"], run["state"]) == ("ok", "success")
        assert checkin["duration"] is not None and checkin["duration"] >= 2000
    print(f"crons_ok: {len(runs)} scheduled runs, {len(checkins)} check-ins")


def test_the_monitor_is_upserted_from_the_dag(scenario: Scenario) -> None:
    (monitor,) = [m for m in scenario.emu.monitors if m["slug"] == "crons_ok"]
    config = monitor["config"]
    assert (config["schedule_type"], config["schedule"]) == ("crontab", "* * * * *")
    assert (config["timezone"], config["max_runtime"], config["checkin_margin"]) == ("Europe/Vienna", 5, 2)


def test_a_failing_dag_checks_in_error_and_its_notifier_creates_one_issue(scenario: Scenario) -> None:
    runs = scenario.started_scheduled("crons_fail")
    by_id = {c["id"]: c for c in scenario.emu.checkins("crons_fail")}
    assert len(by_id) == len(runs) >= 2
    assert {by_id[guid("crons_fail", r["dag_run_id"])]["status"] for r in runs} == {"error"}
    events = [e for e in scenario.emu.events if {"key": "dag_id", "value": "crons_fail"} in e["tags"]]
    assert len(events) >= len([r for r in runs if r["state"] == "failed"])
    assert {"key": "task_id", "value": "boom"} in events[0]["tags"]
    assert {"key": "team", "value": "data"} in events[0]["tags"]
    issue_ids = {e["issue_id"] for e in events}
    assert len(issue_ids) == 1  # fingerprint per DAG and task: repeated failures group
    (issue,) = [i for i in scenario.emu.issues if int(i["id"]) in issue_ids]
    assert issue["title"] == "ValueError: the nightly export broke"
    assert int(issue["count"]) == len(events)


def test_a_dag_not_selected_gets_no_monitor(scenario: Scenario) -> None:
    assert scenario.started_scheduled("crons_optout")
    assert "crons_optout" not in {m["slug"] for m in scenario.emu.monitors}


def test_a_manual_run_does_not_check_in(scenario: Scenario) -> None:
    manual = guid("crons_ok", scenario.manual_run)
    assert all(c["id"] != manual for c in scenario.emu.checkins())


def test_a_scheduler_killed_mid_run_still_gives_one_check_in(scenario: Scenario) -> None:
    wanted = guid("crons_kill", scenario.kill_run)
    matching = [c for c in scenario.emu.checkins("crons_kill") if c["id"] == wanted]
    (run,) = [r for r in scenario.runs["crons_kill"] if r["dag_run_id"] == scenario.kill_run]
    assert len(matching) == 1
    assert matching[0]["status"] == {"success": "ok", "failed": "error"}[run["state"]]
    assert matching[0]["updates"] == 1  # the in_progress sent before the kill was completed, not duplicated
    print(f"killed run {scenario.kill_run}: {run['state']}, check-in {matching[0]['status']}")


def test_nothing_dropped_or_left_open(scenario: Scenario) -> None:
    assert scenario.emu.dropped_checkins == []
    assert [c for c in scenario.emu.checkins() if c["status"] == "in_progress"] == []
    envelopes = [r for r in scenario.emu.requests if r.path.endswith("/envelope/")]
    print(f"{len(scenario.emu.checkins())} check-ins, {len(envelopes)} envelope requests")
