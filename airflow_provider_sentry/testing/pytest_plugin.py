"""pytest plugin (entry point ``pytest11``): the ``sentry_emulator`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_sentry.testing.emulator import SentryEmulator


@pytest.fixture
def sentry_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[SentryEmulator]:
    """A started emulator (org ``acme``, projects ``backend`` and ``frontend``) with
    ``AIRFLOW_CONN_SENTRY_DEFAULT`` pointing at it for the duration of the test."""
    with SentryEmulator() as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_SENTRY_DEFAULT", emulator.connection_json())
        yield emulator
