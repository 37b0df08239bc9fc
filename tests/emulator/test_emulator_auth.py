"""Authentication and scopes: Bearer user/org tokens, legacy API keys, ignored DSN auth, 401/403 bodies."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator


@pytest.fixture(scope="module")
def emu() -> Any:
    with SentryEmulator() as emulator:
        yield emulator


def call(emu: SentryEmulator, method: str, path: str, authorization: str | None, body: Any = None) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.request(method, f"{emu.url}/api/0/{path}", headers=headers, json=body, timeout=10)


def test_index_reports_scopes_or_null(emu: SentryEmulator) -> None:
    user = call(emu, "GET", "", f"Bearer {emu.token}").json()
    assert user["version"] == "0" and "event:write" in user["auth"]["scopes"] and user["user"]["id"] == "1"
    org = call(emu, "GET", "", f"Bearer {emu.org_token}").json()
    assert org == {"version": "0", "auth": {"scopes": ["org:ci"]}, "user": None}
    assert call(emu, "GET", "", None).json() == {"version": "0", "auth": None, "user": None}


def test_org_token_creates_releases_but_is_forbidden_on_issues(emu: SentryEmulator) -> None:
    assert emu.org_token.startswith("sntrys_")
    created = call(
        emu,
        "POST",
        "organizations/acme/releases/",
        f"Bearer {emu.org_token}",
        {"version": "ci-1", "projects": ["backend"]},
    )
    assert created.status_code == 201
    issues = call(emu, "GET", "organizations/acme/issues/", f"Bearer {emu.org_token}")
    assert (issues.status_code, issues.json()) == (
        403,
        {"detail": "You do not have permission to perform this action."},
    )


def test_dsn_authorization_is_ignored(emu: SentryEmulator) -> None:
    header = f"DSN {emu.dsn('backend')}"
    assert call(emu, "GET", "", header).json()["auth"] is None
    denied = call(emu, "GET", "organizations/acme/issues/", header)
    assert denied.status_code == 401
    assert denied.json() == {"detail": "Authentication credentials were not provided."}
    assert denied.headers["WWW-Authenticate"] == 'xBasic realm="api"'


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        (None, "Authentication credentials were not provided."),
        ("Bearer nope", "Invalid token"),
        ("Bearer sntrys_bogus_token", "Invalid org token"),
        ("Bearer", "Invalid token header. No credentials provided."),
        ("Bearer a b", "Invalid token header. Token string should not contain spaces."),
        ("Basic " + base64.b64encode(b"badkey:").decode(), "API key is not valid"),
    ],
)
def test_401_bodies(emu: SentryEmulator, authorization: str | None, detail: str) -> None:
    response = call(emu, "GET", "organizations/acme/issues/", authorization)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == 'xBasic realm="api"'


def test_legacy_api_key_over_basic_auth(emu: SentryEmulator) -> None:
    response = requests.get(f"{emu.url}/api/0/organizations/acme/issues/", auth=(emu.api_key, ""), timeout=10)
    assert response.status_code == 200
    with_password = requests.get(f"{emu.url}/api/0/organizations/acme/issues/", auth=(emu.api_key, "x"), timeout=10)
    assert with_password.status_code == 401  # a non-empty password: the key authenticator skips


def test_scoped_user_token(emu: SentryEmulator) -> None:
    read_only = emu.add_token(["event:read", "org:read"])
    assert call(emu, "GET", "organizations/acme/issues/", f"Bearer {read_only}").status_code == 200
    put = call(emu, "PUT", "organizations/acme/issues/?id=1", f"Bearer {read_only}", {"status": "resolved"})
    assert put.status_code == 403


def test_organizations_and_projects(emu: SentryEmulator) -> None:
    auth = f"Bearer {emu.token}"
    assert [o["slug"] for o in call(emu, "GET", "organizations/", auth).json()] == ["acme"]
    org = call(emu, "GET", "organizations/acme/", auth).json()
    assert org["id"] == "1" and org["slug"] == "acme"
    assert call(emu, "GET", "organizations/nope/", auth).status_code == 404
    projects = call(emu, "GET", "organizations/acme/projects/", auth)
    assert [p["slug"] for p in projects.json()] == ["backend", "frontend"]
    assert 'cursor="100:1:0"' in projects.headers["Link"] and 'cursor="100:-1:1"' in projects.headers["Link"]
    project = call(emu, "GET", "projects/acme/backend/", auth).json()
    assert project["slug"] == "backend" and isinstance(project["id"], str)
    assert call(emu, "GET", "projects/acme/missing/", auth).status_code == 404
