"""Unit and property tests of the pure new-issues state machine (core/poll.py) over a Sentry model."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_sentry.core.poll import MAX_SEEN, IssuePoll, PollOutcome, issue_score, trim_issue
from airflow_provider_sentry.core.watch import DeliveredBatch, WatchSpec, WatchState
from airflow_provider_sentry.exceptions import SentryInputError
from tests.sensor.sentry_model import SentryModel

SPEC = WatchSpec(organization="acme", query="is:unresolved")
T0 = 1_718_000_000


def poke(model: SentryModel, stored: dict | None, *, now: int = T0, **kwargs: object) -> PollOutcome:
    poll = IssuePoll(SPEC, stored, now=now, **kwargs)  # type: ignore[arg-type]
    while (request := poll.next_request()) is not None:
        poll.receive(model.answer(request.path, request.params, request.cursor))
    return poll.outcome()


def baseline(model: SentryModel, now: int = T0) -> dict:
    outcome = poke(model, None, now=now)
    assert outcome.kind == "baseline" and outcome.issues == [] and outcome.changed
    return outcome.state.to_json()


def test_baseline_then_idle_poll_is_one_request_and_changes_nothing() -> None:
    model = SentryModel()
    for offset in range(5):
        model.add(T0 - 100 + offset)
    state = baseline(model)
    assert len(model.requests) == 1 and "cursor" not in dict(model.requests[0])
    model.requests.clear()
    outcome = poke(model, state)
    assert outcome.issues == [] and not outcome.changed and outcome.requests == 1
    assert "cursor" not in dict(model.requests[0])  # a poll walks down from the top
    assert dict(model.requests[0])["project"] == "-1"  # no projects: all, not only the member projects


def test_new_issues_are_delivered_oldest_first_once() -> None:
    model = SentryModel()
    model.add(T0 - 10)
    state = baseline(model)
    a, b = model.add(T0 + 5), model.add(T0 + 3)
    outcome = poke(model, state)
    assert [i["id"] for i in outcome.issues] == [b.id, a.id]
    again = poke(model, outcome.state.to_json())
    assert again.issues == []


def test_same_second_tie_with_the_watermark_is_not_skipped() -> None:
    """Sentry's strict ``>`` on a previous cursor would skip it; the overlap re-read catches it."""
    model = SentryModel()
    model.add(T0 - 10)
    state = baseline(model)
    first = model.add(T0 + 7)
    state = poke(model, state).state.to_json()
    tie = model.add(T0 + 7)  # same second, indexed after the delivery
    outcome = poke(model, state)
    assert [i["id"] for i in outcome.issues] == [tie.id]
    assert first.id in outcome.state.seen


def test_late_indexed_issue_within_the_overlap_is_delivered() -> None:
    model = SentryModel()
    model.add(T0 - 10)
    state = baseline(model)
    late = model.add(T0 + 1, visible=False)
    model.add(T0 + 20)
    state = poke(model, state).state.to_json()
    late.visible = True
    assert [i["id"] for i in poke(model, state).issues] == [late.id]


def test_empty_result_cursor_is_never_stored() -> None:
    """Once nothing at or above the cursor matches, Sentry answers 0:0:1; the watermark stays ours."""
    model = SentryModel()
    old = model.add(T0 - 5000)
    state = baseline(model, now=T0)
    old.visible = False  # resolved: nothing matches any more
    outcome = poke(model, state)
    assert outcome.issues == [] and not outcome.changed
    assert outcome.state.low_ms == WatchState.from_json(state).low_ms
    newer = model.add(T0 + 1)
    assert [i["id"] for i in poke(model, state).issues] == [newer.id]


@pytest.mark.parametrize("n", [1, 98, 99, 100, 101, 250])
def test_request_count_for_n_new_issues(n: int) -> None:
    model = SentryModel()
    model.add(T0 - 10_000)  # settled long ago: the walk stops at the page that reaches it
    model.add(T0 - 10)
    state = baseline(model)
    model.requests.clear()
    for k in range(n):
        model.add(T0 + 1 + k // 7)
    outcome = poke(model, state, max_issues=1000)
    assert len(outcome.issues) == n
    in_window = n + len(WatchState.from_json(state).seen)
    assert outcome.requests == max(1, math.ceil(in_window / 100))
    assert all("firstSeen:>=" in dict(params)["query"] for params in model.requests)
    # The whole overlap window is kept: the next idle poke re-reads the k delivered issues inside it.
    idle = poke(model, outcome.state.to_json())
    assert idle.issues == [] and idle.requests == max(1, math.ceil(in_window / 100))
    assert len(outcome.state.seen) == in_window <= MAX_SEEN
    # ... and once the window has moved past the burst, an idle poke is 1 request again.
    later = model.add(T0 + 2000)
    moved = poke(model, outcome.state.to_json())
    assert [i["id"] for i in moved.issues] == [later.id]
    assert poke(model, moved.state.to_json()).requests == 1


def test_max_issues_leaves_the_rest_for_the_next_poke() -> None:
    model = SentryModel()
    model.add(T0 - 10)
    state = baseline(model)
    ids = [model.add(T0 + 1).id for _ in range(30)]  # all in one second: ties across the cut
    delivered: list[str] = []
    for _ in range(4):
        outcome = poke(model, state, max_issues=8)
        delivered += [i["id"] for i in outcome.issues]
        state = outcome.state.to_json()
    assert sorted(delivered, key=int) == ids and len(delivered) == len(set(delivered))


def test_since_backfills_instead_of_a_baseline() -> None:
    model = SentryModel()
    before = model.add(T0 - 7200)
    after = [model.add(T0 - 1800), model.add(T0 - 60)]
    outcome = poke(model, None, since=T0 - 3600)
    assert [i["id"] for i in outcome.issues] == [a.id for a in after]
    assert before.id not in outcome.state.seen


def test_changed_query_starts_a_new_baseline_with_a_note() -> None:
    model = SentryModel()
    model.add(T0 - 10)
    state = baseline(model)
    other = WatchSpec(organization="acme", query="is:unresolved level:error")
    poll = IssuePoll(other, state, now=T0)
    assert poll.notes and "changed" in poll.notes[0]
    request = poll.next_request()
    assert request is not None and request.purpose == "baseline"


def test_malformed_state_starts_a_new_watch() -> None:
    poll = IssuePoll(SPEC, {"version": 1, "nonsense": True}, now=T0)
    assert poll.notes and "unusable" in poll.notes[0]


def test_a_retry_of_the_same_run_replays_its_batch_by_id() -> None:
    model = SentryModel()
    model.add(T0 - 10)
    state = baseline(model)
    new = model.add(T0 + 1)
    outcome = poke(model, state, run_key="d/r1/t/-1")
    committed = outcome.state.to_json()
    model.requests.clear()
    replay = poke(model, committed, run_key="d/r1/t/-1")
    assert replay.kind == "replay" and [i["id"] for i in replay.issues] == [new.id] and not replay.changed
    assert [v for k, v in model.requests[0] if k == "group"] == [new.id] and len(model.requests) == 1
    assert poke(model, committed, run_key="d/r2/t/-1").issues == []


def test_slugs_are_resolved_once_and_kept_in_the_state() -> None:
    spec = WatchSpec(organization="acme", query="is:unresolved", projects=("backend", "7"))
    poll = IssuePoll(spec, None, now=T0)
    request = poll.next_request()
    assert request is not None and request.purpose == "projects"
    from airflow_provider_sentry.core.page import Page

    poll.receive(Page(items=[{"id": "2", "slug": "backend"}, {"id": "7", "slug": "web"}], previous=None, next=None))
    request = poll.next_request()
    assert request is not None and request.purpose == "baseline"
    assert [v for k, v in request.params if k == "project"] == ["2", "7"]
    poll.receive(Page(items=[], previous=None, next=None))
    state = poll.outcome().state
    assert state.project_ids == ("2", "7")
    again = IssuePoll(spec, state.to_json(), now=T0).next_request()
    assert again is not None and again.purpose == "poll"


def test_unknown_slug_is_an_input_error() -> None:
    from airflow_provider_sentry.core.page import Page

    spec = WatchSpec(organization="acme", query="", projects=("nope",))
    poll = IssuePoll(spec, None, now=T0)
    poll.next_request()
    with pytest.raises(SentryInputError) as info:
        poll.receive(Page(items=[{"id": "2", "slug": "backend"}], previous=None, next=None))
    assert info.value.field == "projects"


def test_max_issues_is_bounded() -> None:
    with pytest.raises(SentryInputError):
        IssuePoll(SPEC, None, now=T0, max_issues=0)


def test_trimmed_issue_is_small_and_has_the_pinned_keys() -> None:
    model = SentryModel()
    item = trim_issue(model.add(T0).as_json())
    assert {"id", "shortId", "title", "permalink", "firstSeen", "level", "project"} <= set(item)
    assert "stats" not in item and item["project"] == "backend"
    assert issue_score({"firstSeen": "2024-06-10T06:13:20.999Z"}) == 1718000000000


states = st.builds(
    WatchState,
    fingerprint=st.text(min_size=1, max_size=16),
    low_ms=st.integers(0, 2**42),
    watermark_ms=st.integers(0, 2**42),
    project_ids=st.lists(st.integers(1, 10**6).map(str), max_size=3).map(tuple),
    seen=st.dictionaries(st.integers(1, 10**9).map(str), st.integers(0, 2**42), max_size=5),
    batches=st.lists(
        st.builds(
            DeliveredBatch,
            run_key=st.text(max_size=20),
            ids=st.lists(st.integers(1, 99).map(str), max_size=3).map(tuple),
        ),
        max_size=3,
    ).map(tuple),
    hints=st.lists(st.integers(0, 2**42), max_size=3).map(lambda h: tuple(sorted(h))),
    seq=st.integers(0, 10**6),
    writer=st.text(alphabet="0123456789abcdef", max_size=16),
)


@given(states)
def test_state_json_round_trip(state: WatchState) -> None:
    import json

    assert WatchState.from_json(json.loads(json.dumps(state.to_json()))) == state


events = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40), st.booleans()),  # second offset, late-indexed?
        st.tuples(st.just("burst"), st.integers(0, 40), st.integers(1, 130)),
        st.tuples(st.just("index"), st.integers(0, 10**6), st.booleans()),
        st.tuples(st.just("resolve"), st.integers(0, 10**6), st.booleans()),
        st.tuples(st.just("poke"), st.integers(1, 150), st.booleans()),  # max_issues, kill after commit?
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events)
def test_property_no_loss_no_duplicate(script: list[tuple[str, int, object]]) -> None:
    """Random arrivals (ties, late indexing, resolutions) between pokes: every issue that became
    visible after the baseline is delivered exactly once (a killed-after-commit try is replayed)."""
    model = SentryModel()
    for offset in range(3):
        model.add(T0 - 50 + offset)
    clock = T0
    state: dict | None = baseline(model, now=clock)
    pre_baseline = {i.id for i in model.issues}
    delivered: list[str] = []
    hidden: list = []
    run = 0
    for kind, number, flag in script:
        clock += 1
        if kind == "add":
            issue = model.add(clock + number % 3, visible=not flag)
            if flag:
                hidden.append(issue)
        elif kind == "burst":
            # Late indexing takes seconds, a burst of 100+ issues longer: the documented bound is that a
            # late issue becomes visible before 99 newer issues have been delivered.
            while hidden:
                hidden.pop().visible = True
            for _ in range(int(flag)):
                model.add(clock)
        elif kind == "index" and hidden:
            hidden.pop(number % len(hidden)).visible = True
        elif kind == "resolve":
            candidates = [i for i in model.issues if i.visible and i.id not in pre_baseline and i.id in delivered]
            if candidates:
                candidates[number % len(candidates)].visible = False
        elif kind == "poke":
            run += 1
            key = f"dag/run{run}/wait/-1"
            outcome = poke(model, state, now=clock, run_key=key, max_issues=number)
            if outcome.changed:
                state = outcome.state.to_json()
            if flag and outcome.issues:  # killed after the commit: the retry replays the batch
                outcome = poke(model, state, now=clock, run_key=key, max_issues=number)
                assert outcome.kind == "replay"
            delivered += [i["id"] for i in outcome.issues]
    for issue in hidden:
        issue.visible = True
    for _ in range(30):  # drain, until nothing is left
        run += 1
        outcome = poke(model, state, now=clock, run_key=f"dag/drain{run}/wait/-1", max_issues=1000)
        state = outcome.state.to_json() if outcome.changed else state
        delivered += [i["id"] for i in outcome.issues]
        if not outcome.issues and not outcome.state.hints:
            break
    expected = {i.id for i in model.issues} - pre_baseline
    assert len(delivered) == len(set(delivered)), "duplicate delivery"
    assert set(delivered) == expected, f"lost {sorted(expected - set(delivered))}"
