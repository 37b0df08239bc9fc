"""Error mapping, rate-limit headers and the retry decisions of core.exchange.Call."""

from __future__ import annotations

import json

import pytest

from airflow_provider_sentry.core.errors import decode_body, error_for_response
from airflow_provider_sentry.core.exchange import Call, Done, Send, Sleep, backoff_delay
from airflow_provider_sentry.core.ratelimit import RateLimitBook, RateLimitInfo, retry_after_seconds
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import (
    SentryAuthError,
    SentryBadRequestError,
    SentryNotFoundError,
    SentryRateLimitError,
    SentryRedirectError,
    SentryRetryBudgetExceeded,
    SentryServerError,
    SentryTransportError,
)

SECRET = "sntryu_0123456789abcdef"


def settings(**overrides: object) -> SentrySettings:
    base = SentrySettings.from_connection("sentry_default", host="https://sentry.io", password=SECRET, extra={})
    from dataclasses import replace

    return replace(base, **overrides)  # type: ignore[arg-type]


def test_json_object_error_carries_detail_and_error_id() -> None:
    body = {"detail": "Internal Error", "errorId": "abc123"}
    error = error_for_response(500, body, conn_id="c", method="GET", path="x/")
    assert isinstance(error, SentryServerError)
    assert (error.status, error.detail, error.error_id) == (500, "Internal Error", "abc123")
    assert "500" in str(error) and "Internal Error" in str(error) and "abc123" in str(error)


def test_the_429_json_string_body_served_as_html_is_decoded() -> None:
    raw = json.dumps("You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds")
    body = decode_body(raw.encode(), "text/html")
    error = error_for_response(429, body, conn_id="c", method="GET", path="x/", reset_at=123.0)
    assert isinstance(error, SentryRateLimitError)
    assert error.reset_at == 123.0
    assert "too frequently" in str(error.detail)


def test_html_502_becomes_a_readable_detail() -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    error = error_for_response(502, decode_body(html, "text/html"), conn_id="c", method="GET", path="x/")
    assert isinstance(error, SentryServerError)
    assert error.detail == "502 Bad Gateway"


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, SentryBadRequestError), (401, SentryAuthError), (403, SentryAuthError), (404, SentryNotFoundError)],
)
def test_status_classes(status: int, cls: type[Exception]) -> None:
    error = error_for_response(status, {"detail": "nope"}, conn_id="my_conn", method="GET", path="x/")
    assert isinstance(error, cls)
    if status in (401, 403):
        assert "'my_conn'" in str(error)


def test_drf_field_errors_and_nested_detail_shapes() -> None:
    field_error = error_for_response(400, {"version": ["not allowed"]}, conn_id="c", method="POST", path="r/")
    assert field_error.detail == {"version": ["not allowed"]}
    nested = {"detail": {"code": "sso-required", "message": "SSO required", "extra": {}}}
    assert error_for_response(401, nested, conn_id="c", method="GET", path="x/").detail == "SSO required"


def test_rate_limit_headers_including_the_literal_none() -> None:
    info = RateLimitInfo.from_headers(
        {
            "X-Sentry-Rate-Limit-Limit": "40",
            "X-Sentry-Rate-Limit-Remaining": "0",
            "X-Sentry-Rate-Limit-Reset": "1700000010",
            "X-Sentry-Rate-Limit-ConcurrentRemaining": "None",
        }
    )
    assert (info.limit, info.remaining, info.reset, info.concurrent_remaining) == (40, 0, 1700000010, None)
    assert info.exhausted


def test_retry_after_as_seconds_or_http_date() -> None:
    assert retry_after_seconds({"Retry-After": "7"}, now=0) == 7
    assert retry_after_seconds({"Retry-After": "Thu, 01 Jan 1970 00:00:10 GMT"}, now=4) == 6
    assert retry_after_seconds({}, now=0) is None


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    assert [backoff_delay(n, 0.0) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff_delay(3, 1.0) == 8.0
    assert backoff_delay(20, 1.0) == 60.0


def drive(
    call: Call, answers: list[tuple[int, dict[str, str], bytes] | Exception], now: float = 1000.0
) -> list[object]:
    """Run a Call against scripted answers; return the actions it took."""
    taken: list[object] = []
    answers = list(answers)
    while True:
        action = call.next_action(now)
        taken.append(action)
        if isinstance(action, Done):
            return taken
        if isinstance(action, Sleep):
            now += action.seconds
            continue
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            call.receive_error(answer, now)
        else:
            call.receive_response(*answer, now)


def test_send_carries_auth_json_and_verify() -> None:
    call = Call(settings(), "post", "organizations/acme/releases", json={"version": "1"}, params={"a": [1, 2]})
    action = call.next_action(0)
    assert isinstance(action, Send)
    assert action.method == "POST"
    assert action.url == "https://sentry.io/api/0/organizations/acme/releases/?a=1&a=2"
    assert action.headers["Authorization"] == f"Bearer {SECRET}"
    assert action.headers["Content-Type"] == "application/json"
    assert json.loads(action.body or b"") == {"version": "1"}
    assert action.verify is True


def test_429_without_retry_after_waits_until_the_reset_header() -> None:
    limited = (429, {"X-Sentry-Rate-Limit-Reset": "1012", "X-Sentry-Rate-Limit-Remaining": "0"}, b'"slow down"')
    actions = drive(Call(settings(), "GET", "x"), [limited, (200, {}, b"[]")], now=1000.0)
    sleeps = [a for a in actions if isinstance(a, Sleep)]
    assert [s.seconds for s in sleeps] == [12.0]
    assert "rate limit" in sleeps[0].reason


def test_remaining_zero_waits_before_the_next_request_instead_of_spending_a_429() -> None:
    book = RateLimitBook()
    headers = {"X-Sentry-Rate-Limit-Remaining": "0", "X-Sentry-Rate-Limit-Reset": "1005"}
    drive(Call(settings(), "GET", "x", book=book), [(200, headers, b"[]")], now=1000.0)
    actions = drive(Call(settings(), "GET", "x", book=book), [(200, {}, b"[]")], now=1001.0)
    assert isinstance(actions[0], Sleep) and actions[0].seconds == 4.0
    assert isinstance(actions[1], Send)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_retryable_statuses_are_retried_for_get(status: int) -> None:
    actions = drive(Call(settings(), "GET", "x", rand=lambda: 0.0), [(status, {}, b""), (200, {}, b"[1]")])
    assert [type(a).__name__ for a in actions] == ["Send", "Sleep", "Send", "Done"]
    assert actions[-1].response.data == [1]  # type: ignore[attr-defined]


def test_500_is_not_retried() -> None:
    call = Call(settings(), "GET", "x")
    with pytest.raises(SentryServerError):
        drive(call, [(500, {}, b'{"detail": "Internal Error", "errorId": "e1"}')])
    assert call.attempts == 1


def test_post_is_not_retried_unless_marked_idempotent() -> None:
    call = Call(settings(), "POST", "x", json={})
    with pytest.raises(SentryServerError):
        drive(call, [(503, {}, b"")])
    assert call.attempts == 1
    with pytest.raises(SentryTransportError, match="not idempotent"):
        drive(Call(settings(), "POST", "x", json={}), [ConnectionError("reset")])
    ok = drive(
        Call(settings(), "POST", "x", json={}, idempotent=True, rand=lambda: 0), [(503, {}, b""), (201, {}, b"{}")]
    )
    assert isinstance(ok[-1], Done)


def test_transport_errors_are_retried_then_reported_without_the_secret() -> None:
    call = Call(settings(max_retries=2), "GET", "x", rand=lambda: 0.0)
    with pytest.raises(SentryTransportError) as info:
        drive(call, [TimeoutError(), TimeoutError(), TimeoutError()])
    assert call.attempts == 3
    assert SECRET not in str(info.value)


def test_the_retry_budget_bounds_total_waiting_and_says_how_long_was_waited() -> None:
    limited = (429, {"X-Sentry-Rate-Limit-Reset": "1100"}, b'"slow"')
    with pytest.raises(SentryRetryBudgetExceeded, match="retry budget of 30s") as info:
        drive(Call(settings(retry_budget=30.0), "GET", "x"), [limited])
    assert info.value.waited == 0.0


def test_redirects_follow_same_origin_and_refuse_other_hosts() -> None:
    same = (302, {"Location": "/api/0/y/"}, b"")
    actions = drive(Call(settings(), "GET", "x"), [same, (200, {}, b"{}")])
    sends = [a for a in actions if isinstance(a, Send)]
    assert sends[1].url == "https://sentry.io/api/0/y/"
    assert sends[1].headers["Authorization"].startswith("Bearer")
    with pytest.raises(SentryRedirectError, match=r"another host 'evil\.example'"):
        drive(Call(settings(), "GET", "x"), [(307, {"Location": "https://evil.example/api/0/x/"}, b"")])
