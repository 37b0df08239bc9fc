"""Issue 11, case 12: the emulator's HTTP control API (``/_emulator/``), driven over HTTP only, as a team
running ``python -m airflow_provider_sentry.testing serve`` next to a deployment would."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator


@pytest.fixture
def emulator() -> Iterator[SentryEmulator]:
    with SentryEmulator(control_api=True) as emu:
        yield emu


def control(emu: SentryEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{emu.url}/_emulator/{path}", timeout=10, **kwargs)


def sentry(emu: SentryEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {emu.token}"}
    return requests.request(method, f"{emu.url}/api/0/{path}", headers=headers, timeout=10, **kwargs)


def test_the_index_lists_the_routes(emulator: SentryEmulator) -> None:
    index = control(emulator, "GET", "").json()
    routes = {(r["method"], r["path"]) for r in index["routes"]}
    assert {("POST", "/_emulator/issues"), ("PUT", "/_emulator/issues/{issue_id}"), ("POST", "/_emulator/faults"),
            ("GET", "/_emulator/requests"), ("POST", "/_emulator/reset")} <= routes  # fmt: skip


def test_add_change_and_list_issues_as_sentry_then_sees_them(emulator: SentryEmulator) -> None:
    added = control(emulator, "POST", "issues", json={"title": "KeyError: 'x'", "first_seen": time.time() - 60})
    assert added.status_code == 201
    issue_id = added.json()["id"]
    more = control(emulator, "POST", "issues", json=[{"title": "A"}, {"title": "B", "project": "frontend"}])
    assert [i["title"] for i in more.json()] == ["A", "B"]
    changed = control(emulator, "PUT", f"issues/{issue_id}", json={"status": "resolved"})
    assert changed.status_code == 200 and changed.json()["status"] == "resolved"
    listed = control(emulator, "GET", "issues").json()
    assert [i["title"] for i in listed] == ["KeyError: 'x'", "A", "B"]
    unresolved = sentry(emulator, "GET", "organizations/acme/issues/", params={"query": "is:unresolved"}).json()
    assert sorted(i["title"] for i in unresolved) == ["A", "B"]
    assert control(emulator, "DELETE", f"issues/{issue_id}").status_code == 204
    assert control(emulator, "GET", f"issues/{issue_id}").status_code == 404


def test_faults_and_the_request_log(emulator: SentryEmulator) -> None:
    fault = control(emulator, "POST", "faults", json={"kind": "status", "status": 502, "path": "/issues/"})
    assert fault.status_code == 201
    assert sentry(emulator, "GET", "organizations/acme/issues/").status_code == 502
    assert sentry(emulator, "GET", "organizations/acme/issues/").status_code == 200
    log = control(emulator, "GET", "requests").json()
    assert [(r["method"], r["path"], r["status"], r["fault"]) for r in log] == [
        ("GET", "/api/0/organizations/acme/issues/", 502, "status"),
        ("GET", "/api/0/organizations/acme/issues/", 200, None),
    ]
    assert "headers" not in log[0]  # the log never hands out the Authorization header
    assert control(emulator, "GET", "requests", params={"since": "1"}).json()[0]["number"] == 2
    control(emulator, "PUT", "rate-limit", json={"limit": 1, "window_seconds": 60})
    assert sentry(emulator, "GET", "organizations/acme/projects/").status_code == 200
    assert sentry(emulator, "GET", "organizations/acme/projects/").status_code == 429
    assert control(emulator, "DELETE", "rate-limit").status_code == 204
    assert control(emulator, "DELETE", "requests").status_code == 204
    assert control(emulator, "GET", "requests").json() == []


def test_monitors_check_ins_and_sessions_as_sentry_then_sees_them(emulator: SentryEmulator) -> None:
    added = control(emulator, "POST", "monitors", json={"slug": "nightly", "schedule": "0 3 * * *"})
    assert added.status_code == 201 and added.json()["slug"] == "nightly"
    key = emulator.dsn("backend").split("//", 1)[1].split("@", 1)[0]
    project_id = emulator.dsn("backend").rsplit("/", 1)[1]
    sent = requests.post(
        f"{emulator.url}/api/{project_id}/cron/nightly/{key}/", json={"status": "ok", "duration": 2}, timeout=10
    )
    assert sent.status_code == 202
    unknown = requests.get(f"{emulator.url}/api/{project_id}/cron/ghost/{key}/?status=ok", timeout=10)
    assert unknown.status_code == 202
    assert [m["slug"] for m in control(emulator, "GET", "monitors").json()] == ["nightly"]
    checkins = control(emulator, "GET", "checkins", params={"monitor": "nightly"}).json()
    assert [(c["monitorSlug"], c["status"]) for c in checkins] == [("nightly", "ok")]
    assert [d["reason"] for d in control(emulator, "GET", "checkins/dropped").json()] == ["monitor_not_found"]

    body = {"release": "shop@1.0", "environment": "production", "healthy": 3, "crashed": 1}
    assert control(emulator, "POST", "sessions", json=body).status_code == 201
    assert control(emulator, "POST", "sessions", json={"release": "x", "healthy": "many"}).status_code == 400
    answer = sentry(
        emulator,
        "GET",
        "organizations/acme/sessions/",
        params={"field": ["sum(session)", "crash_free_rate(session)"], "query": 'release:"shop@1.0"',
                "environment": "production", "interval": "1h", "statsPeriod": "1d", "project": "-1"},
    ).json()  # fmt: skip
    assert answer["groups"][0]["totals"] == {"sum(session)": 4, "crash_free_rate(session)": 0.75}
    control(emulator, "POST", "reset")
    assert control(emulator, "GET", "monitors").json() == []
    assert control(emulator, "GET", "checkins").json() == []


def test_reset_forgets_everything_but_ids_keep_counting(emulator: SentryEmulator) -> None:
    first = control(emulator, "POST", "issues", json={"title": "old"}).json()["id"]
    control(emulator, "POST", "faults", json={"kind": "status", "status": 500, "times": 5})
    assert control(emulator, "POST", "reset").status_code == 200
    assert control(emulator, "GET", "issues").json() == []
    assert sentry(emulator, "GET", "organizations/acme/issues/").status_code == 200  # the fault is gone
    assert control(emulator, "GET", "requests").json()[-1]["status"] == 200
    again = control(emulator, "POST", "issues", json={"title": "new"}).json()["id"]
    assert int(again) > int(first)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("POST", "issues", {"titel": "x"}, 400, "unexpected keyword argument 'titel'"),
        ("POST", "issues", "not an object", 400, "must be a JSON object"),
        ("PUT", "issues/999", {"status": "resolved"}, 404, "no issue 999"),
        ("POST", "faults", {"status": 500}, 400, "kind is required"),
        ("POST", "faults", {"kind": "meteor"}, 400, "unknown fault kind"),
        ("GET", "no-such-resource", None, 404, "GET /_emulator/ lists them"),
        ("DELETE", "issues", None, 405, "not allowed"),
    ],
)
def test_bad_control_requests_are_json_errors(
    emulator: SentryEmulator, method: str, path: str, body: Any, status: int, detail: str
) -> None:
    answer = control(emulator, method, path, json=body) if body is not None else control(emulator, method, path)
    assert answer.status_code == status
    assert detail in answer.json()["detail"]


def test_without_control_api_the_path_is_a_sentry_404() -> None:
    with SentryEmulator() as emu:
        assert control(emu, "GET", "issues").status_code == 404
        assert len(emu.requests) == 1  # treated as (unknown) Sentry traffic


def test_serve_has_the_control_api() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_sentry.testing", "serve", "--port", "0", "--token", "t0k"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(7)]
        url = lines[0].rsplit(" ", 1)[1]
        assert lines[-1] == f"control API: {url}/_emulator/"
        added = requests.post(f"{url}/_emulator/issues", json={"title": "From the control API"}, timeout=10)
        assert added.status_code == 201
        listed = requests.get(f"{url}/api/0/organizations/acme/issues/", headers={"Authorization": "Bearer t0k"},
                              timeout=10).json()  # fmt: skip
        assert [i["title"] for i in listed] == ["From the control API"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
