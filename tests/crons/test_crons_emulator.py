"""The emulator's Crons behave like Sentry: every way in, DSN-key auth, upserts, drops, nil ids, no reopening,
the quota, the Web API, and events grouped into issues."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from airflow_provider_sentry.core.envelope import check_in_envelope, envelope
from airflow_provider_sentry.testing import SentryEmulator

CONFIG = {"schedule": {"type": "crontab", "value": "0 * * * *"}, "timezone": "Europe/Vienna", "max_runtime": 5}


@pytest.fixture
def emu() -> Iterator[SentryEmulator]:
    with SentryEmulator() as emulator:
        yield emulator


def parts(emu: SentryEmulator) -> tuple[str, str]:
    dsn = emu.dsn("backend")
    return dsn.split("//")[1].split("@")[0], dsn.rsplit("/", 1)[1]


def cron_url(emu: SentryEmulator, slug: str, key: str | None = None) -> str:
    _, project = parts(emu)
    return f"{emu.url}/api/{project}/cron/{slug}/" + (f"{key}/" if key else "")


def post_envelope(
    emu: SentryEmulator, body: bytes, *, gzipped: bool = False, key: str | None = None
) -> requests.Response:
    real_key, project = parts(emu)
    headers = {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key or real_key}"}
    if gzipped:
        body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
    return requests.post(f"{emu.url}/api/{project}/envelope/", data=body, headers=headers, timeout=10)


def check_in(emu: SentryEmulator, **payload: Any) -> requests.Response:
    return post_envelope(emu, check_in_envelope(payload, sent_at=datetime.now(UTC)))


def test_http_endpoint_accepts_every_key_form(emu: SentryEmulator) -> None:
    key, _ = parts(emu)
    gid = uuid.uuid4().hex
    answers = [
        requests.post(
            cron_url(emu, "job", key), json={"status": "in_progress", "check_in_id": gid, "monitor_config": CONFIG}
        ),
        requests.get(cron_url(emu, "job"), params={"status": "in_progress", "check_in_id": gid, "sentry_key": key}),
        requests.get(
            cron_url(emu, "job"),
            params={"status": "in_progress", "check_in_id": gid},
            headers={"X-Sentry-Auth": f"Sentry sentry_key={key}"},
        ),
        requests.get(
            cron_url(emu, "job"),
            params={"status": "ok", "check_in_id": gid, "duration": "1.5"},
            headers={"Authorization": f"DSN {emu.dsn('backend')}"},
        ),
    ]
    assert [(a.status_code, a.content) for a in answers] == [(202, b"")] * 4
    (checkin,) = emu.checkins("job")
    assert (checkin["status"], checkin["duration"], checkin["updates"]) == ("ok", 1500, 3)


@pytest.mark.parametrize("key", [None, "0" * 32])
def test_a_missing_or_wrong_key_is_401(emu: SentryEmulator, key: str | None) -> None:
    response = requests.get(cron_url(emu, "job", key), params={"status": "ok"})
    assert response.status_code == 401
    assert post_envelope(emu, b"{}\n", key="f" * 32).status_code == 401
    assert emu.checkins() == [] and emu.monitors == []


def test_the_monitor_is_upserted_and_updated_from_monitor_config(emu: SentryEmulator) -> None:
    check_in(emu, check_in_id=uuid.uuid4().hex, monitor_slug="job", status="ok", monitor_config=CONFIG)
    (monitor,) = emu.monitors
    assert monitor["config"]["schedule"] == "0 * * * *" and monitor["config"]["timezone"] == "Europe/Vienna"
    check_in(
        emu,
        check_in_id=uuid.uuid4().hex,
        monitor_slug="job",
        status="ok",
        monitor_config={"schedule": {"type": "interval", "value": 2, "unit": "hour"}},
    )
    (monitor,) = emu.monitors
    assert (monitor["config"]["schedule_type"], monitor["config"]["schedule"]) == ("interval", [2, "hour"])


def test_an_unknown_monitor_without_config_is_dropped(emu: SentryEmulator) -> None:
    assert check_in(emu, check_in_id=uuid.uuid4().hex, monitor_slug="ghost", status="ok").status_code == 200
    assert emu.checkins() == [] and emu.monitors == []
    assert [d["reason"] for d in emu.dropped_checkins] == ["monitor_not_found"]


def test_an_invalid_config_creates_nothing_but_an_existing_monitor_still_takes_check_ins(emu: SentryEmulator) -> None:
    bad = {"schedule": {"type": "crontab", "value": "0 0 * * * *"}}
    check_in(emu, check_in_id=uuid.uuid4().hex, monitor_slug="job", status="ok", monitor_config=bad)
    assert emu.monitors == []
    emu.add_monitor("job", "0 * * * *")
    check_in(emu, check_in_id=uuid.uuid4().hex, monitor_slug="job", status="ok", monitor_config=bad)
    assert [c["status"] for c in emu.checkins("job")] == ["ok"]
    assert emu.monitors[0]["config"]["schedule"] == "0 * * * *"


def test_a_nil_id_completes_the_latest_in_progress_check_in(emu: SentryEmulator) -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    check_in(emu, check_in_id=first, monitor_slug="job", status="in_progress", monitor_config=CONFIG)
    check_in(emu, check_in_id=second, monitor_slug="job", status="in_progress")
    check_in(emu, check_in_id="0" * 32, monitor_slug="job", status="error", duration=3)
    statuses = {c["id"]: c["status"] for c in emu.checkins("job")}
    assert statuses == {str(uuid.UUID(first)): "in_progress", str(uuid.UUID(second)): "error"}


def test_a_finished_check_in_is_never_reopened(emu: SentryEmulator) -> None:
    gid = uuid.uuid4().hex
    check_in(emu, check_in_id=gid, monitor_slug="job", status="ok", monitor_config=CONFIG)
    check_in(emu, check_in_id=gid, monitor_slug="job", status="in_progress")
    check_in(emu, check_in_id=gid, monitor_slug="job", status="error")
    (checkin,) = emu.checkins("job")
    assert checkin["status"] == "ok"
    assert [d["reason"] for d in emu.dropped_checkins] == ["checkin_finished", "checkin_finished"]


def test_six_check_ins_per_minute_per_monitor_environment(emu: SentryEmulator) -> None:
    for _ in range(8):
        check_in(emu, check_in_id=uuid.uuid4().hex, monitor_slug="job", status="ok", monitor_config=CONFIG)
    check_in(emu, check_in_id=uuid.uuid4().hex, monitor_slug="job", status="ok", environment="staging")
    assert len(emu.checkins("job")) == 7
    assert [d["reason"] for d in emu.dropped_checkins] == ["rate_limited", "rate_limited"]


def test_gzip_envelopes_with_check_ins_and_events(emu: SentryEmulator) -> None:
    event = {"event_id": uuid.uuid4().hex, "message": "hello", "level": "error"}
    body = envelope(
        [
            (
                "check_in",
                {"check_in_id": uuid.uuid4().hex, "monitor_slug": "job", "status": "ok", "monitor_config": CONFIG},
            ),
            ("event", event),
            ("client_report", {"discarded_events": []}),
        ],
        event_id=event["event_id"],
        sent_at=datetime.now(UTC),
    )
    response = post_envelope(emu, body, gzipped=True)
    assert response.status_code == 200 and response.json()["id"] == event["event_id"]
    assert len(emu.checkins("job")) == 1 and len(emu.issues) == 1


def test_events_group_by_fingerprint(emu: SentryEmulator) -> None:
    for n in range(3):
        event = {"event_id": uuid.uuid4().hex, "message": f"failure {n}", "fingerprint": ["airflow", "d", "t"]}
        post_envelope(emu, envelope([("event", event)], sent_at=datetime.now(UTC)))
    (issue,) = emu.issues
    assert int(issue["count"]) == 3


def test_the_web_api_lists_monitors_and_check_ins(emu: SentryEmulator) -> None:
    ids = [uuid.uuid4().hex for _ in range(3)]
    for gid in ids:
        check_in(emu, check_in_id=gid, monitor_slug="job", status="ok", duration=2.5, monitor_config=CONFIG)
    auth = {"Authorization": f"Bearer {emu.token}"}
    monitors = requests.get(f"{emu.url}/api/0/organizations/acme/monitors/", headers=auth, timeout=10)
    assert monitors.status_code == 200
    assert [m["slug"] for m in monitors.json()] == ["job"]
    assert monitors.json()[0]["environments"][0]["status"] == "ok"
    checkins = requests.get(f"{emu.url}/api/0/organizations/acme/monitors/job/checkins/", headers=auth, timeout=10)
    assert [c["id"] for c in checkins.json()] == [str(uuid.UUID(g)) for g in reversed(ids)]
    assert {c["duration"] for c in checkins.json()} == {2500}
    one = requests.get(f"{emu.url}/api/0/organizations/acme/monitors/job/", headers=auth, timeout=10)
    assert one.json()["slug"] == "job"
    assert (
        requests.get(f"{emu.url}/api/0/organizations/acme/monitors/nope/", headers=auth, timeout=10).status_code == 404
    )
    assert requests.get(f"{emu.url}/api/0/organizations/acme/monitors/", timeout=10).status_code == 401
    scoped = emu.add_token(["event:read"])
    denied = requests.get(
        f"{emu.url}/api/0/organizations/acme/monitors/", headers={"Authorization": f"Bearer {scoped}"}, timeout=10
    )
    assert denied.status_code == 403


def test_a_long_slug_is_cut_to_50_characters(emu: SentryEmulator) -> None:
    check_in(emu, check_in_id=uuid.uuid4().hex, monitor_slug="x" * 80, status="ok", monitor_config=CONFIG)
    assert [m["slug"] for m in emu.monitors] == ["x" * 50]


def test_a_check_in_without_status_is_400_on_the_http_endpoint(emu: SentryEmulator) -> None:
    key, _ = parts(emu)
    assert requests.get(cron_url(emu, "job", key), timeout=10).status_code == 400
    assert json.loads(requests.get(cron_url(emu, "job", key), timeout=10).content)["detail"]
