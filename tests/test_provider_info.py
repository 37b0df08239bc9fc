"""The provider registers with Airflow and its declared classes import."""

from __future__ import annotations

import importlib

from airflow_provider_sentry.get_provider_info import get_provider_info
from airflow_provider_sentry.hooks.sentry import SentryHook


def test_package_name_matches_distribution() -> None:
    assert get_provider_info()["package-name"] == "airflow-provider-sentry"


def test_connection_type_matches_hook() -> None:
    (conn,) = get_provider_info()["connection-types"]
    assert conn["connection-type"] == SentryHook.conn_type == "sentry"
    module, _, name = conn["hook-class-name"].rpartition(".")
    assert getattr(importlib.import_module(module), name) is SentryHook
    assert "organization" in conn["conn-fields"]
    assert conn["ui-field-behaviour"]["relabeling"]["host"] == "Sentry base URL"
    assert SentryHook.default_conn_name == "sentry_default"
