"""NewIssuesSensor and NewIssuesTrigger over real HTTP against the emulator: request counts, input
errors, slugs, fault handling in the trigger, resets and changed watches."""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any
from unittest import mock

import pytest

from airflow_provider_sentry.core.watch import WatchState
from airflow_provider_sentry.exceptions import SentryInputError, SentryServerError
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.sensors.state_store import InMemoryStateStore
from airflow_provider_sentry.testing import SentryEmulator
from airflow_provider_sentry.triggers.issues import NewIssuesTrigger
from tests.sensor.harness import KillableStore, Runner

pytestmark = pytest.mark.usefixtures("no_waiting")


@pytest.fixture
def no_waiting(mocker: Any) -> None:
    mocker.patch("airflow_provider_sentry.hooks.sentry.time.sleep")
    mocker.patch.object(SentryAsyncHook, "_sleep", mock.AsyncMock())


def issue_requests(emu: SentryEmulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/issues/")]


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
@pytest.mark.parametrize("n", [1, 99, 100, 101, 250])
def test_request_counts(sentry_emulator: SentryEmulator, mode: str, n: int) -> None:
    emu = sentry_emulator
    now = int(time.time())
    emu.add_issues(5, first_seen=now - 3600)
    store = InMemoryStateStore()
    runner = Runner(mode, KillableStore(store), {"projects": ["backend"], "max_issues": 1000})
    assert runner.poke() == []  # baseline: project lookup + 1 issue list
    assert [r.path.rsplit("/", 2)[-2] for r in emu.requests] == ["projects", "issues"]
    remembered = len(WatchState.from_json(store.load("triage.wait") or {}).seen)
    assert remembered == 0  # the 5 old issues are below the overlap window: nothing to re-read
    emu.clear_requests()
    assert runner.poke() == []
    assert len(emu.requests) == 1, "an idle poke is one request"
    emu.add_issues(n, first_seen=now - 60)
    emu.clear_requests()
    assert len(runner.poke()) == n
    assert len(emu.requests) == math.ceil(n / 100)
    emu.clear_requests()
    assert runner.poke() == []
    # The whole overlap window is kept: k delivered issues inside it cost ceil(k / 100) per idle poke.
    assert len(emu.requests) == math.ceil(n / 100), f"idle again after a delivery of {n}"


@pytest.mark.parametrize("n", [1, 99, 100, 101, 250])
def test_trigger_request_counts(sentry_emulator: SentryEmulator, n: int) -> None:
    """Deferrable mode: each trigger poll is one request when idle, ceil(N/100) for N new."""
    from tests.trigger_loop import first_event

    emu = sentry_emulator
    now = int(time.time())
    emu.add_issues(5, first_seen=now - 3600)
    state = _baseline_state(emu)
    emu.clear_requests()
    assert asyncio.run(first_event(_trigger(emu, state, max_issues=1000))) is None
    assert len(emu.requests) == 1
    emu.add_issues(n, first_seen=now - 60)
    emu.clear_requests()
    event = asyncio.run(first_event(_trigger(emu, state, max_issues=1000)))
    assert len(event.payload["issues"]) == n
    assert len(emu.requests) == math.ceil(n / 100)


def test_idle_poke_stays_one_request_when_the_watermark_issue_is_resolved(sentry_emulator: SentryEmulator) -> None:
    """Sentry then answers empty_result with a 0:0:1 cursor; the watch keeps its own watermark."""
    emu = sentry_emulator
    now = int(time.time())
    newest = emu.add_issue(first_seen=now - 30)
    runner = Runner("reschedule", KillableStore(InMemoryStateStore()))
    runner.poke()
    emu.update_issue(newest["id"], status="resolved")
    emu.clear_requests()
    assert runner.poke() == [] and len(emu.requests) == 1
    fresh = emu.add_issue(first_seen=now - 20)
    assert runner.poke() == [fresh["id"]]


def test_bad_arguments_fail_before_any_request(sentry_emulator: SentryEmulator) -> None:
    for kwargs, field in [
        ({"max_issues": 0}, "max_issues"),
        ({"max_issues": "10"}, "max_issues"),
        ({"since": "yesterday-ish"}, "since"),
        ({"projects": [""]}, "projects"),
        ({"environments": [3]}, "environments"),
        ({"state_key": ""}, "state_key"),
        ({"query": None}, "query"),
    ]:
        runner = Runner("reschedule", KillableStore(InMemoryStateStore()), kwargs)
        with pytest.raises(SentryInputError) as info:
            runner.new_sensor().execute(runner.context())
        assert info.value.field == field
    assert sentry_emulator.requests == []


def test_unknown_project_slug_names_the_argument(sentry_emulator: SentryEmulator) -> None:
    runner = Runner("poke", KillableStore(InMemoryStateStore()), {"projects": ["nope"]})
    with pytest.raises(SentryInputError) as info:
        runner.poke()
    assert info.value.field == "projects"


def test_changed_query_starts_a_new_baseline_with_a_warning(sentry_emulator: SentryEmulator, capsys: Any) -> None:
    emu = sentry_emulator
    store = KillableStore(InMemoryStateStore())
    Runner("poke", store).poke()
    emu.add_issue(first_seen=int(time.time()) - 10)
    changed = Runner("poke", store, {"query": "is:unresolved level:error"})
    assert changed.poke() == []  # a new baseline, not a delivery under the wrong cursor
    assert "changed since the state was stored" in capsys.readouterr().out


def test_deleting_the_state_resets_the_watch(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    inner = InMemoryStateStore()
    runner = Runner("poke", KillableStore(inner))
    runner.poke()
    emu.add_issue(first_seen=int(time.time()) - 10)
    inner.delete("triage.wait")
    assert runner.poke() == []  # baseline again: what existed at the reset is not delivered


def test_since_backfills_on_the_first_run(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    now = int(time.time())
    emu.add_issue(first_seen=now - 7200)
    recent = emu.add_issue(first_seen=now - 1800)
    runner = Runner("poke", KillableStore(InMemoryStateStore()), {"since": "1h"})
    assert runner.poke() == [recent["id"]]


def _trigger(emu: SentryEmulator, state: dict[str, Any], **kwargs: Any) -> NewIssuesTrigger:
    spec = {"organization": "acme", "query": "is:unresolved", "projects": [], "environments": []}
    return NewIssuesTrigger(spec=spec, state=state, poll_interval=0, run_key="d/r/t/-1", **kwargs)


def _baseline_state(emu: SentryEmulator) -> dict[str, Any]:
    store = InMemoryStateStore()
    Runner("poke", KillableStore(store)).poke()
    return store.load("triage.wait") or {}


async def _next_event(trigger: NewIssuesTrigger) -> Any:
    gen = trigger.run()
    try:
        return await asyncio.wait_for(gen.__anext__(), timeout=20)
    finally:
        await gen.aclose()


def test_trigger_serializes_the_state_but_never_the_token(sentry_emulator: SentryEmulator) -> None:
    state = _baseline_state(sentry_emulator)
    classpath, kwargs = _trigger(sentry_emulator, state).serialize()
    assert classpath == "airflow_provider_sentry.triggers.issues.NewIssuesTrigger"
    text = json.dumps(kwargs)
    assert sentry_emulator.token not in text and kwargs["state"] == state
    assert NewIssuesTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_trigger_rides_out_429_and_5xx(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    state = _baseline_state(emu)
    new = emu.add_issue(first_seen=int(time.time()) - 5)
    emu.inject("rate_limit", path="/issues/", times=2)
    emu.inject("status", status=500, path="/issues/", times=3)  # not retried by the Call: the loop's budget
    event = asyncio.run(_next_event(_trigger(emu, state, max_consecutive_failures=5)))
    assert event.payload["status"] == "success"
    assert [i["id"] for i in event.payload["issues"]] == [new["id"]]
    assert WatchState.from_json(event.payload["state"]).batches


def test_trigger_gives_up_after_its_failure_budget_with_a_typed_error(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    state = _baseline_state(emu)
    emu.inject("status", status=500, path="/issues/", times=10)
    event = asyncio.run(_next_event(_trigger(emu, state, max_consecutive_failures=3)))
    assert event.payload["status"] == "error" and event.payload["failures"] == 3
    runner = Runner("deferrable", KillableStore(InMemoryStateStore()))
    with pytest.raises(SentryServerError) as info:
        runner.new_sensor().execute_complete(runner.context(), event.payload)
    assert info.value.status == 500 and info.value.error_id
    assert emu.token not in json.dumps(event.payload)


def test_deferrable_sensor_pokes_once_before_deferring(sentry_emulator: SentryEmulator) -> None:
    from airflow_provider_sentry._compat import TaskDeferred

    emu = sentry_emulator
    runner = Runner("deferrable", KillableStore(InMemoryStateStore()))
    runner.poke()  # baseline (commits, then defers)
    new = emu.add_issue(first_seen=int(time.time()) - 5)
    first = runner.new_sensor().execute(runner.context())  # the cheap first poke finds it: no deferral
    assert [i["id"] for i in first] == [new["id"]]
    emu.clear_requests()
    retry = runner.new_sensor().execute(runner.context())  # same run again (a retry): the same batch
    assert retry == first and [dict(r.query).get("group") for r in emu.requests] == [new["id"]]
    runner.run += 1
    with pytest.raises(TaskDeferred) as info:
        runner.new_sensor().execute(runner.context())
    assert info.value.method_name == "execute_complete" and info.value.timeout is not None
