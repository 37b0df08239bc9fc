"""SentryNotifier: an error event with the exception, tags, log URL and environment; one issue per DAG+task."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from airflow_provider_sentry.exceptions import SentryConfigError
from airflow_provider_sentry.notifications.sentry import SentryNotifier
from airflow_provider_sentry.testing import SentryEmulator


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentryEmulator]:
    with SentryEmulator() as emulator:
        conn = {
            "conn_type": "sentry",
            "host": emulator.url,
            "password": emulator.token,
            "extra": {"organization": "acme", "dsn": emulator.dsn("backend")},
        }
        monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", json.dumps(conn))
        yield emulator


def failing_export() -> None:
    raise ValueError("the nightly export broke")


def context(run_id: str = "scheduled__2026-01-01", try_number: int = 1) -> dict[str, Any]:
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    with DAG("nightly", schedule=None, start_date=pendulum.datetime(2024, 1, 1)) as dag:
        task = EmptyOperator(task_id="export", owner="data-team")
    try:
        failing_export()
    except ValueError as exc:
        error = exc
    ti = SimpleNamespace(
        dag_id="nightly",
        task_id="export",
        run_id=run_id,
        try_number=try_number,
        log_url="http://airflow.local/dags/nightly/runs/x/tasks/export",
        task=task,
    )
    return {"dag": dag, "task": task, "ti": ti, "task_instance": ti, "run_id": run_id, "exception": error}


def test_no_argument_notifier_sends_one_event_with_frames_and_tags(emu: SentryEmulator) -> None:
    notifier = SentryNotifier()
    notifier(context())
    (event,) = emu.events
    tags = {t["key"]: t["value"] for t in event["tags"]}
    assert {k: tags[k] for k in ("dag_id", "task_id", "run_id", "try_number", "owner", "environment")} == {
        "dag_id": "nightly",
        "task_id": "export",
        "run_id": "scheduled__2026-01-01",
        "try_number": "1",
        "owner": "data-team",
        "environment": "production",
    }
    (issue,) = emu.issues
    assert issue["title"] == "ValueError: the nightly export broke"
    assert issue["culprit"].endswith("in failing_export")
    (request,) = [r for r in emu.requests if r.path.endswith("/envelope/")]
    payload = json.loads(request.raw_body.splitlines()[2])
    assert payload["extra"]["log_url"].endswith("/tasks/export")
    assert payload["fingerprint"] == ["airflow", "nightly", "export"]
    assert notifier.last_event_id == payload["event_id"]


def test_repeated_failures_group_into_one_issue(emu: SentryEmulator) -> None:
    for attempt in (1, 2, 3):
        SentryNotifier()(context(run_id=f"scheduled__{attempt}", try_number=attempt))
    (issue,) = emu.issues
    assert int(issue["count"]) == 3


def test_level_tags_and_fingerprint_are_templated(emu: SentryEmulator) -> None:
    SentryNotifier(
        level="{{ 'warning' }}",
        tags={"rid": "{{ run_id }}"},
        fingerprint=["{{ dag.dag_id }}", "custom"],
        environment="staging",
    )(context())
    (event,) = emu.events
    tags = {t["key"]: t["value"] for t in event["tags"]}
    assert (event["level"], tags["rid"], tags["environment"]) == ("warning", "scheduled__2026-01-01", "staging")
    (request,) = [r for r in emu.requests if r.path.endswith("/envelope/")]
    assert json.loads(request.raw_body.splitlines()[2])["fingerprint"] == ["nightly", "custom"]


def test_a_connection_without_dsn_is_a_clear_config_error(monkeypatch: pytest.MonkeyPatch, emu: SentryEmulator) -> None:
    """Airflow 3.3's BaseNotifier logs and re-raises (the callback runner logs it); 3.0's only logs."""
    monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", json.dumps({"conn_type": "sentry", "password": "sntryu_x"}))
    notifier = SentryNotifier()
    with pytest.raises(SentryConfigError, match="has no DSN") as info:
        notifier.notify(context())
    assert "sntryu_x" not in str(info.value)
    with contextlib.suppress(SentryConfigError):
        notifier(context())
    assert emu.events == []


def test_auth_type_dsn_connections_work(monkeypatch: pytest.MonkeyPatch, emu: SentryEmulator) -> None:
    conn = {"conn_type": "sentry", "password": emu.dsn("backend"), "extra": {"auth_type": "dsn"}}
    monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", json.dumps(conn))
    SentryNotifier()(context())
    assert len(emu.events) == 1


def test_a_dag_level_callback_without_task_or_exception_sends_the_reason(emu: SentryEmulator) -> None:
    """Airflow 3 runs DAG callbacks in the DAG processor: a dag_run and a reason, no task and no exception."""
    ctx = context()
    dag_ctx = {
        "dag": ctx["dag"],
        "dag_run": SimpleNamespace(dag_id="nightly", run_id="scheduled__9"),
        "run_id": "scheduled__9",
        "reason": "task_failure",
    }
    SentryNotifier()(dag_ctx)
    (event,) = emu.events
    tags = {t["key"]: t["value"] for t in event["tags"]}
    assert (tags["dag_id"], tags["run_id"], "task_id" in tags) == ("nightly", "scheduled__9", False)
    assert event["message"] == "task_failure"
