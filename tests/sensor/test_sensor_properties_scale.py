"""Property tests at scale: overlapping pollers sharing one watch, bursts that hide late issues, and the
large-organisation search path (post-filtered chunks) of the emulator. 0 lost, 0 duplicated."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_provider_sentry.core.commit import CommitPlan, confirm, plan_commit
from airflow_provider_sentry.core.poll import IssuePoll, PollOutcome
from airflow_provider_sentry.core.watch import WatchSpec
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.sensors.state_store import InMemoryStateStore
from airflow_provider_sentry.testing import SentryEmulator
from tests.sensor.harness import KillableStore, Runner
from tests.sensor.sentry_model import SentryModel

SPEC = WatchSpec(organization="acme", query="is:unresolved")
T0 = 1_718_000_000
KEY = "w"


def run(model: SentryModel, stored: dict[str, Any] | None, **kwargs: Any) -> PollOutcome:
    poll = IssuePoll(SPEC, stored, **kwargs)
    while (request := poll.next_request()) is not None:
        poll.receive(model.answer(request.path, request.params, request.cursor))
    return poll.outcome()


@dataclass
class Poller:
    """One DAG run's sensor: polled (outcome in hand), saved (waiting to read back), or idle."""

    name: str
    runs: int = 0
    outcome: PollOutcome | None = None
    plan: CommitPlan | None = None
    existing: set[str] = field(default_factory=set)  # ids that existed when its baseline was read

    @property
    def run_key(self) -> str:
        return f"dag/{self.name}-{self.runs}/wait/-1"


steps = st.lists(
    st.one_of(
        st.tuples(st.just("arrive"), st.integers(0, 3), st.integers(1, 40)),  # (poller unused, count)
        st.tuples(st.just("poll"), st.integers(0, 2), st.integers(1, 150)),  # (poller, max_issues)
        st.tuples(st.just("save"), st.integers(0, 2), st.just(0)),
        st.tuples(st.just("confirm"), st.integers(0, 2), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_overlapping_pollers_never_lose_or_repeat(script: list[tuple[str, int, int]]) -> None:
    """Three runs poll one watch in any interleaving of poll / save / read-back, with arrivals between
    any two steps. The save is the commit's load-compare-save (two API calls back to back); the
    read-back comes after the settle delay, so no save that loaded before ours lands after it."""
    model = SentryModel()
    for offset in range(3):
        model.add(T0 - 50 + offset)
    store = InMemoryStateStore()
    pollers = [Poller(f"p{i}") for i in range(3)]
    clock = T0
    delivered: list[str] = []
    pre_baseline: set[str] | None = None

    def do(kind: str, index: int, number: int) -> None:
        nonlocal pre_baseline, clock
        clock += 1
        p = pollers[index]
        if kind == "arrive":
            for _ in range(number):
                model.add(clock - number % 3)  # ties and slightly older first-seen seconds
        elif kind == "poll" and p.outcome is None:
            p.outcome = run(model, store.load(KEY), now=clock, run_key=p.run_key, max_issues=number)
            p.existing = {i.id for i in model.issues if i.visible}
        elif kind == "save" and p.outcome is not None and p.plan is None:
            p.plan = plan_commit(store.load(KEY), p.outcome, run_key=p.run_key, writer=f"{p.name}:{clock}")
            if p.plan.state is not None:
                store.save(KEY, p.plan.state.to_json())
                if p.outcome.kind == "baseline" and pre_baseline is None:
                    pre_baseline = p.existing
        elif kind == "confirm" and p.plan is not None:
            assert p.outcome is not None
            kept, issues = confirm(store.load(KEY), p.plan, run_key=p.run_key)
            if kept:
                delivered.extend(i["id"] for i in issues)
                if issues:
                    p.runs += 1
                p.outcome, p.plan = None, None
            else:  # what commit_outcome does: plan again against the state read back
                assert p.plan.state is not None
                p.outcome = PollOutcome(p.outcome.kind, p.plan.issues, p.plan.state, True, 0)
                p.plan = None

    for kind, index, number in script:
        do(kind, index % 3, number)
    for p in pollers:  # finish every commit in flight
        for _ in range(6):
            do("save", pollers.index(p), 0)
            do("confirm", pollers.index(p), 0)
    for _ in range(40):  # drain with one more run, until nothing is left
        before = len(delivered)
        do("poll", 0, 1000)
        outcome = pollers[0].outcome
        do("save", 0, 0)
        do("confirm", 0, 0)
        if len(delivered) == before and outcome is not None and not outcome.state.hints and pollers[0].plan is None:
            break
    assert pre_baseline is not None
    counts = Counter(delivered)
    assert not [i for i, n in counts.items() if n > 1], "duplicate delivery"
    expected = {i.id for i in model.issues} - pre_baseline
    assert set(counts) == expected, f"lost {sorted(expected - set(counts))}"


bursts = st.lists(
    st.one_of(
        st.tuples(st.just("late"), st.integers(1, 40)),  # an issue first seen this many seconds ago, not indexed
        st.tuples(st.just("burst"), st.integers(1, 250)),
        st.tuples(st.just("index"), st.integers(0, 10**6)),
        st.tuples(st.just("poke"), st.integers(1, 300)),  # max_issues
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bursts)
def test_bursts_do_not_hide_issues_indexed_late(script: list[tuple[str, int]]) -> None:
    """Issues indexed late, first seen up to 40 s behind bursts of up to 250 issues, all inside the
    overlap window: every one is delivered once (the state keeps the whole window)."""
    assume(sum(n for kind, n in script if kind == "burst") <= 900)
    model = SentryModel()
    model.add(T0 - 30)
    clock = T0
    state: dict[str, Any] | None = run(model, None, now=clock).state.to_json()
    pre = {i.id for i in model.issues}
    hidden: list[Any] = []
    delivered: list[str] = []
    for kind, number in script:
        clock += 2
        if kind == "late":
            hidden.append(model.add(clock - number, visible=False))
        elif kind == "burst":
            for n in range(number):
                model.add(clock + n // 50)
        elif kind == "index" and hidden:
            hidden.pop(number % len(hidden)).visible = True
        elif kind == "poke":
            outcome = run(model, state, now=clock, max_issues=number)
            state = outcome.state.to_json() if outcome.changed else state
            delivered += [i["id"] for i in outcome.issues]
    for issue in hidden:
        issue.visible = True
    for _ in range(30):  # drain: until a poke finds nothing and no slice is left
        outcome = run(model, state, now=clock, max_issues=1000)
        state = outcome.state.to_json() if outcome.changed else state
        delivered += [i["id"] for i in outcome.issues]
        if not outcome.issues and not outcome.state.hints:
            break
    counts = Counter(delivered)
    assert not [i for i, n in counts.items() if n > 1], "duplicate delivery"
    expected = {i.id for i in model.issues} - pre
    assert set(counts) == expected, f"lost {sorted(expected - set(counts))}"


@pytest.fixture
def no_waiting(mocker: Any) -> None:
    mocker.patch("airflow_provider_sentry.hooks.sentry.time.sleep")
    mocker.patch.object(SentryAsyncHook, "_sleep", mock.AsyncMock())


large_org = st.lists(
    st.one_of(
        st.tuples(st.just("burst"), st.integers(1, 160), st.integers(1, 6)),  # count, issues per second
        st.tuples(st.just("resolved"), st.integers(1, 30), st.just(1)),  # rows the post-filter removes
        st.tuples(st.just("poke"), st.sampled_from(["poke", "reschedule", "deferrable"]), st.integers(20, 200)),
    ),
    min_size=1,
    max_size=10,
)


@pytest.mark.usefixtures("no_waiting")
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(large_org)
def test_large_organisation_path_over_http(script: list[tuple[str, Any, int]]) -> None:
    """Past the candidate limit (10 here), every search is post-filtered in chunks: bursts with ties and
    resolved rows among them, in all three modes, are delivered exactly once."""
    assume(sum(a // b + 1 for kind, a, b in script if kind == "burst") <= 270)  # all first seen in the past
    with SentryEmulator(max_candidates=10) as emu, mock.patch.dict("os.environ"):
        import os

        os.environ["AIRFLOW_CONN_SENTRY_DEFAULT"] = emu.connection_json()
        now = int(time.time())
        emu.add_issues(15, first_seen=now - 7200)
        store = InMemoryStateStore()
        Runner("poke", KillableStore(store)).poke()  # baseline
        expected: set[str] = set()
        delivered: list[str] = []
        offset = -280
        for kind, a, b in script:
            if kind == "burst":
                for n in range(a):
                    expected.add(emu.add_issue(f"B{n}", first_seen=now + offset + n // b)["id"])
                offset += a // b + 1
            elif kind == "resolved":
                for n in range(a):
                    emu.add_issue(f"R{n}", first_seen=now + offset - n % 5, status="resolved")
            else:
                runner = Runner(a, KillableStore(store), {"max_issues": b})
                runner.run = len(delivered) + 1000
                runner.poke()
                delivered += runner.delivered
        runner = Runner("poke", KillableStore(store), {"max_issues": 1000})
        for _ in range(3):
            runner.poke()
        delivered += runner.delivered
        counts = Counter(delivered)
        assert not [i for i, n in counts.items() if n > 1], "duplicate delivery"
        assert set(counts) == expected, f"lost {len(expected - set(counts))}"
