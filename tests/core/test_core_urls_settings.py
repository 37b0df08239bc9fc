"""URL building, path encoding and connection settings."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.api_urls import api_path, build_url, normalize_base_url, query_pairs, with_cursor
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import SentryConfigError, SentryInputError


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (None, "https://sentry.io"),
        ("", "https://sentry.io"),
        ("https://sentry.io/", "https://sentry.io"),
        ("https://de.sentry.io", "https://de.sentry.io"),
        ("sentry.example.com", "https://sentry.example.com"),
        ("https://example.com/sentry/", "https://example.com/sentry"),
        ("https://example.com/sentry/api/0/", "https://example.com/sentry"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_base_urls(host: str | None, expected: str) -> None:
    assert normalize_base_url(host) == expected


def test_plain_http_to_a_remote_host_is_refused_unless_allowed() -> None:
    with pytest.raises(SentryConfigError, match="plain http is only allowed for loopback"):
        normalize_base_url("http://sentry.example.com")
    assert normalize_base_url("http://sentry.example.com", allow_insecure_http=True) == "http://sentry.example.com"


@pytest.mark.parametrize("host", ["ftp://x", "https://user:pw@sentry.io", "https://"])
def test_unusable_hosts(host: str) -> None:
    with pytest.raises(SentryConfigError):
        normalize_base_url(host)


def test_path_parts_are_percent_encoded_so_they_stay_one_segment() -> None:
    assert api_path("organizations", "acme", "releases", "app@1.0+build") == (
        "organizations/acme/releases/app%401.0%2Bbuild/"
    )
    assert api_path("organizations", "acme", "releases", "a/../b") == "organizations/acme/releases/a%2F..%2Fb/"
    with pytest.raises(SentryInputError):
        api_path("organizations", "")


@given(st.text(min_size=1, max_size=40))
def test_any_path_part_encodes_to_one_segment_without_dot_segments(part: str) -> None:
    encoded = api_path("x", part)
    assert encoded.count("/") == 2
    from urllib.parse import unquote

    assert unquote(encoded.split("/")[1]) == part


def test_query_lists_become_repeated_keys() -> None:
    assert query_pairs({"id": [1, 2], "query": "is:unresolved", "skip": None, "flag": True}) == [
        ("id", "1"),
        ("id", "2"),
        ("query", "is:unresolved"),
        ("flag", "true"),
    ]
    assert with_cursor({"cursor": "x", "a": 1}, "5:0:1") == [("a", "1"), ("cursor", "5:0:1")]


def test_build_url_appends_api_prefix_trailing_slash_and_query() -> None:
    url = build_url("https://sentry.io", "organizations/acme/issues", {"id": [1, 2], "query": "is:unresolved a b"})
    assert url == "https://sentry.io/api/0/organizations/acme/issues/?id=1&id=2&query=is:unresolved%20a%20b"


@pytest.mark.parametrize("path", ["https://evil/api/0/", "//evil/x", "a/../b", "a?x=1"])
def test_paths_that_could_escape_the_api_are_refused(path: str) -> None:
    with pytest.raises(SentryInputError, match="path"):
        build_url("https://sentry.io", path)


def test_settings_auth_headers_for_the_three_auth_types() -> None:
    def make(auth_type: str) -> SentrySettings:
        return SentrySettings.from_connection("c", host=None, password="s3cret-token", extra={"auth_type": auth_type})

    assert make("token").authorization == "Bearer s3cret-token"
    assert make("dsn").authorization == "DSN s3cret-token"
    api_key = make("api_key").authorization
    assert api_key.startswith("Basic ")
    assert base64.b64decode(api_key.split()[1]) == b"s3cret-token:"


def test_settings_never_show_the_secret_in_repr() -> None:
    settings = SentrySettings.from_connection("c", host=None, password="s3cret-token", extra={})
    assert "s3cret-token" not in repr(settings)
    assert set(settings.secrets_to_mask()) >= {"s3cret-token", "Bearer s3cret-token"}


def test_settings_coerce_extra_strings_from_the_ui() -> None:
    settings = SentrySettings.from_connection(
        "c",
        host="https://sentry.io",
        password="tok12345",
        extra={"organization": " acme ", "timeout": "5", "max_retries": "2", "verify": "false"},
    )
    assert (settings.organization, settings.timeout, settings.max_retries, settings.verify) == ("acme", 5.0, 2, False)


@pytest.mark.parametrize(
    ("extra", "password", "message"),
    [
        ({"auth_type": "oauth"}, "tok12345", "auth_type must be one of token, dsn, api_key"),
        ({}, None, "password field must hold"),
        ({"timeout": "soon"}, "tok12345", "extra.timeout"),
        ({"max_retries": -1}, "tok12345", "extra.max_retries"),
        ({"verify": "maybe?"}, "tok12345", None),
    ],
)
def test_settings_errors_name_the_field(extra: dict[str, object], password: str | None, message: str | None) -> None:
    if message is None:  # a non-boolean string is a CA bundle path
        assert SentrySettings.from_connection("c", host=None, password=password, extra=extra).verify == "maybe?"
        return
    with pytest.raises(SentryConfigError, match=message) as info:
        SentrySettings.from_connection("c", host=None, password=password, extra=extra)
    assert "tok12345" not in str(info.value)


def test_null_extra_fields_saved_by_the_airflow_33_form_mean_defaults() -> None:
    extra = {"organization": "acme", "auth_type": None, "timeout": None, "max_retries": None, "verify": None}
    settings = SentrySettings.from_connection("c", host=None, password="tok12345", extra=extra)
    assert (settings.auth_type, settings.timeout, settings.max_retries, settings.verify) == ("token", 30.0, 5, True)
