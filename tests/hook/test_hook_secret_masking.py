"""Issue 11, case 6: the secret is masked wherever a Sentry result is handled, also on a worker that
only resumes a deferred task (``execute_complete``) and never called Sentry itself."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from airflow_provider_sentry._compat import redact
from airflow_provider_sentry.exceptions import SentryServerError
from airflow_provider_sentry.sensors.issues import NewIssuesSensor


class FakeTI:
    dag_id, task_id, run_id, map_index, try_number = "d", "wait", "r", -1, 1


def fresh_token() -> str:
    return "sntryu_" + secrets.token_hex(16)


def use_connection(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    conn = {"conn_type": "sentry", "host": "https://sentry.example.com", "password": token,
            "extra": {"organization": "acme"}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", json.dumps(conn))


def test_execute_complete_of_a_resumed_task_registers_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    token = fresh_token()
    use_connection(monkeypatch, token)
    assert token in str(redact(f"echo {token}"))  # nothing on this "worker" knows the token yet
    event = {
        "status": "error",
        "error_type": "SentryServerError",
        "message": f"Sentry answered 502: proxy echoed Bearer {token}",  # e.g. from an older triggerer
        "http_status": 502,
    }
    sensor = NewIssuesSensor(task_id="wait", deferrable=True)  # a fresh object, as on another worker
    context: Any = {"ti": FakeTI()}
    with pytest.raises(SentryServerError):
        sensor.execute_complete(context, event)
    assert token not in str(redact(f"echo {token}"))
    assert "***" in str(redact(f"echo Bearer {token}"))
    assert token not in json.dumps({k: v for k, v in event.items() if k != "message"})


def test_the_trigger_kwargs_never_hold_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_sentry.triggers.issues import NewIssuesTrigger

    token = fresh_token()
    use_connection(monkeypatch, token)
    trigger = NewIssuesTrigger(spec={"organization": "acme", "query": "", "projects": [], "environments": []},
                               state=None)  # fmt: skip
    assert token not in json.dumps(trigger.serialize()[1])
    assert token not in repr(trigger)


def test_a_missing_connection_on_the_resuming_worker_is_not_an_error_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_sentry.hooks.sentry import SentryHook, register_secret

    monkeypatch.delenv("AIRFLOW_CONN_SENTRY_DEFAULT", raising=False)
    assert register_secret(SentryHook(sentry_conn_id="not_defined_here")) is False
