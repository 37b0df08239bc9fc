"""The pure Crons core: slugs, deterministic check-in ids, schedule -> monitor_config, DSNs and envelopes."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.crons import (
    MonitorBudget,
    MonitorOptions,
    ScheduleSpec,
    check_in_id,
    check_in_payload,
    crontab,
    dag_selected,
    interval_schedule,
    max_runtime_minutes,
    monitor_config,
    monitor_slug,
    parse_patterns,
)
from airflow_provider_sentry.core.dsn import Dsn, connection_dsn
from airflow_provider_sentry.core.envelope import check_in_envelope, error_event, event_envelope
from airflow_provider_sentry.exceptions import SentryConfigError
from airflow_provider_sentry.testing.ingest import parse_envelope
from airflow_provider_sentry.testing.monitors import ConfigError, slugify_monitor_slug, validate_config

DAG_IDS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=1, max_size=120)


@given(DAG_IDS)
def test_slugs_are_valid_and_short(dag_id: str) -> None:
    try:
        slug = monitor_slug(dag_id)
    except SentryConfigError:
        assert not re.sub(r"[^a-z0-9]+", "", dag_id.lower()[:50])
        return
    assert re.fullmatch(r"[a-z0-9_-]{1,50}", slug)
    assert slugify_monitor_slug(slug) == slug  # Sentry keeps it: check-ins land on the monitor we name


def test_slug_examples() -> None:
    assert monitor_slug("Nightly.Billing Report") == "nightly-billing-report"
    assert monitor_slug("etl__v2") == "etl__v2"
    assert monitor_slug("a" * 80) == "a" * 50


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_check_in_ids_are_deterministic_and_distinct(dag_id: str, run_a: str, run_b: str) -> None:
    assert check_in_id(dag_id, run_a) == check_in_id(dag_id, run_a)
    assert uuid.UUID(check_in_id(dag_id, run_a)).version == 5
    if run_a != run_b:
        assert check_in_id(dag_id, run_a) != check_in_id(dag_id, run_b)


def test_check_in_id_cannot_collide_across_the_separator() -> None:
    assert check_in_id("a_b", "c") != check_in_id("a", "b_c")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("* * * * *", "* * * * *"),
        ("0  3 * *   1-5", "0 3 * * 1-5"),
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@midnight", "0 0 * * *"),
        ("@quarterly", "0 0 1 */3 *"),
        ("0 0 * * * *", None),  # 6 fields
        ("@reboot", None),
        ("0 0 * *", None),
    ],
)
def test_crontab_mapping(expression: str, expected: str | None) -> None:
    assert crontab(expression) == expected


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(minutes=1), (1, "minute")),
        (timedelta(minutes=90), (90, "minute")),
        (timedelta(hours=2), (2, "hour")),
        (timedelta(days=1), (1, "day")),
        (timedelta(days=14), (2, "week")),
        (timedelta(seconds=30), None),
        (timedelta(seconds=90), None),
        (timedelta(0), None),
    ],
)
def test_interval_mapping(delta: timedelta, expected: tuple[int, str] | None) -> None:
    got = interval_schedule(delta)
    assert (got["value"], got["unit"]) == expected if expected else got is None


@pytest.mark.parametrize(
    ("timeout", "minutes"),
    [(timedelta(seconds=1), 1), (timedelta(seconds=61), 2), (timedelta(hours=1), 60), (timedelta(days=60), 40_320)],
)
def test_max_runtime_rounds_up_within_sentrys_maximum(timeout: timedelta, minutes: int) -> None:
    assert max_runtime_minutes(timeout) == minutes


def test_monitor_config_for_a_cron_dag() -> None:
    config = monitor_config(
        ScheduleSpec(cron="@daily", timezone="Europe/Vienna"),
        dagrun_timeout=timedelta(minutes=30, seconds=1),
        options=MonitorOptions(checkin_margin=5, failure_issue_threshold=2, recovery_threshold=1),
    )
    assert config == {
        "schedule": {"type": "crontab", "value": "0 0 * * *"},
        "timezone": "Europe/Vienna",
        "max_runtime": 31,
        "checkin_margin": 5,
        "failure_issue_threshold": 2,
        "recovery_threshold": 1,
    }
    assert validate_config(config)["schedule"] == "0 0 * * *"


@pytest.mark.parametrize(
    "spec",
    [
        ScheduleSpec(),  # None, @once, @continuous, assets, custom timetables
        ScheduleSpec(cron="0 0 * * * *"),
        ScheduleSpec(interval=timedelta(seconds=45)),
    ],
)
def test_unsupported_schedules_send_no_config(spec: ScheduleSpec) -> None:
    assert monitor_config(spec) is None


def test_fixed_offset_timezones_are_left_out() -> None:
    config = monitor_config(ScheduleSpec(cron="* * * * *", timezone="+01:00"))
    assert config == {"schedule": {"type": "crontab", "value": "* * * * *"}}


@given(
    st.one_of(
        st.builds(lambda m: ScheduleSpec(interval=timedelta(minutes=m)), st.integers(1, 10**6)),
        st.sampled_from(["@hourly", "@daily", "*/5 * * * *", "0 3 * * 1-5"]).map(lambda c: ScheduleSpec(cron=c)),
    ),
    st.one_of(st.none(), st.integers(1, 10**7).map(lambda s: timedelta(seconds=s))),
)
def test_every_config_the_core_builds_passes_sentrys_validator(spec: ScheduleSpec, timeout: timedelta | None) -> None:
    config = monitor_config(spec, dagrun_timeout=timeout)
    assert config is not None
    validate_config(config)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"checkin_margin": "0"}, "checkin_margin"),
        ({"failure_issue_threshold": "721"}, "failure_issue_threshold"),
        ({"recovery_threshold": "soon"}, "recovery_threshold"),
    ],
)
def test_options_errors_name_the_option(values: dict[str, str], field: str) -> None:
    with pytest.raises(SentryConfigError, match=field):
        MonitorOptions.parse(values)


def test_patterns() -> None:
    patterns = parse_patterns(" nightly_*, billing_report ,")
    assert patterns == ("nightly_*", "billing_report")
    assert dag_selected("nightly_export", patterns)
    assert dag_selected("billing_report", patterns)
    assert not dag_selected("billing_report_v2", patterns)
    assert not dag_selected("anything", parse_patterns(""))


def test_budget_allows_six_per_minute_per_monitor() -> None:
    budget = MonitorBudget()
    for second in range(6):
        assert budget.wait("a", "production", float(second)) == 0
        budget.record("a", "production", float(second))
    assert budget.wait("a", "production", 10.0) == pytest.approx(51.0)  # a second of margin over Sentry's minute
    assert budget.wait("b", "production", 10.0) == 0
    assert budget.wait("a", "staging", 10.0) == 0
    assert budget.wait("a", "production", 60.0) > 0
    assert budget.wait("a", "production", 61.0) == 0


def test_check_in_payload() -> None:
    payload = check_in_payload(slug="s", check_in="ab" * 16, status="ok", environment="prod", duration=1.23456)
    assert payload == {
        "check_in_id": "ab" * 16,
        "monitor_slug": "s",
        "status": "ok",
        "environment": "prod",
        "duration": 1.235,
    }
    with pytest.raises(ValueError, match="status"):
        check_in_payload(slug="s", check_in="x", status="missed", environment="prod")


# -- DSN ---------------------------------------------------------------------------------------------------------


@given(
    st.sampled_from(["https", "http"]),
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    st.sampled_from(["o1.ingest.sentry.io", "sentry.example.com:9000", "127.0.0.1:8000", "localhost"]),
    st.sampled_from(["", "/sentry", "/a/b"]),
    st.integers(1, 10**9),
)
def test_dsn_round_trip(scheme: str, key: str, host: str, prefix: str, project: int) -> None:
    text = f"{scheme}://{key}@{host}{prefix}/{project}"
    loopback = host.startswith(("127.", "localhost"))
    if scheme == "http" and not loopback:
        with pytest.raises(SentryConfigError, match="plain http"):
            Dsn.parse(text)
        return
    dsn = Dsn.parse(text)
    assert dsn.envelope_url == f"{scheme}://{host}{prefix}/api/{project}/envelope/"
    assert key not in dsn.envelope_url and key not in repr(dsn) and key not in str(dsn)
    assert f"sentry_key={key}," in dsn.auth_header("x/1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("https://sentry.io/1", "no public key"),
        ("https://k@sentry.io/abc", "numeric project id"),
        ("ftp://k@sentry.io/1", "scheme"),
        ("http://k@sentry.example.com/1", "plain http"),
    ],
)
def test_bad_dsns_are_named(text: str, message: str) -> None:
    with pytest.raises(SentryConfigError, match=message) as info:
        Dsn.parse(text, field_name="extra.dsn")
    assert "extra.dsn" in str(info.value)


def test_connection_dsn_sources() -> None:
    dsn = "https://abc@o1.ingest.sentry.io/5"
    assert connection_dsn("c", password="tok", extra={"dsn": dsn}).dsn.project_id == "5"
    target = connection_dsn("c", password=dsn, extra={"auth_type": "dsn", "verify": False, "timeout": 30})
    assert (target.dsn.public_key, target.verify, target.timeout) == ("abc", False, 5.0)
    assert connection_dsn("c", password=None, extra={"dsn": dsn, "verify": "/ca.pem"}).verify == "/ca.pem"
    with pytest.raises(SentryConfigError, match="has no DSN"):
        connection_dsn("c", password="sntryu_x", extra={"dsn": None})


# -- envelopes ---------------------------------------------------------------------------------------------------


def _raise_chained() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        raise ValueError("export broke") from exc


def test_event_envelope_carries_the_exception_chain_with_frames() -> None:
    from datetime import UTC, datetime

    try:
        _raise_chained()
    except ValueError as exc:
        event = error_event(
            exception=exc, tags={"dag_id": "d", "none": None}, fingerprint=["a", "b"], timestamp=datetime.now(UTC)
        )
    header, items = parse_envelope(event_envelope(event, sent_at=datetime.now(UTC)))
    assert header["event_id"] == event["event_id"]
    ((item_header, payload),) = items
    assert item_header["type"] == "event" and item_header["length"] == len(payload)
    values = json.loads(payload)["exception"]["values"]
    assert [v["type"] for v in values] == ["KeyError", "ValueError"]
    frames = values[-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "_raise_chained" and frames[-1]["in_app"] is True
    assert frames[-1]["context_line"].startswith("raise ValueError")
    assert json.loads(payload)["tags"] == {"dag_id": "d"}


def test_check_in_envelope_parses() -> None:
    from datetime import UTC, datetime

    body = check_in_envelope({"check_in_id": "0" * 32, "monitor_slug": "m", "status": "ok"}, sent_at=datetime.now(UTC))
    _, [(item_header, payload)] = parse_envelope(gzip.decompress(gzip.compress(body)))
    assert item_header["type"] == "check_in" and json.loads(payload)["monitor_slug"] == "m"


@pytest.mark.parametrize(
    "config",
    [
        {"schedule": {"type": "crontab", "value": "0 0 * * * *"}},
        {"schedule": {"type": "crontab", "value": "@reboot"}},
        {"schedule": {"type": "interval", "value": 0, "unit": "day"}},
        {"schedule": {"type": "interval", "value": 1, "unit": "second"}},
        {"schedule": {"type": "crontab", "value": "* * * * *"}, "max_runtime": 40_321},
        {"schedule": {"type": "crontab", "value": "* * * * *"}, "failure_issue_threshold": 0},
        {"schedule": {"type": "crontab", "value": "* * * * *"}, "timezone": "Mars/Olympus"},
        {"schedule": "* * * * *"},
    ],
)
def test_the_emulator_validates_like_sentry(config: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        validate_config(config)
