"""Operators with a mocked transport: validation before I/O, dry run, deploy retries, 208, links."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any
from unittest.mock import MagicMock

import pytest
from pytest_mock import MockerFixture

from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.page import SentryResponse
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import SentryInputError, SentryServerError, SentryTransportError
from airflow_provider_sentry.hooks.sentry import SentryHook
from airflow_provider_sentry.links import SentryIssuesLink, SentryReleaseLink
from airflow_provider_sentry.operators.issues import ResolveIssuesOperator, UpdateIssuesOperator
from airflow_provider_sentry.operators.releases import (
    CreateDeployOperator,
    CreateReleaseOperator,
    FinalizeReleaseOperator,
    SetCommitsOperator,
    _ReleaseOperator,
)

OPERATORS = [
    UpdateIssuesOperator,
    ResolveIssuesOperator,
    CreateReleaseOperator,
    SetCommitsOperator,
    FinalizeReleaseOperator,
    CreateDeployOperator,
]
SETTINGS = SentrySettings(conn_id="sentry_default", base_url="https://sentry.io", secret="s3cr3t", organization="acme")


@pytest.fixture
def hook(mocker: MockerFixture) -> MagicMock:
    """Every operator's hook, with no network: ``request``/``paginate``/``pages`` are mocks."""
    fake = MagicMock(spec=SentryHook)
    fake.settings = SETTINGS
    fake.requests_sent = 0
    fake.resolve_organization.side_effect = lambda org: org or "acme"
    mocker.patch.object(UpdateIssuesOperator, "hook", fake)
    mocker.patch.object(_ReleaseOperator, "hook", fake)
    return fake


def context() -> dict[str, Any]:
    ti = MagicMock()
    ti.dag_id, ti.run_id, ti.map_index = "dag", "manual__1", -1
    return {"ti": ti, "dag_run": MagicMock(start_date=datetime(2026, 11, 28, tzinfo=UTC))}


@pytest.mark.parametrize("cls", OPERATORS)
def test_every_argument_is_keyword_only_and_templated(cls: type) -> None:
    params = inspect.signature(cls.__init__).parameters
    args = [name for name, p in params.items() if name not in ("self", "kwargs")]
    assert all(params[name].kind is inspect.Parameter.KEYWORD_ONLY for name in args)
    assert set(args) <= set(cls.template_fields)
    assert "sentry_conn_id" in args and params["sentry_conn_id"].default == "sentry_default"
    assert cls.operator_extra_links


def test_constructors_do_no_io(mocker: MockerFixture) -> None:
    get_connection = mocker.patch.object(SentryHook, "get_connection")
    ResolveIssuesOperator(task_id="r", query="is:unresolved")
    CreateReleaseOperator(task_id="c", version="bad/version", projects=[])
    get_connection.assert_not_called()


@pytest.mark.parametrize(
    ("operator", "field"),
    [
        (ResolveIssuesOperator(task_id="a", query="x", in_release="a/b"), "in_release"),
        (ResolveIssuesOperator(task_id="b", issue_ids=["PROJ-1"]), "issue_ids"),
        (UpdateIssuesOperator(task_id="c", query="x", ignore_count=5, ignore_window=20000), "ignore_window"),
        (CreateReleaseOperator(task_id="d", version="latest", projects=["backend"]), "version"),
        (CreateReleaseOperator(task_id="e", version="1.0", projects=[]), "projects"),
        (CreateReleaseOperator(task_id="f", version="1.0", projects=["b"], refs="repo"), "refs"),
        (
            CreateReleaseOperator(task_id="g", version="1.0", projects=["b"], deploy={"environment": "a/b"}),
            "deploy.environment",
        ),
        (CreateDeployOperator(task_id="h", version="1.0", environment="x" * 65), "environment"),
        (CreateDeployOperator(task_id="i", version="a\tb", environment="prod"), "version"),
        (FinalizeReleaseOperator(task_id="j", version="..", date_released=None), "version"),
        (SetCommitsOperator(task_id="k", version="1.0"), "refs"),
    ],
)
def test_bad_input_fails_before_any_request(hook: MagicMock, operator: Any, field: str) -> None:
    with pytest.raises(SentryInputError) as err:
        operator.execute(context())
    assert err.value.field == field
    hook.request.assert_not_called()
    hook.resolve_organization.assert_not_called()


def test_dry_run_lists_and_never_puts(hook: MagicMock) -> None:
    hook.request.return_value = [
        {"id": "1", "project": {"id": "2"}, "status": "unresolved"},
        {"id": "2", "project": {"id": "2"}, "status": "resolved", "statusDetails": {}},
    ]
    ctx = context()
    result = ResolveIssuesOperator(task_id="r", issue_ids=[1, 2, 3], dry_run="True").execute(ctx)
    assert result == ["1"]  # 2 is already resolved, 3 does not exist
    assert [c.args[0] for c in hook.request.call_args_list] == ["GET"]
    ctx["ti"].xcom_push.assert_called_once_with(
        key="sentry_issues_url", value="https://acme.sentry.io/issues/?query=issue.id:[1,2,3]"
    )


def test_ids_that_match_nothing_send_no_mutation(hook: MagicMock) -> None:
    hook.request.return_value = []
    assert ResolveIssuesOperator(task_id="r", issue_ids=["999"]).execute(context()) == []
    assert [c.args[0] for c in hook.request.call_args_list] == ["GET"]


def test_mutations_are_pinned(hook: MagicMock) -> None:
    issues = [{"id": "5", "project": {"id": "2"}, "status": "unresolved"}]
    hook.request.side_effect = [issues, SentryResponse(200, Headers(), {"status": "resolved"})]
    assert ResolveIssuesOperator(task_id="r", issue_ids=["5"], in_release="1.0").execute(context()) == ["5"]
    put = hook.request.call_args_list[1]
    assert put.args[0] == "PUT"
    assert put.kwargs["params"] == [("id", "5"), ("project", "2"), ("query", "issue.id:[0]")]
    assert put.kwargs["json"] == {"status": "resolved", "statusDetails": {"inRelease": "1.0"}}


def test_create_release_208_is_success_and_finalizes_what_the_post_could_not(hook: MagicMock) -> None:
    existing = {"version": "1.0", "dateReleased": None, "url": None}
    hook.request.side_effect = [
        SentryResponse(208, Headers(), existing),
        {**existing, "dateReleased": "2026-11-28T00:00:00Z"},
    ]
    ctx = context()
    out = CreateReleaseOperator(task_id="c", version="1.0", projects=["backend"], finalize=True).execute(ctx)
    assert out["created"] is False and out["release"]["dateReleased"]
    post, put = hook.request.call_args_list
    assert post.kwargs["idempotent"] is True and post.kwargs["json"]["dateReleased"]
    assert put.args[0] == "PUT" and set(put.kwargs["json"]) == {"dateReleased"}
    ctx["ti"].xcom_push.assert_called_once_with(key="sentry_release_url", value="https://acme.sentry.io/releases/1.0/")


@pytest.mark.parametrize("error", [SentryTransportError("timeout"), SentryServerError("boom", status=502)])
def test_deploy_after_a_lost_answer_is_found_not_reposted(hook: MagicMock, error: Exception) -> None:
    stored: list[dict[str, Any]] = []

    def request(method: str, path: str, **kwargs: Any) -> Any:
        stored.append({"id": "9", "environment": "prod", "name": kwargs["json"]["name"], **kwargs["json"]})
        raise error

    hook.request.side_effect = request
    hook.paginate.side_effect = lambda path: list(stored)
    out = CreateDeployOperator(task_id="d", version="1.0", environment="prod").execute(context())
    assert out["created"] is True and out["deploy"]["id"] == "9"
    assert hook.request.call_count == 1  # exactly one POST
    assert hook.paginate.call_count == 2  # before, and after the error


def test_deploy_from_an_earlier_try_is_reused(hook: MagicMock) -> None:
    from airflow_provider_sentry.core.releases import deploy_marker

    name = deploy_marker("dag", "d", "manual__1")
    hook.paginate.return_value = [
        {"id": "3", "environment": "prod", "name": name, "dateStarted": "2026-11-28T01:00:00Z"}
    ]
    out = CreateDeployOperator(task_id="d", version="1.0", environment="prod").execute(context())
    assert out == {"deploy": hook.paginate.return_value[0], "created": False}
    hook.request.assert_not_called()


def test_deploy_gives_up_after_three_failed_posts(hook: MagicMock) -> None:
    hook.request.side_effect = SentryTransportError("down")
    hook.paginate.return_value = []
    with pytest.raises(SentryTransportError):
        CreateDeployOperator(task_id="d", version="1.0", environment="prod").execute(context())
    assert hook.request.call_count == 3


def test_links_read_what_execute_stored(mocker: MockerFixture) -> None:
    get_value = mocker.patch("airflow_provider_sentry._compat.XCom.get_value", return_value="https://x/releases/1/")
    key = MagicMock()
    assert SentryReleaseLink().get_link(MagicMock(), ti_key=key) == "https://x/releases/1/"
    get_value.assert_called_once_with(ti_key=key, key="sentry_release_url")
    get_value.return_value = None
    assert SentryIssuesLink().get_link(MagicMock(), ti_key=key) == ""
    get_value.side_effect = RuntimeError("no xcom")
    assert SentryIssuesLink().get_link(MagicMock(), ti_key=key) == ""
    assert {SentryReleaseLink.name, SentryIssuesLink.name} == {"Sentry release", "Sentry issues"}
