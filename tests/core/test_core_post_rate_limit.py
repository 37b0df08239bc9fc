"""A 429 applied nothing, so even a POST that is not idempotent (a deploy) is sent again after the wait."""

from __future__ import annotations

from airflow_provider_sentry.core.exchange import Call, Done, Send, Sleep
from airflow_provider_sentry.core.settings import SentrySettings

LIMITED = {"X-Sentry-Rate-Limit-Remaining": "0", "X-Sentry-Rate-Limit-Reset": "1003"}


def test_a_429_on_a_non_idempotent_post_waits_for_the_reset_and_resends() -> None:
    settings = SentrySettings.from_connection("sentry_default", host="https://sentry.io", password="x", extra={})
    call = Call(settings, "POST", "organizations/acme/releases/1.0/deploys/", json={"environment": "prod"})
    assert isinstance(call.next_action(1000.0), Send)
    call.receive_response(429, LIMITED, b'"You are attempting to use this endpoint too frequently."', 1000.0)
    wait = call.next_action(1000.0)
    assert isinstance(wait, Sleep) and wait.seconds == 3.0
    assert isinstance(call.next_action(1003.0), Send)
    call.receive_response(201, {"Content-Type": "application/json"}, b'{"id": "1"}', 1003.0)
    done = call.next_action(1003.0)
    assert isinstance(done, Done) and done.response.data == {"id": "1"} and call.attempts == 2
