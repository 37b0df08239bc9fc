"""Release operators against Sentry's real semantics: 201 for an existing release, 409 while commits
process, the last-deploy-per-environment list, 429 on a deploy POST, integer project ids, several
environments per task and unknown repositories."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_sentry.exceptions import SentryBadRequestError, SentryConflictError, SentryInputError
from airflow_provider_sentry.operators import releases as release_ops
from airflow_provider_sentry.operators.releases import CreateDeployOperator, CreateReleaseOperator, SetCommitsOperator

NOW = datetime.now(UTC)


def context(run_id: str = "manual__1", try_number: int = 1) -> dict[str, Any]:
    ti = MagicMock()
    ti.dag_id, ti.task_id, ti.run_id, ti.map_index, ti.try_number = "dag", "task", run_id, -1, try_number
    return {"ti": ti, "dag_run": MagicMock(start_date=NOW - timedelta(minutes=5))}


@pytest.fixture
def quick_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(release_ops, "COMMIT_PROCESSING_WAITS", (0.05, 0.05))


def test_finalize_and_url_are_applied_when_an_existing_release_gains_a_project(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.add_release("app@1.0", ["frontend"])  # another job created it for frontend
    out = CreateReleaseOperator(
        task_id="c", version="app@1.0", projects=["backend", "frontend"], finalize=True, url="https://ci/7"
    ).execute(context())
    assert out["created"] is True  # Sentry's 201: a project was added
    assert out["release"]["dateReleased"] and out["release"]["url"] == "https://ci/7"
    stored = emu.releases[0]
    assert stored["dateReleased"] and stored["url"] == "https://ci/7"
    assert [r.method for r in emu.requests if "/releases/" in r.path] == ["POST", "PUT"]


def test_a_fresh_release_needs_no_followup_put(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.clear_requests()
    CreateReleaseOperator(
        task_id="c", version="app@2.0", projects=["backend"], finalize=True, url="https://ci/8"
    ).execute(context())
    assert [r.method for r in emu.requests] == ["POST"]


def test_integer_project_ids_are_sent_as_integers(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    backend_id = next(int(p["id"]) for p in emu.projects if p["slug"] == "backend")
    out = CreateReleaseOperator(task_id="c", version="app@3.0", projects=[backend_id, "frontend"]).execute(context())
    assert {p["slug"] for p in out["release"]["projects"]} == {"backend", "frontend"}
    assert emu.requests[-1].body["projects"] == [backend_id, "frontend"]


def test_a_409_on_the_resent_post_is_accepted_as_already_being_applied(sentry_emulator: Any, quick_waits: None) -> None:
    emu = sentry_emulator
    emu.set_commit_processing(3600)
    emu.inject("reset", path="/releases/", method="POST", when="after")  # applied, answer lost
    out = CreateReleaseOperator(
        task_id="c", version="app@4.0", projects=["backend"], refs="acme/backend@a..b", finalize=True
    ).execute(context())
    statuses = [r.status for r in emu.requests if r.method == "POST"]
    assert statuses == [0, 409, 409, 409]  # lost answer, the hook's resend, two waits
    assert out["release"]["version"] == "app@4.0" and out["release"]["dateReleased"]
    emu.finish_commit_processing()
    assert emu.releases[0]["commitCount"] == 1


def test_a_409_that_ends_while_waiting_is_sent_again(sentry_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    emu = sentry_emulator
    monkeypatch.setattr(release_ops, "COMMIT_PROCESSING_WAITS", (0.6,))
    emu.set_commit_processing(0.3)
    CreateReleaseOperator(task_id="c", version="app@5.0", projects=["backend"], refs="acme/backend@a").execute(
        context()
    )
    again = CreateReleaseOperator(task_id="c", version="app@5.0", projects=["backend"], refs="acme/backend@b").execute(
        context(run_id="manual__2")
    )
    assert [r.status for r in emu.requests if r.method == "POST"] == [201, 409, 208]
    assert again["created"] is False
    emu.finish_commit_processing()
    assert [c["id"] for c in emu.releases[0]["commits"]] == ["b"]


def test_a_409_on_a_first_try_is_someone_elses_fetch_and_fails_after_waiting(
    sentry_emulator: Any, quick_waits: None
) -> None:
    emu = sentry_emulator
    emu.set_commit_processing(3600)
    CreateReleaseOperator(task_id="other", version="app@6.0", projects=["backend"], refs="acme/backend@a").execute(
        context()
    )
    with pytest.raises(SentryConflictError, match="currently being processed"):
        CreateReleaseOperator(task_id="c", version="app@6.0", projects=["backend"], refs="acme/backend@b").execute(
            context(run_id="manual__2")
        )
    # the same 409 on a retry of the task is accepted
    out = CreateReleaseOperator(task_id="c", version="app@6.0", projects=["backend"], refs="acme/backend@b").execute(
        context(run_id="manual__2", try_number=2)
    )
    assert out["release"]["version"] == "app@6.0"


def test_set_commits_accepts_a_409_on_retry(sentry_emulator: Any, quick_waits: None) -> None:
    emu = sentry_emulator
    emu.add_release("app@7.0", ["backend"])
    emu.set_commit_processing(3600)
    SetCommitsOperator(task_id="s", version="app@7.0", refs="acme/backend@a").execute(context())
    out = SetCommitsOperator(task_id="s", version="app@7.0", refs="acme/backend@a").execute(context(try_number=2))
    assert out["version"] == "app@7.0"


def test_a_retry_does_not_duplicate_a_deploy_hidden_by_a_later_one(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.add_release("app@8.0", ["backend"])
    first = CreateDeployOperator(task_id="d", version="app@8.0", environment="production").execute(context())
    assert first["created"] is True  # ...and then the worker died before the task was marked done
    emu.add_deploy("app@8.0", "production", name="someone-else")  # hides ours in the deploy list
    retry = CreateDeployOperator(task_id="d", version="app@8.0", environment="production").execute(
        context(try_number=2)
    )
    assert retry["created"] is False and retry["deploy"] is None
    assert retry["superseded_by"]["name"] == "someone-else"
    assert len([d for d in emu.deploys if d["name"] == first["deploy"]["name"]]) == 1
    json.dumps(retry)


def test_a_retry_whose_first_try_never_posted_still_deploys(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.add_release("app@9.0", ["backend"])
    emu.add_deploy("app@9.0", "production", name="someone-else")
    retry = CreateDeployOperator(task_id="d", version="app@9.0", environment="production").execute(
        context(try_number=2)
    )
    assert retry["created"] is True and len(emu.deploys) == 2  # every deploy listed: ours was never stored


def test_a_lost_deploy_answer_with_a_later_deploy_in_between_posts_no_duplicate(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.add_release("app@10.0", ["backend"])
    emu.inject("reset", path="/deploys/", method="POST", when="after")  # stored, answer lost
    seen: list[int] = []

    def after_ours(record: Any) -> None:  # the GET that checks whether our lost POST was stored
        if record.method == "GET" and record.path.endswith("/deploys/") and emu.deploys and not seen:
            seen.append(1)
            emu.add_deploy("app@10.0", "production", name="someone-else")

    emu.before_request(after_ours)
    out = CreateDeployOperator(task_id="d", version="app@10.0", environment="production").execute(context())
    assert out["created"] is False and out["superseded_by"]["name"] == "someone-else"
    assert [d["name"] for d in emu.deploys].count("someone-else") == 1 and len(emu.deploys) == 2


def test_a_429_on_the_deploy_post_is_retried(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.add_release("app@11.0", ["backend"])
    emu.inject("rate_limit", path="/deploys/", method="POST")
    out = CreateDeployOperator(task_id="d", version="app@11.0", environment="production").execute(context())
    assert out["created"] is True and len(emu.deploys) == 1
    assert [r.status for r in emu.requests if r.method == "POST"] == [429, 201]


def test_several_environments_in_one_task_each_idempotent(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    deploy = [{"environment": "staging"}, {"environment": "production", "url": "https://ci/d"}]
    out = CreateReleaseOperator(task_id="c", version="app@12.0", projects=["backend"], deploy=deploy).execute(context())
    assert [(d["environment"], d["created"]) for d in out["deploy"]] == [("staging", True), ("production", True)]
    retry = CreateReleaseOperator(task_id="c", version="app@12.0", projects=["backend"], deploy=deploy).execute(
        context(try_number=2)
    )
    assert [d["created"] for d in retry["deploy"]] == [False, False]
    assert sorted(d["environment"] for d in emu.deploys) == ["production", "staging"]
    json.dumps(retry)


def test_the_same_environment_twice_is_refused_before_any_request(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    emu.clear_requests()
    op = CreateReleaseOperator(
        task_id="c", version="1.0", projects=["backend"], deploy=[{"environment": "prod"}, {"environment": "prod"}]
    )
    with pytest.raises(SentryInputError, match=r"deploy\[1\]\.environment"):
        op.execute(context())
    assert emu.requests == []


def test_an_unknown_repository_fails_with_sentrys_text(sentry_emulator: Any) -> None:
    with pytest.raises(SentryBadRequestError, match="Invalid repository names: acme/nope"):
        CreateReleaseOperator(task_id="c", version="app@13.0", projects=["backend"], refs="acme/nope@abc").execute(
            context()
        )
    assert sentry_emulator.releases[0]["version"] == "app@13.0"  # Sentry created it before refusing the refs


def test_ignore_missing_repos_warns_and_goes_on(sentry_emulator: Any) -> None:
    emu = sentry_emulator
    out = CreateReleaseOperator(
        task_id="c",
        version="app@14.0",
        projects=["backend"],
        refs="acme/nope@abc",
        finalize=True,
        ignore_missing_repos=True,
        deploy={"environment": "production"},
    ).execute(context())
    assert out["release"]["dateReleased"] and out["deploy"]["environment"] == "production"
    assert emu.releases[0]["commitCount"] == 0
    emu.add_release("app@15.0", ["backend"])
    commits = SetCommitsOperator(
        task_id="s", version="app@15.0", refs="acme/nope@abc", ignore_missing_repos=True
    ).execute(context())
    assert commits["version"] == "app@15.0"
