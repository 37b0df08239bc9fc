"""Request economy of the issue operators behind an 8 KB request line (a default nginx): exact ids,
the unmatched-id guard and dry run = real run kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

from airflow_provider_sentry.operators.issues import ResolveIssuesOperator

NOW = datetime.now(UTC)


def context() -> dict[str, Any]:
    ti = MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = "dag", "task", "manual__1", -1, 1
    return {"ti": ti, "dag_run": MagicMock(start_date=NOW)}


def add(emu: Any, count: int, **kwargs: Any) -> list[str]:
    kwargs.setdefault("first_seen", NOW - timedelta(days=1))
    return [issue["id"] for issue in emu.add_issues(count, **kwargs)]


def test_1000_ids_in_at_most_6_requests_within_8_kb(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.limit_request_line(8192)
    ids = add(emu, 1000, project="backend")
    bystanders = add(emu, 5, project="backend")
    unknown = ["999999999"]
    emu.clear_requests()
    dry = ResolveIssuesOperator(task_id="r", issue_ids=ids + unknown, dry_run=True).execute(context())
    dry_requests = len(emu.requests)
    emu.clear_requests()
    resolved = ResolveIssuesOperator(task_id="r", issue_ids=ids + unknown).execute(context())
    assert resolved == dry and sorted(resolved, key=int) == sorted(ids, key=int)
    assert all(r.status in (200, 204) for r in emu.requests)  # no 414
    assert len(emu.requests) <= 6 and dry_requests == len([r for r in emu.requests if r.method == "GET"])
    statuses = {i["id"]: i["status"] for i in emu.issues}
    assert all(statuses[i] == "resolved" for i in ids) and all(statuses[i] == "unresolved" for i in bystanders)


def test_5000_issues_by_query_in_at_most_65_requests(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.limit_request_line(8192)
    ids = add(emu, 5000, project="backend")
    emu.clear_requests()
    resolved = ResolveIssuesOperator(task_id="r", query="is:unresolved", projects=["backend"]).execute(context())
    assert sorted(resolved, key=int) == sorted(ids, key=int)
    assert len(emu.requests) <= 65 and all(r.status in (200, 204) for r in emu.requests)
    assert all(i["status"] == "resolved" for i in emu.issues)


def test_a_batch_whose_ids_all_vanished_changes_nothing(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 3, project="backend")
    bystanders = add(emu, 3, project="backend")

    def delete_before_put(record: Any) -> None:
        if record.method == "PUT":
            for issue_id in ids:
                emu.delete_issue(issue_id)

    emu.before_request(delete_before_put)
    assert ResolveIssuesOperator(task_id="r", issue_ids=ids).execute(context()) == []
    assert all(emu.get_issue(i)["status"] == "unresolved" for i in bystanders)
