"""NewIssuesEventTrigger in a real deployment: a DAG scheduled on a watched asset gets every new issue exactly
once, in waves, across a triggerer stop and restart, and nothing from before the watch began; an idle poll is
one request. DAG: ``dags/watcher_new_issues.py`` (connection ``sentry_watcher``)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_sentry.testing import SentryEmulator
from airflow_provider_sentry.testing.routing import RequestRecord
from tests.deployment.stack import Deployment
from tests.ui.ui_airflow_stack import ApiError

DAG_ID = "watcher_triage"
CONN_ID = "sentry_watcher"


def issue_requests(emu: SentryEmulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.method == "GET" and r.path.endswith("/issues/")]


def wait_for(what: str, check: Callable[[], bool], deployment: Deployment, timeout: float = 150.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.5)
    raise TimeoutError(f"{what} after {timeout} s\n{deployment.stack.log_tail(60)}")


class Received:
    """Every payload the consuming DAG's finished runs returned, read back through XCom."""

    def __init__(self, deployment: Deployment, dag_id: str = DAG_ID) -> None:
        self.deployment = deployment
        self.dag_id = dag_id
        self.payloads: dict[str, list[dict[str, Any]]] = {}
        self.failed: list[str] = []

    def refresh(self) -> None:
        for run in self.deployment.runs(self.dag_id):
            run_id = run["dag_run_id"]
            if run_id in self.payloads or run_id in self.failed:
                continue
            if run["state"] == "success":
                self.payloads[run_id] = list(self.deployment.xcom(self.dag_id, run_id, "receive"))
            elif run["state"] == "failed":
                self.failed.append(run_id)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [payload for payloads in self.payloads.values() for payload in payloads]

    @property
    def ids(self) -> list[str]:
        return [issue_id for event in self.events for issue_id in event["issue_ids"]]

    def has(self, expected: list[str]) -> bool:
        self.refresh()
        return set(expected) <= set(self.ids)


def test_the_watcher_delivers_every_new_issue_once_across_a_triggerer_restart(deployment: Deployment) -> None:
    figures: dict[str, Any] = {}
    with SentryEmulator() as emu:
        now = int(time.time())
        before = emu.add_issues(3, first_seen=now - 3600) + emu.add_issues(2, first_seen=now - 1)
        deployment.add_connection(
            CONN_ID, host=emu.url, password=emu.token, extra=json.dumps({"organization": emu.organization})
        )
        deployment.set_paused(DAG_ID, False)
        received = Received(deployment)

        # The watch begins when the triggerer first runs the watcher: a baseline, then one idle poll.
        figures["watch_started_s"] = wait_for(
            "the watcher never polled twice", lambda: len(issue_requests(emu)) >= 2, deployment
        )

        expected: list[str] = []

        def wave(count: int, name: str) -> None:
            issues = emu.add_issues(count, title=name, first_seen=time.time())
            expected.extend(issue["id"] for issue in issues)
            figures[f"{name}_delivered_s"] = wait_for(
                f"{name} never reached the DAG", lambda: received.has(expected), deployment
            )
            # the cursor is recorded before the trigger's next poll: wait for one more
            polls = len(issue_requests(emu))
            wait_for("no poll after the delivery", lambda: len(issue_requests(emu)) > polls, deployment)

        wave(3, "wave1")
        wave(7, "wave2")  # more than max_issues=5: two events

        stopped = time.monotonic()
        deployment.stop_component("triggerer", grace=15)
        down_polls = len(issue_requests(emu))
        wave3 = emu.add_issues(4, title="wave3", first_seen=time.time())  # arrives while no triggerer runs
        expected.extend(issue["id"] for issue in wave3)
        time.sleep(3)
        assert len(issue_requests(emu)) == down_polls, "the triggerer is down"
        deployment.start_component("triggerer")
        figures["wave3_delivered_after_restart_s"] = wait_for(
            "wave3 never reached the DAG after the restart", lambda: received.has(expected), deployment, 180
        )
        figures["restart_to_delivery_s"] = time.monotonic() - stopped
        polls = len(issue_requests(emu))
        wait_for("no poll after the delivery", lambda: len(issue_requests(emu)) > polls, deployment)
        wave(2, "wave4")

        history = issue_requests(emu)
        projects_lookups = [r for r in emu.requests if r.path.endswith("/projects/")]
        # Idle: no new issue for a while; every poll is a single issue-list request.
        emu.clear_requests()
        idle_started = time.monotonic()
        time.sleep(12)
        idle = emu.requests
        figures["idle_window_s"] = round(time.monotonic() - idle_started, 1)
        figures["idle_requests"] = len(idle)

        received.refresh()
        deployment.set_paused(DAG_ID, True)  # the watcher stops with the next parse

    # exactly once, oldest first inside each event, nothing from before the watch
    assert received.failed == []
    assert sorted(received.ids, key=int) == sorted(expected, key=int)
    assert len(received.ids) == len(set(received.ids)) == 16
    assert not {issue["id"] for issue in before} & set(received.ids)
    # the restart resumed the stored cursor: one project lookup for the whole test, and wave3 (which arrived
    # while no triggerer ran) was delivered above, which a second baseline would have recorded as seen
    assert len(projects_lookups) == 1
    assert all("firstSeen:>=" in dict(r.query).get("query", "") for r in history)
    for event in received.events:
        assert event["issue_ids"] == [issue["id"] for issue in event["issues"]]
        assert event["issue_ids"] == sorted(event["issue_ids"], key=int) and 1 <= event["count"] <= 5
    # idle polls: only issue lists, each a short page (a poll sends a second request only after a full one)
    assert idle and all(r.path.endswith("/issues/") and r.status == 200 for r in idle)
    assert all(len(json.loads(r.response_body)) < 100 for r in idle)
    assert all("firstSeen:>=" in dict(r.query).get("query", "") for r in idle)
    figures["issue_requests_total"] = len(history)
    figures["events"] = len(received.events)
    figures["dag_runs"] = len(received.payloads)
    figures["issues_delivered"] = len(received.ids)
    print("watcher figures:", json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}))


def kill_trigger_runner(deployment: Deployment) -> None:
    """SIGKILL the triggerer's trigger-runner subprocess (where triggers run; it has no DB connection, so
    SQLite is left clean). The triggerer's supervisor then exits on its own; reap it."""
    supervisor = deployment.stack.processes["triggerer"]
    runners = [
        int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _parent_pid(stat) == supervisor.pid
    ]
    assert runners, "the triggerer has no trigger-runner subprocess"
    for pid in runners:
        os.kill(pid, signal.SIGKILL)
    deployment.stop_component("triggerer", grace=30)


def _parent_pid(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


# What the api-server logs when Airflow 3.3 cannot serialize an asset event whose DAG run is queued and not
# started yet: ``DagRunAssetReference.start_date`` is a required datetime, the run's is NULL until the
# scheduler starts it (apache/airflow#71360; fixed by apache/airflow#71379, not in 3.3.2).
UNSTARTED_RUN_ERROR = ("created_dagruns", "start_date", "valid datetime")


def stored_events(deployment: Deployment, asset_name: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The asset's events in the metadata DB. Between the scheduler creating an event's DAG run (queued) and
    starting it, Airflow answers 500 (``UNSTARTED_RUN_ERROR``): ask again then, for at most ``timeout``
    seconds. Any other error fails at once."""
    path = f"/api/v2/assets/events?name_pattern={asset_name}&limit=100"
    deadline = time.monotonic() + timeout
    while True:
        logged = api_server_log_size(deployment)
        try:
            return list(deployment.request("GET", path)["asset_events"])
        except ApiError as exc:
            if exc.status != 500 or not logged_since(deployment, logged, UNSTARTED_RUN_ERROR):
                raise
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: 500 on an unstarted DAG run for {timeout} s") from exc
        time.sleep(0.2)


def api_server_log_size(deployment: Deployment) -> int:
    return (deployment.stack.home / "api-server.log").stat().st_size


def logged_since(deployment: Deployment, offset: int, parts: tuple[str, ...], wait: float = 5.0) -> bool:
    """Whether the api-server logged all ``parts`` after ``offset`` (it logs a 500's traceback just after
    answering, so give it ``wait`` seconds)."""
    deadline = time.monotonic() + wait
    while True:
        with (deployment.stack.home / "api-server.log").open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        if all(part in text for part in parts):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def test_a_triggerer_killed_between_storing_an_event_and_recording_repeats_that_batch_only(
    deployment: Deployment,
) -> None:
    dag_id, conn_id, asset_name = "watcher_kill", "sentry_watcher_kill", "watcher_kill_new_issues"
    with SentryEmulator() as emu:
        before = emu.add_issues(2, first_seen=int(time.time()) - 1)
        deployment.add_connection(
            conn_id, host=emu.url, password=emu.token, extra=json.dumps({"organization": emu.organization})
        )
        deployment.set_paused(dag_id, False)
        received = Received(deployment, dag_id)
        wait_for("the watcher never polled twice", lambda: len(issue_requests(emu)) >= 2, deployment)

        batch = [issue["id"] for issue in emu.add_issues(3, title="batch", first_seen=time.time())]
        # Kill the triggerer as soon as the event is in the metadata DB: inside the 2 s before the cursor
        # is recorded, the one window where a batch can repeat.
        deadline = time.monotonic() + 60
        while not stored_events(deployment, asset_name):
            assert time.monotonic() < deadline, deployment.stack.log_tail(60)
            time.sleep(0.05)
        kill_trigger_runner(deployment)
        later = [issue["id"] for issue in emu.add_issues(2, title="later", first_seen=time.time())]
        deployment.start_component("triggerer")
        wait_for("nothing delivered after the kill", lambda: received.has(batch + later), deployment, 300)
        polls = len(issue_requests(emu))
        wait_for("no poll after the delivery", lambda: len(issue_requests(emu)) > polls + 1, deployment)
        time.sleep(5)  # let a run of a repeated event finish too
        received.refresh()
        events = stored_events(deployment, asset_name)
        deployment.set_paused(dag_id, True)

    counts = Counter(received.ids)
    assert received.failed == []
    assert set(counts) == set(batch + later), "nothing lost, nothing from before the watch"
    assert not {issue["id"] for issue in before} & set(counts)
    assert all(counts[issue_id] == 1 for issue_id in later)
    assert all(counts[issue_id] <= 2 for issue_id in batch), "at most the one batch repeats"
    fired = [event["extra"]["payload"]["issue_ids"] for event in events]
    repeated = sum(1 for issue_id in batch if counts[issue_id] == 2)
    print(f"watcher kill: stored events {fired}; batch ids delivered twice: {repeated}/3")
