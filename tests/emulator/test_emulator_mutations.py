"""Bulk and single-issue mutations with Sentry's selection, validation and delta rules."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator

BASE = time.time() - 3600


@pytest.fixture
def emu() -> Any:
    with SentryEmulator() as emulator:
        yield emulator


def put(emu: SentryEmulator, path: str, params: Any, body: Any) -> requests.Response:
    return requests.put(
        f"{emu.url}/api/0/{path}",
        params=params,
        json=body,
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    )


def test_resolve_returns_the_delta(emu: SentryEmulator) -> None:
    a = emu.add_issue(first_seen=BASE)
    b = emu.add_issue(first_seen=BASE)
    response = put(emu, "organizations/acme/issues/", [("id", a["id"]), ("id", b["id"])], {"status": "resolved"})
    assert response.status_code == 200
    assert response.json() == {"status": "resolved", "statusDetails": {}, "inbox": None}
    assert {emu.get_issue(a["id"])["status"], emu.get_issue(b["id"])["status"]} == {"resolved"}


def test_nothing_matched_is_204_even_with_an_invalid_body(emu: SentryEmulator) -> None:
    response = put(emu, "organizations/acme/issues/", {"query": "is:resolved"}, {"status": "bogus"})
    assert response.status_code == 204
    emu.add_issue(first_seen=BASE)
    invalid = put(emu, "organizations/acme/issues/", {"query": "is:unresolved"}, {"status": "bogus"})
    assert (invalid.status_code, invalid.json()) == (400, {"status": ['"bogus" is not a valid choice.']})


def test_unknown_ids_fall_back_to_the_query(emu: SentryEmulator) -> None:
    """Sentry's update_groups_with_search_fn: no id in scope -> the (default) query mutates up to 1000 issues."""
    victims = [emu.add_issue(first_seen=BASE + n) for n in range(3)]
    response = put(emu, "organizations/acme/issues/", [("id", "999999")], {"status": "resolved"})
    assert response.status_code == 200
    assert all(emu.get_issue(v["id"])["status"] == "resolved" for v in victims)


def test_query_based_mutation_caps_at_1000(emu: SentryEmulator) -> None:
    emu.add_issues(1005, first_seen=BASE)
    response = put(emu, "organizations/acme/issues/", {"query": "is:unresolved"}, {"status": "resolved"})
    assert response.status_code == 200
    assert sum(1 for i in emu.issues if i["status"] == "resolved") == 1000


def test_late_indexed_issue_is_not_selected_by_query(emu: SentryEmulator) -> None:
    hidden = emu.add_issue(first_seen=BASE, indexed=False)
    assert put(emu, "organizations/acme/issues/", {"query": "is:unresolved"}, {"status": "resolved"}).status_code == 204
    emu.index(hidden["id"])
    assert put(emu, "organizations/acme/issues/", {"query": "is:unresolved"}, {"status": "resolved"}).status_code == 200


def test_release_based_resolution_rules(emu: SentryEmulator) -> None:
    a = emu.add_issue(first_seen=BASE)
    other = emu.add_issue(first_seen=BASE, project="frontend")
    unknown = put(
        emu,
        "organizations/acme/issues/",
        {"id": a["id"]},
        {"status": "resolved", "statusDetails": {"inRelease": "9.9"}},
    )
    assert unknown.status_code == 400
    assert unknown.json() == {"statusDetails": {"inRelease": ["Unable to find a release with the given version."]}}
    no_release = put(emu, "organizations/acme/issues/", {"id": a["id"]}, {"status": "resolvedInNextRelease"})
    assert no_release.status_code == 400
    emu.add_release("1.0", ["backend", "frontend"])
    multi = put(
        emu,
        "organizations/acme/issues/",
        [("id", a["id"]), ("id", other["id"])],
        {"status": "resolved", "statusDetails": {"inRelease": "1.0"}},
    )
    assert (multi.status_code, multi.json()) == (400, {"detail": "Cannot set resolved for multiple projects."})
    ok = put(
        emu,
        "organizations/acme/issues/",
        {"id": a["id"]},
        {"status": "resolved", "statusDetails": {"inRelease": "1.0"}},
    )
    assert ok.json()["statusDetails"]["inRelease"] == "1.0"


def test_resolved_in_next_release_is_stored_as_resolved(emu: SentryEmulator) -> None:
    emu.add_release("1.0")
    a = emu.add_issue(first_seen=BASE)
    response = put(emu, "organizations/acme/issues/", {"id": a["id"]}, {"status": "resolvedInNextRelease"})
    assert response.json()["status"] == "resolved"
    assert response.json()["statusDetails"]["inNextRelease"] is True
    stored = emu.get_issue(a["id"])
    assert stored["status"] == "resolved" and stored["statusDetails"]["inNextRelease"] is True


def test_ignore_conditions(emu: SentryEmulator) -> None:
    a = emu.add_issue(first_seen=BASE)
    response = put(
        emu,
        "organizations/acme/issues/",
        {"id": a["id"]},
        {"status": "ignored", "statusDetails": {"ignoreCount": 100, "ignoreWindow": 60}},
    )
    details = response.json()["statusDetails"]
    assert (details["ignoreCount"], details["ignoreWindow"], details["ignoreUntil"]) == (100, 60, None)
    assert emu.get_issue(a["id"])["substatus"] == "archived_until_condition_met"
    too_long = put(
        emu,
        "organizations/acme/issues/",
        {"id": a["id"]},
        {"status": "ignored", "statusDetails": {"ignoreUserCount": 5, "ignoreUserWindow": 10081}},
    )
    assert too_long.status_code == 400
    duration = put(
        emu,
        "organizations/acme/issues/",
        {"id": a["id"]},
        {"status": "ignored", "statusDetails": {"ignoreDuration": 30}},
    )
    assert duration.json()["statusDetails"]["ignoreUntil"].endswith("Z")
    escalating = put(emu, "organizations/acme/issues/", {"id": a["id"]}, {"status": "unresolved"})
    assert escalating.json() == {"status": "unresolved", "statusDetails": {}}
    until = put(
        emu,
        "organizations/acme/issues/",
        {"id": a["id"]},
        {"status": "ignored", "substatus": "archived_until_escalating"},
    )
    assert until.json()["statusDetails"] == {"ignoreUntilEscalating": True}
    assert emu.get_issue(a["id"])["substatus"] == "archived_until_escalating"


def test_assigned_to(emu: SentryEmulator) -> None:
    a = emu.add_issue(first_seen=BASE)
    response = put(emu, "organizations/acme/issues/", {"id": a["id"]}, {"assignedTo": "user:1"})
    assert response.json()["assignedTo"]["type"] == "user"
    assert emu.get_issue(a["id"])["assignedTo"]["id"] == "1"
    bad = put(emu, "organizations/acme/issues/", {"id": a["id"]}, {"assignedTo": "nobody@example.com"})
    assert bad.status_code == 400


def test_project_level_put_and_single_issue_endpoints(emu: SentryEmulator) -> None:
    a = emu.add_issue(first_seen=BASE)
    project_put = put(emu, "projects/acme/backend/issues/", {"id": a["id"]}, {"status": "resolved"})
    assert project_put.json()["status"] == "resolved"
    single = put(emu, f"organizations/acme/issues/{a['id']}/", None, {"status": "unresolved"})
    assert single.status_code == 200 and single.json()["id"] == a["id"] and single.json()["status"] == "unresolved"
    legacy = requests.get(
        f"{emu.url}/api/0/issues/{a['id']}/", headers={"Authorization": f"Bearer {emu.token}"}, timeout=10
    )
    assert legacy.json()["shortId"] == "BACKEND-1"
    assert put(emu, "issues/424242/", None, {"status": "resolved"}).status_code == 404


def test_issue_events_use_generic_offset_cursors(emu: SentryEmulator) -> None:
    import json
    import urllib.request

    project = emu.projects[0]
    key = emu.dsn("backend").split("//")[1].split("@")[0]
    for n in range(3):
        event = {"event_id": f"{n:032x}", "message": "hello", "level": "error", "timestamp": BASE + n}
        request = urllib.request.Request(
            f"{emu.url}/api/{project['id']}/store/?sentry_key={key}", data=json.dumps(event).encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=10).read()
    issue_id = emu.issues[0]["id"]
    response = requests.get(
        f"{emu.url}/api/0/organizations/acme/issues/{issue_id}/events/",
        params={"per_page": 2},
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    )
    assert [e["eventID"] for e in response.json()] == [f"{2:032x}", f"{1:032x}"]
    assert (
        'cursor="0:0:1"' in response.headers["Link"]
        and 'rel="next"; results="true"; cursor="0:2:0"' in response.headers["Link"]
    )
