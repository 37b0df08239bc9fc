"""The pure release-health core: the sessions query, reading answers, the window, and the one verdict."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.arguments import as_fraction
from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.core.errors import error_for_response
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.link_header import PageLink
from airflow_provider_sentry.core.page import Page
from airflow_provider_sentry.core.release_health import (
    FAIL,
    PASS,
    WAITING,
    HealthCheck,
    HealthSpec,
    judge,
    latest_deploy,
    previous_release,
    retry_at_next_check,
)
from airflow_provider_sentry.core.sessions import (
    ALLOWED_INTERVALS,
    MAX_POINTS,
    SessionsQuery,
    SessionTotals,
    choose_interval,
    parse_sessions,
    release_query,
    rounded_window,
)
from airflow_provider_sentry.exceptions import (
    SentryBadRequestError,
    SentryInputError,
    SentryRateLimitError,
    SentryResponseError,
    SentryServerError,
)

NOW = datetime(2026, 12, 1, 14, 30, tzinfo=UTC).timestamp()
WINDOW = {"start": "2026-12-01T14:00:00Z"}


def spec(**overrides: Any) -> HealthSpec:
    args: dict[str, Any] = {
        "organization": "acme",
        "version": "shop@1.2.0",
        "environment": "production",
        "projects": ("web",),
        "min_crash_free_rate": 0.995,
        "min_sessions": 500,
    }
    return HealthSpec.create(**{**args, **overrides})


def query(**overrides: Any) -> SessionsQuery:
    args: dict[str, Any] = {
        "organization": "acme",
        "version": "shop@1.2.0",
        "environment": "production",
        "project_ids": ("2",),
        "start": NOW - 3600,
        "end": NOW,
    }
    return SessionsQuery(**{**args, **overrides})


def page(data: Any, next_cursor: str | None = None) -> Page:
    items = data if isinstance(data, list) else [data]
    link = PageLink("next", "", Cursor.parse(next_cursor), True) if next_cursor else None
    return Page(items=items, previous=None, next=link, headers=Headers({}))


# -- the query -------------------------------------------------------------------------------------


def test_query_params_follow_sentrys_rules() -> None:
    params = query(users=True).params()
    assert [v for k, v in params if k == "field"] == [
        "sum(session)",
        "crash_free_rate(session)",
        "count_unique(user)",
        "crash_free_rate(user)",
    ]
    as_dict = dict(params)
    assert as_dict["query"] == 'release:"shop@1.2.0"' and as_dict["environment"] == "production"
    assert as_dict["groupBy"] == "release" and as_dict["interval"] == "1h" and as_dict["project"] == "2"
    assert (as_dict["start"], as_dict["end"]) == ("2026-12-01T13:30:00Z", "2026-12-01T14:30:00Z")
    assert query().path() == "organizations/acme/sessions/"
    assert release_query('odd "name"') == 'release:"odd \\"name\\""'


@given(start=st.floats(0, 2e9), length=st.floats(0, 3e8))
def test_interval_is_allowed_and_keeps_points_bounded(start: float, length: float) -> None:
    interval = choose_interval(start, start + length)
    assert interval in ALLOWED_INTERVALS and 86400 % interval == 0 and interval >= 3600
    low, high = rounded_window(start, start + length, interval)
    assert low <= start and high >= start + length and low % interval == 0 and high % interval == 0
    if interval < 86400:
        assert (high - low) / interval <= MAX_POINTS


# -- reading answers -------------------------------------------------------------------------------


def test_no_group_or_no_sessions_is_no_data_not_100_percent() -> None:
    assert parse_sessions({"groups": []}, query()) == SessionTotals(0, None, None, None)
    empty = {"groups": [{"by": {}, "totals": {"sum(session)": 0, "crash_free_rate(session)": None}, "series": {}}]}
    assert parse_sessions(empty, query()).crash_free_rate is None


def test_other_releases_groups_are_not_this_release() -> None:
    answer = {
        "groups": [
            {"by": {"release": "shop@1.1.0"}, "totals": {"sum(session)": 900, "crash_free_rate(session)": 1.0}},
            {"by": {"release": "shop@1.2.0"}, "totals": {"sum(session)": 10, "crash_free_rate(session)": 0.9}},
        ]
    }
    assert parse_sessions(answer, query()) == SessionTotals(10, 0.9, None, None)


@pytest.mark.parametrize(
    "answer",
    [
        None,
        [],
        {"groups": None},
        {"groups": ["x"]},
        {"groups": [{"by": {}, "totals": {"sum(session)": 0, "crash_free_rate(session)": 1.0}}]},
        {"groups": [{"by": {}, "totals": {"sum(session)": 5, "crash_free_rate(session)": 1.5}}]},
        {"groups": [{"by": {}, "totals": {"sum(session)": -1, "crash_free_rate(session)": None}}]},
        {"groups": [{"by": {}, "totals": {"sum(session)": "5", "crash_free_rate(session)": 0.5}}]},
        {"groups": [{"by": {}, "totals": {}}, {"by": {}, "totals": {}}]},
    ],
)
def test_malformed_answers_are_typed_errors(answer: Any) -> None:
    with pytest.raises(SentryResponseError):
        parse_sessions(answer, query())


@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_answer_reads_or_raises_a_typed_error(answer: Any) -> None:
    try:
        totals = parse_sessions(
            {"groups": [{"by": {}, "totals": answer}]} if isinstance(answer, dict) else answer, query()
        )
    except SentryResponseError:
        return
    assert totals.sessions >= 0
    assert totals.crash_free_rate is None or 0.0 <= totals.crash_free_rate <= 1.0
    assert totals.sessions > 0 or totals.crash_free_rate is None


def test_which_errors_wait_for_the_next_poke() -> None:
    body = {"detail": "Query timeout. Please try with a smaller date range or fewer conditions."}
    timeout = error_for_response(400, body, method="GET", path="organizations/acme/sessions/", conn_id="c")
    assert retry_at_next_check(timeout)
    assert retry_at_next_check(SentryRateLimitError("x", status=429))
    assert retry_at_next_check(SentryServerError("x", status=502))
    assert not retry_at_next_check(SentryBadRequestError("x", status=400, detail='Invalid field: "x"'))
    assert not retry_at_next_check(SentryInputError("version", "bad"))


# -- arguments and the window ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"min_crash_free_rate": 99.5}, "min_crash_free_rate"),
        ({"min_crash_free_rate": None}, "min_crash_free_rate"),
        ({"min_crash_free_rate": True}, "min_crash_free_rate"),
        ({"min_crash_free_rate": float("nan")}, "min_crash_free_rate"),
        ({"min_sessions": 0}, "min_sessions"),
        ({"min_sessions": 2.5}, "min_sessions"),
        ({"max_drop": 2}, "max_drop"),
        ({"max_new_issues": -1}, "max_new_issues"),
        ({"version": "latest"}, "version"),
        ({"environment": "a/b"}, "environment"),
        ({"previous_version": "shop@1.2.0"}, "previous_version"),
    ],
)
def test_bad_settings_name_the_argument(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(SentryInputError) as error:
        spec(**overrides)
    assert error.value.field == field


def test_rendered_templates_are_read_back() -> None:
    assert spec(min_crash_free_rate="0.99", min_sessions="20").min_sessions == 20
    assert as_fraction("", "x", required=False) is None
    assert HealthSpec.from_json(spec(max_drop=0.01).to_json()) == spec(max_drop=0.01)


def test_window_starts_at_the_latest_deploy_to_the_environment() -> None:
    deploys = [
        {"id": "1", "environment": "production", "dateFinished": "2026-12-01T10:00:00Z"},
        {"id": "2", "environment": "staging", "dateFinished": "2026-12-01T13:00:00Z"},
        {"id": "3", "environment": "production", "dateFinished": "2026-12-01T12:00:00.5Z"},
        {"id": "4", "environment": "production", "dateFinished": None, "dateStarted": None},
    ]
    assert latest_deploy(deploys, "production")["id"] == "3"  # type: ignore[index]
    assert latest_deploy(deploys, "eu") is None
    releases = [
        {"version": "shop@1.3.0", "dateCreated": "2026-12-01T13:00:00Z"},
        {"version": "shop@1.2.0", "dateCreated": "2026-12-01T12:00:00Z"},
        {"version": "shop@1.1.0", "dateCreated": "2026-11-30T12:00:00Z"},
        {"version": "shop@1.0.0", "dateCreated": "2026-11-01T12:00:00Z"},
    ]
    created = datetime(2026, 12, 1, 12, tzinfo=UTC).timestamp()
    assert previous_release(releases, "shop@1.2.0", created) == "shop@1.1.0"
    assert previous_release(releases[:2], "shop@1.2.0", created) is None


# -- the verdict -----------------------------------------------------------------------------------


def test_verdict_waits_passes_and_fails_with_one_message() -> None:
    gate = spec()
    assert judge(gate, SessionTotals(0, None), window=WINDOW).status == WAITING
    assert judge(gate, SessionTotals(499, 0.5), window=WINDOW).status == WAITING
    passed = judge(gate, SessionTotals(1234, 0.998), window=WINDOW)
    assert passed.status == PASS and passed.result["crash_free_rate"] == 0.998 and passed.result["sessions"] == 1234
    failed = judge(gate, SessionTotals(1234, 0.982), window=WINDOW)
    assert failed.status == FAIL
    assert failed.message == (
        "Sentry release health gate failed: release 'shop@1.2.0' in environment 'production': "
        "crash-free sessions 98.20% (threshold 99.50%) over 1234 sessions: crash-free sessions below the threshold"
    )
    close = judge(gate, SessionTotals(1000, 0.99499), window=WINDOW)
    assert close.status == FAIL and "99.499% (threshold 99.500%)" in close.message


def test_optional_rules() -> None:
    gate = spec(min_crash_free_user_rate=0.99, max_drop=0.002, max_new_issues=2)
    healthy = SessionTotals(1000, 0.999, 100, 1.0)
    assert judge(gate, healthy, window=WINDOW, new_issues=2).status == PASS
    assert "users below" in judge(gate, SessionTotals(1000, 0.999, 100, 0.98), window=WINDOW).message
    assert "budget 2" in judge(gate, healthy, window=WINDOW, new_issues=3).message
    baseline = SessionTotals(800, 1.0)
    dropped = judge(gate, SessionTotals(1000, 0.997), window=WINDOW, baseline=baseline, baseline_version="shop@1.1.0")
    assert dropped.status == FAIL and "dropped by 0.30 points from 100.00% (previous release 'shop@1.1.0')" in (
        dropped.message
    )
    thin = judge(gate, SessionTotals(1000, 0.997), window=WINDOW, baseline=SessionTotals(3, 1.0), baseline_version="x")
    assert thin.status == PASS and thin.result["baseline"]["used"] is False


@given(
    sessions=st.integers(0, 10_000),
    crashed=st.integers(0, 10_000),
    threshold=st.floats(0, 1),
    minimum=st.integers(1, 5_000),
)
def test_verdict_is_exactly_the_rule(sessions: int, crashed: int, threshold: float, minimum: int) -> None:
    crashed = min(crashed, sessions)
    rate = 1 - crashed / sessions if sessions else None
    verdict = judge(
        spec(min_crash_free_rate=threshold, min_sessions=minimum), SessionTotals(sessions, rate), window=WINDOW
    )
    if sessions < minimum or rate is None:
        assert verdict.status == WAITING
    else:
        assert verdict.status == (PASS if rate >= threshold else FAIL)
        assert f"over {sessions} sessions" in verdict.message and "production" in verdict.message
        assert ("%" in verdict.message) and not math.isnan(rate)


# -- the state machine -----------------------------------------------------------------------------

RELEASE = {
    "version": "shop@1.2.0",
    "dateCreated": "2026-12-01T12:00:00Z",
    "projects": [{"id": 2, "slug": "web"}, {"id": 3, "slug": "api"}],
}


def sessions_answer(total: int, rate: float | None) -> dict[str, Any]:
    return {
        "groups": [
            {"by": {"release": "shop@1.2.0"}, "totals": {"sum(session)": total, "crash_free_rate(session)": rate}}
        ]
    }


def drive(check: HealthCheck, answers: dict[str, list[Page]]) -> list[str]:
    purposes = []
    while (request := check.next_request()) is not None:
        purposes.append(request.purpose)
        check.receive(answers[request.purpose].pop(0))
    return purposes


def test_first_check_looks_up_then_later_checks_send_one_request() -> None:
    deploys = [{"id": "7", "environment": "production", "dateFinished": "2026-12-01T13:00:00Z"}]
    first = HealthCheck(spec(), None, now=NOW)
    answers = {"release": [page(RELEASE)], "deploys": [page(deploys)], "sessions": [page(sessions_answer(10, 1.0))]}
    assert drive(first, answers) == ["release", "deploys", "sessions"]
    assert first.verdict().status == WAITING and first.requests == 3
    assert first.context is not None and first.context.project_ids == ("2",) and first.context.deploy_id == "7"
    later = HealthCheck(spec(), first.context.to_json(), now=NOW + 60)
    assert drive(later, {"sessions": [page(sessions_answer(600, 0.999))]}) == ["sessions"]
    assert later.verdict().status == PASS
    assert later.verdict().result["window"]["start"] == "2026-12-01T13:00:00Z"


def test_all_extras_in_order_and_issue_pages_stop_past_the_budget() -> None:
    gate = spec(projects=(), max_drop=0.01, max_new_issues=150)
    releases = [RELEASE, {"version": "shop@1.1.0", "dateCreated": "2026-11-30T12:00:00Z"}]
    check = HealthCheck(gate, None, now=NOW)
    answers = {
        "release": [page(RELEASE)],
        "deploys": [page([])],
        "releases": [page(releases)],
        "sessions": [page(sessions_answer(600, 0.999))],
        "issues": [page([{}] * 100, next_cursor="0:100:0"), page([{}] * 100, next_cursor="0:200:0")],
        "baseline": [
            page(
                {
                    "groups": [
                        {
                            "by": {"release": "shop@1.1.0"},
                            "totals": {"sum(session)": 900, "crash_free_rate(session)": 1.0},
                        }
                    ]
                }
            )
        ],
    }
    assert drive(check, answers) == ["release", "deploys", "releases", "sessions", "issues", "issues", "baseline"]
    verdict = check.verdict()
    assert verdict.result["new_issues"] == 200 and verdict.result["window"]["source"] == "release"
    assert verdict.status == FAIL and "budget 150" in verdict.message
    assert check.context is not None and check.context.project_ids == ("2", "3")


def test_projects_must_belong_to_the_release() -> None:
    check = HealthCheck(spec(projects=("mobile",)), None, now=NOW)
    with pytest.raises(SentryInputError, match="mobile"):
        drive(check, {"release": [page(RELEASE)]})
