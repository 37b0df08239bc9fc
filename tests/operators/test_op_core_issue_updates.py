"""Issue mutation rules (pure): bodies, rejected combinations, batches, the fallback guard, UI links."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.api_urls import build_url
from airflow_provider_sentry.core.issue_updates import (
    LEAN_LISTING,
    MAX_IDS_PER_REQUEST,
    REQUEST_LINE_LIMIT,
    Batch,
    already_applied,
    build_issue_change,
    build_selection,
    guard_query,
    lookup_chunks,
    lookup_params,
    mutation_params,
    needs_project_lookup,
    normalize_issue_ids,
    plan_batches,
    project_ids_for,
    query_budget,
    search_params,
)
from airflow_provider_sentry.core.ui_urls import issues_url, release_url
from airflow_provider_sentry.exceptions import SentryInputError


def issue(issue_id: int, project: str = "2", status: str = "unresolved", **extra: Any) -> dict[str, Any]:
    return {"id": str(issue_id), "project": {"id": project}, "status": status, "statusDetails": {}, **extra}


# -- ids and selections ----------------------------------------------------------------------------
def test_issue_ids_accept_ints_strings_json_and_csv() -> None:
    assert normalize_issue_ids([1, "2", " 3 ", 2]) == ["1", "2", "3"]
    assert normalize_issue_ids('["4", 5]') == ["4", "5"]
    assert normalize_issue_ids("6, 7 8") == ["6", "7", "8"]
    assert normalize_issue_ids(9) == ["9"]


@pytest.mark.parametrize("bad", [["BACKEND-1A"], [True], [0], ["-3"], [1.5], "[1,"])
def test_issue_ids_refuse_what_sentry_would_500_on(bad: Any) -> None:
    with pytest.raises(SentryInputError) as err:
        normalize_issue_ids(bad)
    assert err.value.field == "issue_ids"


def test_selection_needs_exactly_one_of_ids_or_query() -> None:
    with pytest.raises(SentryInputError, match="not both"):
        build_selection(issue_ids=[1], query="is:unresolved", projects=None, environments=None, max_issues=None)
    with pytest.raises(SentryInputError, match="give issue_ids or"):
        build_selection(issue_ids=None, query="", projects=None, environments=None, max_issues=None)
    with pytest.raises(SentryInputError, match="non-empty"):
        build_selection(issue_ids=None, query="   ", projects=None, environments=None, max_issues=None)
    with pytest.raises(SentryInputError) as err:
        build_selection(issue_ids=None, query="x", projects=None, environments=None, max_issues=0)
    assert err.value.field == "max_issues"
    sel = build_selection(
        issue_ids=None, query=" is:unresolved ", projects=["backend"], environments="prod", max_issues="50"
    )
    assert (sel.query, sel.projects, sel.environments, sel.max_issues) == ("is:unresolved", ("backend",), ("prod",), 50)


# -- the change ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "body"),
    [
        ({"status": "resolved"}, {"status": "resolved", "statusDetails": {}}),
        ({"status": "resolvedInNextRelease"}, {"status": "resolved", "statusDetails": {"inNextRelease": True}}),
        ({"in_next_release": True}, {"status": "resolved", "statusDetails": {"inNextRelease": True}}),
        ({"in_release": "1.2.0"}, {"status": "resolved", "statusDetails": {"inRelease": "1.2.0"}}),
        ({"in_release": "latest"}, {"status": "resolved", "statusDetails": {"inRelease": "latest"}}),
        (
            {"in_commit": {"repository": "acme/app", "commit": "abc"}},
            {"status": "resolved", "statusDetails": {"inCommit": {"commit": "abc", "repository": "acme/app"}}},
        ),
        ({"status": "unresolved"}, {"status": "unresolved", "statusDetails": {}}),
        (
            {"ignore_duration": 60},
            {"status": "ignored", "statusDetails": {"ignoreDuration": 60}, "substatus": "archived_until_condition_met"},
        ),
        (
            {"ignore_count": 100, "ignore_window": 60},
            {
                "status": "ignored",
                "statusDetails": {"ignoreCount": 100, "ignoreWindow": 60},
                "substatus": "archived_until_condition_met",
            },
        ),
        (
            {"ignore_user_count": "5", "ignore_user_window": "10080"},
            {
                "status": "ignored",
                "statusDetails": {"ignoreUserCount": 5, "ignoreUserWindow": 10080},
                "substatus": "archived_until_condition_met",
            },
        ),
        (
            {"ignore_until_escalating": True},
            {"status": "ignored", "statusDetails": {}, "substatus": "archived_until_escalating"},
        ),
        ({"status": "ignored"}, {"status": "ignored", "statusDetails": {}, "substatus": "archived_forever"}),
        ({"assign_to": "team:4"}, {"assignedTo": "team:4"}),
        ({"assign_to": 7, "status": "resolved"}, {"status": "resolved", "statusDetails": {}, "assignedTo": "7"}),
        ({"clear_assignee": True}, {"assignedTo": ""}),
    ],
)
def test_bodies(kwargs: dict[str, Any], body: dict[str, Any]) -> None:
    assert build_issue_change(**kwargs).body == body


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "status"),
        ({"status": "closed"}, "status"),
        ({"in_next_release": True, "in_release": "1.0"}, "in_release"),
        ({"in_release": "1.0", "in_commit": {"repository": "a", "commit": "b"}}, "in_commit"),
        ({"status": "unresolved", "in_release": "1.0"}, "in_release"),
        ({"in_release": "1.0", "ignore_duration": 5}, "in_release"),
        ({"status": "resolved", "ignore_count": 5}, "status"),
        ({"ignore_count": 5, "ignore_window": 10081}, "ignore_window"),
        ({"ignore_user_count": 5, "ignore_user_window": 20000}, "ignore_user_window"),
        ({"ignore_window": 60}, "ignore_window"),
        ({"ignore_user_window": 60}, "ignore_user_window"),
        ({"ignore_count": 0}, "ignore_count"),
        ({"ignore_duration": True}, "ignore_duration"),
        ({"ignore_duration": 10, "ignore_count": 5}, "ignore_duration"),
        ({"ignore_until_escalating": True, "ignore_duration": 5}, "ignore_until_escalating"),
        ({"in_release": "a/b"}, "in_release"),
        ({"in_commit": {"repository": "a"}}, "in_commit"),
        ({"in_commit": "abc"}, "in_commit"),
        ({"assign_to": "user:bob"}, "assign_to"),
        ({"assign_to": "team:1", "clear_assignee": True}, "clear_assignee"),
        ({"in_next_release": "maybe"}, "in_next_release"),
    ],
)
def test_combinations_sentry_rejects_fail_before_sending(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(SentryInputError) as err:
        build_issue_change(**kwargs)
    assert err.value.field == field


def test_release_modes_are_per_project() -> None:
    assert build_issue_change(in_release="1.0").per_project
    assert build_issue_change(in_next_release=True).per_project
    assert build_issue_change(in_commit={"repository": "a", "commit": "b"}).per_project
    assert not build_issue_change(status="resolved").per_project


def test_already_applied_only_for_bare_status_changes() -> None:
    resolve = build_issue_change(status="resolved")
    assert already_applied(issue(1, status="resolved"), resolve)
    assert not already_applied(issue(1, status="resolved", statusDetails={"inNextRelease": True}), resolve)
    assert not already_applied(issue(1), resolve)
    assert already_applied(issue(1), build_issue_change(status="unresolved"))
    assert not already_applied(issue(1, status="resolved"), build_issue_change(in_release="1.0"))
    assert not already_applied(issue(1, status="resolved"), build_issue_change(status="resolved", assign_to="1"))


# -- batches and the guard -------------------------------------------------------------------------
def test_batches_fit_the_request_line_and_1000_ids() -> None:
    ten_digits = [issue(4_000_000_000 + i) for i in range(1000)]
    batches = plan_batches(ten_digits, build_issue_change(status="resolved"), limit=10_000)
    assert [len(b.issue_ids) for b in batches] == [509, 491]
    assert [i for b in batches for i in b.issue_ids] == [str(4_000_000_000 + i) for i in range(1000)]
    small = plan_batches([issue(i) for i in range(1, 2501)], build_issue_change(status="resolved"), limit=10_000)
    assert len(small[0].issue_ids) == 1000  # short ids: Sentry's 1,000-id cap binds first
    base = "https://sentry.example.com"
    for batch in batches:
        line = f"PUT {build_url(base, 'organizations/acme/issues/', mutation_params(batch))[len(base) :]} HTTP/1.1"
        assert len(line) <= REQUEST_LINE_LIMIT


def test_lookups_fit_the_request_line() -> None:
    ids = [str(4_000_000_000 + i) for i in range(1000)]
    budget = query_budget("https://sentry.example.com/prefix", "organizations/acme/issues/", "GET")
    chunks = lookup_chunks(ids, ["2", "3"], budget=budget)
    assert [i for c in chunks for i in c] == ids and len(chunks) == 3
    for chunk in chunks:
        query = build_url("https://x", "organizations/acme/issues/", lookup_params(chunk, ["2", "3"]))
        assert len("GET /prefix" + query[len("https://x") :] + " HTTP/1.1") <= REQUEST_LINE_LIMIT


@given(st.lists(st.tuples(st.integers(1, 10**6), st.sampled_from(["2", "3", "4"])), unique_by=lambda t: t[0]))
def test_release_batches_never_mix_projects_and_keep_every_id(rows: list[tuple[int, str]]) -> None:
    issues = [issue(i, project=p) for i, p in rows]
    batches = plan_batches(issues, build_issue_change(in_release="1.0"), limit=10**9)
    project_of = {str(i): p for i, p in rows}
    for batch in batches:
        assert len(batch.issue_ids) <= MAX_IDS_PER_REQUEST
        assert {project_of[i] for i in batch.issue_ids} == set(batch.project_ids)
        assert len(batch.project_ids) == 1
    assert sorted(i for b in batches for i in b.issue_ids) == sorted(str(i) for i, _ in rows)


def test_batches_respect_the_limit_and_skip_issues_already_resolved() -> None:
    issues = [issue(1, status="resolved"), *[issue(i) for i in range(2, 10)]]
    batches = plan_batches(issues, build_issue_change(status="resolved"), limit=5)
    assert [i for b in batches for i in b.issue_ids] == ["2", "3", "4", "5", "6"]


def test_every_mutation_is_pinned_to_its_ids_and_projects() -> None:
    params = mutation_params(Batch(("11", "12"), ("2",)))
    assert params == [("id", "11"), ("id", "12"), ("project", "2"), ("query", "issue.id:[0]")]
    assert guard_query() == "issue.id:[0]"  # matches no issue: group ids start at 1


def test_listing_params() -> None:
    assert lookup_params(["1", "2"], ["3"]) == [("group", "1"), ("group", "2"), ("project", "3"), *LEAN_LISTING]
    assert lookup_params(["1"], []) == [("group", "1"), ("project", "-1"), *LEAN_LISTING]
    sel = build_selection(issue_ids=None, query="is:unresolved", projects=None, environments=["prod"], max_issues=None)
    assert search_params(sel, ["2"]) == [
        ("query", "is:unresolved"),
        ("sort", "new"),
        ("limit", "100"),
        ("project", "2"),
        ("environment", "prod"),
        *LEAN_LISTING,
    ]


def test_project_slugs_resolve_to_integer_ids() -> None:
    listing = [{"id": "2", "slug": "backend"}, {"id": "3", "slug": "frontend"}]
    assert project_ids_for(["frontend", "2", "backend"], listing) == ["3", "2"]
    with pytest.raises(SentryInputError, match="unknown project") as err:
        project_ids_for(["mobile"], listing)
    assert err.value.field == "projects"
    assert needs_project_lookup(["backend"]) and not needs_project_lookup(["2", "3"])


# -- UI links --------------------------------------------------------------------------------------
@pytest.mark.parametrize("base", ["https://sentry.io", "https://us.sentry.io", "https://de.sentry.io/"])
def test_saas_links_use_the_org_domain(base: str) -> None:
    assert release_url(base, "acme", "app@1.0+b/x") == "https://acme.sentry.io/releases/app%401.0%2Bb%2Fx/"
    assert issues_url(base, "acme", query="is:unresolved release:1.0", project_ids=["2"]) == (
        "https://acme.sentry.io/issues/?query=is:unresolved%20release:1.0&project=2"
    )


def test_self_hosted_links() -> None:
    base = "https://sentry.example.com/prefix"
    assert release_url(base, "acme", "1.0") == "https://sentry.example.com/prefix/organizations/acme/releases/1.0/"
    assert issues_url(base, "acme", issue_ids=["7"]) == "https://sentry.example.com/prefix/organizations/acme/issues/7/"
    assert issues_url("http://127.0.0.1:5000", "acme", issue_ids=["7", "8"], environments=["prod"]) == (
        "http://127.0.0.1:5000/organizations/acme/issues/?query=issue.id:[7,8]&environment=prod"
    )


def test_1000_ten_digit_ids_take_5_requests_on_sentry_io() -> None:
    ids = [str(4_000_000_000 + i) for i in range(1000)]
    path = "organizations/acme/issues/"
    lookups = lookup_chunks(ids, [], budget=query_budget("https://sentry.io", path, "GET"))
    change = build_issue_change(status="resolved")
    puts = plan_batches(
        [issue(int(i)) for i in ids], change, limit=10_000, budget=query_budget("https://sentry.io", path)
    )
    assert (len(lookups), len(puts)) == (3, 2)
