"""NewIssuesEventTrigger over real HTTP against the emulator: kwargs, baseline, waves, bursts, the
durable cursor across stops, errors (never an event), and the 3.0-3.2 Variable store."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from unittest import mock

import pytest

from airflow_provider_sentry.exceptions import SentryAuthError, SentryConfigError, SentryInputError
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.testing import SentryEmulator
from airflow_provider_sentry.triggers import watcher_state
from airflow_provider_sentry.triggers.issue_events import RECORD_DELAY
from airflow_provider_sentry.triggers.issues import NewIssuesEventTrigger
from tests.watcher.conftest import FakeVariables
from tests.watcher.harness import FakeAssetStateStore, drive, new_trigger

pytestmark = pytest.mark.usefixtures("no_waiting")


@pytest.fixture
def no_waiting(mocker: Any) -> None:
    mocker.patch.object(SentryAsyncHook, "_sleep", mock.AsyncMock())


def issue_requests(emu: SentryEmulator) -> list[Any]:
    return [r for r in emu.requests if r.path.endswith("/issues/")]


def ids(issues: list[dict[str, Any]]) -> list[str]:
    return [issue["id"] for issue in issues]


# -- the kwargs Airflow hashes -------------------------------------------------------------------
def test_kwargs_are_deterministic_and_round_trip() -> None:
    from airflow.triggers.base import BaseEventTrigger

    first = NewIssuesEventTrigger(projects=["backend", 7], poll_interval=60)
    time.sleep(0.01)
    second = NewIssuesEventTrigger(projects=["backend", 7], poll_interval=60)
    assert isinstance(first, BaseEventTrigger)
    classpath, kwargs = first.serialize()
    assert classpath == "airflow_provider_sentry.triggers.issues.NewIssuesEventTrigger"
    assert second.serialize() == (classpath, kwargs)
    assert NewIssuesEventTrigger(**kwargs).serialize() == (classpath, kwargs)
    assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*second.serialize())
    json.dumps(kwargs)  # plain JSON, no dates


def test_the_token_is_never_in_the_kwargs(sentry_emulator: SentryEmulator) -> None:
    _, kwargs = NewIssuesEventTrigger(poll_interval=5).serialize()
    assert sentry_emulator.token not in json.dumps(kwargs)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("poll_interval", 0),
        ("poll_interval", "60"),
        ("max_issues", 0),
        ("max_issues", 1001),
        ("max_issues", True),
        ("projects", [""]),
        ("projects", [{"slug": "x"}]),
        ("environments", [3]),
        ("organization", " acme"),
        ("query", None),
        ("sentry_conn_id", ""),
        ("max_backoff", -1),
    ],
)
def test_bad_arguments_name_the_field_before_any_request(field: str, value: Any) -> None:
    with pytest.raises(SentryInputError) as info:
        NewIssuesEventTrigger(**{field: value})
    assert info.value.field == field


# -- delivery ------------------------------------------------------------------------------------
def test_baseline_then_waves_exactly_once_oldest_first(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    now = int(time.time())
    old = emu.add_issues(3, first_seen=now - 3600) + emu.add_issues(2, first_seen=now - 2)
    store = FakeAssetStateStore()
    waves: list[list[dict[str, Any]]] = []

    def add_wave(poll: int) -> None:
        if poll in (2, 4):
            waves.append(emu.add_issues(poll, first_seen=time.time()))

    run = drive(new_trigger(projects=["backend"]), store, polls=6, on_poll_sleep=add_wave)
    expected = [issue["id"] for wave in waves for issue in wave]
    assert run.ids == expected and len(expected) == 6
    assert [e["count"] for e in run.events] == [2, 4]
    assert not set(run.ids) & set(ids(old)), "nothing from before the watch began"
    assert run.events[0]["issues"][0]["id"] == run.events[0]["issue_ids"][0]
    assert set(run.events[0]["issues"][0]) >= {"id", "shortId", "title", "permalink", "firstSeen", "project"}
    # the cursor moved at the baseline and after each batch, never on an idle poll
    assert store.writes == 3


def test_an_idle_poll_is_one_request(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    emu.add_issues(5, first_seen=int(time.time()) - 3600)
    store = FakeAssetStateStore()
    drive(new_trigger(projects=["backend"]), store, polls=1)
    assert [r.path.rsplit("/", 2)[-2] for r in emu.requests] == ["projects", "issues"]  # baseline
    emu.clear_requests()
    run = drive(new_trigger(projects=["backend"]), store, polls=3)  # a restart, then 3 idle polls
    assert run.events == []
    assert len(emu.requests) == 3 and len(issue_requests(emu)) == 3, "one request per idle poll"


def test_a_burst_is_split_into_max_issues_events_without_waiting(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = FakeAssetStateStore()
    drive(new_trigger(max_issues=3), store, polls=1)
    burst = emu.add_issues(8, first_seen=time.time())
    run = drive(new_trigger(max_issues=3), store, polls=2)
    assert [e["count"] for e in run.events] == [3, 3, 2]
    assert run.ids == ids(burst)
    # full batches follow each other at once; only the short one waits for the next poll
    assert [kind for kind, _ in run.sleeps] == ["record", "record", "record", "poll", "poll"]


def test_a_graceful_restart_after_recording_repeats_nothing(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = FakeAssetStateStore()
    drive(new_trigger(), store, polls=1)
    first = emu.add_issues(2, first_seen=time.time())
    run1 = drive(new_trigger(), store, polls=1)
    second = emu.add_issues(3, first_seen=time.time())  # arrives while the triggerer is down
    run2 = drive(new_trigger(), store, polls=2)
    assert run1.ids == ids(first) and run2.ids == ids(second)


def test_a_stop_between_firing_and_recording_repeats_only_that_batch(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = FakeAssetStateStore()
    drive(new_trigger(), store, polls=1)
    batch = emu.add_issues(2, first_seen=time.time())
    run1 = drive(new_trigger(), store, stop_at_record=True)
    assert run1.stopped_in == "record" and run1.ids == ids(batch)
    later = emu.add_issues(1, first_seen=time.time())
    run2 = drive(new_trigger(), store, polls=2)
    assert run2.ids == ids(batch) + ids(later), "the unrecorded batch repeats, nothing is lost"
    run3 = drive(new_trigger(), store, polls=2)
    assert run3.ids == []


def test_a_changed_search_starts_a_new_watch(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = FakeAssetStateStore()
    drive(new_trigger(query="is:unresolved"), store, polls=1)
    emu.add_issue(first_seen=time.time())
    run = drive(new_trigger(query="is:unresolved level:error"), store, polls=2)
    assert run.events == []  # a new baseline, not a delivery of issues from between the watches


# -- errors --------------------------------------------------------------------------------------
def test_transient_errors_never_fire_and_back_off(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = FakeAssetStateStore()
    drive(new_trigger(), store, polls=1)
    new = emu.add_issue(first_seen=time.time())
    emu.inject("status", status=500, path="/issues/", times=4)
    emu.inject("rate_limit", path="/issues/", times=2)
    trigger = new_trigger(poll_interval=10, max_backoff=45)
    run = drive(trigger, store, polls=1)
    assert run.ids == [new["id"]] and len(run.events) == 1
    backoffs = [seconds for kind, seconds in run.sleeps if kind == "backoff"]
    assert backoffs and backoffs == sorted(backoffs) and max(backoffs) <= 45
    assert backoffs[0] == 10 and trigger.backoff(3) == 40 and trigger.backoff(10) == 45


def test_auth_errors_raise_without_an_event(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = FakeAssetStateStore()
    drive(new_trigger(), store, polls=1)
    emu.add_issue(first_seen=time.time())
    emu.revoke(emu.token)
    trigger = new_trigger()
    with pytest.raises(SentryAuthError):
        drive(trigger, store, polls=3)
    assert len(issue_requests(emu)) == 2, "the baseline, then one failed poll: no retry"
    waits: list[tuple[float, str]] = []

    async def sleep(seconds: float, why: str) -> None:
        waits.append((seconds, why))

    trigger._sleep = sleep  # type: ignore[method-assign]
    with pytest.raises(SentryAuthError):
        asyncio.run(anext(trigger.run()))
    # Airflow restarts a failed watcher at once: it waits one interval before raising
    assert waits == [(trigger.poll_interval, "failed")]


def test_no_organization_anywhere_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SENTRY_DEFAULT",
        json.dumps({"conn_type": "sentry", "host": "http://127.0.0.1:9", "password": "sntryu_" + "a" * 64}),
    )
    with pytest.raises(SentryConfigError, match="organization"):
        drive(NewIssuesEventTrigger(poll_interval=5), FakeAssetStateStore())


def test_the_organization_defaults_to_the_connections(sentry_emulator: SentryEmulator) -> None:
    drive(NewIssuesEventTrigger(poll_interval=5), FakeAssetStateStore())
    assert issue_requests(sentry_emulator)[0].path == "/api/0/organizations/acme/issues/"


# -- where the cursor lives ----------------------------------------------------------------------
def test_without_an_asset_state_store_the_cursor_is_a_variable(
    sentry_emulator: SentryEmulator, variables: type[FakeVariables]
) -> None:
    drive(new_trigger(state_key="backend_watch"), None, polls=1)
    assert list(variables.data) == ["sentry_watcher_state.backend_watch"]
    new = sentry_emulator.add_issue(first_seen=time.time())
    run = drive(new_trigger(state_key="backend_watch"), None, polls=2)
    assert run.ids == [new["id"]]
    state = json.loads(variables.data["sentry_watcher_state.backend_watch"])
    assert new["id"] in state["seen"] and sentry_emulator.token not in json.dumps(state)


def test_after_an_upgrade_to_3_3_the_variable_cursor_is_resumed_once(
    sentry_emulator: SentryEmulator, variables: type[FakeVariables]
) -> None:
    drive(new_trigger(state_key="k"), None, polls=1)  # 3.0-3.2: the cursor is a Variable
    waiting = sentry_emulator.add_issue(first_seen=time.time())  # arrives during the upgrade
    store = FakeAssetStateStore()  # 3.3: an empty asset state store
    run = drive(new_trigger(state_key="k"), store, polls=1)
    assert run.ids == [waiting["id"]], "resumed from the Variable, not a new baseline"
    reads = variables.reads
    drive(new_trigger(state_key="k"), store, polls=1)
    assert variables.reads == reads, "the asset state store holds the cursor from then on"


def test_an_unreadable_legacy_cursor_starts_a_new_watch(sentry_emulator: SentryEmulator, mocker: Any) -> None:
    mocker.patch.object(watcher_state, "_variable_get", side_effect=RuntimeError("no supervisor"))
    sentry_emulator.add_issue(first_seen=time.time() - 1)
    store = FakeAssetStateStore()
    assert drive(new_trigger(), store, polls=1).events == []  # a baseline
    assert watcher_state.ASSET_STATE_KEY in store.data


def test_a_trigger_shared_by_two_assets_keeps_the_cursor_in_both(sentry_emulator: SentryEmulator) -> None:
    one, two = FakeAssetStateStore(), FakeAssetStateStore()
    accessors = mock.Mock(_by_name={"b": two, "a": one}, _by_uri={})
    store = watcher_state.watcher_store(accessors, "unused")
    assert "2 asset(s)" in store.describe()
    drive(new_trigger(), accessors, polls=1)
    assert one.data == two.data and watcher_state.ASSET_STATE_KEY in one.data


def test_record_delay_covers_a_triggerer_sync_round() -> None:
    assert RECORD_DELAY >= 2.0  # the triggerer sends events to the DB every ~1 s


def test_the_real_asset_state_store_accessors_are_addressed_per_asset() -> None:
    """Airflow 3.3's ``AssetStateStoreAccessors`` forwards ``aget``/``aset`` only for one asset."""
    context = pytest.importorskip("airflow.sdk.execution_time.context")
    accessors_cls = getattr(context, "AssetStateStoreAccessors", None)
    if accessors_cls is None:
        pytest.skip("no asset state store before Airflow 3.3")
    from airflow.sdk import Asset

    one = accessors_cls(inlets=[Asset(name="a", uri="s3://a")])
    assert watcher_state._per_asset(one) == [one]
    two = accessors_cls(inlets=[Asset(name="b", uri="s3://b"), Asset(name="a", uri="s3://a")])
    per_asset = watcher_state._per_asset(two)
    assert [accessor._name for accessor in per_asset] == ["a", "b"]
