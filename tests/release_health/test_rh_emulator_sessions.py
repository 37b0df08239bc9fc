"""The emulator's sessions API (``GET organizations/{org}/sessions/``) follows Sentry's rules, its answers
validate against the official schema, and the real sentry-sdk's ``session``/``sessions`` items feed it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_sentry.testing import SentryEmulator
from tests.emulator.test_emulator_openapi import to_json_schema

SUBSET = Path(__file__).resolve().parents[1] / "openapi" / "sentry-openapi-subset.json"
SESSIONS_PATH = "/api/0/organizations/{organization_id_or_slug}/sessions/"


@pytest.fixture
def emu() -> Any:
    with SentryEmulator() as emulator:
        yield emulator


def get(emu: SentryEmulator, params: list[tuple[str, str]], token: str | None = None) -> requests.Response:
    return requests.get(
        f"{emu.url}/api/0/organizations/acme/sessions/",
        params=params,
        headers={"Authorization": f"Bearer {token or emu.token}"},
        timeout=10,
    )


def fields(*names: str) -> list[tuple[str, str]]:
    return [("field", name) for name in names]


STATUS_1D = [("groupBy", "session.status"), ("statsPeriod", "1d")]
RATES = fields("sum(session)", "crash_free_rate(session)", "count_unique(user)", "crash_free_rate(user)")


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ([], 'Request is missing a "field"'),
        (fields("summ(session)"), 'Invalid field: "summ(session)"'),
        ([*fields("sum(session)"), ("groupBy", "issue.id")], 'Invalid groupBy: "issue.id"'),
        (
            [*fields("crash_free_rate(session)"), ("groupBy", "session.status")],
            "Cannot group field crash_free_rate(session) by session.status",
        ),
        (
            [*fields("crash_rate(user)"), ("groupBy", "session.status")],
            "Cannot group field crash_rate(user) by session.status",
        ),
        ([*fields("sum(session)"), ("interval", "30m")], "The interval has to be a multiple of the minimum interval"),
        ([*fields("sum(session)"), ("interval", "5h")], "The interval should divide one day without a remainder."),
        ([*fields("sum(session)"), ("interval", "2d")], "The interval has to be less than one day."),
        ([*fields("sum(session)"), ("interval", "1h")], "Your interval and date range would create too many results"),
        ([*fields("sum(session)"), ("statsPeriod", "1d"), ("project", "backend")], "Invalid project parameter"),
        ([*fields("sum(session)"), ("statsPeriod", "1d"), ("query", "issue.id:1")], "Invalid search filter: issue.id"),
        ([*fields("sum(session)"), ("statsPeriod", "1d"), ("query", "oops")], "Invalid search filter: message"),
    ],
)
def test_sentry_refuses_what_sentry_refuses(emu: SentryEmulator, params: list[tuple[str, str]], detail: str) -> None:
    answer = get(emu, params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"].startswith(detail)


def test_no_sessions_means_null_rates_not_100_percent(emu: SentryEmulator) -> None:
    ungrouped = get(emu, [*RATES, ("statsPeriod", "1d")]).json()
    (group,) = ungrouped["groups"]
    assert group["by"] == {}
    assert group["totals"] == {
        "sum(session)": 0,
        "crash_free_rate(session)": None,
        "count_unique(user)": 0,
        "crash_free_rate(user)": None,
    }
    assert set(group["series"]["crash_free_rate(session)"]) == {None}
    grouped = get(emu, [*RATES, ("statsPeriod", "1d"), ("groupBy", "release")]).json()
    assert grouped["groups"] == []


def test_range_is_rounded_out_to_the_interval(emu: SentryEmulator) -> None:
    answer = get(
        emu, [*fields("sum(session)"), ("start", "2026-11-30T10:17:00Z"), ("end", "2026-11-30T13:05:00Z")]
    ).json()
    assert (answer["start"], answer["end"]) == ("2026-11-30T10:00:00Z", "2026-11-30T14:00:00Z")
    assert answer["intervals"] == [f"2026-11-30T{h}:00:00Z" for h in (10, 11, 12, 13)]
    daily = get(
        emu,
        [
            *fields("sum(session)"),
            ("start", "2026-11-28T10:00:00Z"),
            ("end", "2026-11-29T10:00:00Z"),
            ("interval", "1d"),
        ],
    ).json()
    assert (daily["start"], daily["end"]) == ("2026-11-28T00:00:00Z", "2026-11-30T00:00:00Z")
    assert get(emu, [*fields("sum(session)"), ("statsPeriod", "1d"), ("interval", "nonsense")]).status_code == 200


def test_release_environment_project_filters_and_status_groups(emu: SentryEmulator) -> None:
    emu.add_sessions("backend@2.0", "production", healthy=6, errored=2, crashed=1, abnormal=1, users=4)
    emu.add_sessions("backend@2.0", "staging", crashed=50)
    emu.add_sessions("backend@1.0", "production", crashed=50)
    emu.add_sessions("backend@2.0", "production", project="frontend", crashed=50)
    backend = emu.projects[0]["id"]
    base = [("statsPeriod", "1h"), ("project", backend), ("environment", "production")]
    answer = get(emu, [*RATES, *base, ("query", 'release:"backend@2.0"'), ("groupBy", "release")]).json()
    (group,) = answer["groups"]
    assert group["by"] == {"release": "backend@2.0"}
    assert group["totals"]["sum(session)"] == 10
    assert group["totals"]["crash_free_rate(session)"] == pytest.approx(0.9)
    assert group["totals"]["count_unique(user)"] == 4
    assert group["totals"]["crash_free_rate(user)"] == pytest.approx(0.75)
    by_status = get(
        emu, [*fields("sum(session)"), *base, ("query", "release:backend@2.0"), ("groupBy", "session.status")]
    ).json()
    counts = {g["by"]["session.status"]: g["totals"]["sum(session)"] for g in by_status["groups"]}
    assert counts == {"healthy": 6, "errored": 2, "crashed": 1, "abnormal": 1}
    every = get(emu, [*fields("sum(session)"), ("statsPeriod", "1h"), ("groupBy", "environment")]).json()
    assert {g["by"]["environment"]: g["totals"]["sum(session)"] for g in every["groups"]} == {
        "production": 110,
        "staging": 50,
    }
    assert get(emu, [*RATES, ("statsPeriod", "1h"), ("environment", "nowhere")]).status_code == 404


def test_old_sessions_fall_outside_the_window(emu: SentryEmulator) -> None:
    emu.add_sessions("backend@2.0", crashed=5, started=datetime.now(UTC) - timedelta(hours=5))
    emu.add_sessions("backend@2.0", healthy=5)
    (group,) = get(emu, [*RATES, ("statsPeriod", "2h")]).json()["groups"]
    assert group["totals"]["sum(session)"] == 5 and group["totals"]["crash_free_rate(session)"] == 1.0


def test_scope_org_read_is_needed(emu: SentryEmulator) -> None:
    weak = emu.add_token(["project:read"])
    assert get(emu, [*RATES, ("statsPeriod", "1h")], token=weak).status_code == 403
    assert get(emu, [*RATES, ("statsPeriod", "1h")], token=emu.add_token(["org:read"])).status_code == 200


def test_answers_validate_against_the_official_schema(emu: SentryEmulator) -> None:
    spec = json.loads(SUBSET.read_text())
    operation = spec["paths"][SESSIONS_PATH]["get"]
    assert operation["operationId"] == "getOrganizationSessions"
    schema = to_json_schema(copy.deepcopy(operation["responses"]["200"]["content"]["application/json"]["schema"]))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    emu.add_sessions("backend@2.0", healthy=3, crashed=1, users=2)
    queries = [
        [*RATES, ("statsPeriod", "1d")],
        [*RATES, ("statsPeriod", "1d"), ("groupBy", "release"), ("groupBy", "project"), ("groupBy", "environment")],
        [*fields("sum(session)", "count_unique(user)", "p50(session.duration)"), *STATUS_1D],
        [*RATES, ("statsPeriod", "2h"), ("query", 'release:"nothing"'), ("groupBy", "release")],
    ]
    failures = []
    for params in queries:
        answer = get(emu, params)
        assert answer.status_code == 200, answer.text
        failures += [f"{params}: {e.message}" for e in validator.iter_errors(answer.json())]
    assert failures == []


SDK_APP = textwrap.dedent(
    """
    import sys
    import sentry_sdk
    from sentry_sdk.utils import event_from_exception

    sentry_sdk.init(dsn=sys.argv[1], release="backend@2.0.0", environment="production", default_integrations=False)
    scope = sentry_sdk.get_isolation_scope()
    mode = sys.argv[2]

    scope.start_session(session_mode=mode)          # one healthy session
    scope.end_session()

    scope.start_session(session_mode=mode)          # one session that crashes (an unhandled exception)
    try:
        1 / 0
    except ZeroDivisionError:
        event, hint = event_from_exception(
            sys.exc_info(), client_options=sentry_sdk.get_client().options,
            mechanism={"type": "excepthook", "handled": False},
        )
        sentry_sdk.capture_event(event, hint=hint)
    scope.end_session()
    sentry_sdk.flush(timeout=10)
    """
)


@pytest.mark.parametrize(("mode", "item"), [("application", "session"), ("request", "sessions")])
def test_real_sentry_sdk_sessions_give_a_50_percent_crash_free_rate(emu: SentryEmulator, mode: str, item: str) -> None:
    # A subprocess keeps the SDK's global client out of this test process.
    subprocess.run([sys.executable, "-c", SDK_APP, emu.dsn("backend"), mode], check=True, timeout=60)
    bodies = b"".join(r.raw_body for r in emu.requests if r.path.endswith("/envelope/"))
    assert bodies  # the SDK did post envelopes (gzip; the item type is checked through the result below)
    answer = get(
        emu,
        [
            *fields("sum(session)", "crash_free_rate(session)"),
            ("statsPeriod", "1h"),
            ("environment", "production"),
            ("query", 'release:"backend@2.0.0"'),
            ("groupBy", "release"),
        ],
    ).json()
    (group,) = answer["groups"]
    assert group["totals"] == {"sum(session)": 2, "crash_free_rate(session)": 0.5}
    assert [i["title"] for i in emu.issues] == ["ZeroDivisionError: division by zero"]


def post_envelope(emu: SentryEmulator, items: list[tuple[str, dict[str, Any]]]) -> None:
    project_id = emu.projects[0]["id"]
    key = emu.dsn("backend").split("//")[1].split("@")[0]
    lines = [json.dumps({"sent_at": datetime.now(UTC).isoformat()})]
    for item_type, payload in items:
        lines += [json.dumps({"type": item_type}), json.dumps(payload)]
    answer = requests.post(
        f"{emu.url}/api/{project_id}/envelope/",
        data="\n".join(lines).encode(),
        headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_session_updates_count_each_session_once(emu: SentryEmulator) -> None:
    now = datetime.now(UTC).isoformat()
    attrs = {"release": "backend@2.0", "environment": "production"}
    start = {"sid": "a" * 32, "did": "u1", "init": True, "started": now, "status": "ok", "attrs": attrs}
    crash = {**start, "init": False, "status": "crashed", "errors": 1}
    post_envelope(emu, [("session", start)])
    post_envelope(emu, [("session", crash), ("session", crash)])  # the final update, and a duplicate of it
    post_envelope(emu, [("session", {**start, "sid": "b" * 32, "did": "u2", "status": "exited"})])
    post_envelope(emu, [("session", {**start, "sid": "c" * 32, "attrs": {"environment": "production"}})])  # no release
    post_envelope(emu, [("session", {**crash, "sid": "d" * 32})])  # an update without its start counts nothing
    post_envelope(
        emu, [("sessions", {"attrs": attrs, "aggregates": [{"started": now, "exited": 5, "errored": 1, "crashed": 1}]})]
    )
    (group,) = get(emu, [*RATES, ("statsPeriod", "1h"), ("query", "release:backend@2.0")]).json()["groups"]
    assert group["totals"]["sum(session)"] == 2 + 7
    assert group["totals"]["crash_free_rate(session)"] == pytest.approx(1 - 2 / 9)
    assert group["totals"]["count_unique(user)"] == 2 and group["totals"]["crash_free_rate(user)"] == 0.5
    by_status = get(emu, [*fields("sum(session)"), *STATUS_1D]).json()["groups"]
    assert {g["by"]["session.status"]: g["totals"]["sum(session)"] for g in by_status} == {
        "healthy": 6,
        "errored": 1,
        "crashed": 2,
        "abnormal": 0,
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    buckets=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=4,
    )
)
def test_totals_and_status_groups_add_up(emu: SentryEmulator, buckets: list[tuple[int, int, int, int]]) -> None:
    release = f"backend@{len(emu.requests)}"  # a fresh release per example: the emulator is shared
    for healthy, errored, crashed, abnormal in buckets:
        emu.add_sessions(release, healthy=healthy, errored=errored, crashed=crashed, abnormal=abnormal)
    query = [("statsPeriod", "1h"), ("query", f'release:"{release}"')]
    (group,) = get(emu, [*RATES, *query]).json()["groups"]
    total = sum(sum(b) for b in buckets)
    crashed_total = sum(b[2] for b in buckets)
    assert group["totals"]["sum(session)"] == total
    if total:
        assert group["totals"]["crash_free_rate(session)"] == pytest.approx(1 - crashed_total / total)
    else:
        assert group["totals"]["crash_free_rate(session)"] is None
    statuses = get(emu, [*fields("sum(session)"), ("groupBy", "session.status"), *query]).json()["groups"]
    assert sum(g["totals"]["sum(session)"] for g in statuses) == total
    assert sum(sum(g["series"]["sum(session)"]) for g in statuses) == total
