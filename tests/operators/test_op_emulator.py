"""Issue and release operators over real HTTP against the Sentry emulator."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_sentry.exceptions import SentryInputError
from airflow_provider_sentry.hooks.sentry import SentryHook
from airflow_provider_sentry.operators.issues import ResolveIssuesOperator, UpdateIssuesOperator
from airflow_provider_sentry.operators.releases import (
    CreateDeployOperator,
    CreateReleaseOperator,
    FinalizeReleaseOperator,
    SetCommitsOperator,
)

pytest.importorskip("airflow_provider_sentry.testing", reason="emulator")
NOW = datetime.now(UTC)


def context(run_id: str = "manual__1", try_number: int = 1) -> dict[str, Any]:
    ti = MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = "dag", "task", run_id, -1, try_number
    return {"ti": ti, "dag_run": MagicMock(start_date=NOW - timedelta(minutes=5))}


def counts(emu: Any) -> Counter[str]:
    """Requests by method (the emulator's log)."""
    return Counter(r.method for r in emu.requests)


def put_ids(emu: Any) -> list[list[str]]:
    return [[v for k, v in r.query if k == "id"] for r in emu.requests if r.method == "PUT"]


def add(emu: Any, count: int, **kwargs: Any) -> list[str]:
    kwargs.setdefault("first_seen", NOW - timedelta(days=1))
    return [issue["id"] for issue in emu.add_issues(count, **kwargs)]


def status_of(emu: Any, issue_id: str) -> str:
    return str(emu.get_issue(issue_id)["status"])


# -- issues ----------------------------------------------------------------------------------------
def test_resolve_100_ids_in_two_requests(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 100, project="backend")
    other = add(emu, 3, project="backend")
    emu.clear_requests()
    resolved = ResolveIssuesOperator(task_id="r", issue_ids=[int(i) for i in ids]).execute(context())
    assert sorted(resolved, key=int) == sorted(ids, key=int)
    assert all(status_of(emu, i) == "resolved" for i in ids)
    assert all(status_of(emu, i) == "unresolved" for i in other)
    assert counts(emu) == Counter({"GET": 1, "PUT": 1})
    json.dumps(resolved)


def test_resolve_by_query_over_2500_issues(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    matching = add(emu, 2500, project="backend", level="error")
    warnings = add(emu, 5, project="backend", level="warning")
    elsewhere = add(emu, 5, project="frontend", level="error")
    emu.clear_requests()
    op = ResolveIssuesOperator(task_id="r", query="is:unresolved level:error", projects=["backend"])
    resolved = op.execute(context())
    assert sorted(resolved, key=int) == sorted(matching, key=int)
    assert all(status_of(emu, i) == "unresolved" for i in warnings + elsewhere)
    assert sum(status_of(emu, i) == "resolved" for i in matching) == 2500
    batches = put_ids(emu)
    assert len(batches) == 4 and all(len(b) <= 1000 for b in batches)  # ~700 seven-digit ids per 8 KB line
    gets = counts(emu)["GET"]
    assert gets <= 27  # 1 projects lookup + 25 full pages (+1 empty page Sentry announces)
    print(f"resolve by query, 2500 issues: {gets} GET + {len(batches)} PUT = {len(emu.requests)} requests")


def test_max_issues_caps_a_query(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    add(emu, 250, project="backend")
    emu.clear_requests()
    resolved = ResolveIssuesOperator(task_id="r", query="is:unresolved", max_issues=120).execute(context())
    assert len(resolved) == 120
    assert sum(i["status"] == "resolved" for i in emu.issues) == 120
    assert [len(b) for b in put_ids(emu)] == [120]


def test_dry_run_changes_nothing(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 30, project="backend")
    emu.clear_requests()
    would = ResolveIssuesOperator(task_id="r", query="is:unresolved", dry_run=True).execute(context())
    assert sorted(would, key=int) == sorted(ids, key=int)
    assert all(status_of(emu, i) == "unresolved" for i in ids)
    assert counts(emu)["PUT"] == 0


def test_resolve_in_next_release(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    CreateReleaseOperator(task_id="c", version="1.0.0", projects=["backend"]).execute(context())
    ids = add(emu, 3, project="backend")
    ResolveIssuesOperator(task_id="r", issue_ids=ids, in_next_release=True).execute(context())
    for issue_id in ids:
        issue = emu.get_issue(issue_id)
        assert issue["status"] == "resolved" and issue["statusDetails"].get("inNextRelease") is True


def test_resolve_in_release_across_projects_goes_one_project_per_request(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    CreateReleaseOperator(task_id="c", version="2.0.0", projects=["backend", "frontend"]).execute(context())
    ids = add(emu, 3, project="backend") + add(emu, 2, project="frontend")
    emu.clear_requests()
    resolved = ResolveIssuesOperator(task_id="r", issue_ids=ids, in_release="2.0.0").execute(context())
    assert sorted(resolved) == sorted(ids)
    for issue_id in ids:
        assert emu.get_issue(issue_id)["statusDetails"]["inRelease"] == "2.0.0"
    assert sorted(len(b) for b in put_ids(emu)) == [2, 3]


def test_resolve_in_commit(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 2, project="backend")
    commit = {"repository": "acme/backend", "commit": "9f2c1e0"}
    ResolveIssuesOperator(task_id="r", issue_ids=ids, in_commit=commit).execute(context())
    for issue_id in ids:
        issue = emu.get_issue(issue_id)
        assert issue["status"] == "resolved" and issue["statusDetails"]["inCommit"]["id"] == "9f2c1e0"


def test_ignore_with_a_condition_and_assign(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ids = add(emu, 2, project="backend")
    changed = UpdateIssuesOperator(task_id="u", issue_ids=ids, ignore_count=100, ignore_window=60).execute(context())
    assert changed == ids
    for issue_id in ids:
        issue = emu.get_issue(issue_id)
        assert issue["status"] == "ignored"
        assert issue["statusDetails"].get("ignoreCount") == 100
    UpdateIssuesOperator(task_id="u2", issue_ids=ids, status="unresolved").execute(context())
    assert all(status_of(emu, i) == "unresolved" for i in ids)


def test_ids_that_match_nothing_change_nothing_although_sentry_would_fall_back(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    bystanders = add(emu, 20, project="backend")
    emu.clear_requests()
    assert ResolveIssuesOperator(task_id="r", issue_ids=["99999999", "99999998"]).execute(context()) == []
    assert all(status_of(emu, i) == "unresolved" for i in bystanders)
    # The same ids sent bare reach Sentry's fallback: the emulator then mutates the bystanders.
    answer = SentryHook().request(
        "PUT", "organizations/acme/issues/", params=[("id", "99999999")], json={"status": "resolved"}, raw=True
    )
    assert answer.status == 200
    assert any(status_of(emu, i) == "resolved" for i in bystanders)


def test_an_issue_deleted_between_listing_and_put_does_not_trigger_the_fallback(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    (target,) = add(emu, 1, project="backend")
    bystanders = add(emu, 20, project="backend")

    def delete_before_put(record: Any) -> None:
        if record.method == "PUT":
            emu.delete_issue(target)

    emu.before_request(delete_before_put)
    assert ResolveIssuesOperator(task_id="r", issue_ids=[target]).execute(context()) == []
    assert all(status_of(emu, i) == "unresolved" for i in bystanders)


# -- releases --------------------------------------------------------------------------------------
def test_create_release_twice_gives_one_release_and_adds_missing_projects(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    first = CreateReleaseOperator(task_id="c", version="app@1.0+b1", projects=["backend"]).execute(context())
    again = CreateReleaseOperator(task_id="c", version="app@1.0+b1", projects=["backend"]).execute(context())
    wider = CreateReleaseOperator(task_id="c", version="app@1.0+b1", projects=["backend", "frontend"]).execute(
        context()
    )
    assert first["created"] is True and again["created"] is False
    assert [r["version"] for r in emu.releases] == ["app@1.0+b1"]
    assert {p["slug"] for p in wider["release"]["projects"]} == {"backend", "frontend"}
    json.dumps(first)


def test_release_pipeline_commits_deploy_finalize(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    ctx = context()
    CreateReleaseOperator(task_id="c", version="3.0.0", projects=["backend"]).execute(ctx)
    SetCommitsOperator(task_id="s", version="3.0.0", commits=[{"id": "abc123", "repository": "acme/backend"}]).execute(
        ctx
    )
    out = CreateDeployOperator(task_id="d", version="3.0.0", environment="production").execute(ctx)
    final = FinalizeReleaseOperator(task_id="f", version="3.0.0").execute(ctx)
    assert out["created"] and out["deploy"]["environment"] == "production"
    assert final["dateReleased"] and final["commitCount"] == 1
    assert len(emu.deploys) == 1
    ctx["ti"].xcom_push.assert_any_call(key="sentry_release_url", value=f"{emu.url}/organizations/acme/releases/3.0.0/")


@pytest.mark.parametrize("kind", ["latency", "reset"])
def test_deploy_retried_after_a_lost_answer_gives_one_deploy(
    sentry_emulator: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    emu = sentry_emulator
    conn = json.loads(emu.connection_json())
    conn["extra"]["timeout"] = 0.5
    monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", json.dumps(conn))
    CreateReleaseOperator(task_id="c", version="4.0.0", projects=["backend"]).execute(context())
    emu.inject(kind, path="/deploys/", method="POST", delay=1.5, when="after")
    emu.clear_requests()
    out = CreateDeployOperator(task_id="d", version="4.0.0", environment="production").execute(context())
    assert out["created"] is True
    assert len(emu.deploys) == 1
    assert [r.method for r in emu.requests] == ["GET", "POST", "GET"]  # list, post (answer lost), list again
    # The task retried later (new try of the same task instance) finds it and posts nothing.
    again = CreateDeployOperator(task_id="d", version="4.0.0", environment="production").execute(context(try_number=2))
    assert again["created"] is False and len(emu.deploys) == 1
    # Another DAG run deploys again.
    CreateDeployOperator(task_id="d", version="4.0.0", environment="production").execute(context("manual__2"))
    assert len(emu.deploys) == 2


@pytest.mark.parametrize(
    ("operator", "field"),
    [
        (CreateReleaseOperator(task_id="a", version="release/1", projects=["backend"]), "version"),
        (CreateReleaseOperator(task_id="b", version="x" * 201, projects=["backend"]), "version"),
        (CreateReleaseOperator(task_id="c", version="Latest", projects=["backend"]), "version"),
        (
            CreateReleaseOperator(task_id="d", version="1.0", projects=["backend"], deploy={"environment": "a\nb"}),
            "deploy.environment",
        ),
        (CreateDeployOperator(task_id="e", version="1.0", environment="e" * 65), "environment"),
        (CreateDeployOperator(task_id="f", version="1.0", environment="prod/eu"), "environment"),
        (FinalizeReleaseOperator(task_id="g", version="a\\b"), "version"),
        (ResolveIssuesOperator(task_id="h", query="is:unresolved", in_release="."), "in_release"),
    ],
)
def test_invalid_versions_and_environments_send_no_request(sentry_emulator: Any, operator: Any, field: str) -> None:
    emu = sentry_emulator
    emu.clear_requests()
    with pytest.raises(SentryInputError) as err:
        operator.execute(context())
    assert err.value.field == field and field in str(err.value)
    assert emu.requests == []
