"""Releases, commits and deploys: status codes, validation messages and shapes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator


def call(emu: SentryEmulator, method: str, path: str, body: Any = None, params: Any = None) -> requests.Response:
    return requests.request(
        method,
        f"{emu.url}/api/0/organizations/acme/{path}",
        json=body,
        params=params,
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    )


def test_create_is_201_then_208_then_201_for_a_new_project(emu: SentryEmulator) -> None:
    first = call(emu, "POST", "releases/", {"version": "app@1.0", "projects": ["backend"]})
    assert first.status_code == 201
    assert isinstance(first.json()["id"], int) and first.json()["projects"][0]["slug"] == "backend"
    assert call(emu, "POST", "releases/", {"version": "app@1.0", "projects": ["backend"]}).status_code == 208
    attached = call(emu, "POST", "releases/", {"version": "app@1.0", "projects": ["backend", "frontend"]})
    assert attached.status_code == 201
    assert [p["slug"] for p in attached.json()["projects"]] == ["backend", "frontend"]


@pytest.mark.parametrize(
    "version", ["a/b", "a\\b", "a\nb", "a\tb", "a\rb", "a\fb", ".", "..", "LATEST", " ", "x" * 201]
)
def test_version_rules(emu: SentryEmulator, version: str) -> None:
    response = call(emu, "POST", "releases/", {"version": version, "projects": ["backend"]})
    assert response.status_code == 400
    if len(version) <= 200 and version.strip():
        assert response.json() == {"version": [f"Release with name {version} is not allowed"]}


def test_unknown_project(emu: SentryEmulator) -> None:
    response = call(emu, "POST", "releases/", {"version": "1.0", "projects": ["nope"]})
    assert (response.status_code, response.json()) == (400, {"projects": ["Invalid project ids or slugs"]})


def test_get_put_finalize_refs_and_commits(emu: SentryEmulator) -> None:
    version = "app@1.0+abc"
    call(emu, "POST", "releases/", {"version": version, "projects": ["backend"]})
    path = f"releases/{quote(version, safe='')}/"
    assert call(emu, "GET", path).json()["dateReleased"] is None
    finalized = call(emu, "PUT", path, {"dateReleased": "2026-01-02T03:04:05Z"})
    assert finalized.json()["dateReleased"] == "2026-01-02T03:04:05Z"
    with_refs = call(emu, "PUT", path, {"refs": [{"repository": "acme/backend", "commit": "a..b"}]})
    assert with_refs.json()["commitCount"] == 1
    commits = call(emu, "GET", path + "commits/")
    assert [c["id"] for c in commits.json()] == ["b"]
    unknown_repo = call(emu, "PUT", path, {"refs": [{"repository": "acme/nope", "commit": "c"}]})
    assert (unknown_repo.status_code, unknown_repo.json()) == (400, {"refs": ["Invalid repository names: acme/nope"]})
    explicit = call(emu, "PUT", path, {"commits": [{"id": "c1", "message": "fix"}, {"id": "c2"}]})
    assert explicit.json()["commitCount"] == 2
    assert call(emu, "PUT", path, {"refs": []}).json()["commitCount"] == 0
    assert call(emu, "PUT", path, {"dateReleased": None}).json()["dateReleased"] == "2026-01-02T03:04:05Z"
    assert call(emu, "GET", "releases/9.9.9/").status_code == 404


def test_list_releases_uses_offset_cursors(emu: SentryEmulator) -> None:
    for n in range(3):
        call(emu, "POST", "releases/", {"version": f"1.{n}", "projects": ["backend"]})
    page = call(emu, "GET", "releases/", params={"per_page": 2})
    assert [r["version"] for r in page.json()] == ["1.2", "1.1"]
    assert 'rel="next"; results="true"; cursor="2:1:0"' in page.headers["Link"]
    rest = call(emu, "GET", "releases/", params={"per_page": 2, "cursor": "2:1:0"})
    assert [r["version"] for r in rest.json()] == ["1.0"]
    assert call(emu, "GET", "releases/", params={"per_page": 101}).status_code == 400


def test_deploys(emu: SentryEmulator) -> None:
    call(emu, "POST", "releases/", {"version": "1.0", "projects": ["backend"]})
    created = call(emu, "POST", "releases/1.0/deploys/", {"environment": "prod", "name": "first"})
    assert created.status_code == 201
    assert isinstance(created.json()["id"], str) and created.json()["dateFinished"].endswith("Z")
    for bad in ("a/b", "a\nb", "x" * 65, ""):
        assert call(emu, "POST", "releases/1.0/deploys/", {"environment": bad}).status_code == 400, bad
    listed = call(emu, "GET", "releases/1.0/deploys/")
    assert [d["environment"] for d in listed.json()] == ["prod"]
    release = call(emu, "GET", "releases/1.0/").json()
    assert release["deployCount"] == 1 and release["lastDeploy"]["environment"] == "prod"
    assert call(emu, "POST", "releases/2.0/deploys/", {"environment": "prod"}).status_code == 404
    assert emu.deploys[0]["release"] == "1.0"
