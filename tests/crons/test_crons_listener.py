"""The listener and its background sender, on real (serialized) DAGs and over real HTTP to the emulator."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_sentry.core.crons import check_in_id
from airflow_provider_sentry.core.dsn import connection_dsn
from airflow_provider_sentry.crons import listener, sentry_crons_params
from airflow_provider_sentry.crons.config import from_options, with_override
from airflow_provider_sentry.crons.sender import CheckInSender
from airflow_provider_sentry.exceptions import SentryConfigError
from airflow_provider_sentry.testing import SentryEmulator


def serialized(dag_id: str, schedule: Any, **kwargs: Any) -> Any:
    """A DAG as the scheduler sees it: serialized and loaded back (3.0 and 3.3 alike)."""
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import DAG

    try:
        from airflow.serialization.serialized_objects import DagSerialization as Serializer
    except ImportError:  # Airflow < 3.2
        from airflow.serialization.serialized_objects import SerializedDAG as Serializer

    kwargs.setdefault("start_date", pendulum.datetime(2024, 1, 1, tz="UTC"))
    with DAG(dag_id, schedule=schedule, catchup=False, **kwargs) as dag:
        EmptyOperator(task_id="t")
    return Serializer.from_dict(Serializer.to_dict(dag))


def dag_run(dag: Any, run_id: str = "scheduled__1", run_type: str = "scheduled", seconds: float = 12.0) -> Any:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return SimpleNamespace(
        dag_id=dag.dag_id if dag is not None else "crons_nodag",
        run_id=run_id,
        run_type=run_type,
        dag=dag,
        start_date=start,
        end_date=start + timedelta(seconds=seconds),
    )


@pytest.fixture
def selected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__SENTRY_CRONS__DAGS", "nightly_*, billing")
    monkeypatch.setenv("AIRFLOW__SENTRY_CRONS__CONN_ID", "crons_conn")
    monkeypatch.setenv("AIRFLOW__SENTRY_CRONS__CHECKIN_MARGIN", "3")


@pytest.mark.usefixtures("selected")
def test_a_selected_cron_dag_builds_its_check_in_with_config() -> None:
    dag = serialized(
        "nightly_export",
        "30 2 * * *",
        start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Vienna"),
        dagrun_timeout=timedelta(minutes=10, seconds=5),
    )
    conn_id, payload = listener.build_check_in(dag_run(dag), "ok") or ("", {})
    assert conn_id == "crons_conn"
    assert payload == {
        "check_in_id": check_in_id("nightly_export", "scheduled__1"),
        "monitor_slug": "nightly_export",
        "status": "ok",
        "environment": "production",
        "duration": 12.0,
        "monitor_config": {
            "schedule": {"type": "crontab", "value": "30 2 * * *"},
            "timezone": "Europe/Vienna",
            "max_runtime": 11,
            "checkin_margin": 3,
        },
    }


@pytest.mark.usefixtures("selected")
@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("@hourly", {"type": "crontab", "value": "0 * * * *"}),
        (timedelta(hours=6), {"type": "interval", "value": 6, "unit": "hour"}),
        (None, None),
        ("@once", None),
    ],
)
def test_schedule_mapping_on_real_timetables(schedule: Any, expected: dict[str, Any] | None) -> None:
    built = listener.build_check_in(dag_run(serialized("nightly_x", schedule)), "in_progress")
    assert built is not None
    config = built[1].get("monitor_config")
    assert (config or {}).get("schedule") == expected
    assert "duration" not in built[1]


@pytest.mark.usefixtures("selected")
def test_only_scheduled_runs_of_selected_dags_unless_opted_in() -> None:
    assert listener.build_check_in(dag_run(serialized("other", "@daily")), "ok") is None
    assert listener.build_check_in(dag_run(serialized("nightly_x", "@daily"), run_type="manual"), "ok") is None
    assert listener.build_check_in(dag_run(serialized("nightly_x", "@daily"), run_type="backfill"), "ok") is None
    opted = serialized("other", "@daily", params=sentry_crons_params(enabled=True, run_types=["manual"]))
    assert listener.build_check_in(dag_run(opted, run_type="manual"), "ok") is not None
    off = serialized("nightly_off", "@daily", params=sentry_crons_params(enabled=False))
    assert listener.build_check_in(dag_run(off), "ok") is None


@pytest.mark.usefixtures("selected")
def test_a_run_without_its_dag_reuses_the_last_config_seen() -> None:
    dag = serialized("nightly_cached", "@daily")
    listener.build_check_in(dag_run(dag), "in_progress")
    run = dag_run(dag)
    run.dag = None
    built = listener.build_check_in(run, "error")
    assert built is not None and built[1]["monitor_config"]["schedule"]["value"] == "0 0 * * *"


def test_a_broken_configuration_is_logged_never_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AIRFLOW__SENTRY_CRONS__DAGS", "*")
    monkeypatch.setenv("AIRFLOW__SENTRY_CRONS__FAILURE_ISSUE_THRESHOLD", "many")
    with caplog.at_level(logging.ERROR):
        listener.on_dag_run_success(dag_run=dag_run(serialized("nightly_x", "@daily")), msg="")
    assert "failure_issue_threshold" in caplog.text


def test_overrides_merge_and_name_their_source() -> None:
    base = from_options({"dags": "a*", "checkin_margin": "2"})
    merged = with_override(base, {"checkin_margin": 9, "run_types": ["manual"]}, "x")
    assert (merged.options.checkin_margin, merged.run_types) == (9, ("scheduled", "manual"))
    with pytest.raises(SentryConfigError, match=r"DAG 'x' params\['sentry_crons'\] recovery_threshold"):
        with_override(base, {"recovery_threshold": 0}, "x")
    with pytest.raises(SentryConfigError, match="run_types"):
        from_options({"run_types": "scheduled,sometimes"})


# -- the sender over HTTP ------------------------------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[SentryEmulator]:
    with SentryEmulator() as emulator:
        yield emulator


def sender_for(emu: SentryEmulator, **kwargs: Any) -> CheckInSender:
    target = connection_dsn("c", password=None, extra={"dsn": emu.dsn("backend")})
    return CheckInSender(load_target=lambda conn_id: target, **kwargs)


CONFIG = {"schedule": {"type": "crontab", "value": "* * * * *"}}


def payload(slug: str, run: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "check_in_id": check_in_id(slug, run),
        "monitor_slug": slug,
        "status": status,
        "environment": "production",
        "monitor_config": CONFIG,
        **extra,
    }


def test_in_progress_then_ok_is_one_check_in(emu: SentryEmulator) -> None:
    sender = sender_for(emu)
    assert sender.submit("c", payload("job", "r1", "in_progress"))
    assert sender.flush(10)
    assert [c["status"] for c in emu.checkins("job")] == ["in_progress"]
    sender.submit("c", payload("job", "r1", "ok", duration=3.0))
    assert sender.flush(10)
    (checkin,) = emu.checkins("job")
    assert (checkin["status"], checkin["duration"], checkin["updates"]) == ("ok", 3000, 1)
    assert sender.stats["sent"] == 2 and len(emu.requests) == 2


def test_server_errors_and_resets_are_retried(emu: SentryEmulator) -> None:
    emu.inject("status", status=503, path="/envelope/", times=1)
    emu.inject("reset", path="/envelope/", times=1)
    sender = sender_for(emu)
    sender.submit("c", payload("job", "r1", "ok"))
    assert sender.flush(15)
    assert [c["status"] for c in emu.checkins("job")] == ["ok"]
    assert (sender.stats["retried"], sender.stats["sent"], len(emu.requests)) == (2, 1, 3)


def test_a_rejected_key_is_logged_not_raised(emu: SentryEmulator, caplog: pytest.LogCaptureFixture) -> None:
    target = connection_dsn("c", password=None, extra={"dsn": emu.dsn("backend").replace("http://", "http://0")})
    sender = CheckInSender(load_target=lambda conn_id: target)
    with caplog.at_level(logging.ERROR):
        sender.submit("c", payload("job", "r1", "ok"))
        assert sender.flush(10)
    assert sender.stats["failed"] == 1 and "401" in caplog.text
    assert target.dsn.public_key not in caplog.text


def test_a_full_queue_drops_instead_of_blocking() -> None:
    sender = CheckInSender(load_target=lambda conn_id: (_ for _ in ()).throw(SentryConfigError("no")), maxsize=1)
    sender._ensure_thread = lambda: None  # type: ignore[method-assign]  # nothing drains the queue
    assert sender.submit("c", payload("job", "r1", "ok"))
    assert not sender.submit("c", payload("job", "r2", "ok"))
    assert sender.stats["dropped_full"] == 1


def test_six_per_minute_per_monitor_then_wait() -> None:
    now = [1000.0]
    sent: list[str] = []
    sender = CheckInSender(
        load_target=lambda conn_id: None,  # type: ignore[arg-type,return-value]
        send=lambda target, body: sent.append(json.loads(body.splitlines()[2])["check_in_id"]) or 202,  # type: ignore[func-returns-value]
        clock=lambda: now[0],
    )
    for run in range(8):
        sender.submit("c", payload("job", f"r{run}", "ok"))
    sender.submit("c", payload("other", "r0", "ok"))
    assert not sender.flush(1.5)
    assert len(sent) == 7  # six for "job", one for "other"
    now[0] += 62
    assert sender.flush(5)
    assert sent[-2:] == [check_in_id("job", "r6"), check_in_id("job", "r7")]


runs_strategy = st.lists(
    st.tuples(st.integers(1, 3), st.integers(1, 2), st.sampled_from(["ok", "error"]), st.booleans()),
    min_size=1,
    max_size=5,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=runs_strategy, data=st.data())
def test_no_check_in_lost_or_duplicated(emu: SentryEmulator, runs: list[tuple[int, int, str, bool]], data: Any) -> None:
    """Retried callbacks (duplicate running/terminal) in any interleaving across runs: one check-in per run."""
    prefix = uuid.uuid4().hex[:8]
    queues = []
    for index, (runnings, terminals, status, flush_between) in enumerate(runs):
        slug = f"{prefix}-{index}"
        events = [payload(slug, "r", "in_progress")] * runnings + [payload(slug, "r", status, duration=1.0)] * terminals
        queues.append((events, flush_between))
    sender = sender_for(emu)
    while any(events for events, _ in queues):
        live = [q for q in queues if q[0]]
        events, flush_between = data.draw(st.sampled_from(live))
        event = events.pop(0)
        sender.submit("c", event)
        if flush_between:
            sender.flush(10)
    assert sender.flush(15)
    for index, (_, _, status, _) in enumerate(runs):
        found = emu.checkins(f"{prefix}-{index}")
        assert [c["status"] for c in found] == [status]
        assert found[0]["id"].replace("-", "") == check_in_id(f"{prefix}-{index}", "r")
    reasons = {d["reason"] for d in emu.dropped_checkins if d["slug"].startswith(prefix)}
    assert reasons <= {"checkin_finished"}  # only the duplicates of an already-finished check-in
