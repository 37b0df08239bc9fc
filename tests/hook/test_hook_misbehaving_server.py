"""Issue 11, cases 1-6: a misbehaving server gives a typed, bounded, masked error, over real loopback HTTP.

Every case runs through both transports (``requests`` and ``httpx``): the decisions live in the core.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_sentry.core.exchange import MIN_RATE_LIMIT_DELAY, Call
from airflow_provider_sentry.core.page import Page
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import (
    SentryApiError,
    SentryBadRequestError,
    SentryPaginationError,
    SentryServerError,
    SentryTransportError,
    SentryUnexpectedResponseError,
)
from airflow_provider_sentry.hooks.sentry import SentryHook
from airflow_provider_sentry.hooks.sentry_async import SentryAsyncHook
from tests.hook.misbehaving_server import trickling_server
from tests.hook.scripted_server import ScriptedServer, Seen, json_answer, scripted_server

TOKEN = "sntryu_f00dfacef00dfacef00dface"
ISSUES = "/api/0/organizations/acme/issues/"
TRANSPORTS = ("sync", "async")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as srv:
        yield srv


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits of both transports instead of sleeping."""
    waited: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr("airflow_provider_sentry.hooks.sentry.time.sleep", waited.append)
    monkeypatch.setattr(SentryAsyncHook, "_sleep", staticmethod(fake_async_sleep))
    return waited


def connect(monkeypatch: pytest.MonkeyPatch, url: str, **extra: Any) -> None:
    conn = {"conn_type": "sentry", "host": url, "password": TOKEN, "extra": {"organization": "acme", **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", json.dumps(conn))


def run(transport: str, action: Callable[[Any], Any]) -> Any:
    """Run ``action(hook)`` with the sync hook, or await it with the async one."""
    if transport == "sync":
        return action(SentryHook())

    async def main() -> Any:
        async with SentryAsyncHook() as hook:
            return await action(hook)

    return asyncio.run(main())


def html(status: int, text: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "text/html"}, text.encode()


def link(next_cursor: str, results: str = "true") -> dict[str, str]:
    return {
        "Link": f'<http://x/?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<http://x/?cursor={next_cursor}>; rel="next"; results="{results}"; cursor="{next_cursor}"'
    }


class FakeTI:
    dag_id, task_id, run_id, map_index, try_number = "d", "wait", "r", -1, 1

    def xcom_push(self, key: str, value: Any) -> None:
        pass


CONTEXT: Any = {"ti": FakeTI()}


# -- case 1: endless pagination ------------------------------------------------------------------
def test_a_repeated_cursor_stops_paginate_with_a_typed_error(server: ScriptedServer, monkeypatch: Any) -> None:
    server.on("GET", ISSUES, lambda s: json_answer(200, [{"id": "1"}], link("100:1:0")))
    connect(monkeypatch, server.url)
    with pytest.raises(SentryPaginationError, match="cursor '100:1:0' again") as info:
        list(SentryHook().paginate("organizations/acme/issues/"))
    assert isinstance(info.value, SentryServerError)  # transient for the sensor and the trigger
    assert len(server.seen) == 2  # the first page, then the page that repeated the cursor


def test_a_listing_that_never_ends_stops_at_the_page_cap(server: ScriptedServer, monkeypatch: Any) -> None:
    def endless(seen: Seen) -> Any:
        offset = int(dict(seen.query).get("cursor", "100:0:0").split(":")[1]) + 1
        return json_answer(200, [{"id": str(offset)}], link(f"100:{offset}:0"))

    server.on("GET", ISSUES, endless)
    connect(monkeypatch, server.url)
    with pytest.raises(SentryPaginationError, match="cap of 7 page"):
        list(SentryHook().paginate("organizations/acme/issues/", max_pages=7))
    assert len(server.seen) == 7


def test_the_issue_operator_query_mode_stops_on_a_repeated_cursor(server: ScriptedServer, monkeypatch: Any) -> None:
    from airflow_provider_sentry.operators.issues import ResolveIssuesOperator

    issue = {"id": "5", "status": "unresolved", "project": {"id": "2", "slug": "backend"}}
    server.on("GET", ISSUES, lambda s: json_answer(200, [issue], link("100:1:0")))
    connect(monkeypatch, server.url)
    operator = ResolveIssuesOperator(task_id="resolve", query="is:unresolved")
    with pytest.raises(SentryPaginationError):
        operator.execute(CONTEXT)
    assert [s.method for s in server.seen] == ["GET", "GET"]


# -- case 2: a 200 that is not what the endpoint returns ------------------------------------------
NOT_A_LISTING = {
    "html login page": html(200, "<!DOCTYPE html><html><head><title>Sign in - SSO</title></head><body>x</body></html>"),
    "json string": json_answer(200, "ok"),
    "json object": json_answer(200, {"detail": "fine"}),
    "list of strings": json_answer(200, ["a", "b"]),
    "deep nesting": (200, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000),
    "broken gzip": (200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, b"\x1f\x8b\x08garbage"),
    "empty body": (200, {"Content-Type": "application/json"}, b""),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", sorted(NOT_A_LISTING))
def test_a_listing_answer_of_the_wrong_shape_is_a_typed_error(
    server: ScriptedServer, monkeypatch: Any, transport: str, case: str
) -> None:
    server.on("GET", ISSUES, lambda s: NOT_A_LISTING[case])
    connect(monkeypatch, server.url)
    with pytest.raises(SentryUnexpectedResponseError) as info:
        run(transport, lambda hook: hook.get_page("organizations/acme/issues/", listing=True))
    assert isinstance(info.value, SentryServerError)
    assert info.value.status == 200
    assert len(server.seen) == 1  # not retried: the next poke tries again
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_get_page_of_a_single_object_endpoint_still_gives_a_one_item_page(
    server: ScriptedServer, monkeypatch: Any, transport: str
) -> None:
    server.on("GET", "/api/0/organizations/acme/releases/1.0/", lambda s: json_answer(200, {"version": "1.0"}))
    connect(monkeypatch, server.url)
    page = run(transport, lambda hook: hook.get_page("organizations/acme/releases/1.0/"))
    assert page.items == [{"version": "1.0"}]


def test_paginate_never_yields_an_html_page_as_an_item(server: ScriptedServer, monkeypatch: Any) -> None:
    server.on("GET", ISSUES, lambda s: html(200, "<html><title>Login</title></html>"))
    connect(monkeypatch, server.url)
    with pytest.raises(SentryUnexpectedResponseError, match="Login"):
        list(SentryHook().paginate("organizations/acme/issues/"))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("location", "match"),
    [(None, "redirect without a Location"), ("http://[::1", "invalid Location"), ("ftp://x/", "invalid Location")],
)
def test_a_redirect_without_a_usable_location_is_a_typed_error(
    server: ScriptedServer, monkeypatch: Any, transport: str, location: str | None, match: str
) -> None:
    headers = {"Location": location} if location else {}
    server.on("GET", "/api/0/", lambda s: (302, headers, b""))
    connect(monkeypatch, server.url)
    with pytest.raises(SentryUnexpectedResponseError, match=match) as info:
        run(transport, lambda hook: hook.request("GET", ""))
    assert info.value.status == 302
    assert len(server.seen) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_non_json_200_to_a_plain_request_is_a_typed_error(
    server: ScriptedServer, monkeypatch: Any, transport: str
) -> None:
    server.on("GET", "/api/0/", lambda s: html(200, "<html><title>Please log in</title></html>"))
    connect(monkeypatch, server.url)
    with pytest.raises(SentryUnexpectedResponseError, match="Please log in"):
        run(transport, lambda hook: hook.request("GET", ""))


@pytest.mark.parametrize("missing", ["id", "firstSeen"])
def test_the_sensor_treats_an_issue_without_id_or_first_seen_as_transient(
    server: ScriptedServer, monkeypatch: Any, missing: str
) -> None:
    from airflow_provider_sentry.sensors.issues import NewIssuesSensor

    issue = {"id": "7", "firstSeen": "2026-01-01T00:00:00Z", "project": {"id": "2"}}
    del issue[missing]
    server.on("GET", ISSUES, lambda s: json_answer(200, [issue]))
    connect(monkeypatch, server.url)
    saved: dict[str, Any] = {}

    class Store:
        def load(self, key: str) -> Any:
            return None

        def save(self, key: str, state: Any) -> None:
            saved[key] = state

        def delete(self, key: str) -> None:
            pass

    class Sensor(NewIssuesSensor):
        def state_store(self) -> Any:
            return Store()

    sensor = Sensor(task_id="wait", projects=[2])
    assert sensor.poke(CONTEXT) is False  # retried at the next poke
    assert saved == {}  # nothing committed
    assert len(server.seen) == 1


def test_the_trigger_treats_a_login_page_as_transient(server: ScriptedServer, monkeypatch: Any) -> None:
    from airflow_provider_sentry.triggers.issues import NewIssuesTrigger

    server.on("GET", ISSUES, lambda s: html(200, "<html><title>Sign in</title></html>"))
    connect(monkeypatch, server.url)
    trigger = NewIssuesTrigger(
        spec={"organization": "acme", "query": "is:unresolved", "projects": ["2"], "environments": []},
        state=None,
        poll_interval=0,
        max_consecutive_failures=3,
    )

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload

    payload = asyncio.run(first_event())
    assert payload["status"] == "error"
    assert payload["error_type"] == "SentryUnexpectedResponseError"
    assert payload["failures"] == 3  # retried twice before giving up, not fatal at once
    assert len(server.seen) == 3


# -- case 3: 429 whose reset is in the past or garbage -------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("reset", ["1000000000", "soon", ""])
def test_a_429_with_a_useless_reset_waits_at_least_the_minimum_with_jitter(
    server: ScriptedServer, monkeypatch: Any, sleeps: list[float], transport: str, reset: str
) -> None:
    limited = json_answer(429, "You are attempting to use this endpoint too frequently. Limit is 1 requests in 1 seconds",
                          {"X-Sentry-Rate-Limit-Reset": reset, "X-Sentry-Rate-Limit-Remaining": "0"})  # fmt: skip
    server.on("GET", "/api/0/", lambda s: limited, lambda s: limited, lambda s: json_answer(200, {"ok": True}))
    connect(monkeypatch, server.url)
    assert run(transport, lambda hook: hook.request("GET", "")) == {"ok": True}
    assert len(server.seen) == 3
    assert len(sleeps) == 2
    assert sleeps[0] >= MIN_RATE_LIMIT_DELAY
    assert sleeps[1] >= 2 * MIN_RATE_LIMIT_DELAY  # doubles per retry


def test_the_rate_limit_floor_is_jittered() -> None:
    settings = SentrySettings(conn_id="c", base_url="https://sentry.io", secret=TOKEN)
    delays = set()
    for rand in (0.0, 0.5, 0.99):
        call = Call(settings, "GET", "", rand=lambda rand=rand: rand)  # type: ignore[misc]
        call.next_action(0.0)
        call.receive_response(429, {"X-Sentry-Rate-Limit-Reset": "1"}, b'"slow down"', 100.0)
        delays.add(call.next_action(100.0).seconds)  # type: ignore[union-attr]
    assert len(delays) == 3
    assert min(delays) >= MIN_RATE_LIMIT_DELAY


# -- case 4: timeout is a deadline for the whole request -----------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("where", ["body", "headers"])
def test_timeout_bounds_the_whole_request_not_each_read(monkeypatch: Any, transport: str, where: str) -> None:
    body = b'{"ok": true, "padding": "' + b"x" * 30 + b'"}'
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    if where == "headers":
        head, body = b"", head + body
    with trickling_server(head=head, body=body, every=0.3) as trickle:
        connect(monkeypatch, trickle.url, timeout=1, max_retries=0)
        with pytest.raises(SentryTransportError, match="within the 1s timeout"):
            run(transport, lambda hook: hook.request("GET", ""))
        assert trickle.connections == 1
        assert trickle.sent[0] < len(body) // 2  # cut off early, not read to the end


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_trickled_tls_handshake_is_cut_at_the_timeout(monkeypatch: Any, transport: str) -> None:
    server_hello = b"\x16\x03\x03\x00\x40" + b"\x02" * 64  # a TLS record header, then its body byte by byte
    with trickling_server(head=b"", body=server_hello, every=0.3) as trickle:
        connect(monkeypatch, trickle.url.replace("http://", "https://"), timeout=1, max_retries=0)
        with pytest.raises(SentryTransportError):
            run(transport, lambda hook: hook.request("GET", ""))
        assert trickle.connections == 1
        assert trickle.sent[0] < len(server_hello) // 2


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_try_is_bounded_and_so_is_their_number(monkeypatch: Any, sleeps: list[float], transport: str) -> None:
    body = b"[" + b" " * 60 + b"]"
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with trickling_server(head=head, body=body, every=0.3) as trickle:
        connect(monkeypatch, trickle.url, timeout=0.5, max_retries=2)
        with pytest.raises(SentryTransportError):
            run(transport, lambda hook: hook.request("GET", ""))
        assert trickle.connections == 3  # 1 try + 2 retries
        assert all(sent < len(body) // 2 for sent in trickle.sent)
        assert len(sleeps) == 2


# -- case 5: a huge error detail ----------------------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_huge_error_detail_is_cut_short(server: ScriptedServer, monkeypatch: Any, transport: str) -> None:
    server.on("GET", "/api/0/", lambda s: json_answer(400, {"detail": "x" * 2_000_000}))
    connect(monkeypatch, server.url)
    with pytest.raises(SentryBadRequestError) as info:
        run(transport, lambda hook: hook.request("GET", ""))
    assert len(str(info.value)) < 1000
    assert len(str(info.value.detail)) < 1000
    assert "more characters" in str(info.value)


# -- case 6: secrets ------------------------------------------------------------------------------
def echo_authorization(status: int) -> Callable[[Seen], Any]:
    def answer(seen: Seen) -> Any:
        auth = seen.headers["Authorization"]
        return html(status, f"<html><title>Bad gateway for {auth}</title><body>{auth}</body></html>")

    return answer


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("status", [200, 400, 502])
def test_a_token_echoed_by_a_proxy_never_reaches_the_error(
    server: ScriptedServer, monkeypatch: Any, sleeps: list[float], transport: str, status: int
) -> None:
    server.on("GET", "/api/0/", echo_authorization(status))
    connect(monkeypatch, server.url, max_retries=1)
    with pytest.raises(SentryApiError) as info:
        run(transport, lambda hook: hook.request("GET", ""))
    error = info.value
    assert TOKEN in server.seen[0].headers["Authorization"]  # the proxy did echo it
    for text in (str(error), repr(error), repr(error.detail), repr(error.body), repr(error.args)):
        assert TOKEN not in text
    assert "***" in str(error)


def test_no_repr_of_a_send_holds_the_token() -> None:
    settings = SentrySettings(conn_id="c", base_url="https://sentry.io", secret=TOKEN)
    for auth_type in ("token", "dsn", "api_key"):
        from dataclasses import replace

        call = Call(replace(settings, auth_type=auth_type), "PUT", "organizations/acme/issues/", json={"a": 1})
        send = call.next_action(0.0)
        assert send.headers["Authorization"]  # type: ignore[union-attr]
        for secret in replace(settings, auth_type=auth_type).secrets_to_mask():
            assert secret not in repr(send)
            assert secret not in str(send)
            assert secret not in repr(call.__dict__.get("_pending"))


def test_a_page_repr_holds_no_token(server: ScriptedServer, monkeypatch: Any) -> None:
    server.on("GET", ISSUES, lambda s: json_answer(200, [{"id": "1"}]))
    connect(monkeypatch, server.url)
    page: Page = SentryHook().get_page("organizations/acme/issues/")
    assert TOKEN not in repr(page)


# -- case 9: a malformed Link header is a warning ------------------------------------------------
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_malformed_link_header_that_ends_paging_is_logged(
    server: ScriptedServer,
    monkeypatch: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    transport: str,
) -> None:
    bad = {"Link": '<http://x/?cursor=abc>; rel="next"; results="true"; cursor="not-a-cursor"'}
    server.on("GET", ISSUES, lambda s: json_answer(200, [{"id": "1"}], bad))
    connect(monkeypatch, server.url)
    with caplog.at_level("WARNING"):
        page = run(transport, lambda hook: hook.get_page("organizations/acme/issues/"))
    assert not page.has_next
    logged = caplog.text + capsys.readouterr().out
    assert "malformed Link header" in logged
    assert "not-a-cursor" in logged
