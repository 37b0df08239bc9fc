"""Must-show: against the emulator, in poke, reschedule and deferrable mode, with ties, late indexing,
arrivals during pagination, injected 5xx/429 and workers killed at each step of a poke:
every issue that arrived after the baseline is delivered, none twice."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.sensors.state_store import InMemoryStateStore
from airflow_provider_sentry.testing import SentryEmulator
from tests.sensor.harness import KillableStore, Runner, variable_store

KILLS = [None, None, None, "after_fetch", "before_write", "after_write"]

events = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.booleans(), st.booleans()),  # (tie with the previous second?, late-indexed?)
        st.tuples(st.just("burst"), st.integers(1, 130), st.none()),
        st.tuples(st.just("index"), st.integers(0, 99), st.none()),
        st.tuples(st.just("resolve"), st.integers(0, 99), st.none()),
        st.tuples(st.just("fault"), st.sampled_from([500, 502, 503, 504, 429]), st.none()),
        st.tuples(st.just("midpage"), st.integers(1, 4), st.none()),
        st.tuples(st.just("poke"), st.sampled_from(KILLS), st.none()),
    ),
    min_size=1,
    max_size=24,
)


def connection(emu: SentryEmulator) -> str:
    conn = json.loads(emu.connection_json())
    conn["extra"] = {**conn.get("extra", {}), "max_retries": 2, "retry_budget": 30}
    return json.dumps(conn)


@pytest.fixture
def no_waiting(mocker: Any) -> None:
    """Retries and rate-limit waits happen, without real sleeping."""
    mocker.patch("airflow_provider_sentry.hooks.sentry.time.sleep")
    mocker.patch.object(SentryAsyncHook, "_sleep", mock.AsyncMock())


def play(mode: str, store: Any, script: list[tuple[str, Any, Any]], max_issues: int) -> None:
    with SentryEmulator() as emu, mock.patch.dict(os.environ, {"AIRFLOW_CONN_SENTRY_DEFAULT": connection(emu)}):
        now = int(time.time())
        emu.add_issues(3, first_seen=now - 5000)
        runner = Runner(mode, KillableStore(store), {"state_key": f"prop-{uuid.uuid4().hex}", "max_issues": max_issues})
        assert runner.poke() == []  # the baseline
        baseline_ids = {i["id"] for i in emu.issues}
        second = now - 250
        hidden: list[str] = []
        midpage: list[int] = []

        def arrive_during_pagination(record: Any) -> None:
            if midpage and "/issues/" in record.path:
                for _ in range(midpage.pop()):
                    emu.add_issue(first_seen=second)

        emu.before_request(arrive_during_pagination)
        for kind, a, b in script:
            if kind == "add":
                second += 0 if a else 1
                issue = emu.add_issue(first_seen=second, indexed=not b)
                if b:
                    hidden.append(issue["id"])
            elif kind == "burst":
                while hidden:  # indexing lag is shorter than a burst of 100+ issues (documented bound)
                    emu.index(hidden.pop())
                second += 1
                emu.add_issues(a, first_seen=second)
            elif kind == "index" and hidden:
                emu.index(hidden.pop(a % len(hidden)))
            elif kind == "resolve" and runner.delivered:
                emu.update_issue(runner.delivered[a % len(runner.delivered)], status="resolved")
            elif kind == "fault":
                if a == 429:
                    emu.inject("rate_limit", path="/issues/", times=1)
                else:
                    emu.inject("status", status=a, path="/issues/", times=1)
            elif kind == "midpage":
                midpage.append(a)
            elif kind == "poke":
                runner.poke(kill=a)
        emu.clear_faults()
        midpage.clear()
        emu.index_all()
        runner.sensor_kwargs["max_issues"] = 1000
        for _ in range(6):
            if runner.poke() == [] and runner.poke() == []:
                break
        expected = {i["id"] for i in emu.issues} - baseline_ids
        assert len(runner.delivered) == len(set(runner.delivered)), "an issue was delivered twice"
        assert set(runner.delivered) == expected, f"lost: {sorted(expected - set(runner.delivered))}"
        for kwargs in runner.trigger_kwargs:
            assert emu.token not in kwargs


COMMON = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@COMMON
@given(script=events, max_issues=st.sampled_from([1, 7, 100]))
def test_poke_mode_loses_and_repeats_nothing(no_waiting: None, script: list, max_issues: int) -> None:
    play("poke", InMemoryStateStore(), script, max_issues)


@COMMON
@given(script=events, max_issues=st.sampled_from([1, 7, 100]))
def test_reschedule_mode_through_the_variable_store(
    airflow_db: None, no_waiting: None, script: list, max_issues: int
) -> None:
    """A fresh sensor object every poke; the state only survives in the Airflow Variable table."""
    play("reschedule", variable_store(), script, max_issues)


@COMMON
@given(script=events, max_issues=st.sampled_from([1, 7, 100]))
def test_deferrable_mode_trigger_driven_with_asyncio(no_waiting: None, script: list, max_issues: int) -> None:
    play("deferrable", InMemoryStateStore(), script, max_issues)


@pytest.mark.parametrize("step", ["after_fetch", "before_write", "after_write"])
@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_a_kill_at_each_step_of_a_poke_loses_nothing(airflow_db: None, no_waiting: None, mode: str, step: str) -> None:
    """Deterministic companion of the properties: the worker dies at ``step`` of a delivering poke."""
    script: list[tuple[str, Any, Any]] = [
        ("add", False, False),
        ("add", True, False),  # same second
        ("add", False, True),  # indexed late
        ("poke", step, None),
        ("index", 0, None),
        ("poke", step, None),
        ("burst", 120, None),
        ("poke", step, None),
        ("poke", None, None),
    ]
    store = variable_store() if mode == "reschedule" else InMemoryStateStore()
    play(mode, store, script, 100)
