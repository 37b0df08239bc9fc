"""Issue 11, property: whatever bytes, headers or JSON a server sends, the core answers with a response
or a typed ``SentryError``, never a raw TypeError/KeyError/RecursionError, and never with the token."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_sentry.core.exchange import Call, Done
from airflow_provider_sentry.core.headers import Headers
from airflow_provider_sentry.core.link_header import parse_link_header_checked
from airflow_provider_sentry.core.page import Page, SentryResponse
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import SentryError, SentryUnexpectedResponseError

TOKEN = "sntryu_0123456789abcdef0123456789abcdef"
SETTINGS = SentrySettings(conn_id="c", base_url="https://sentry.example.com", secret=TOKEN, max_retries=0)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def answer(status: int, headers: dict[str, str], body: bytes, *, expect: type | None = None) -> Any:
    call = Call(SETTINGS, "GET", "organizations/acme/issues/", expect=expect)
    call.next_action(0.0)
    call.receive_response(status, headers, body, 0.0)
    try:
        action = call.next_action(0.0)
    except SentryError as exc:
        assert TOKEN not in str(exc) and TOKEN not in repr(getattr(exc, "detail", None))
        return exc
    return action


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from([200, 201, 204, 300, 301, 302, 303, 304, 307, 308, 400, 404, 418, 500, 502]),
    body=st.binary(max_size=200) | st.builds(lambda t: t.encode(), st.text(max_size=200)),
    location=st.none() | st.text(max_size=40),
    echo=st.booleans(),
)
def test_any_answer_is_a_response_or_a_typed_error(status: int, body: bytes, location: str | None, echo: bool) -> None:
    headers = {"Location": location} if location is not None else {}
    if echo:
        body += f" Bearer {TOKEN}".encode()
    result = answer(status, headers, body, expect=list)
    if isinstance(result, Done):
        assert status < 300 and (isinstance(result.response.data, list) or result.response.data is None)
    elif not isinstance(result, SentryError):
        assert status in (301, 302, 303, 307, 308)  # a same-origin redirect to follow: the next Send


@settings(max_examples=300, deadline=None)
@given(data=JSON)
def test_a_listing_page_is_a_list_of_objects_or_a_typed_error(data: Any) -> None:
    response = SentryResponse(status=200, headers=Headers(), data=data)
    try:
        page = Page.from_response(response, listing=True)
    except SentryUnexpectedResponseError:
        assert not (isinstance(data, list) and all(isinstance(item, dict) for item in data))
        return
    assert page.items == data


@settings(max_examples=500, deadline=None)
@given(header=st.text(max_size=200))
def test_any_link_header_parses_without_raising(header: str) -> None:
    links, problems = parse_link_header_checked(header)
    assert set(links) <= {link.rel for link in links.values()}
    assert all(isinstance(problem, str) for problem in problems)


def test_nesting_beyond_the_recursion_limit_is_typed() -> None:
    result = answer(200, {}, b"[" * 50_000 + b"]" * 50_000)
    assert isinstance(result, SentryUnexpectedResponseError)
