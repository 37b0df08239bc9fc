"""NewIssuesSensor at real scale, against the emulator: an organisation past Sentry's 5,000-candidate
threshold, a token that is a member of some projects only, Snuba timeouts, mapped sensors and
overlapping DAG runs (reschedule and deferrable). Each case counts lost and duplicated issues."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest

from airflow_provider_sentry._compat import PokeReturnValue, TaskDeferred
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.sensors.issues import NewIssuesSensor
from airflow_provider_sentry.sensors.state_store import InMemoryStateStore, StateStore
from airflow_provider_sentry.testing import SentryEmulator
from airflow_provider_sentry.triggers.issues import NewIssuesTrigger
from tests.sensor.harness import KillableStore, Runner
from tests.trigger_loop import first_event

pytestmark = pytest.mark.usefixtures("no_waiting")


@pytest.fixture
def no_waiting(mocker: Any) -> None:
    mocker.patch("airflow_provider_sentry.hooks.sentry.time.sleep")
    mocker.patch.object(SentryAsyncHook, "_sleep", mock.AsyncMock())


def sensor(store: StateStore, **kwargs: Any) -> NewIssuesSensor:
    class Sensor(NewIssuesSensor):
        commit_settle_seconds = 0.0

        def state_store(self) -> StateStore:
            return store

    return Sensor(task_id="wait", poke_interval=0.01, timeout=30, **kwargs)


def context(run: str, map_index: int = -1) -> dict[str, Any]:
    ti = SimpleNamespace(dag_id="triage", task_id="wait", run_id=run, map_index=map_index, try_number=1)
    return {"ti": ti}


def poke(store: StateStore, run: str, map_index: int = -1, **kwargs: Any) -> list[str]:
    result = sensor(store, **kwargs).poke(context(run, map_index))
    return [i["id"] for i in result.xcom_value] if isinstance(result, PokeReturnValue) and result.is_done else []


def tally(delivered: list[str], expected: set[str]) -> tuple[int, int]:
    """(lost, duplicated)"""
    counts = Counter(delivered)
    return len(expected - set(counts)), sum(n - 1 for n in counts.values() if n > 1)


def test_burst_of_410_across_two_projects_past_the_candidate_threshold(sentry_emulator: SentryEmulator) -> None:
    """A previous-cursor poll delivered 150 of these 410 (the rest paged inside the newest chunk). The
    poll's ``firstSeen`` pre-filter keeps the candidates to the recent issues, and it walks down with
    next cursors: all 410, once. (Scaled 1:10: 500 candidates, an organisation of 600 older issues.)"""
    emu = sentry_emulator
    emu.max_candidates = 500
    emu.member_projects = ["backend"]  # no project= would watch backend only
    now = int(time.time())
    for n in range(600):  # the organisation is past the threshold before the watch begins
        emu.add_issue(f"old {n}", project=("backend", "frontend")[n % 2], first_seen=now - 7200 - n)
    store = InMemoryStateStore()
    assert poke(store, "r0") == []  # baseline
    expected = {i["id"] for i in emu.add_issues(400, project="backend", first_seen=now - 120)}  # one second
    expected |= {i["id"] for i in emu.add_issues(10, project="frontend", first_seen=now - 60)}
    emu.clear_requests()
    delivered: list[str] = []
    for run in range(1, 4):
        delivered += poke(store, f"r{run}", max_issues=1000)
    assert tally(delivered, expected) == (0, 0) and len(delivered) == 410
    issue_lists = [r for r in emu.requests if r.path.endswith("/issues/")]
    assert all(dict(r.query).get("project") == "-1" for r in issue_lists)
    assert len(issue_lists) == 5 + 5 + 5  # 410 issues in the window: 5 pages, and 5 per idle poke after


def test_burst_larger_than_the_candidate_limit_is_exact_walking_down(sentry_emulator: SentryEmulator) -> None:
    """Past the limit even inside the window (here 20 candidates, 300 new issues, 3 a second), Sentry pages
    in post-filtered chunks; next cursors from the top are exact there (ties below a chunk)."""
    emu = sentry_emulator
    emu.max_candidates = 20
    now = int(time.time())
    emu.add_issues(30, first_seen=now - 7200)
    store = InMemoryStateStore()
    assert poke(store, "r0") == []
    expected = {emu.add_issue(f"E{n}", first_seen=now - 200 + n // 3)["id"] for n in range(300)}
    for n in range(20):  # resolved rows among them: post-filtered out of each chunk
        emu.add_issue(f"R{n}", first_seen=now - 200 + n * 5, status="resolved")
    delivered: list[str] = []
    for run in range(1, 5):
        delivered += poke(store, f"r{run}", max_issues=120)
    assert tally(delivered, expected) == (0, 0)


def test_backlog_larger_than_max_issues_is_read_in_slices(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    emu.max_candidates = 20
    now = int(time.time())
    expected = {i["id"] for n in range(6) for i in emu.add_issues(100, first_seen=now - 3000 + 300 * n)}
    store = InMemoryStateStore()
    delivered: list[str] = []
    requests: list[int] = []
    for run in range(8):
        emu.clear_requests()
        delivered += poke(store, f"r{run}", since="1h", max_issues=100)
        requests.append(len(emu.requests))
    assert tally(delivered, expected) == (0, 0)
    # the first walk reads the whole backlog once; each later slice costs about 2 pages, not the backlog
    assert requests[0] == 6 and max(requests[1:6]) <= 3, requests


def test_snuba_timeout_is_retried_at_the_next_poke(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = InMemoryStateStore()
    poke(store, "r0")
    new = emu.add_issue(first_seen=int(time.time()) - 5)
    emu.inject("query_timeout", path="/issues/")
    assert poke(store, "r1") == []  # transient: nothing committed, the task keeps waiting
    assert poke(store, "r1") == [new["id"]]


def test_other_400s_stay_fatal(sentry_emulator: SentryEmulator) -> None:
    from airflow_provider_sentry.exceptions import SentryBadRequestError

    store = InMemoryStateStore()
    poke(store, "r0")
    with pytest.raises(SentryBadRequestError):
        poke(store, "r1", query="is:nonsense")


def test_mapped_sensor_each_map_index_is_its_own_watch(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = InMemoryStateStore()
    now = int(time.time())
    projects = [["backend"], ["frontend"]]
    for index, value in enumerate(projects):
        assert poke(store, "r1", index, projects=value) == []  # a baseline each
    assert set(store.data) == {"triage.wait.0", "triage.wait.1"}
    web = {i["id"] for i in emu.add_issues(3, project="backend", first_seen=now - 10)}
    api = {i["id"] for i in emu.add_issues(2, project="frontend", first_seen=now - 10)}
    got = [poke(store, "r2", index, projects=value) for index, value in enumerate(projects)]
    assert set(got[0]) == web and set(got[1]) == api
    assert [poke(store, "r3", index, projects=value) for index, value in enumerate(projects)] == [[], []]


def test_concurrent_baselines_do_not_mark_new_issues_as_seen(sentry_emulator: SentryEmulator) -> None:
    """Run B reads "no state" and its slow baseline search answers after run A began the watch and
    delivered a wave: B's stale baseline is dropped instead of overwriting A's state."""
    emu = sentry_emulator
    store = InMemoryStateStore()
    now = int(time.time())
    delivered: list[str] = []
    waves: list[set[str]] = []
    calls = 0

    def slow_search(record: Any) -> None:
        nonlocal calls
        if not record.path.endswith("/issues/"):
            return
        calls += 1
        if calls == 1:  # B's baseline request, held while run A works
            assert poke(store, "runA") == []  # A: baseline
            waves.append({i["id"] for i in emu.add_issues(4, first_seen=now - 20)})
            delivered.extend(poke(store, "runA"))
            waves.append({i["id"] for i in emu.add_issues(3, first_seen=now - 10)})  # nobody delivered these yet

    emu.before_request(slow_search)
    assert poke(store, "runB") == []  # B's baseline: stale, dropped
    delivered += poke(store, "runB")
    delivered += poke(store, "runC")
    assert tally(delivered, waves[0] | waves[1]) == (0, 0)


def test_three_overlapping_deferrable_runs_and_a_final_run(sentry_emulator: SentryEmulator) -> None:
    """Each trigger carries its own copy of the state; execute_complete re-filters a stale batch and
    waits again when nothing of it is left, instead of re-delivering or moving the watch backwards."""
    emu = sentry_emulator
    store = InMemoryStateStore()
    now = int(time.time())
    assert poke(store, "r0") == []  # the watch begins
    triggers: dict[str, NewIssuesTrigger] = {}
    for run in ("r1", "r2", "r3"):
        with pytest.raises(TaskDeferred) as info:
            sensor(store, deferrable=True).execute(context(run))
        assert isinstance(info.value.trigger, NewIssuesTrigger)
        triggers[run] = info.value.trigger
    expected = {i["id"] for i in emu.add_issues(27, first_seen=now - 30)}
    delivered: list[str] = []
    waiting: list[str] = []
    for run, trigger in triggers.items():
        event = asyncio.run(first_event(NewIssuesTrigger(**trigger.serialize()[1])))
        assert event is not None and len(event.payload["issues"]) == 27  # all three found the same batch
        try:
            delivered += [i["id"] for i in sensor(store, deferrable=True).execute_complete(context(run), event.payload)]
        except TaskDeferred as again:
            waiting.append(run)
            triggers[run] = again.trigger  # type: ignore[assignment]
    assert waiting == ["r2", "r3"]
    later = {i["id"] for i in emu.add_issues(5, first_seen=now - 5)}
    for run in waiting:  # the re-deferred triggers start from the committed state
        event = asyncio.run(first_event(NewIssuesTrigger(**triggers[run].serialize()[1])))
        if event is not None:
            try:
                out = sensor(store, deferrable=True).execute_complete(context(run), event.payload)
                delivered += [i["id"] for i in out]
            except TaskDeferred:
                pass
    delivered += poke(store, "final")
    assert tally(delivered, expected | later) == (0, 0)


def test_a_stale_trigger_copy_never_moves_the_watch_backwards(sentry_emulator: SentryEmulator) -> None:
    emu = sentry_emulator
    store = InMemoryStateStore()
    now = int(time.time())
    poke(store, "r0")
    with pytest.raises(TaskDeferred) as info:
        sensor(store, deferrable=True).execute(context("slow"))
    first = emu.add_issue(first_seen=now - 20)
    assert poke(store, "fast") == [first["id"]]
    committed = store.load("triage.wait") or {}
    trigger = info.value.trigger
    assert isinstance(trigger, NewIssuesTrigger)
    event = asyncio.run(first_event(NewIssuesTrigger(**trigger.serialize()[1])))
    assert event is not None
    with pytest.raises(TaskDeferred):
        sensor(store, deferrable=True).execute_complete(context("slow"), event.payload)
    after = store.load("triage.wait") or {}
    assert after["low_ms"] >= committed["low_ms"] and first["id"] in after["seen"]


def test_soft_fail_skips_only_on_timeout_in_deferrable_mode_too(sentry_emulator: SentryEmulator) -> None:
    from airflow_provider_sentry.exceptions import SentryAuthError

    store = InMemoryStateStore()
    event = {"status": "error", "error_type": "SentryAuthError", "message": "401", "http_status": 401}
    s = sensor(store, deferrable=True, soft_fail=True)
    with pytest.raises(SentryAuthError):  # a poke-mode sensor fails on this too: soft_fail is for timeouts
        s.resume_execution("execute_complete", {"event": event}, context("r1"))


def test_the_runner_still_counts_zero_lost_across_modes(sentry_emulator: SentryEmulator) -> None:
    """The default harness (one poller at a time) keeps passing with the large-organisation search."""
    emu = sentry_emulator
    emu.max_candidates = 5
    now = int(time.time())
    emu.add_issues(10, first_seen=now - 7200)
    for mode in ("poke", "reschedule", "deferrable"):
        runner = Runner(mode, KillableStore(InMemoryStateStore()), {"max_issues": 50})
        runner.poke()
        expected = {i["id"] for i in emu.add_issues(120, first_seen=now - 100)}
        for _ in range(6):
            runner.poke()
        assert tally(runner.delivered, expected) == (0, 0), mode
        for issue in expected:
            emu.update_issue(issue, status="resolved")
