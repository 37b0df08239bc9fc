"""Issue 11, case 14: the form's inverted TLS switch. Off, empty (null) or absent means verified."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_sentry.core.settings import SentrySettings
from airflow_provider_sentry.exceptions import SentryConfigError
from airflow_provider_sentry.get_provider_info import get_provider_info


def verify_for(extra: dict[str, Any]) -> bool | str:
    return SentrySettings.from_connection("c", host="https://sentry.io", password="tok12345", extra=extra).verify


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, True),
        ({"skip_tls_verify": None}, True),  # what the 3.3 form saves for an untouched switch
        ({"skip_tls_verify": False}, True),
        ({"skip_tls_verify": True}, False),
        ({"skip_tls_verify": "true"}, False),
        ({"verify": "/etc/ssl/private-ca.pem"}, "/etc/ssl/private-ca.pem"),
        ({"verify": "/etc/ssl/private-ca.pem", "skip_tls_verify": True}, False),
        ({"verify": None, "skip_tls_verify": None}, True),  # a connection saved by the old form, untouched
        ({"verify": False}, False),
    ],
)
def test_tls_is_verified_unless_skipping_is_asked_for(extra: dict[str, Any], expected: bool | str) -> None:
    assert verify_for(extra) == expected


def test_a_bad_skip_value_names_the_field() -> None:
    with pytest.raises(SentryConfigError, match=r"extra\.skip_tls_verify"):
        verify_for({"skip_tls_verify": "perhaps"})


def test_the_form_offers_the_inverted_switch_off_by_default() -> None:
    (conn,) = get_provider_info()["connection-types"]
    fields = conn["conn-fields"]
    assert "verify" not in fields
    skip = fields["skip_tls_verify"]
    assert skip["label"].startswith("Skip TLS verification")
    assert skip["schema"] == {"type": ["boolean", "null"], "default": False}
