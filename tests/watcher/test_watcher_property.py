"""Property: whatever the waves (sizes, same-second ties), ``max_issues`` and stops (between polls, or between
firing and recording), the watcher loses no issue, fires nothing from before the watch, and repeats only the
batches fired right before a stop that came before their recording."""

from __future__ import annotations

import time
from collections import Counter
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from airflow_provider_sentry.testing import SentryEmulator
from tests.watcher.harness import FakeAssetStateStore, drive, new_trigger

# one step: a wave of issues (0-7, all first seen in one second), then a trigger run of 1-3 polls that
# is stopped between polls, or right after firing (before recording) when ``stop_at_record``
STEPS = st.lists(
    st.tuples(st.integers(0, 7), st.integers(1, 3), st.booleans()),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, max_issues=st.integers(1, 5))
def test_no_loss_no_unexplained_duplicate(steps: list[tuple[int, int, bool]], max_issues: int) -> None:
    with mock.patch.object(SentryAsyncHook, "_sleep", mock.AsyncMock()), SentryEmulator() as emu:
        conn = emu.connection_json()
        with mock.patch.dict("os.environ", {"AIRFLOW_CONN_SENTRY_DEFAULT": conn}):
            before = {i["id"] for i in emu.add_issues(3, first_seen=int(time.time()) - 1)}
            store = FakeAssetStateStore()
            drive(new_trigger(max_issues=max_issues), store, polls=1)  # the baseline
            added: list[str] = []
            delivered: list[str] = []
            repeatable = 0  # issues fired in a batch whose recording a stop prevented
            for count, polls, stop_at_record in steps:
                added += [i["id"] for i in emu.add_issues(count, first_seen=time.time())]
                run = drive(new_trigger(max_issues=max_issues), store, polls=polls, stop_at_record=stop_at_record)
                delivered += run.ids
                if run.stopped_in == "record":
                    repeatable += run.events[-1]["count"]
                for event in run.events:
                    assert 1 <= event["count"] <= max_issues
                    assert event["issue_ids"] == sorted(event["issue_ids"], key=int)  # oldest first
            final = drive(new_trigger(max_issues=max_issues), store, polls=3)  # drain what is left
            delivered += final.ids
            assert final.stopped_in == "poll"
    assert set(delivered) == set(added), "every new issue is fired"
    assert not before & set(delivered), "nothing from before the watch"
    extra = sum(n - 1 for n in Counter(delivered).values())
    assert extra <= repeatable, "only batches stopped before their recording repeat"
    if repeatable == 0:
        assert Counter(delivered) == Counter(added), "exactly once without such a stop"
