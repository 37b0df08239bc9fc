"""The one bool parser (``core.arguments.as_bool``) serves operator arguments and connection extras alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core.arguments import FALSE_WORDS, TRUE_WORDS, as_bool
from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import SentryConfigError, SentryInputError


@given(st.booleans() | st.integers())
def test_bools_and_ints_keep_their_truth(value: object) -> None:
    assert as_bool(value, "flag") is bool(value)


@given(st.sampled_from(TRUE_WORDS + FALSE_WORDS), st.sampled_from([str.upper, str.title, str.lower]), st.text(" \t"))
def test_words_in_any_case_and_padding(word: str, case: object, pad: str) -> None:
    assert callable(case)
    assert as_bool(pad + case(word) + pad, "flag") is (word in TRUE_WORDS)


@given(
    st.text().filter(lambda t: t.strip().lower() not in TRUE_WORDS + FALSE_WORDS) | st.floats() | st.lists(st.none())
)
def test_anything_else_names_the_field(value: object) -> None:
    with pytest.raises(SentryInputError) as raised:
        as_bool(value, "dry_run")
    assert raised.value.field == "dry_run"


def test_a_connection_extra_that_is_not_a_bool_is_a_config_error_naming_the_extra() -> None:
    with pytest.raises(SentryConfigError, match=r"extra\.skip_tls_verify: expected true or false, got 'maybe'"):
        SentrySettings.from_connection("c", host="https://sentry.io", password="t", extra={"skip_tls_verify": "maybe"})
    settings = SentrySettings.from_connection(
        "c", host="https://sentry.io", password="t", extra={"skip_tls_verify": "Off"}
    )
    assert settings.verify is True
