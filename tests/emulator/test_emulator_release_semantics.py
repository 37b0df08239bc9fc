"""Sentry's release POST (get_or_create, commits on every POST, 409 while commits process), the
last-deploy-per-environment list, ``group=`` lookups, 1,000-id bulk PUTs and the proxy's 414."""

from __future__ import annotations

from airflow_provider_sentry.testing import SentryEmulator
from tests.emulator.test_emulator_releases import call


def test_an_existing_release_gaining_a_project_is_201_but_keeps_its_creation_fields(emu: SentryEmulator) -> None:
    call(emu, "POST", "releases/", {"version": "app@1.0", "projects": ["frontend"]})
    body = {
        "version": "app@1.0",
        "projects": ["backend", "frontend"],
        "url": "https://ci/1",
        "dateReleased": "2026-01-02T03:04:05Z",
        "ref": "main",
        "status": "archived",
    }
    extended = call(emu, "POST", "releases/", body)
    assert extended.status_code == 201
    data = extended.json()
    assert [p["slug"] for p in data["projects"]] == ["frontend", "backend"]
    assert (data["url"], data["dateReleased"], data["ref"], data["status"]) == (None, None, None, "open")
    assert call(emu, "POST", "releases/", body).status_code == 208


def test_creation_applies_url_date_ref_and_status(emu: SentryEmulator) -> None:
    body = {"version": "2.0", "projects": ["backend"], "url": "https://ci/2", "ref": "main", "status": "archived"}
    data = call(emu, "POST", "releases/", {**body, "dateReleased": "2026-01-02T03:04:05Z"}).json()
    assert (data["url"], data["dateReleased"], data["ref"], data["status"]) == (
        "https://ci/2",
        "2026-01-02T03:04:05Z",
        "main",
        "archived",
    )


def test_commits_and_refs_apply_on_every_post_including_208(emu: SentryEmulator) -> None:
    call(emu, "POST", "releases/", {"version": "3.0", "projects": ["backend"]})
    again = call(
        emu,
        "POST",
        "releases/",
        {"version": "3.0", "projects": ["backend"], "refs": [{"repository": "acme/backend", "commit": "a..b"}]},
    )
    assert again.status_code == 208 and again.json()["commitCount"] == 1
    explicit = call(emu, "POST", "releases/", {"version": "3.0", "projects": ["backend"], "commits": [{"id": "c"}]})
    assert explicit.status_code == 208 and explicit.json()["lastCommit"]["id"] == "c"


def test_a_post_while_commits_process_is_409_after_attaching_projects(emu: SentryEmulator) -> None:
    emu.set_commit_processing(3600)
    refs = [{"repository": "acme/backend", "commit": "a..b"}]
    first = call(emu, "POST", "releases/", {"version": "4.0", "projects": ["backend"], "refs": refs})
    assert first.status_code == 201 and first.json()["commitCount"] == 0  # the fetch is still running
    second = call(emu, "POST", "releases/", {"version": "4.0", "projects": ["backend", "frontend"], "refs": refs})
    assert (second.status_code, second.json()) == (409, {"detail": "Release commits are currently being processed"})
    release = call(emu, "GET", "releases/4.0/").json()
    assert [p["slug"] for p in release["projects"]] == ["backend", "frontend"]  # not rolled back
    put = call(emu, "PUT", "releases/4.0/", {"refs": refs, "url": "https://ci/4"})
    assert put.status_code == 409 and call(emu, "GET", "releases/4.0/").json()["url"] == "https://ci/4"
    # a POST without commits or refs is not blocked
    assert call(emu, "POST", "releases/", {"version": "4.0", "projects": ["backend"]}).status_code == 208
    emu.finish_commit_processing("4.0")
    assert call(emu, "GET", "releases/4.0/").json()["commitCount"] == 1
    assert call(emu, "POST", "releases/", {"version": "4.0", "projects": ["backend"], "refs": refs}).status_code == 208


def test_an_unknown_repository_is_a_400_after_the_release_was_created(emu: SentryEmulator) -> None:
    body = {"version": "5.0", "projects": ["backend"], "refs": [{"repository": "acme/nope", "commit": "abc"}]}
    response = call(emu, "POST", "releases/", body)
    assert (response.status_code, response.json()) == (400, {"refs": ["Invalid repository names: acme/nope"]})
    assert call(emu, "GET", "releases/5.0/").status_code == 200


def test_project_ids_must_be_json_integers(emu: SentryEmulator) -> None:
    backend_id = next(int(p["id"]) for p in emu.projects if p["slug"] == "backend")
    assert call(emu, "POST", "releases/", {"version": "6.0", "projects": [backend_id]}).status_code == 201
    as_text = call(emu, "POST", "releases/", {"version": "6.1", "projects": [str(backend_id)]})
    assert (as_text.status_code, as_text.json()) == (400, {"projects": ["Invalid project ids or slugs"]})


def test_the_deploy_list_shows_the_last_deploy_per_project_and_environment(emu: SentryEmulator) -> None:
    call(emu, "POST", "releases/", {"version": "7.0", "projects": ["backend", "frontend"]})
    first = call(emu, "POST", "releases/7.0/deploys/", {"environment": "prod", "name": "ours"}).json()
    staging = call(emu, "POST", "releases/7.0/deploys/", {"environment": "staging", "name": "s"}).json()
    later = call(emu, "POST", "releases/7.0/deploys/", {"environment": "prod", "name": "theirs"}).json()
    listed = call(emu, "GET", "releases/7.0/deploys/").json()
    assert sorted(d["id"] for d in listed) == sorted([staging["id"], later["id"]])
    assert first["id"] not in {d["id"] for d in listed}
    assert call(emu, "GET", "releases/7.0/").json()["deployCount"] == 3
    # a deploy to one project hides the earlier deploy for that project only
    only_front = call(emu, "POST", "releases/7.0/deploys/", {"environment": "staging", "projects": ["frontend"]})
    listed = call(emu, "GET", "releases/7.0/deploys/").json()
    assert {d["id"] for d in listed} == {staging["id"], later["id"], only_front.json()["id"]}


def test_group_lookup_returns_every_requested_issue_unpaged(emu: SentryEmulator) -> None:
    ids = [issue["id"] for issue in emu.add_issues(250, project="backend")]
    response = call(emu, "GET", "issues/", params=[("group", i) for i in ids[:240]] + [("project", "-1")])
    assert response.status_code == 200 and "Link" not in response.headers
    assert sorted(i["id"] for i in response.json()) == sorted(ids[:240])


def test_a_bulk_put_takes_1000_ids(emu: SentryEmulator) -> None:
    ids = [issue["id"] for issue in emu.add_issues(1000, project="backend")]
    response = call(emu, "PUT", "issues/", {"status": "resolved"}, params=[("id", i) for i in ids])
    assert response.status_code == 200
    assert all(issue["status"] == "resolved" for issue in emu.issues)


def test_a_request_line_over_the_proxy_limit_is_414(emu: SentryEmulator) -> None:
    ids = [str(1_000_000 + n) for n in range(800)]
    assert call(emu, "GET", "issues/", params=[("group", i) for i in ids]).status_code == 200
    emu.limit_request_line(8192)
    too_long = call(emu, "GET", "issues/", params=[("group", i) for i in ids])
    assert too_long.status_code == 414 and b"414 Request-URI Too Large" in too_long.content
    assert emu.requests[-1].status == 414
    assert call(emu, "GET", "issues/", params=[("group", i) for i in ids[:400]]).status_code == 200


def test_collapse_leaves_out_stats_and_counters(emu: SentryEmulator) -> None:
    ids = [issue["id"] for issue in emu.add_issues(2, project="backend")]
    full = call(emu, "GET", "issues/", params=[("group", ids[0])]).json()[0]
    assert {"stats", "lifetime", "filtered", "isUnhandled"} <= set(full)
    lean = call(emu, "GET", "issues/", params=[("group", ids[0]), ("collapse", "stats")]).json()[0]
    assert not {"stats", "lifetime", "filtered"} & set(lean) and lean["status"] == full["status"]
    base = call(emu, "GET", "issues/", params=[("group", ids[0]), ("collapse", "base"), ("collapse", "stats")])
    assert set(base.json()[0]) == {"id", "count", "userCount", "firstSeen", "lastSeen", "isUnhandled"}
    no_stats = call(emu, "GET", "issues/", params={"query": "", "groupStatsPeriod": ""}).json()
    assert len(no_stats) == 2 and all("stats" not in issue and "lifetime" in issue for issue in no_stats)
