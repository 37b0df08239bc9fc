"""Fault injection and Sentry's rate-limit headers and 429 answer."""

from __future__ import annotations

import http.client
import time
from typing import Any

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator


@pytest.fixture
def emu() -> Any:
    with SentryEmulator() as emulator:
        yield emulator


def get(emu: SentryEmulator, path: str = "organizations/acme/issues/") -> requests.Response:
    return requests.get(f"{emu.url}/api/0/{path}", headers={"Authorization": f"Bearer {emu.token}"}, timeout=10)


def test_status_faults(emu: SentryEmulator) -> None:
    emu.inject("status", status=500)
    emu.inject("status", status=502)
    emu.inject("status", status=503)
    error = get(emu)
    assert error.status_code == 500 and error.json()["detail"] == "Internal Error"
    assert len(error.json()["errorId"]) == 32 and int(error.json()["errorId"], 16) >= 0
    bad_gateway = get(emu)
    assert bad_gateway.status_code == 502 and bad_gateway.headers["Content-Type"] == "text/html"
    assert "<html>" in bad_gateway.text
    assert get(emu).status_code == 503
    assert get(emu).status_code == 200


def test_fault_by_request_number_path_and_method(emu: SentryEmulator) -> None:
    emu.inject("status", status=500, on_request=2)
    emu.inject("status", status=503, path="/releases/", method="POST")
    assert get(emu).status_code == 200
    assert get(emu).status_code == 500
    assert get(emu, "organizations/acme/releases/").status_code == 200
    post = requests.post(
        f"{emu.url}/api/0/organizations/acme/releases/",
        json={"version": "1", "projects": ["backend"]},
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    )
    assert post.status_code == 503 and emu.releases == []


def test_when_after_applies_the_effect_first(emu: SentryEmulator) -> None:
    emu.add_release("1.0")
    emu.inject("reset", path="/deploys/", when="after")
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{emu.url}/api/0/organizations/acme/releases/1.0/deploys/",
            json={"environment": "prod"},
            headers={"Authorization": f"Bearer {emu.token}"},
            timeout=10,
        )
    assert [d["environment"] for d in emu.deploys] == ["prod"]


def test_reset_truncate_and_latency(emu: SentryEmulator) -> None:
    emu.inject("reset")
    with pytest.raises(requests.ConnectionError):
        get(emu)
    emu.inject("truncate")
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        get(emu).json()
    emu.inject("latency", delay=0.05)
    assert get(emu).status_code == 200
    assert [r.fault for r in emu.requests] == ["reset", "truncate", "latency"]


def test_rate_limit_headers_and_429(emu: SentryEmulator) -> None:
    emu.set_rate_limit(2, 60)
    first = get(emu)
    assert first.headers["X-Sentry-Rate-Limit-Limit"] == "2"
    assert first.headers["X-Sentry-Rate-Limit-Remaining"] == "1"
    reset = int(first.headers["X-Sentry-Rate-Limit-Reset"])
    assert reset % 60 == 0 and reset > time.time() - 1
    assert {"X-Sentry-Rate-Limit-ConcurrentLimit", "X-Sentry-Rate-Limit-ConcurrentRemaining"} <= set(first.headers)
    get(emu)
    limited = get(emu)
    assert limited.status_code == 429
    assert limited.json() == "You are attempting to use this endpoint too frequently. Limit is 2 requests in 60 seconds"
    assert limited.headers["Content-Type"] == "text/html"
    assert "Retry-After" not in limited.headers
    assert limited.headers["X-Sentry-Rate-Limit-Remaining"] == "0"
    assert get(emu, "organizations/acme/projects/").status_code == 200  # buckets are per endpoint


def test_injected_rate_limit_and_request_log(emu: SentryEmulator) -> None:
    seen = []
    emu.before_request(lambda record: seen.append(record.path))
    emu.inject("rate_limit")
    assert get(emu).status_code == 429
    record = emu.requests[-1]
    assert (record.method, record.path, record.status) == ("GET", "/api/0/organizations/acme/issues/", 429)
    assert seen == ["/api/0/organizations/acme/issues/"]
    emu.clear_requests()
    assert emu.requests == []


def test_raw_http_keeps_alive(emu: SentryEmulator) -> None:
    host, port = emu.url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    for _ in range(2):
        conn.request("GET", "/api/0/", headers={"Authorization": f"Bearer {emu.token}"})
        assert conn.getresponse().read()
    conn.close()
