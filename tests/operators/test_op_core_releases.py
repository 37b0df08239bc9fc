"""Release rules and bodies (pure): version/environment names, refs, deploys, the 208 follow-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.releases import (
    DeploySpec,
    build_release_body,
    deploy_marker,
    find_matching_deploy,
    followup_update,
    iso_timestamp,
    normalize_commits,
    normalize_refs,
    parse_ref,
    release_date,
    validate_deploy,
    validate_environment,
    validate_projects,
    validate_version,
)
from airflow_provider_sentry.exceptions import SentryInputError

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "version",
    ["1.2.0", "app@1.2.0+build.5", "backend@2026.11.28", " v1 ", "a" * 200, "latest-build", "..1", "ünïcode"],
)
def test_valid_versions_pass_unchanged(version: str) -> None:
    assert validate_version(version) == version


@pytest.mark.parametrize(
    ("version", "rule"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (".", "reserved"),
        ("..", "reserved"),
        ("latest", "reserved"),
        ("LATEST", "reserved"),
        (" latest ", "reserved"),
        ("a/b", "/"),
        ("a\\b", "\\"),
        ("a\nb", "LF"),
        ("a\rb", "CR"),
        ("a\tb", "TAB"),
        ("a\fb", "FF"),
        ("a" * 201, "at most 200"),
        (123, "string"),
        (None, "string"),
    ],
)
def test_invalid_versions_name_the_field_and_the_rule(version: object, rule: str) -> None:
    with pytest.raises(SentryInputError) as err:
        validate_version(version)
    assert err.value.field == "version"
    assert rule in str(err.value)


@given(st.text(max_size=250))
def test_version_rule_matches_sentrys_is_valid_version(value: str) -> None:
    bad = any(c in value for c in "\r\n\f\t/\\") or value.strip().lower() in ("", ".", "..", "latest")
    ok = not bad and len(value) <= 200
    try:
        validate_version(value)
    except SentryInputError:
        assert not ok
    else:
        assert ok


@pytest.mark.parametrize(("env", "rule"), [("", "empty"), ("a/b", "/"), ("a\nb", "LF"), ("x" * 65, "64")])
def test_invalid_environments(env: str, rule: str) -> None:
    with pytest.raises(SentryInputError, match=rule) as err:
        validate_environment(env, "deploy.environment")
    assert err.value.field == "deploy.environment"


def test_environment_allows_tabs_and_spaces_like_sentry() -> None:
    assert validate_environment("prod eu\t1") == "prod eu\t1"


def test_projects_are_required_and_deduplicated() -> None:
    assert validate_projects(["backend", "backend", 3]) == ["backend", "3"]
    from airflow_provider_sentry.core.releases import validate_release_projects

    assert validate_release_projects(["backend", "backend", 3, 3, " 4 "]) == ["backend", 3, "4"]  # ints stay ints
    assert validate_projects("backend") == ["backend"]
    with pytest.raises(SentryInputError, match="at least one"):
        validate_projects([])
    with pytest.raises(SentryInputError):
        validate_projects([""])


@pytest.mark.parametrize(
    ("spec", "ref"),
    [
        ("acme/app@abc123", {"repository": "acme/app", "commit": "abc123"}),
        ("acme/app@v1.0..v1.1", {"repository": "acme/app", "commit": "v1.1", "previousCommit": "v1.0"}),
        (" acme/app@a..b ", {"repository": "acme/app", "commit": "b", "previousCommit": "a"}),
    ],
)
def test_parse_ref_like_sentry_cli(spec: str, ref: dict[str, str]) -> None:
    assert parse_ref(spec) == ref


@pytest.mark.parametrize("spec", ["acme/app", "@abc", "acme/app@", "acme/app@..b", "acme/app@a.."])
def test_parse_ref_rejects_incomplete_specs(spec: str) -> None:
    with pytest.raises(SentryInputError) as err:
        parse_ref(spec)
    assert err.value.field == "refs"


def test_refs_accept_strings_dicts_and_mixes() -> None:
    refs = normalize_refs(["a/b@1..2", {"repository": "c/d", "commit": "9"}])
    assert refs == [
        {"repository": "a/b", "commit": "2", "previousCommit": "1"},
        {"repository": "c/d", "commit": "9"},
    ]
    assert normalize_refs("a/b@1") == [{"repository": "a/b", "commit": "1"}]
    assert normalize_refs(None) == []
    with pytest.raises(SentryInputError, match="unknown ref keys"):
        normalize_refs([{"repository": "a", "commit": "1", "sha": "x"}])
    with pytest.raises(SentryInputError, match="previousCommit"):
        normalize_refs([{"repository": "a", "commit": "1", "previousCommit": "x" * 65}])


def test_commits_need_an_id() -> None:
    assert normalize_commits([{"id": "abc", "message": "fix"}]) == [{"id": "abc", "message": "fix"}]
    with pytest.raises(SentryInputError, match="'id'"):
        normalize_commits([{"message": "no id"}])
    with pytest.raises(SentryInputError, match="unknown commit keys"):
        normalize_commits([{"id": "a", "sha": "b"}])


def test_timestamps_are_utc_z() -> None:
    assert iso_timestamp(datetime(2026, 1, 2, 3, 4, 5), "x") == "2026-01-02T03:04:05.000000Z"
    tz = timezone(timedelta(hours=2))
    assert iso_timestamp(datetime(2026, 1, 2, 5, 4, 5, tzinfo=tz), "x") == "2026-01-02T03:04:05.000000Z"
    assert iso_timestamp("2026-01-02T03:04:05Z", "x") == "2026-01-02T03:04:05.000000Z"
    with pytest.raises(SentryInputError, match="ISO-8601") as err:
        iso_timestamp("yesterday", "date_released")
    assert err.value.field == "date_released"


def test_release_date_from_finalize_and_date_released() -> None:
    assert release_date(False, None, NOW) is None
    assert release_date(True, None, NOW) == "2026-11-28T12:00:00.000000Z"
    assert release_date("True", None, NOW) == "2026-11-28T12:00:00.000000Z"
    assert release_date("False", None, NOW) is None
    assert release_date(NOW - timedelta(hours=1), None, NOW) == "2026-11-28T11:00:00.000000Z"
    assert release_date(False, "2026-01-01T00:00:00Z", NOW) == "2026-01-01T00:00:00.000000Z"
    with pytest.raises(SentryInputError, match="not both"):
        release_date(NOW, NOW, NOW)


def test_release_body_leaves_out_empty_parts() -> None:
    body = build_release_body(version="1.0", projects=["backend"], refs=[], commits=[], url=None, date_released=None)
    assert body == {"version": "1.0", "projects": ["backend"]}
    full = build_release_body(
        version="1.0",
        projects=["backend"],
        refs=[{"repository": "a", "commit": "b"}],
        commits=[{"id": "c"}],
        url="https://ci/1",
        date_released="2026-01-01T00:00:00.000000Z",
    )
    assert full["refs"] and full["commits"] and full["url"] and full["dateReleased"]


def test_followup_after_208_only_sends_what_is_missing() -> None:
    existing = {"version": "1.0", "url": "https://ci/1", "dateReleased": None}
    assert followup_update(existing, url="https://ci/1", date_released=None) == {}
    update = followup_update(existing, url="https://ci/2", date_released="2026-01-01T00:00:00Z")
    assert update == {"url": "https://ci/2", "dateReleased": "2026-01-01T00:00:00Z"}
    finalized = {**existing, "dateReleased": "2025-01-01T00:00:00Z"}
    assert followup_update(finalized, url=None, date_released="2026-01-01T00:00:00Z") == {}


def test_deploy_validation_and_body() -> None:
    spec = validate_deploy({"environment": "production", "url": "https://x", "started": NOW, "finished": NOW})
    assert spec == DeploySpec("production", None, "https://x", spec.started, spec.finished)
    assert spec.body(name="n")["name"] == "n"
    assert spec.body()["dateStarted"] == "2026-11-28T12:00:00.000000Z"
    with pytest.raises(SentryInputError) as err:
        validate_deploy({"name": "x"})
    assert err.value.field == "deploy.environment"
    with pytest.raises(SentryInputError) as err:
        validate_deploy({"environment": "a/b"}, field="")
    assert err.value.field == "environment"
    with pytest.raises(SentryInputError, match="unknown keys"):
        validate_deploy({"environment": "prod", "env": "x"})
    with pytest.raises(SentryInputError, match="before started"):
        validate_deploy({"environment": "prod", "started": NOW, "finished": NOW - timedelta(1)})
    with pytest.raises(SentryInputError, match="64"):
        validate_deploy({"environment": "prod", "name": "n" * 65})


def test_deploy_marker_is_stable_per_task_instance_and_fits_sentrys_limit() -> None:
    first = deploy_marker("dag", "deploy", "manual__2026", -1)
    assert first == deploy_marker("dag", "deploy", "manual__2026", -1)
    assert first != deploy_marker("dag", "deploy", "manual__2027", -1)
    assert first != deploy_marker("dag", "deploy", "manual__2026", 0)
    assert len(first) <= 64


def test_find_matching_deploy() -> None:
    deploys = [
        {"id": "1", "environment": "prod", "name": "n", "dateStarted": "2026-11-27T00:00:00Z"},
        {"id": "2", "environment": "prod", "name": "n", "dateStarted": "2026-11-28T12:00:00Z"},
        {"id": "3", "environment": "staging", "name": "n", "dateStarted": "2026-11-28T12:00:00Z"},
    ]
    assert find_matching_deploy(deploys, environment="prod", name="n")["id"] == "1"  # type: ignore[index]
    match = find_matching_deploy(deploys, environment="prod", name="n", not_before=NOW - timedelta(hours=1))
    assert match is not None and match["id"] == "2"
    pinned = find_matching_deploy(deploys, environment="prod", name="n", started="2026-11-27T00:00:00.000000Z")
    assert pinned is not None and pinned["id"] == "1"
    assert find_matching_deploy(deploys, environment="prod", name="other") is None
    assert find_matching_deploy(deploys, environment="prod", name="n", not_before=NOW + timedelta(1)) is None


def test_deploys_one_or_several_also_rendered() -> None:
    from airflow_provider_sentry.core.releases import validate_deploys

    assert [d.environment for d in validate_deploys({"environment": "prod"})] == ["prod"]
    assert [d.environment for d in validate_deploys([{"environment": "a"}, {"environment": "b"}])] == ["a", "b"]
    assert [d.environment for d in validate_deploys("[{'environment': 'a'}, {'environment': 'b'}]")] == ["a", "b"]
    assert [d.environment for d in validate_deploys('{"environment": "prod"}')] == ["prod"]
    assert validate_deploys(None) == [] and validate_deploys("") == []
    with pytest.raises(SentryInputError, match=r"deploy\[1\]\.environment"):
        validate_deploys([{"environment": "a"}, {"environment": "a"}])
    with pytest.raises(SentryInputError, match="deploy"):
        validate_deploys("production")


def test_superseding_deploy_is_another_deploy_of_the_environment_since_a_time() -> None:
    from airflow_provider_sentry.core.releases import superseding_deploy

    deploys = [
        {"environment": "prod", "name": "ours", "dateFinished": "2026-01-01T10:00:00Z"},
        {"environment": "staging", "name": "x", "dateFinished": "2026-01-01T12:00:00Z"},
        {"environment": "prod", "name": "theirs", "dateFinished": "2026-01-01T11:00:00Z"},
    ]
    since = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
    found = superseding_deploy(deploys, environment="prod", name="ours", since=since)
    assert found is not None and found["name"] == "theirs"
    assert superseding_deploy(deploys, environment="prod", name="ours", since=since + timedelta(hours=1)) is None
    assert superseding_deploy(deploys[:1], environment="prod", name="ours", since=None) is None


def test_sentry_errors_that_the_release_operators_handle() -> None:
    from airflow_provider_sentry.core.releases import invalid_repositories, is_commits_processing
    from airflow_provider_sentry.exceptions import SentryBadRequestError, SentryConflictError

    busy = SentryConflictError("x", status=409, detail="Release commits are currently being processed")
    assert is_commits_processing(busy)
    assert not is_commits_processing(SentryConflictError("x", status=409, detail="Could not create the release"))
    missing = SentryBadRequestError("x", status=400, body={"refs": ["Invalid repository names: acme/nope"]})
    assert invalid_repositories(missing) == "Invalid repository names: acme/nope"
    assert invalid_repositories(SentryBadRequestError("x", status=400, body={"version": ["bad"]})) is None
