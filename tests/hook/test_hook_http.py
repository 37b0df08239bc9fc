"""SentryHook over real HTTP on loopback: auth forms, pagination, retries, rate limits, errors, secrets."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_sentry.core.cursor import Cursor
from airflow_provider_sentry.exceptions import (
    SentryAuthError,
    SentryConfigError,
    SentryRedirectError,
    SentryServerError,
)
from airflow_provider_sentry.hooks.sentry import SentryHook
from tests.hook.scripted_server import ScriptedServer, Seen, json_answer, scripted_server

TOKEN = "sntryu_a1b2c3d4e5f6a7b8c9d0e1f2"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as srv:
        yield srv


@pytest.fixture
def no_sleep(mocker: Any) -> Any:
    return mocker.patch("airflow_provider_sentry.hooks.sentry.time.sleep")


def connect(monkeypatch: pytest.MonkeyPatch, url: str, **extra: Any) -> SentryHook:
    conn = {"conn_type": "sentry", "host": url, "password": TOKEN, "extra": {"organization": "acme", **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", json.dumps(conn))
    return SentryHook()


def test_init_does_no_io(mocker: Any) -> None:
    get_connection = mocker.patch.object(SentryHook, "get_connection")
    SentryHook(sentry_conn_id="anything")
    get_connection.assert_not_called()


@pytest.mark.parametrize(
    ("auth_type", "expected"),
    [
        ("token", f"Bearer {TOKEN}"),
        ("dsn", f"DSN {TOKEN}"),
        ("api_key", "Basic " + base64.b64encode(f"{TOKEN}:".encode()).decode()),
    ],
)
def test_the_three_auth_forms(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, auth_type: str, expected: str
) -> None:
    server.on("GET", "/api/0/", lambda s: json_answer(200, {"version": "0", "auth": {"scopes": ["org:read"]}}))
    hook = connect(monkeypatch, server.url, auth_type=auth_type)
    assert hook.request("GET", "") == {"version": "0", "auth": {"scopes": ["org:read"]}}
    assert server.seen[0].headers["Authorization"] == expected


def test_params_repeat_keys_on_every_verb_and_json_bodies(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = "/api/0/organizations/acme/issues/"
    server.on("PUT", path, lambda s: json_answer(200, {"status": "resolved"}))
    server.on("POST", path, lambda s: (204, {}, b""))
    hook = connect(monkeypatch, server.url)
    assert hook.request("PUT", "organizations/acme/issues/", params={"id": [1, 2]}, json={"status": "resolved"}) == {
        "status": "resolved"
    }
    assert hook.request("POST", "organizations/acme/issues/", params={"id": ["3", "4"]}, json={}) is None
    assert server.seen[0].query == [("id", "1"), ("id", "2")]
    assert json.loads(server.seen[0].body) == {"status": "resolved"}
    assert server.seen[1].query == [("id", "3"), ("id", "4")]


def test_raw_response_tells_201_from_208(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    path = "/api/0/organizations/acme/releases/"
    server.on("POST", path, lambda s: json_answer(201, {"version": "1"}), lambda s: json_answer(208, {"version": "1"}))
    hook = connect(monkeypatch, server.url)
    first = hook.request("POST", "organizations/acme/releases/", json={"version": "1"}, raw=True)
    second = hook.request("POST", "organizations/acme/releases/", json={"version": "1"}, raw=True)
    assert (first.status, second.status) == (201, 208)
    assert second.headers["content-type"] == "application/json"


def paged_listing(total: int, per_page: int = 100) -> Any:
    """Answer like Sentry's offset paginator: ``&cursor=`` links, results flags."""

    def handler(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        cursor = Cursor.parse(dict(seen.query).get("cursor", f"{per_page}:0:0"))
        start = cursor.offset * per_page
        items = [{"id": str(i)} for i in range(start, min(start + per_page, total))]
        base = "http://127.0.0.1/api/0/organizations/acme/projects/?&cursor="
        prev_c, next_c = f"{per_page}:{cursor.offset - 1}:1", f"{per_page}:{cursor.offset + 1}:0"
        link = (
            f'<{base}{prev_c}>; rel="previous"; results="{str(cursor.offset > 0).lower()}"; cursor="{prev_c}", '
            f'<{base}{next_c}>; rel="next"; results="{str(start + per_page < total).lower()}"; cursor="{next_c}"'
        )
        return json_answer(200, items, {"Link": link, "X-Hits": str(total)})

    return handler


def test_a_250_item_listing_takes_exactly_3_requests(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.on("GET", "/api/0/organizations/acme/projects/", paged_listing(250))
    hook = connect(monkeypatch, server.url)
    items = list(hook.paginate("organizations/acme/projects/"))
    assert [item["id"] for item in items] == [str(i) for i in range(250)]
    assert len(server.seen) == 3
    assert [dict(s.query).get("cursor") for s in server.seen] == [None, "100:1:0", "100:2:0"]


def test_pages_expose_cursors_results_flags_and_hits(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.on("GET", "/api/0/organizations/acme/projects/", paged_listing(150))
    hook = connect(monkeypatch, server.url)
    page = hook.get_page("organizations/acme/projects/")
    assert (len(page.items), page.hits, page.has_next, page.has_previous) == (100, 150, True, False)
    assert page.previous_cursor == Cursor(100, -1, True)
    assert page.next_cursor == Cursor(100, 1, False)


def test_paginate_is_lazy(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.on("GET", "/api/0/organizations/acme/projects/", paged_listing(1000))
    hook = connect(monkeypatch, server.url)
    iterator = hook.paginate("organizations/acme/projects/")
    assert next(iterator) == {"id": "0"}
    assert len(server.seen) == 1


def test_429_without_retry_after_waits_until_the_reset_header(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, no_sleep: Any
) -> None:
    reset = int(time.time()) + 30
    limited = (
        429,
        {"Content-Type": "text/html", "X-Sentry-Rate-Limit-Remaining": "0", "X-Sentry-Rate-Limit-Reset": str(reset)},
        json.dumps(
            "You are attempting to use this endpoint too frequently. Limit is 1 requests in 60 seconds"
        ).encode(),
    )
    server.on("GET", "/api/0/organizations/acme/", lambda s: limited, lambda s: json_answer(200, {"slug": "acme"}))
    hook = connect(monkeypatch, server.url)
    assert hook.request("GET", "organizations/acme/") == {"slug": "acme"}
    (waited,) = [call.args[0] for call in no_sleep.call_args_list]
    assert 28 <= waited <= 30
    assert "Retry-After" not in limited[1]


def test_a_5xx_is_retried_then_succeeds(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, no_sleep: Any) -> None:
    server.on(
        "GET",
        "/api/0/organizations/acme/",
        lambda s: (503, {}, b"Service Unavailable"),
        lambda s: json_answer(200, {"slug": "acme"}),
    )
    hook = connect(monkeypatch, server.url)
    assert hook.request("GET", "organizations/acme/") == {"slug": "acme"}
    assert len(server.seen) == 2 and no_sleep.call_count == 1


def test_a_non_idempotent_post_is_not_retried(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, no_sleep: Any
) -> None:
    path = "/api/0/organizations/acme/releases/x/deploys/"
    server.on("POST", path, lambda s: (503, {}, b""), lambda s: json_answer(201, {"id": "1"}))
    hook = connect(monkeypatch, server.url)
    with pytest.raises(SentryServerError) as info:
        hook.request("POST", "organizations/acme/releases/x/deploys/", json={"environment": "prod"})
    assert info.value.status == 503
    assert len(server.seen) == 1 and no_sleep.call_count == 0


def test_an_html_502_body_becomes_a_typed_error(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, no_sleep: Any
) -> None:
    html = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    server.on("GET", "/api/0/organizations/acme/", lambda s: (502, {"Content-Type": "text/html"}, html))
    hook = connect(monkeypatch, server.url, max_retries=1)
    with pytest.raises(SentryServerError, match="502 Bad Gateway") as info:
        hook.request("GET", "organizations/acme/")
    assert (info.value.status, info.value.detail) == (502, "502 Bad Gateway")
    assert len(server.seen) == 2


def test_500_error_id_and_detail_surface(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    body = {"detail": "Internal Error", "errorId": "9f0e5c2b7d"}
    server.on("GET", "/api/0/organizations/acme/", lambda s: json_answer(500, body))
    hook = connect(monkeypatch, server.url)
    with pytest.raises(SentryServerError, match="errorId 9f0e5c2b7d") as info:
        hook.request("GET", "organizations/acme/")
    assert info.value.error_id == "9f0e5c2b7d"


def test_test_connection_reports_scopes_or_the_reason(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.on(
        "GET",
        "/api/0/",
        lambda s: json_answer(200, {"version": "0", "auth": {"scopes": ["project:releases", "event:read"]}}),
        lambda s: json_answer(401, {"detail": "Invalid token"}),
    )
    hook = connect(monkeypatch, server.url)
    assert hook.test_connection() == (
        True,
        f"Connected to Sentry at {server.url}; scopes: event:read, project:releases",
    )
    ok, reason = SentryHook().test_connection()
    assert not ok and "Invalid token" in reason and TOKEN not in reason


def test_authorization_is_never_sent_to_another_host(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_server() as first, scripted_server() as other:
        other.on("GET", "/api/0/x/", lambda s: json_answer(200, {}))
        first.on("GET", "/api/0/x/", lambda s: (302, {"Location": f"{other.url}/api/0/x/"}, b""))
        hook = connect(monkeypatch, first.url)
        with pytest.raises(SentryRedirectError, match="another host"):
            hook.request("GET", "x/")
        assert other.seen == []


def test_plain_http_to_a_remote_host_fails_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = connect(monkeypatch, "http://sentry.example.com")
    with pytest.raises(SentryConfigError, match="plain http is only allowed for loopback"):
        hook.request("GET", "")


def test_auth_error_names_the_connection_not_the_token(server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.on("GET", "/api/0/organizations/acme/issues/", lambda s: json_answer(403, {"detail": "no permission"}))
    hook = connect(monkeypatch, server.url)
    with pytest.raises(SentryAuthError) as info:
        hook.request("GET", "organizations/acme/issues/")
    assert "'sentry_default'" in str(info.value) and TOKEN not in str(info.value)
    assert TOKEN not in repr(hook) and TOKEN not in repr(hook.settings)


def test_the_token_is_absent_from_all_captured_logs(
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    no_sleep: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.on(
        "GET",
        "/api/0/organizations/acme/",
        lambda s: (429, {"X-Sentry-Rate-Limit-Reset": str(int(time.time()) + 1)}, b'"slow"'),
        lambda s: (503, {}, b""),
        lambda s: json_answer(401, {"detail": "Invalid token"}),
    )
    hook = connect(monkeypatch, server.url)
    with pytest.raises(SentryAuthError) as info:
        hook.request("GET", "organizations/acme/")
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err + str(info.value) + repr(info.value)
    assert "rate limit" in everything  # the waits were logged
    assert TOKEN not in everything
    assert base64.b64encode(f"{TOKEN}:".encode()).decode() not in everything


@pytest.mark.parametrize("auth_type", ["token", "dsn", "api_key"])
def test_the_secret_and_its_derived_header_are_registered_with_the_masker(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, auth_type: str
) -> None:
    from airflow_provider_sentry._compat import redact

    hook = connect(monkeypatch, server.url, auth_type=auth_type)
    header = hook.settings.authorization
    assert TOKEN not in redact(f"token={TOKEN}")
    assert header.split(" ", 1)[1] not in redact(f"sent {header}")
