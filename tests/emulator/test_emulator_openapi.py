"""Every emulator response on the endpoints the project uses validates against Sentry's OpenAPI schema.

The schema is the committed subset ``tests/openapi/sentry-openapi-subset.json`` (see ``tests/openapi/SOURCE.md``).
OpenAPI 3.0 ``nullable`` is translated to JSON Schema; formats (date-time, uri) are checked.

Known schema-vs-server differences are listed in SCHEMA_PATCHES, each with the server code that proves the
server sends it. Nothing else is relaxed.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator

SUBSET = Path(__file__).resolve().parent.parent / "openapi" / "sentry-openapi-subset.json"
ORG = "/api/0/organizations/{organization_id_or_slug}"
PROJ = "/api/0/projects/{organization_id_or_slug}/{project_id_or_slug}"


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema (``nullable`` -> a ``null`` alternative)."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example", "examples", "xml")}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _nullable(schema: dict[str, Any], *path: str) -> None:
    node = schema
    for key in path:
        node = node["properties"][key]
    node["nullable"] = True


def _drop_required(schema: dict[str, Any]) -> None:
    schema.pop("required", None)


# (path, method, status) -> (reason, patch). Each patch documents a real server behaviour the generated schema misses.
SCHEMA_PATCHES = {
    (f"{ORG}/issues/", "put", "200"): (
        "update.py sets result['inbox'] = None on resolve/ignore; handle_ignored returns None for unset ignore* keys",
        lambda s: [
            _nullable(s, "inbox"),
            *[
                _nullable(s, "statusDetails", k)
                for k in ("ignoreCount", "ignoreUserCount", "ignoreUserWindow", "ignoreWindow")
            ],
        ],
    ),
    (f"{PROJ}/issues/", "put", "200"): (
        "the deprecated endpoint's hand-written schema requires isPublic/status/statusDetails, but the answer is the "
        "same delta as the org endpoint (update_groups_with_search_fn)",
        _drop_required,
    ),
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(SUBSET.read_text())


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    responses = spec["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document status {status}"
    content = responses[str(status)].get("content", {}).get("application/json")
    assert content is not None, f"{method.upper()} {path} {status} has no JSON schema"
    schema = copy.deepcopy(content["schema"])
    patch = SCHEMA_PATCHES.get((path, method, str(status)))
    if patch is not None:
        patch[1](schema)
    return to_json_schema(schema)


@pytest.fixture(scope="module")
def emu() -> Any:
    with SentryEmulator() as emulator:
        now = time.time()
        emulator.add_issue(title="ZeroDivisionError: division by zero", first_seen=now - 3600, times_seen=3)
        emulator.add_issue(title="KeyError: 'user'", project="frontend", first_seen=now - 600, level="warning")
        emulator.add_issue(title="Starting worker", first_seen=now - 60, type="default", level="info", priority="high")
        yield emulator


def test_every_used_endpoint_answers_per_schema(spec: dict[str, Any], emu: SentryEmulator) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.token}"
    issue_id = emu.issues[0]["id"]
    frontend_issue = emu.issues[1]["id"]
    version = "backend@1.0.0+build"
    v = quote(version, safe="")

    # (OpenAPI path, method, concrete path, params, body)
    calls: list[tuple[str, str, str, Any, Any]] = [
        ("/api/0/organizations/", "get", "/api/0/organizations/", None, None),
        (f"{ORG}/", "get", "/api/0/organizations/acme/", None, None),
        (f"{ORG}/projects/", "get", "/api/0/organizations/acme/projects/", None, None),
        (f"{PROJ}/", "get", "/api/0/projects/acme/backend/", None, None),
        (f"{ORG}/repos/", "get", "/api/0/organizations/acme/repos/", None, None),
        (f"{ORG}/issues/", "get", "/api/0/organizations/acme/issues/", {"query": "", "sort": "new"}, None),
        (f"{ORG}/issues/", "get", "/api/0/organizations/acme/issues/", {"query": "is:unresolved", "limit": 1}, None),
        (f"{PROJ}/issues/", "get", "/api/0/projects/acme/backend/issues/", {"query": ""}, None),
        (f"{ORG}/issues/{{issue_id}}/", "get", f"/api/0/organizations/acme/issues/{issue_id}/", None, None),
        (
            f"{ORG}/issues/{{issue_id}}/events/",
            "get",
            f"/api/0/organizations/acme/issues/{issue_id}/events/",
            None,
            None,
        ),
        (
            f"{ORG}/releases/",
            "post",
            "/api/0/organizations/acme/releases/",
            None,
            {"version": version, "projects": ["backend"]},
        ),
        (
            f"{ORG}/releases/",
            "post",
            "/api/0/organizations/acme/releases/",
            None,
            {"version": "2.0", "projects": ["backend"]},
        ),
        (
            f"{ORG}/releases/{{version}}/",
            "put",
            f"/api/0/organizations/acme/releases/{v}/",
            None,
            {
                "refs": [{"repository": "acme/backend", "commit": "a" * 40, "previousCommit": "b" * 40}],
                "dateReleased": "2026-01-01T00:00:00Z",
            },
        ),
        (
            f"{ORG}/releases/{{version}}/deploys/",
            "post",
            f"/api/0/organizations/acme/releases/{v}/deploys/",
            None,
            {"environment": "production", "name": "d1", "url": "https://ci.example.com/1"},
        ),
        (f"{ORG}/releases/{{version}}/deploys/", "get", f"/api/0/organizations/acme/releases/{v}/deploys/", None, None),
        (f"{ORG}/releases/{{version}}/", "get", f"/api/0/organizations/acme/releases/{v}/", None, None),
        (f"{ORG}/releases/", "get", "/api/0/organizations/acme/releases/", None, None),
        (f"{ORG}/releases/{{version}}/commits/", "get", f"/api/0/organizations/acme/releases/{v}/commits/", None, None),
        (f"{ORG}/issues/", "put", "/api/0/organizations/acme/issues/", [("id", issue_id)], {"status": "resolved"}),
        (
            f"{ORG}/issues/",
            "put",
            "/api/0/organizations/acme/issues/",
            [("id", issue_id)],
            {"status": "ignored", "statusDetails": {"ignoreCount": 10, "ignoreWindow": 60}},
        ),
        (
            f"{ORG}/issues/",
            "put",
            "/api/0/organizations/acme/issues/",
            [("id", issue_id)],
            {"status": "resolved", "statusDetails": {"inRelease": version}},
        ),
        (
            f"{ORG}/issues/",
            "put",
            "/api/0/organizations/acme/issues/",
            [("id", issue_id)],
            {"assignedTo": "user:1", "hasSeen": True, "isBookmarked": True},
        ),
        (
            f"{PROJ}/issues/",
            "put",
            "/api/0/projects/acme/frontend/issues/",
            [("id", frontend_issue)],
            {"status": "resolved"},
        ),
        (
            f"{ORG}/issues/{{issue_id}}/",
            "put",
            f"/api/0/organizations/acme/issues/{issue_id}/",
            None,
            {"status": "unresolved"},
        ),
        (f"{ORG}/issues/", "get", "/api/0/organizations/acme/issues/", {"query": "", "sort": "freq"}, None),
    ]
    checker = jsonschema.FormatChecker()
    failures = []
    for path, method, concrete, params, body in calls:
        response = session.request(method.upper(), emu.url + concrete, params=params, json=body, timeout=10)
        assert response.status_code < 300, (method, concrete, response.status_code, response.text)
        schema = response_schema(spec, path, method, response.status_code)
        validator = jsonschema.Draft7Validator(schema, format_checker=checker)
        for error in validator.iter_errors(response.json()):
            failures.append(f"{method.upper()} {concrete}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
    assert failures == []


def test_schema_patches_are_few_and_explained() -> None:
    assert len(SCHEMA_PATCHES) == 2
    assert all(reason for reason, _ in SCHEMA_PATCHES.values())
