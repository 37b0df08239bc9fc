"""``SentryHook.get_conn()`` returns what its name says: the client (a ``requests.Session``), not settings."""

from __future__ import annotations

from typing import Any

import requests

from airflow_provider_sentry.hooks.sentry import SentryHook


def test_get_conn_is_the_session_that_sends_the_hooks_requests(sentry_emulator: Any) -> None:
    hook = SentryHook()
    session = hook.get_conn()
    assert isinstance(session, requests.Session)
    assert session is hook.get_conn()
    assert "Authorization" not in session.headers  # added per request, for the connection's host only
    assert hook.request("GET", "organizations/acme/projects/")
    assert hook.settings.base_url == sentry_emulator.url
