"""Issue 11, cases 7-9 over real HTTP against the emulator: an empty id list is a no-op, environment names
are checked before any request, and dubious combinations warn instead of being silently accepted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_sentry.exceptions import SentryInputError
from airflow_provider_sentry.operators.issues import ResolveIssuesOperator, UpdateIssuesOperator
from airflow_provider_sentry.sensors.issues import NewIssuesSensor


def context() -> Any:
    ti = MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = "dag", "task", "manual__1", -1, 1
    return {"ti": ti}


# -- case 7 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("ids", [[], (), "[]"])
def test_resolving_an_empty_id_list_sends_nothing_and_returns_nothing(
    sentry_emulator: Any, ids: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    sentry_emulator.add_issue(title="untouched")
    with caplog.at_level("INFO"):
        assert ResolveIssuesOperator(task_id="resolve", issue_ids=ids).execute(context()) == []
    assert sentry_emulator.requests == []
    assert "empty list" in caplog.text + capsys.readouterr().out
    assert [i["status"] for i in sentry_emulator.issues] == ["unresolved"]


def test_updating_an_empty_id_list_is_a_no_op_too(sentry_emulator: Any) -> None:
    assert UpdateIssuesOperator(task_id="ignore", issue_ids=[], status="ignored").execute(context()) == []
    assert sentry_emulator.requests == []


@pytest.mark.parametrize("query", [None, ""])
def test_no_ids_and_an_empty_query_stays_an_error_naming_query(sentry_emulator: Any, query: Any) -> None:
    with pytest.raises(SentryInputError) as info:
        ResolveIssuesOperator(task_id="resolve", query=query).execute(context())
    assert info.value.field == "query"
    assert sentry_emulator.requests == []


# -- case 8 --------------------------------------------------------------------------------------
BAD_ENVIRONMENTS = [["prod/eu"], ["line\nbreak"], ["x" * 65]]


@pytest.mark.parametrize("environments", BAD_ENVIRONMENTS)
def test_the_issue_operator_checks_environment_names_before_any_request(
    sentry_emulator: Any, environments: list[str]
) -> None:
    operator = ResolveIssuesOperator(task_id="resolve", query="is:unresolved", environments=environments)
    with pytest.raises(SentryInputError) as info:
        operator.execute(context())
    assert info.value.field == "environments"
    assert sentry_emulator.requests == []


@pytest.mark.parametrize("environments", BAD_ENVIRONMENTS)
def test_the_sensor_checks_environment_names_before_any_request(sentry_emulator: Any, environments: list[str]) -> None:
    sensor = NewIssuesSensor(task_id="wait", environments=environments)
    with pytest.raises(SentryInputError) as info:
        sensor.poke(context())
    assert info.value.field == "environments"
    assert sentry_emulator.requests == []


# -- case 9 --------------------------------------------------------------------------------------
def test_reschedule_with_deferrable_warns() -> None:
    with pytest.warns(UserWarning, match="mode='reschedule' has no effect with deferrable=True"):
        NewIssuesSensor(task_id="wait", mode="reschedule", deferrable=True)


def test_a_future_since_warns(
    sentry_emulator: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    class Sensor(NewIssuesSensor):
        def state_store(self) -> Any:
            store = MagicMock()
            store.load.return_value = None
            return store

    since = datetime.now(UTC) + timedelta(days=1)
    with caplog.at_level("WARNING"):
        assert Sensor(task_id="wait", since=since, projects=["backend"]).poke(context()) is False
    assert "lies in the future" in caplog.text + capsys.readouterr().out
