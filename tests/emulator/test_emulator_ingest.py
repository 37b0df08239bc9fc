"""Event ingestion: the real sentry-sdk (gzip envelopes) and the store endpoint create and group issues."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import requests

from airflow_provider_sentry.testing import SentryEmulator

SDK_SCRIPT = textwrap.dedent(
    """
    import sys
    import sentry_sdk

    sentry_sdk.init(dsn=sys.argv[1], default_integrations=False, release="backend@1.0", environment="production")

    def divide(n):
        return 1 / n

    def lookup(d):
        return d["missing"]

    for _ in range(2):
        try:
            divide(0)
        except ZeroDivisionError as exc:
            sentry_sdk.capture_exception(exc)
    try:
        lookup({})
    except KeyError as exc:
        sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)
    """
)


@pytest.fixture
def emu() -> Any:
    with SentryEmulator() as emulator:
        yield emulator


def test_real_sentry_sdk_creates_two_issues(emu: SentryEmulator) -> None:
    # A subprocess keeps the SDK's global client out of this test process.
    subprocess.run([sys.executable, "-c", SDK_SCRIPT, emu.dsn("backend")], check=True, timeout=60)
    issues = {i["title"]: i for i in emu.issues}
    assert set(issues) == {"ZeroDivisionError: division by zero", "KeyError: 'missing'"}
    zero = issues["ZeroDivisionError: division by zero"]
    assert zero["count"] == "2" and issues["KeyError: 'missing'"]["count"] == "1"
    assert zero["level"] == "error" and zero["platform"] == "python"
    assert zero["shortId"].startswith("BACKEND-") and zero["culprit"].endswith("in divide")
    assert zero["metadata"]["type"] == "ZeroDivisionError"
    assert zero["permalink"] == f"{emu.url}/organizations/acme/issues/{zero['id']}/"
    envelope_posts = [r for r in emu.requests if r.path.endswith("/envelope/")]
    assert envelope_posts and all(r.headers.get("content-encoding") == "gzip" for r in envelope_posts)
    listed = requests.get(
        f"{emu.url}/api/0/organizations/acme/issues/",
        params={"query": "release:backend@1.0"},
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=10,
    )
    assert len(listed.json()) == 2


def test_store_endpoint_with_header_auth_and_gzip(emu: SentryEmulator) -> None:
    project_id = emu.projects[0]["id"]
    key = emu.dsn("backend").split("//")[1].split("@")[0]
    event = {
        "event_id": "a" * 32,
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": "bad",
                    "stacktrace": {
                        "frames": [
                            {"module": "app.jobs", "function": "run", "filename": "app/jobs.py", "in_app": True},
                            {"module": "lib", "function": "helper", "filename": "lib.py", "in_app": False},
                        ]
                    },
                }
            ]
        },
        "user": {"id": "42"},
    }
    response = requests.post(
        f"{emu.url}/api/{project_id}/store/",
        data=gzip.compress(json.dumps(event).encode()),
        headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}", "Content-Encoding": "gzip"},
        timeout=10,
    )
    assert response.json() == {"id": "a" * 32}
    issue = emu.issues[0]
    assert issue["title"] == "ValueError: bad" and issue["culprit"] == "app.jobs in run" and issue["userCount"] == 1
    wrong = requests.post(f"{emu.url}/api/{project_id}/store/?sentry_key=nope", data=b"{}", timeout=10)
    assert wrong.status_code == 401
