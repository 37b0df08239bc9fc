"""ReleaseHealthSensor over real HTTP against the emulator, in reschedule and in deferrable mode: pass with
figures, fail with one message, wait for sessions, ignore other environments, retry 429 and Snuba's 400."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from airflow_provider_sentry._compat import AirflowSkipException
from airflow_provider_sentry.exceptions import SentryInputError, SentryNotFoundError, SentryReleaseUnhealthyError
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.testing import SentryEmulator
from tests.release_health.gate_runner import WAITING, GateRunner

MODES = ["reschedule", "deferrable"]
VERSION = "backend@2.0.0"
GATE = {"version": VERSION, "environment": "production", "projects": ["backend"], "min_crash_free_rate": 0.99}

pytestmark = pytest.mark.usefixtures("no_waiting")


@pytest.fixture
def no_waiting(mocker: Any) -> None:
    mocker.patch("airflow_provider_sentry.hooks.sentry.time.sleep")
    mocker.patch.object(SentryAsyncHook, "_sleep", mock.AsyncMock())


@pytest.fixture
def emu(sentry_emulator: SentryEmulator) -> SentryEmulator:
    sentry_emulator.add_release(VERSION, ["backend"])
    sentry_emulator.add_deploy(VERSION, "production")
    return sentry_emulator


def session_requests(emu: SentryEmulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/sessions/")]


@pytest.mark.parametrize("mode", MODES)
def test_healthy_release_passes_with_figures(emu: SentryEmulator, mode: str) -> None:
    emu.add_sessions(VERSION, healthy=995, crashed=3, errored=2)
    runner = GateRunner(mode, {**GATE, "min_sessions": 500})
    result = runner.check()
    assert all(emu.token not in kwargs for kwargs in runner.trigger_kwargs)
    assert result["status"] == "pass"
    assert result["sessions"] == 1000 and isinstance(result["sessions"], int)
    assert result["crash_free_rate"] == pytest.approx(0.997)
    assert result["thresholds"]["min_crash_free_rate"] == 0.99 and result["thresholds"]["min_sessions"] == 500
    assert result["window"]["source"] == "deploy"
    assert result["window"]["start"] == emu.deploys[0]["dateFinished"][:19] + "Z"
    assert result["baseline"] is None
    json.dumps(result)  # XCom-safe
    (query,) = [dict(r.query) | {"field": [v for k, v in r.query if k == "field"]} for r in session_requests(emu)]
    assert query["query"] == f'release:"{VERSION}"' and query["environment"] == "production"
    assert query["interval"] == "1h" and query["project"] == emu.projects[0]["id"]
    assert query["field"] == ["sum(session)", "crash_free_rate(session)"]


@pytest.mark.parametrize("mode", MODES)
def test_unhealthy_release_fails_with_one_message(emu: SentryEmulator, mode: str) -> None:
    emu.add_sessions(VERSION, healthy=950, crashed=50)
    with pytest.raises(SentryReleaseUnhealthyError) as failed:
        GateRunner(mode, {**GATE, "min_sessions": 500}).check()
    message = str(failed.value)
    for part in (VERSION, "'production'", "95.00%", "99.00%", "1000 sessions"):
        assert part in message, message


@pytest.mark.parametrize("mode", MODES)
def test_unhealthy_release_skips_with_soft_fail(emu: SentryEmulator, mode: str) -> None:
    emu.add_sessions(VERSION, healthy=10, crashed=10)
    with pytest.raises(AirflowSkipException, match=r"50\.00%"):
        GateRunner(mode, {**GATE, "min_sessions": 20, "soft_fail": True}).check()


@pytest.mark.parametrize("mode", MODES)
def test_too_few_sessions_waits_then_passes_when_sessions_arrive(emu: SentryEmulator, mode: str) -> None:
    runner = GateRunner(mode, {**GATE, "min_crash_free_rate": 0.9, "min_sessions": 100})
    assert runner.check() == WAITING  # no sessions at all: a null rate is no data, not 100 %
    emu.add_sessions(VERSION, healthy=40, crashed=10)  # 80 %, but only 50 sessions: not judged yet
    emu.clear_requests()
    assert runner.check() == WAITING
    waiting_requests = len(emu.requests)
    assert all(emu.token not in kwargs for kwargs in runner.trigger_kwargs)
    assert len(runner.trigger_kwargs) == (1 if mode == "deferrable" else 0)
    emu.add_sessions(VERSION, healthy=60)
    result = runner.check()
    assert result["status"] == "pass" and result["sessions"] == 110
    assert result["crash_free_rate"] == pytest.approx(100 / 110)
    # reschedule re-reads the release and its deploys each poke; the trigger carries them: 1 request per check
    assert waiting_requests == (3 if mode == "reschedule" else 1)


@pytest.mark.parametrize("mode", MODES)
def test_other_environments_sessions_are_ignored(emu: SentryEmulator, mode: str) -> None:
    emu.add_sessions(VERSION, "staging", crashed=1000)
    emu.add_sessions("backend@1.0.0", "production", crashed=1000)  # another release
    runner = GateRunner(mode, {**GATE, "min_sessions": 10})
    assert runner.check() == WAITING
    emu.add_sessions(VERSION, "production", healthy=10)
    result = runner.check()
    assert result["sessions"] == 10 and result["crash_free_rate"] == 1.0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", ["rate_limit", "snuba_timeout"])
def test_429_and_snuba_timeout_are_retried_not_judged(emu: SentryEmulator, mode: str, fault: str) -> None:
    emu.add_sessions(VERSION, healthy=100)
    runner = GateRunner(mode, {**GATE, "min_sessions": 10})
    answers = {"n": 0}

    def overload(record: Any) -> None:  # the first two sessions queries are refused
        if record.path.endswith("/sessions/") and answers["n"] < 2:
            answers["n"] += 1
            if fault == "rate_limit":
                emu.inject("rate_limit", path="/sessions/", times=1, when="before")
            else:
                emu.inject("status", status=400, path="/sessions/", times=1, when="before")

    emu.before_request(overload)
    with mock.patch(
        "airflow_provider_sentry.testing.server.error_answer",
        side_effect=lambda status: (
            400,
            {"Content-Type": "application/json"},
            b'{"detail": "Query timeout. Please try with a smaller date range or fewer conditions."}',
        ),
    ):
        results = [runner.check() for _ in range(3)]
    statuses = [r.status for r in session_requests(emu)]
    expected = 429 if fault == "rate_limit" else 400
    assert statuses.count(expected) == 2 and statuses[-1] == 200
    assert results[-1]["status"] == "pass"
    if fault == "snuba_timeout":  # a 400 the client does not retry itself: two pokes waited, none judged
        assert results[:2] == [WAITING, WAITING]


@pytest.mark.parametrize("mode", MODES)
def test_other_400_is_an_error_not_a_wait(emu: SentryEmulator, mode: str) -> None:
    with pytest.raises(SentryNotFoundError):
        GateRunner(mode, {**GATE, "version": "backend@9.9.9", "min_sessions": 1}).check()


def test_bad_arguments_fail_before_any_request(emu: SentryEmulator) -> None:
    emu.clear_requests()
    for bad, field in (
        ({"min_crash_free_rate": 99.5}, "min_crash_free_rate"),
        ({"min_sessions": 0}, "min_sessions"),
        ({"version": "a/b"}, "version"),
        ({"environment": "prod/eu"}, "environment"),
        ({"max_drop": -0.1}, "max_drop"),
        ({"window_start": "yesterday"}, "window_start"),
    ):
        with pytest.raises(SentryInputError) as error:
            GateRunner("reschedule", {**GATE, **bad}).check()
        assert error.value.field == field
    assert emu.requests == []


def test_projects_not_in_the_release_are_named(emu: SentryEmulator) -> None:
    with pytest.raises(SentryInputError, match="frontend"):
        GateRunner("reschedule", {**GATE, "projects": ["frontend"], "min_sessions": 1}).check()


@pytest.mark.parametrize("mode", MODES)
def test_window_defaults_to_release_creation_without_a_deploy(sentry_emulator: SentryEmulator, mode: str) -> None:
    emu = sentry_emulator
    emu.add_release("backend@3.0.0", ["backend"])
    emu.add_deploy("backend@3.0.0", "staging")  # a deploy elsewhere does not move the window
    emu.add_sessions("backend@3.0.0", healthy=5)
    result = GateRunner(mode, {**GATE, "version": "backend@3.0.0", "min_sessions": 5}).check()
    assert result["window"]["source"] == "release"


@pytest.mark.parametrize("mode", MODES)
def test_user_set_window_and_user_threshold(emu: SentryEmulator, mode: str) -> None:
    old = datetime.now(UTC) - timedelta(hours=5)
    emu.add_sessions(VERSION, healthy=100, users=50, started=old)  # before the deploy: outside the default window
    emu.add_sessions(VERSION, healthy=100, crashed=1, users=50, crashed_users=1)
    gate = {**GATE, "min_sessions": 150, "min_crash_free_user_rate": 0.995}
    assert GateRunner(mode, gate).check() == WAITING
    runner = GateRunner(mode, {**gate, "window_start": (old - timedelta(minutes=1)).isoformat()})
    expected = r"crash-free users 99\.00% \(threshold 99\.50%\) over 100 users: crash-free users below"
    with pytest.raises(SentryReleaseUnhealthyError, match=expected):
        runner.check()


@pytest.mark.parametrize("mode", MODES)
def test_drop_from_previous_release_and_new_issue_budget(sentry_emulator: SentryEmulator, mode: str) -> None:
    emu = sentry_emulator
    before = datetime.now(UTC) - timedelta(hours=3)
    emu.add_release("backend@1.0.0", ["backend"])
    emu.add_sessions("backend@1.0.0", healthy=1000, started=before + timedelta(hours=1))
    time.sleep(0.01)
    emu.add_release(VERSION, ["backend"])
    emu.add_deploy(
        VERSION, "production", dateStarted=before.isoformat(), dateFinished=(before + timedelta(hours=2)).isoformat()
    )
    emu.add_sessions(VERSION, healthy=985, crashed=15)  # 98.5 %: above 0.98, but 1.5 points below 100 %
    gate = {**GATE, "min_crash_free_rate": 0.98, "min_sessions": 100}
    assert GateRunner(mode, {**gate, "max_drop": 0.02}).check()["baseline"]["release"] == "backend@1.0.0"
    with pytest.raises(SentryReleaseUnhealthyError, match=r"dropped by 1\.50 points from 100\.00%"):
        GateRunner(mode, {**gate, "max_drop": 0.01}).check()
    emu.add_issues(3, project="backend", release=VERSION)
    with pytest.raises(SentryReleaseUnhealthyError, match=r"3 new issue\(s\) first seen in this release, budget 2"):
        GateRunner(mode, {**gate, "max_new_issues": 2}).check()
    assert GateRunner(mode, {**gate, "max_new_issues": 3}).check()["new_issues"] == 3


@pytest.mark.parametrize(("mode", "later"), [("poke", 1), ("reschedule", 3), ("deferrable", 1)])
def test_requests_per_check(emu: SentryEmulator, mode: str, later: int) -> None:
    """First check: release + deploys + sessions; later checks: sessions only, except in reschedule mode."""
    runner = GateRunner(mode, {**GATE, "min_sessions": 10})
    emu.clear_requests()
    assert runner.check() == WAITING
    assert [r.path.rsplit("/", 2)[-2] for r in emu.requests] == ["backend%402.0.0", "deploys", "sessions"]
    for _ in range(3):
        emu.clear_requests()
        assert runner.check() == WAITING
        assert len(emu.requests) == later
    emu.add_sessions(VERSION, healthy=10)
    emu.clear_requests()
    assert runner.check()["status"] == "pass" and len(emu.requests) == later
