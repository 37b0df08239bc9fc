"""The intent operators (archive, assign) over real HTTP against the emulator: each is a narrow signature
over UpdateIssuesOperator's one change model, so they send exactly what the general operator sends."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_sentry.exceptions import SentryInputError
from airflow_provider_sentry.operators.issues import ArchiveIssuesOperator, AssignIssuesOperator, UpdateIssuesOperator
from tests.operators.test_op_emulator import add, context


def test_archive_until_escalating_sends_what_update_issues_sends(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 2, project="backend")
    assert ArchiveIssuesOperator(task_id="a", issue_ids=ids, until_escalating=True).execute(context()) == ids
    archive_body = [r.body for r in emu.requests if r.method == "PUT"]
    assert all(emu.get_issue(i)["status"] == "ignored" for i in ids)
    assert {emu.get_issue(i)["substatus"] for i in ids} == {"archived_until_escalating"}

    emu.clear_requests()
    for issue_id in ids:
        emu.update_issue(issue_id, status="unresolved")
    UpdateIssuesOperator(task_id="u", issue_ids=ids, status="ignored", ignore_until_escalating=True).execute(context())
    assert [r.body for r in emu.requests if r.method == "PUT"] == archive_body


def test_archive_with_a_count_in_a_window(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 1, project="backend")
    ArchiveIssuesOperator(task_id="a", issue_ids=ids, count=100, window=60).execute(context())
    assert emu.get_issue(ids[0])["statusDetails"].get("ignoreCount") == 100


def test_archive_refuses_a_window_without_a_count_before_any_request(sentry_emulator: Any) -> None:
    with pytest.raises(SentryInputError, match="ignore_window"):
        ArchiveIssuesOperator(task_id="a", issue_ids=[1], window=60).execute(context())
    assert sentry_emulator.requests == []


def test_assign_then_clear(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 2, project="backend")
    assert AssignIssuesOperator(task_id="a", issue_ids=ids, assign_to="user:1").execute(context()) == ids
    assert [(emu.get_issue(i)["assignedTo"] or {}).get("type") for i in ids] == ["user", "user"]
    AssignIssuesOperator(task_id="t", issue_ids=ids, assign_to="team:1").execute(context())
    assert [(emu.get_issue(i)["assignedTo"] or {}).get("type") for i in ids] == ["team", "team"]
    AssignIssuesOperator(task_id="c", issue_ids=ids, assign_to=None).execute(context())
    assert [emu.get_issue(i)["assignedTo"] for i in ids] == [None, None]


def test_the_intent_operators_template_their_own_arguments() -> None:
    archive = ArchiveIssuesOperator(task_id="a", query="is:unresolved", duration="{{ params.minutes }}")
    assert "ignore_duration" in archive.template_fields and archive.ignore_duration == "{{ params.minutes }}"
    assign = AssignIssuesOperator(task_id="b", query="is:unassigned", assign_to="{{ params.owner }}")
    assert "assign_to" in assign.template_fields
